"""Explore: model-based stateful testing of a target, in the style of Hypothesis's
``RuleBasedStateMachine``.

No faults: random sequences of shopper and Stripe actions (carts, edits, double-click checkouts,
payments, expiries, redeliveries), each checked against a model of what the contract says must
happen, and a failing sequence shrunk by Hypothesis to a minimal reproduction.

- ``model``: the contract as a small in-memory shop (carts, locks, sessions, stock).
- ``machine``: the rules and invariants that drive the target and compare it with the model.
- ``world``: the event loop, adapter, simulator and time budget one exploration shares.
- ``runner``: ``explore()``, a fresh simulator and target on a running stack, bounded.
- ``cli``: ``checkout-chaos explore``.
"""

from harness.explore.runner import ExploreOptions, ExploreResult, Failure, explore

__all__ = ["ExploreOptions", "ExploreResult", "Failure", "explore"]
