"""Stripe-shaped events the harness itself sends: replays out of order and forgeries."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Literal

from harness.stripe import sign

Tamper = Literal["forged", "bad_signature", "stale", "future"]
TAMPERS: tuple[Tamper, ...] = ("forged", "bad_signature", "stale", "future")


def session_event(event_type: str, session: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An event about ``session`` (a stored Checkout Session), with fields of it overridden."""
    return {
        "id": "evt_chaos_" + secrets.token_hex(10),
        "object": "event",
        "api_version": "2024-06-20",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": {**session, **changes}},
    }


def signed(event: dict[str, Any], secret: str, tamper: Tamper | None = None) -> tuple[bytes, str]:
    """The body and ``Stripe-Signature`` to send; ``tamper`` spoils them the way attackers do."""
    payload = json.dumps(event).encode()
    now = int(time.time())
    if tamper is None:
        return payload, sign(payload, secret, now)
    if tamper == "forged":  # signed with a secret the attacker made up
        return payload, sign(payload, "whsec_" + secrets.token_hex(24), now)
    if tamper == "bad_signature":  # signed, then the amount edited in flight
        header = sign(payload, secret, now)
        event = json.loads(payload)
        event["data"]["object"]["amount_total"] = 1
        return json.dumps(event).encode(), header
    offset = -600 if tamper == "stale" else 600  # beyond the 300 s tolerance, both ways
    return payload, sign(payload, secret, now + offset)
