"""``python -m reference_impl.zoo <member>``: install one bug, then run the reference service."""

from __future__ import annotations

import sys

from reference_impl.zoo import BY_NAME, Patcher, apply


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in BY_NAME:
        print(f"usage: python -m reference_impl.zoo {{{','.join(BY_NAME)}}}", file=sys.stderr)
        return 2
    apply(argv[0], Patcher())  # patched for the life of this process: nothing to undo
    from reference_impl.__main__ import main as serve

    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
