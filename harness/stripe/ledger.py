"""What checkers ask the simulator: what was created, requested, replayed and delivered.

Every answer is a copy taken under the owning component's lock, so a checker can read while a
scenario runs. API keys appear masked (``sk_test_…abcd``), never in clear.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from harness.stripe.idempotency import IdempotencyRecord, IdempotencyStore
from harness.stripe.objects import JSON
from harness.stripe.store import StripeState
from harness.stripe.webhooks import DeliveryAttempt, DeliveryLog


@dataclass(frozen=True)
class ApiRequest:
    """One API request as the simulator answered it."""

    request_id: str
    method: str
    path: str
    account: str  # masked API key
    idempotency_key: str | None
    status: int  # 0 when the connection was dropped before any answer
    replayed: bool
    fault: str | None  # the armed fault that struck it, if any
    at: float
    # What the request was about, for checkers: a refund's payment_intent, a session's
    # client_reference_id (the cart).
    subject: str | None = None


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[ApiRequest] = []

    def add(self, request: ApiRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def all(self) -> list[ApiRequest]:
        with self._lock:
            return list(self._requests)


class Ledger:
    def __init__(
        self,
        state: StripeState,
        idempotency: IdempotencyStore,
        deliveries: DeliveryLog,
        requests: RequestLog,
    ) -> None:
        self._state = state
        self._idempotency = idempotency
        self._deliveries = deliveries
        self._requests = requests

    def sessions(self, client_reference_id: str | None = None) -> list[JSON]:
        """Checkout Sessions created (every one, handed to a client or not), oldest first."""
        return self._state.sessions(client_reference_id)

    def session(self, session_id: str) -> JSON:
        found = [s for s in self._state.sessions() if s["id"] == session_id]
        if not found:
            raise KeyError(session_id)
        return found[0]

    def refunds(self, payment_intent: str | None = None) -> list[JSON]:
        return self._state.refunds(payment_intent)

    def events(self, type: str | None = None, session_id: str | None = None) -> list[JSON]:
        """Events Stripe produced (forged ones are not events: see ``deliveries``)."""
        return self._state.events(type, session_id)

    def deliveries(
        self, event_id: str | None = None, *, endpoint: str | None = None
    ) -> list[DeliveryAttempt]:
        """Every delivery attempt, in the order they finished."""
        return [
            d
            for d in self._deliveries.attempts()
            if (event_id is None or d.event_id == event_id)
            and (endpoint is None or d.endpoint == endpoint)
        ]

    def idempotency_records(self, key: str | None = None) -> list[IdempotencyRecord]:
        """Idempotency keys seen (per API key), with their stored answer and replay counts."""
        return self._idempotency.records(key)

    def idempotency_keys(self) -> list[str]:
        return [r.key for r in self._idempotency.records()]

    def replayed_keys(self) -> list[str]:
        return [r.key for r in self._idempotency.records() if r.replays]

    def requests(self, *, method: str | None = None, path: str | None = None) -> list[ApiRequest]:
        return [
            r
            for r in self._requests.all()
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    def summary(self) -> dict[str, Any]:
        """A JSON-able digest (the admin route serves it)."""
        deliveries = self._deliveries.attempts()
        return {
            "sessions": self.sessions(),
            "refunds": self.refunds(),
            "events": [
                {"id": e["id"], "type": e["type"], "session": e["data"]["object"].get("id")}
                for e in self.events()
            ],
            "deliveries": [
                {
                    "event_id": d.event_id,
                    "event_type": d.event_type,
                    "endpoint": d.endpoint,
                    "kind": d.kind,
                    "copy": d.copy,
                    "attempt": d.attempt,
                    "outcome": d.outcome,
                    "status_code": d.status_code,
                    "error": d.error,
                    "at": d.at,
                }
                for d in deliveries
            ],
            "idempotency": [
                {
                    "key": r.key,
                    "account": r.account,
                    "method": r.method,
                    "path": r.path,
                    "status": None if r.response is None else r.response.status,
                    "replays": r.replays,
                    "mismatches": r.mismatches,
                    "conflicts": r.conflicts,
                }
                for r in self.idempotency_records()
            ],
            "requests": [
                {
                    "request_id": r.request_id,
                    "method": r.method,
                    "path": r.path,
                    "idempotency_key": r.idempotency_key,
                    "status": r.status,
                    "replayed": r.replayed,
                    "fault": r.fault,
                }
                for r in self.requests()
            ],
        }
