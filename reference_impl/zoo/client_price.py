"""Checkout accepts ``prices`` ({sku: unit cents}) from the client and charges them.

A client that edits the price it sends pays what it likes; the catalogue price is ignored for
every sku the client priced.
"""

from __future__ import annotations

import dataclasses
import uuid
from contextvars import ContextVar
from typing import Any

from reference_impl import app
from reference_impl.checkout import CheckoutService
from reference_impl.models import CheckoutIn
from reference_impl.repositories.carts import CartLine, CartRepository
from reference_impl.zoo.patching import Patcher

_client_prices: ContextVar[dict[str, int] | None] = ContextVar("zoo_client_prices", default=None)


class CheckoutWithPrices(CheckoutIn):
    prices: dict[str, int] | None = None  # the bug's door: a price field the client controls


def apply(patcher: Patcher) -> None:
    run_checkout = CheckoutService.checkout
    lines = CartRepository.lines

    async def checkout_with_client_prices(
        self: CheckoutService, *, contact: CheckoutIn, **kwargs: Any
    ) -> tuple[int, Any]:
        _client_prices.set(getattr(contact, "prices", None))
        return await run_checkout(self, contact=contact, **kwargs)

    async def lines_at_client_prices(self: CartRepository, cart_id: uuid.UUID) -> list[CartLine]:
        found = await lines(self, cart_id)
        prices = _client_prices.get() or {}
        return [
            dataclasses.replace(line, unit_price_cents=prices[line.sku])
            if line.sku in prices
            else line
            for line in found
        ]

    # create_app resolves the route's body type from the app module when it builds the routes.
    patcher.set(app, "CheckoutIn", CheckoutWithPrices)
    patcher.set(CheckoutService, "checkout", checkout_with_client_prices)
    patcher.set(CartRepository, "lines", lines_at_client_prices)
