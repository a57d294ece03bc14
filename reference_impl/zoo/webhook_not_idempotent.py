"""The webhook handler remembers neither event ids nor which sessions already have an order.

No ``processed_events`` check and no unique order per session: every delivery of a paid event,
duplicates and redeliveries included, makes another order.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from reference_impl.repositories.database import Database
from reference_impl.repositories.events import EventRepository
from reference_impl.repositories.orders import OrderRepository
from reference_impl.zoo.patching import Patcher


async def _record_always(
    self: EventRepository, event_id: str, event_type: str, session_id: str | None
) -> bool:
    return True  # the bug: every event is new


async def _create_pending_again(
    self: OrderRepository,
    *,
    session_id: str,
    cart_id: uuid.UUID,
    user_id: str,
    amount_total: int,
    items: list[dict[str, Any]],
    payment_intent: str | None,
    reservation_id: str | None,
) -> uuid.UUID | None:
    row = await self._one(
        """
        INSERT INTO orders (order_id, checkout_session_id, cart_id, user_id, status,
          amount_total, items, payment_intent, reservation_id)
        VALUES (%s, %s, %s, %s, 'pending', %s, %s, %s, %s)
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


def apply(patcher: Patcher) -> None:
    migrate = Database.migrate

    async def migrate_without_unique_order(self: Database) -> list[int]:
        applied = await migrate(self)
        async with self.pool.connection() as conn:
            await conn.execute(
                "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_checkout_session_id_key"
            )
        return applied

    patcher.set(EventRepository, "record", _record_always)
    patcher.set(OrderRepository, "create_pending", _create_pending_again)
    patcher.set(Database, "migrate", migrate_without_unique_order)
