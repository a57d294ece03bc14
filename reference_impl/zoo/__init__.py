"""The bug zoo: the reference service with exactly one classic bug each, as a patch layer.

Each member is a small module whose ``apply(patcher)`` swaps one function, method or Lua script of
the reference before it starts; ``python -m reference_impl.zoo <name>`` applies it and runs the
normal service. ``control`` applies nothing: the correct reference, for zero false alarms.
The harness's selftest (``checkout-chaos selftest``) runs the default suite against every member.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from reference_impl.zoo.patching import Patcher

CONTROL = "control"


@dataclass(frozen=True)
class Bug:
    name: str
    summary: str
    module: str | None  # reference_impl.zoo.<module>, whose apply() installs the bug
    # The contract invariants (section 5 ids) this bug breaks. A scenario detects the bug only by
    # flagging one of these: a violation of something else is collateral, not a detection.
    breaks: tuple[str, ...] = ()

    @property
    def is_control(self) -> bool:
        return self.module is None


class _BugModule(Protocol):
    def apply(self, patcher: Patcher) -> None: ...


BUGS: tuple[Bug, ...] = (
    Bug(CONTROL, "the correct reference implementation", None),
    Bug(
        "no-idempotency",
        "checkout keyed per request and the cart not locked: a double click makes two sessions",
        "no_idempotency",
        breaks=("one-session-per-cart",),
    ),
    Bug(
        "retry-without-key",
        "Stripe calls retried without their Idempotency-Key after a timeout or lost reply",
        "retry_without_key",
        breaks=("one-session-per-cart",),
    ),
    Bug(
        "webhook-not-idempotent",
        "no event or session dedupe in the webhook handler: a duplicate makes a second order",
        "webhook_not_idempotent",
        breaks=("exactly-once-order",),
    ),
    Bug(
        "non-atomic-stock",
        "stock checked, then decremented in separate Redis calls: racing buyers oversell",
        "non_atomic_stock",
        breaks=("no-oversell",),
    ),
    Bug(
        "no-final-stock-check",
        "fulfilment sells a paid session's units without checking the stock is still there",
        "no_final_stock_check",
        breaks=("no-oversell", "refund-exactly-once"),
    ),
    Bug(
        "redis-loses-paid-order",
        "with Redis down after payment the handler acknowledges the event and drops the order",
        "redis_loses_paid_order",
        breaks=("exactly-once-order", "convergence"),
    ),
    Bug(
        "expired-after-completed",
        "an `expired` event is applied to a paid session: its units go back on sale",
        "expired_after_completed",
        breaks=("conservation", "no-oversell"),
    ),
    Bug(
        "no-signature-check",
        "webhooks are parsed without verifying Stripe-Signature",
        "no_signature_check",
        breaks=("authentic-webhooks-only",),
    ),
    Bug(
        "stale-timestamps",
        "the signature is checked but its timestamp is not: old and far-future events pass",
        "stale_timestamps",
        breaks=("authentic-webhooks-only",),
    ),
    Bug(
        "cart-not-locked",
        "item edits are accepted while the cart's session is open or paid: the buyer pays for "
        "one cart and the shop holds another",
        "cart_not_locked",
        breaks=("one-session-per-cart",),
    ),
    Bug(
        "client-price",
        "checkout prices the cart with unit prices the client sent instead of the catalogue",
        "client_price",
        breaks=("amount-integrity",),
    ),
    Bug(
        "pii-in-logs",
        "the checkout request, contact details included, is printed past the redacting logger",
        "pii_in_logs",
        breaks=("no-pii-in-logs",),
    ),
    Bug(
        "missing-metadata-500",
        "the webhook handler indexes optional session fields (metadata, payment_intent): "
        "an event without one gets a 500 and Stripe's retries storm",
        "missing_metadata_500",
        breaks=("no-server-errors-on-bad-input", "convergence"),
    ),
    Bug(
        "refund-twice",
        "every fulfilment attempt of a stock-out refunds again under a fresh Idempotency-Key",
        "refund_twice",
        breaks=("refund-exactly-once",),
    ),
)

BY_NAME: dict[str, Bug] = {bug.name: bug for bug in BUGS}


def get(name: str) -> Bug:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown zoo member {name!r}; known: {', '.join(BY_NAME)}") from None


def apply(name: str, patcher: Patcher) -> None:
    """Install member ``name``'s bug into the (not yet started) reference service."""
    bug = get(name)
    if bug.module is not None:
        module: _BugModule = importlib.import_module(f"reference_impl.zoo.{bug.module}")
        module.apply(patcher)


@contextlib.contextmanager
def installed(name: str) -> Iterator[None]:
    """The bug installed for the length of the block, then undone (for in-process tests)."""
    patcher = Patcher()
    try:
        apply(name, patcher)
        yield
    finally:
        patcher.undo()


__all__ = ["BUGS", "BY_NAME", "CONTROL", "Bug", "Patcher", "apply", "get", "installed"]
