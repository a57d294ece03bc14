"""Checkout sessions we created at Stripe (and those we adopted), with what each one sells."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb

from reference_impl.repositories.base import Repository

SessionStatus = Literal["open", "paid", "expired", "failed"]


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    cart_id: uuid.UUID
    user_id: str
    amount_total: int
    items: list[dict[str, Any]]
    reservation_id: str | None
    url: str
    status: SessionStatus
    expires_at: datetime


_COLUMNS = (
    "session_id, cart_id, user_id, amount_total, items, reservation_id, url, status, expires_at"
)


class SessionRepository(Repository):
    async def insert(
        self,
        *,
        session_id: str,
        cart_id: uuid.UUID,
        user_id: str,
        key_id: int | None,
        amount_total: int,
        items: list[dict[str, Any]],
        reservation_id: str | None,
        url: str,
        expires_at: datetime,
        status: SessionStatus = "open",
    ) -> None:
        await self._exec(
            """
            INSERT INTO checkout_sessions (session_id, cart_id, user_id, idempotency_key_id,
              amount_total, items, reservation_id, url, status, expires_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (session_id) DO NOTHING
            """,
            (
                session_id,
                cart_id,
                user_id,
                key_id,
                amount_total,
                Jsonb(items),
                reservation_id,
                url,
                status,
                expires_at,
            ),
        )

    async def get(self, session_id: str, *, for_update: bool = False) -> CheckoutSession | None:
        if for_update:
            row = await self._one(
                "SELECT " + _COLUMNS + " FROM checkout_sessions WHERE session_id = %s FOR UPDATE",  # noqa: S608
                (session_id,),
            )
        else:
            row = await self._one(
                "SELECT " + _COLUMNS + " FROM checkout_sessions WHERE session_id = %s",  # noqa: S608
                (session_id,),
            )
        return CheckoutSession(**row) if row else None

    async def set_status(self, session_id: str, status: SessionStatus) -> None:
        await self._exec(
            "UPDATE checkout_sessions SET status = %s, updated_at = now() WHERE session_id = %s",
            (status, session_id),
        )

    async def paid_for_cart(self, cart_id: uuid.UUID) -> CheckoutSession | None:
        row = await self._one(
            "SELECT " + _COLUMNS + " FROM checkout_sessions"  # noqa: S608
            " WHERE cart_id = %s AND status = 'paid' LIMIT 1",
            (cart_id,),
        )
        return CheckoutSession(**row) if row else None
