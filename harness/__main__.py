"""``python -m harness`` is the ``checkout-chaos`` command."""

from harness.cli import main

main()
