"""The webhook handler indexes optional fields of the session as if they were always there.

``metadata.cart_id`` and ``payment_intent`` are read with plain indexing; an event without one
(an expired session never has a payment intent) raises, the service answers 500, and Stripe
retries the event on its schedule: a retry storm, and the event is never applied.
"""

from __future__ import annotations

import json

from reference_impl import app, webhooks
from reference_impl.models import FulfilmentData
from reference_impl.zoo.patching import Patcher


def apply(patcher: Patcher) -> None:
    parse_event = webhooks.parse_event  # what app calls

    def parse_event_assuming_fields(payload: bytes) -> FulfilmentData | None:
        raw = json.loads(payload)
        if str(raw.get("type", "")).startswith("checkout.session."):
            session = raw["data"]["object"]
            # The bug: a missing key or a null raises, and nothing turns it into a 4xx/2xx.
            session["metadata"]["cart_id"]
            session["payment_intent"].removeprefix("pi_")
        return parse_event(payload)

    patcher.set(app, "parse_event", parse_event_assuming_fields)
