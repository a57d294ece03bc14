"""checkout-chaos: prove a checkout system survives what production does to it.

The package follows Jepsen's decomposition, one sub-package per concept:

- ``harness.stack``: bring the real services (PostgreSQL, Redis, Toxiproxy, stripe-mock) up and down.
"""

__version__ = "0.1.0"
