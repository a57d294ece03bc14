"""A stock-out refund is made on every fulfilment attempt, each under a fresh Idempotency-Key.

The webhook request and the retry worker both work the same order at once (the inline lease is
gone), and a retry after an ambiguous failure asks again: each asks Stripe for another refund.
"""

from __future__ import annotations

import uuid

from reference_impl import fulfilment
from reference_impl.models import StripeRefund
from reference_impl.stripe_client import StripeClient
from reference_impl.zoo.patching import Patcher


def apply(patcher: Patcher) -> None:
    create_refund = StripeClient.create_refund

    async def refund_with_fresh_key(
        self: StripeClient, payment_intent: str, idempotency_key: str
    ) -> StripeRefund:
        # The bug: the key no longer names the order's refund, so Stripe cannot dedupe it.
        return await create_refund(self, payment_intent, f"{idempotency_key}-{uuid.uuid4().hex}")

    patcher.set(StripeClient, "create_refund", refund_with_fresh_key)
    patcher.set(fulfilment, "_INLINE_LEASE_S", 0.0)
