"""Orders: one per paid session (``checkout_session_id`` is unique), moving pending → final once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from psycopg.types.json import Jsonb

from reference_impl.repositories.base import Repository

OrderStatus = Literal["pending", "fulfilled", "refunded"]


@dataclass(frozen=True)
class Order:
    order_id: uuid.UUID
    checkout_session_id: str
    cart_id: uuid.UUID
    user_id: str
    status: OrderStatus
    amount_total: int
    items: list[dict[str, Any]]
    payment_intent: str | None
    reservation_id: str | None
    refund_id: str | None
    refund_key_generation: int


_COLUMNS = """order_id, checkout_session_id, cart_id, user_id, status, amount_total, items,
 payment_intent, reservation_id, refund_id, refund_key_generation"""


class OrderRepository(Repository):
    async def create_pending(
        self,
        *,
        session_id: str,
        cart_id: uuid.UUID,
        user_id: str,
        amount_total: int,
        items: list[dict[str, Any]],
        payment_intent: str | None,
        reservation_id: str | None,
    ) -> uuid.UUID | None:
        """The order for a paid session, or None when that session already has one."""
        row = await self._one(
            """
            INSERT INTO orders (order_id, checkout_session_id, cart_id, user_id, status,
              amount_total, items, payment_intent, reservation_id)
            VALUES (%s, %s, %s, %s, 'pending', %s, %s, %s, %s)
            ON CONFLICT (checkout_session_id) DO NOTHING
            RETURNING order_id
            """,
            (
                uuid.uuid4(),
                session_id,
                cart_id,
                user_id,
                amount_total,
                Jsonb(items),
                payment_intent,
                reservation_id,
            ),
        )
        return row["order_id"] if row else None

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        if for_update:
            row = await self._one(
                "SELECT " + _COLUMNS + " FROM orders WHERE order_id = %s FOR UPDATE",  # noqa: S608
                (order_id,),
            )
        else:
            row = await self._one(
                "SELECT " + _COLUMNS + " FROM orders WHERE order_id = %s",  # noqa: S608
                (order_id,),
            )
        return Order(**row) if row else None

    async def complete(
        self, order_id: uuid.UUID, status: OrderStatus, *, refund_id: str | None = None
    ) -> bool:
        """pending → final, exactly once; False when another worker got there first."""
        count = await self._exec(
            "UPDATE orders SET status = %s, refund_id = COALESCE(%s, refund_id), updated_at = now()"
            " WHERE order_id = %s AND status = 'pending'",
            (status, refund_id, order_id),
        )
        return count == 1

    async def bump_refund_key(self, order_id: uuid.UUID) -> None:
        await self._exec(
            "UPDATE orders SET refund_key_generation = refund_key_generation + 1 WHERE order_id = %s",
            (order_id,),
        )

    async def list_all(self, limit: int = 10_000) -> list[Order]:
        rows = await self._all(
            "SELECT " + _COLUMNS + " FROM orders ORDER BY created_at, order_id LIMIT %s",  # noqa: S608
            (limit,),
        )
        return [Order(**row) for row in rows]

    async def holds_reservation(self, reservation_id: str) -> bool:
        row = await self._one(
            "SELECT 1 AS held FROM orders WHERE reservation_id = %s LIMIT 1", (reservation_id,)
        )
        return row is not None
