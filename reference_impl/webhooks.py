"""Stripe webhook authentication and parsing: nothing unverified reaches fulfilment.

``Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]``; v1 is HMAC-SHA256 over ``"{t}.{raw body}"`` with
the endpoint secret. The timestamp must lie within the tolerance on *both* sides of now (6.8), so a
replayed old event and a forged far-future one are refused alike.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from pydantic import ValidationError

from reference_impl.models import (
    CheckoutSessionObject,
    FulfilmentData,
    FulfilmentMetadata,
    StripeEvent,
)

PAID_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
CLOSED_EVENTS = frozenset({"checkout.session.expired", "checkout.session.async_payment_failed"})
_MAX_HEADER = 4096


class WebhookRejected(Exception):
    """An event we refuse (400): the reason goes back to the sender, never the payload."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_signature(
    payload: bytes, header: str | None, secret: str, tolerance_s: int, now: float | None = None
) -> None:
    if not header or len(header) > _MAX_HEADER:
        raise WebhookRejected("missing Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookRejected("malformed signature timestamp") from None
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected("malformed Stripe-Signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookRejected("signature timestamp outside the tolerance")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookRejected("signature does not match")


def parse_event(payload: bytes) -> FulfilmentData | None:
    """The fulfilment data of a verified event; None for event types this service ignores."""
    try:
        raw = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise WebhookRejected("body is not JSON") from None
    try:
        event = StripeEvent.model_validate(raw)
    except ValidationError as exc:
        raise WebhookRejected("not a Stripe event: " + _reasons(exc)) from None
    if event.type not in PAID_EVENTS | CLOSED_EVENTS:
        return None
    try:
        session = CheckoutSessionObject.model_validate(event.data.object)
    except ValidationError as exc:
        raise WebhookRejected("not a checkout session: " + _reasons(exc)) from None
    if session.metadata is None:
        raise WebhookRejected("session metadata is missing")
    try:
        metadata = FulfilmentMetadata.model_validate(session.metadata)
    except ValidationError as exc:
        raise WebhookRejected("invalid session metadata: " + _reasons(exc)) from None
    if event.type == "checkout.session.completed":
        paid = session.payment_status in ("paid", "no_payment_required")  # 6.9
    else:
        paid = event.type == "checkout.session.async_payment_succeeded"
    return FulfilmentData(
        event_id=event.id,
        event_type=event.type,
        session_id=session.id,
        paid=paid,
        payment_intent=session.payment_intent,
        amount_total=session.amount_total,
        cart_id=str(metadata.cart_id),
        user_id=metadata.user_id,
    )


def _reasons(exc: ValidationError) -> str:
    # Field paths and rules only: the offending values could be personal data.
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)[:5]
    )
