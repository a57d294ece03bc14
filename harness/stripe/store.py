"""The simulator's state: Checkout Sessions, their line items, PaymentIntents, refunds, events.

One lock guards it all and no code awaits while holding it, so each API call and each customer
action is atomic. Events are handed to ``on_event`` under the lock, so webhooks are published in
the order the events happened.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from harness.stripe.objects import (
    JSON,
    LineItem,
    StripeError,
    build_event,
    build_payment_intent,
    build_refund,
    build_session,
    invalid,
    list_object,
    missing,
    parse_line_items,
)

PayOutcome = Literal["paid", "async_succeeded", "async_failed"]
EXPANDABLE = frozenset({"line_items", "payment_intent"})


class SimulatorError(RuntimeError):
    """A customer action that Stripe would not allow (e.g. paying an expired session)."""


class StripeState:
    def __init__(self, on_event: Callable[[JSON], None], hosted_base: Callable[[], str]) -> None:
        self._lock = threading.RLock()
        self._on_event = on_event
        self._hosted_base = hosted_base
        self._sessions: dict[str, JSON] = {}
        self._items: dict[str, list[LineItem]] = {}
        self._intents: dict[str, JSON] = {}
        self._refunds: dict[str, JSON] = {}
        self._events: list[JSON] = []

    # -- helpers --------------------------------------------------------------------------

    def _emit(self, event_type: str, obj: JSON, request: tuple[str | None, str | None]) -> JSON:
        event = build_event(
            event_type, obj, now=int(time.time()), request_id=request[0], idempotency_key=request[1]
        )
        self._events.append(event)
        self._on_event(copy.deepcopy(event))
        return event

    def _session(self, session_id: str) -> JSON:
        session = self._sessions.get(session_id)
        if session is None:
            raise missing("checkout.session", session_id, "session")
        return session

    def _render_session(self, session: JSON, expand: list[str]) -> JSON:
        out = copy.deepcopy(session)
        for field in expand:
            if field == "line_items":
                out["line_items"] = self._line_items(session)
            elif field == "payment_intent" and session["payment_intent"] is not None:
                out["payment_intent"] = copy.deepcopy(self._intents[session["payment_intent"]])
            elif field not in EXPANDABLE:
                raise invalid(f"This property cannot be expanded ({field}).", param="expand")
        return out

    def _line_items(self, session: JSON) -> JSON:
        data = [item.as_stripe(session["created"]) for item in self._items[session["id"]]]
        return list_object(data, f"/v1/checkout/sessions/{session['id']}/line_items")

    # -- API operations (raise StripeError) ----------------------------------------------

    def create_session(self, template: JSON, params: JSON, expand: list[str]) -> JSON:
        if params.get("mode") != "payment":
            raise invalid(
                "The Stripe simulator supports `mode=payment` only.",
                param="mode",
                code="parameter_invalid_string",
            )
        items = parse_line_items(params)
        with self._lock:
            session = build_session(
                template, params, items, now=int(time.time()), hosted_base=self._hosted_base()
            )
            self._sessions[session["id"]] = session
            self._items[session["id"]] = items
            return self._render_session(session, expand)

    def get_session(self, session_id: str, expand: list[str]) -> JSON:
        with self._lock:
            return self._render_session(self._session(session_id), expand)

    def session_line_items(self, session_id: str) -> JSON:
        with self._lock:
            return self._line_items(self._session(session_id))

    def list_sessions(self, filters: JSON) -> JSON:
        limit = int(filters.get("limit", "10")) if str(filters.get("limit", "10")).isdigit() else 10
        with self._lock:
            found = [
                copy.deepcopy(s)
                for s in reversed(self._sessions.values())
                if all(
                    s.get(k) == filters[k]
                    for k in ("status", "payment_intent", "client_reference_id")
                    if k in filters
                )
            ]
        return list_object(
            found[: max(1, min(limit, 100))], "/v1/checkout/sessions", len(found) > limit
        )

    def expire_session(self, session_id: str, request: tuple[str | None, str | None]) -> JSON:
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise invalid(
                    f'Only Checkout Sessions with a status in ["open"] can be expired; '
                    f"this one is {session['status']!r}.",
                    param="session",
                )
            self._expire(session, request)
            return copy.deepcopy(session)

    def create_refund(self, template: JSON, params: JSON) -> JSON:
        with self._lock:
            intent_id = params.get("payment_intent")
            if not isinstance(intent_id, str):
                charge = params.get("charge")
                intent_id = next(
                    (i["id"] for i in self._intents.values() if i["latest_charge"] == charge), None
                )
                if intent_id is None:
                    raise invalid(
                        "One of `payment_intent` or `charge` is required.", param="payment_intent"
                    )
            intent = self._intents.get(intent_id)
            if intent is None:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    f"No such payment_intent: '{intent_id}'",
                    "resource_missing",
                    "payment_intent",
                )
            if intent["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                    param="payment_intent",
                    code="charge_not_refundable",
                )
            refunded = sum(
                r["amount"] for r in self._refunds.values() if r["payment_intent"] == intent_id
            )
            remaining = int(intent["amount_received"]) - refunded
            if remaining <= 0:
                raise invalid(
                    f"Charge {intent['latest_charge']} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = remaining
            if "amount" in params:
                raw = str(params["amount"])
                if not raw.isdigit() or int(raw) < 1:
                    raise invalid("Invalid positive integer", param="amount")
                amount = int(raw)
                if amount > remaining:
                    raise invalid(
                        f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                        param="amount",
                        code="amount_too_large",
                    )
            refund = build_refund(template, intent, amount, params, now=int(time.time()))
            self._refunds[refund["id"]] = refund
            return copy.deepcopy(refund)

    def get_refund(self, refund_id: str) -> JSON:
        with self._lock:
            refund = self._refunds.get(refund_id)
            if refund is None:
                raise missing("refund", refund_id)
            return copy.deepcopy(refund)

    def list_refunds(self, filters: JSON) -> JSON:
        return list_object(self.refunds(filters.get("payment_intent"))[::-1][:100], "/v1/refunds")

    def get_payment_intent(self, intent_id: str) -> JSON:
        with self._lock:
            intent = self._intents.get(intent_id)
            if intent is None:
                raise missing("payment_intent", intent_id, "intent")
            return copy.deepcopy(intent)

    def get_event(self, event_id: str) -> JSON:
        with self._lock:
            for event in self._events:
                if event["id"] == event_id:
                    return copy.deepcopy(event)
        raise missing("event", event_id)

    def list_events(self, filters: JSON) -> JSON:
        found = self.events(event_type=filters.get("type"))[::-1]
        return list_object(found[:100], "/v1/events", len(found) > 100)

    # -- customer actions (raise SimulatorError) ------------------------------------------

    def _open_session(self, session_id: str) -> JSON:
        session = self._sessions.get(session_id)
        if session is None:
            raise SimulatorError(f"no Checkout Session {session_id!r}")
        if session["status"] != "open":
            raise SimulatorError(f"session {session_id} is {session['status']}, not open")
        return session

    def pay(self, session_id: str, outcome: PayOutcome) -> None:
        with self._lock:
            if outcome == "paid":
                session = self._open_session(session_id)
                intent = build_payment_intent(session, now=int(time.time()), status="succeeded")
                self._intents[intent["id"]] = intent
                session.update(
                    status="complete", payment_status="paid", payment_intent=intent["id"]
                )
                self._emit("checkout.session.completed", session, (None, None))
                return
            self.begin_async_payment(session_id)
            self.settle_async_payment(session_id, succeeded=outcome == "async_succeeded")

    def begin_async_payment(self, session_id: str) -> None:
        """The customer submits a delayed method (e.g. a bank debit): complete, still unpaid."""
        with self._lock:
            session = self._open_session(session_id)
            intent = build_payment_intent(session, now=int(time.time()), status="processing")
            self._intents[intent["id"]] = intent
            session.update(status="complete", payment_status="unpaid", payment_intent=intent["id"])
            self._emit("checkout.session.completed", session, (None, None))

    def settle_async_payment(self, session_id: str, *, succeeded: bool) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise SimulatorError(f"no Checkout Session {session_id!r}")
            intent = self._intents.get(session.get("payment_intent") or "")
            if (
                session["status"] != "complete"
                or intent is None
                or intent["status"] != "processing"
            ):
                raise SimulatorError(f"session {session_id} has no payment in processing")
            if succeeded:
                intent.update(status="succeeded", amount_received=intent["amount"])
                session["payment_status"] = "paid"
                self._emit("checkout.session.async_payment_succeeded", session, (None, None))
            else:
                intent.update(status="requires_payment_method")
                self._emit("checkout.session.async_payment_failed", session, (None, None))

    def expire(self, session_id: str) -> None:
        with self._lock:
            self._expire(self._open_session(session_id), (None, None))

    def _expire(self, session: JSON, request: tuple[str | None, str | None]) -> None:
        session.update(status="expired", url=None)
        self._emit("checkout.session.expired", session, request)

    def forged_completion(self, session_id: str, event_type: str) -> JSON:
        """An event claiming ``session_id`` was paid; it is not stored, as Stripe never sent it."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise SimulatorError(f"no Checkout Session {session_id!r}")
            claimed = copy.deepcopy(session)
        claimed.update(status="complete", payment_status="paid", payment_intent=None)
        return build_event(event_type, claimed, now=int(time.time()))

    # -- queries for the ledger -----------------------------------------------------------

    def sessions(self, client_reference_id: str | None = None) -> list[JSON]:
        with self._lock:
            return [
                copy.deepcopy(s)
                for s in self._sessions.values()
                if client_reference_id is None
                or s.get("client_reference_id") == client_reference_id
            ]

    def refunds(self, payment_intent: Any = None) -> list[JSON]:
        with self._lock:
            return [
                copy.deepcopy(r)
                for r in self._refunds.values()
                if payment_intent is None or r["payment_intent"] == payment_intent
            ]

    def events(self, event_type: Any = None, session_id: str | None = None) -> list[JSON]:
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._events
                if (event_type is None or e["type"] == event_type)
                and (session_id is None or e["data"]["object"].get("id") == session_id)
            ]

    def find_event(self, event_id: str) -> JSON | None:
        with self._lock:
            return next((copy.deepcopy(e) for e in self._events if e["id"] == event_id), None)
