"""The checkout request is printed for debugging, straight to stdout, past the redacting logger."""

from __future__ import annotations

import json
import uuid
from typing import Any

from reference_impl.checkout import CheckoutService
from reference_impl.models import CheckoutIn
from reference_impl.zoo.patching import Patcher


def apply(patcher: Patcher) -> None:
    run_checkout = CheckoutService.checkout

    async def checkout_printing_request(
        self: CheckoutService, *, cart_id: uuid.UUID, contact: CheckoutIn, **kwargs: Any
    ) -> tuple[int, Any]:
        # The bug: a debug line with the customer's contact details, unredacted.
        body = {"cart_id": str(cart_id), "contact": contact.model_dump(mode="json")}
        print(json.dumps({"event": "checkout.request", **body}), flush=True)
        return await run_checkout(self, cart_id=cart_id, contact=contact, **kwargs)

    patcher.set(CheckoutService, "checkout", checkout_printing_request)
