"""Carts and their lines. A cart's ``status`` is what locks it against edits (contract 6.4)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from reference_impl.repositories.base import Repository

CartStatus = Literal["open", "checking_out", "awaiting_payment", "paid"]


@dataclass(frozen=True)
class Cart:
    cart_id: uuid.UUID
    user_id: str
    status: CartStatus
    version: int
    session_id: str | None


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int
    unit_price_cents: int
    name: str


class CartRepository(Repository):
    async def create(self, user_id: str) -> uuid.UUID:
        cart_id = uuid.uuid4()
        await self._exec("INSERT INTO carts (cart_id, user_id) VALUES (%s, %s)", (cart_id, user_id))
        return cart_id

    async def get(self, cart_id: uuid.UUID, *, for_update: bool = False) -> Cart | None:
        if for_update:
            row = await self._one(
                "SELECT cart_id, user_id, status, version, session_id FROM carts"
                " WHERE cart_id = %s FOR UPDATE",
                (cart_id,),
            )
        else:
            row = await self._one(
                "SELECT cart_id, user_id, status, version, session_id FROM carts WHERE cart_id = %s",
                (cart_id,),
            )
        return Cart(**row) if row else None

    async def lines(self, cart_id: uuid.UUID) -> list[CartLine]:
        """The cart's lines priced from the catalogue (never from anything a client sent)."""
        rows = await self._all(
            """
            SELECT i.sku, i.quantity, p.price_cents AS unit_price_cents, p.name
            FROM cart_items i JOIN products p USING (sku)
            WHERE i.cart_id = %s ORDER BY i.sku
            """,
            (cart_id,),
        )
        return [CartLine(**row) for row in rows]

    async def set_quantity(self, cart_id: uuid.UUID, sku: str, quantity: int) -> None:
        if quantity == 0:
            await self._exec(
                "DELETE FROM cart_items WHERE cart_id = %s AND sku = %s", (cart_id, sku)
            )
        else:
            await self._exec(
                """
                INSERT INTO cart_items (cart_id, sku, quantity) VALUES (%s, %s, %s)
                ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = EXCLUDED.quantity
                """,
                (cart_id, sku, quantity),
            )
        await self._exec(
            "UPDATE carts SET version = version + 1, updated_at = now() WHERE cart_id = %s",
            (cart_id,),
        )

    async def set_status(
        self, cart_id: uuid.UUID, status: CartStatus, *, session_id: str | None = None
    ) -> None:
        await self._exec(
            "UPDATE carts SET status = %s, session_id = COALESCE(%s, session_id), updated_at = now()"
            " WHERE cart_id = %s",
            (status, session_id, cart_id),
        )

    async def reopen(self, cart_id: uuid.UUID, *, session_id: str | None) -> bool:
        """Unlock the cart after its session expired or failed; a new version means a new checkout.

        Only when ``session_id`` is still the cart's session (a stale event must not reopen a cart
        that has moved on) and the cart was never paid.
        """
        count = await self._exec(
            """
            UPDATE carts SET status = 'open', version = version + 1, session_id = NULL,
                             updated_at = now()
            WHERE cart_id = %s AND status IN ('checking_out', 'awaiting_payment')
              AND session_id IS NOT DISTINCT FROM %s
            """,
            (cart_id, session_id),
        )
        return count == 1
