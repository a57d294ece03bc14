"""What checkers read besides the history (the final state) and what they return (verdicts).

A checker is a pure function ``(History, FinalState) -> Verdict``: no I/O, no clock, so it can be
tested on hand-built histories and re-run offline on a saved run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.history import History


@dataclass(frozen=True)
class OrderItem:
    sku: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class Order:
    """One row of the target's ``GET /admin/orders``."""

    order_id: str
    cart_id: str
    user_id: str
    checkout_session_id: str
    status: str  # fulfilled, refunded or pending
    amount_total: int
    items: tuple[OrderItem, ...]

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Order:
        return cls(
            order_id=str(raw["order_id"]),
            cart_id=str(raw["cart_id"]),
            user_id=str(raw["user_id"]),
            checkout_session_id=str(raw["checkout_session_id"]),
            status=str(raw["status"]),
            amount_total=int(raw["amount_total"]),
            items=tuple(
                OrderItem(str(i["sku"]), int(i["quantity"]), int(i["unit_price_cents"]))
                for i in raw["items"]
            ),
        )


@dataclass(frozen=True)
class Product:
    """A product as ``GET /products/{sku}`` answered at quiescence."""

    sku: str
    price_cents: int
    available: int


@dataclass(frozen=True)
class StripeSession:
    """A Checkout Session as the Stripe simulator stored it."""

    id: str
    client_reference_id: str | None
    status: str  # open, complete, expired
    payment_status: str  # unpaid, paid, no_payment_required
    amount_total: int
    payment_intent: str | None
    metadata: dict[str, str]

    @property
    def paid(self) -> bool:
        return self.payment_status in ("paid", "no_payment_required")


@dataclass(frozen=True)
class StripeRefund:
    id: str
    payment_intent: str
    amount: int


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt of the Stripe simulator to deliver an event (from its delivery ledger)."""

    event_id: str
    event_type: str
    kind: str  # genuine, duplicate, redelivery, tampered, stale, forged
    status_code: int | None  # None: no answer (dropped, timed out)


@dataclass(frozen=True)
class StripeRequest:
    """One API request the target made to the Stripe simulator (from its request log)."""

    method: str
    path: str
    idempotency_key: str | None
    status: int  # 0: the connection was dropped before any answer
    subject: str | None  # a refund's payment_intent, a session's client_reference_id


@dataclass(frozen=True)
class FinalState:
    """The target's and Stripe's state once the run is quiescent (faults healed, work settled)."""

    products: dict[str, Product]
    orders: tuple[Order, ...]
    sessions: tuple[StripeSession, ...]
    refunds: tuple[StripeRefund, ...]
    target_log: str = ""  # everything the target wrote to stdout/stderr
    convergence_bound_s: float = 30.0
    deliveries: tuple[WebhookDelivery, ...] = ()
    stripe_requests: tuple[StripeRequest, ...] = ()


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    NOT_EXERCISED = "not-exercised"  # the run gave the invariant nothing to judge


@dataclass(frozen=True)
class Evidence:
    """One piece of what a verdict rests on, named so a human can find it."""

    kind: str  # op, order, session, refund, log, product
    ref: str  # op index, order id, session id, log line number, sku
    detail: str


@dataclass(frozen=True)
class Verdict:
    invariant: str
    outcome: Outcome
    summary: str
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)

    @property
    def violated(self) -> bool:
        return self.outcome is Outcome.FAIL


Checker = Callable[[History, FinalState], Verdict]
