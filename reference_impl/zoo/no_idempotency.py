"""Each checkout request gets its own idempotency key, and the cart is not locked meanwhile.

So concurrent checkouts of one unchanged cart each reserve stock and create their own Stripe
session (under their own Stripe key): a double click makes two sessions.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

from reference_impl import checkout
from reference_impl.checkout import CheckoutService
from reference_impl.repositories.carts import Cart, CartRepository, CartStatus
from reference_impl.zoo.patching import Patcher

# One nonce per request, so both key computations inside that request agree with each other.
_nonce: ContextVar[str] = ContextVar("zoo_checkout_nonce", default="")


def apply(patcher: Patcher) -> None:
    cart_key = checkout.checkout_key
    run_checkout = CheckoutService.checkout
    set_status = CartRepository.set_status

    def per_request_key(cart: Cart, lines: list[Any]) -> str:
        return cart_key(cart, lines) + _nonce.get()

    async def checkout_per_request(self: CheckoutService, **kwargs: Any) -> tuple[int, Any]:
        _nonce.set(":" + uuid.uuid4().hex[:12])
        return await run_checkout(self, **kwargs)

    async def set_status_unlocked(
        self: CartRepository, cart_id: uuid.UUID, status: CartStatus, **kwargs: Any
    ) -> None:
        if status != "checking_out":  # the bug: nothing marks the cart as being checked out
            await set_status(self, cart_id, status, **kwargs)

    patcher.set(checkout, "checkout_key", per_request_key)
    patcher.set(CheckoutService, "checkout", checkout_per_request)
    patcher.set(CartRepository, "set_status", set_status_unlocked)
