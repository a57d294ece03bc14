"""``idempotency_keys`` (rocket-rides-atomic): insert-or-find, lock, move the recovery point, finish.

A key is locked by setting ``locked_at``; a lock older than the lock timeout belongs to a request
that died, and the next request for the same key takes it over and resumes from the recovery point.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from reference_impl.repositories.base import Repository


@dataclass(frozen=True)
class IdempotencyKey:
    id: int
    idempotency_key: str
    user_id: str
    cart_id: uuid.UUID
    recovery_point: str
    locked_at: Any
    response_code: int | None
    response_body: Any
    plan: Any
    reservation_id: str | None
    reservation_attempt: int
    stripe_key_generation: int


_COLUMNS = """id, idempotency_key, user_id, cart_id, recovery_point, locked_at, response_code,
 response_body, plan, reservation_id, reservation_attempt, stripe_key_generation"""


class IdempotencyKeyRepository(Repository):
    async def find_or_create(
        self,
        *,
        key: str,
        user_id: str,
        cart_id: uuid.UUID,
        method: str,
        path: str,
        params: dict[str, Any],
    ) -> IdempotencyKey:
        """Insert the key unlocked at ``started``, or return the existing one as it is."""
        await self._exec(
            """
            INSERT INTO idempotency_keys
              (idempotency_key, user_id, cart_id, locked_at, recovery_point,
               request_method, request_path, request_params)
            VALUES (%s, %s, %s, NULL, 'started', %s, %s, %s)
            ON CONFLICT (user_id, idempotency_key) DO NOTHING
            """,
            (key, user_id, cart_id, method, path, Jsonb(params)),
        )
        row = await self._one(
            "SELECT " + _COLUMNS + " FROM idempotency_keys"  # noqa: S608 - constant column list
            " WHERE user_id = %s AND idempotency_key = %s",
            (user_id, key),
        )
        assert row is not None
        return IdempotencyKey(**row)

    async def try_lock(self, key_id: int, lock_timeout_s: float) -> IdempotencyKey | None:
        """Take the key if nobody holds it (or its holder died); None when someone else works on it."""
        row = await self._one(
            "UPDATE idempotency_keys SET locked_at = now(), last_run_at = now()"  # noqa: S608
            " WHERE id = %s AND response_code IS NULL"
            "   AND (locked_at IS NULL OR locked_at < now() - make_interval(secs => %s))"
            " RETURNING " + _COLUMNS,
            (key_id, lock_timeout_s),
        )
        return IdempotencyKey(**row) if row else None

    async def get(self, key_id: int) -> IdempotencyKey | None:
        row = await self._one(
            "SELECT " + _COLUMNS + " FROM idempotency_keys WHERE id = %s",  # noqa: S608
            (key_id,),
        )
        return IdempotencyKey(**row) if row else None

    async def request_params(self, key_id: int) -> dict[str, Any]:
        row = await self._one(
            "SELECT request_params FROM idempotency_keys WHERE id = %s", (key_id,)
        )
        assert row is not None
        params: dict[str, Any] = row["request_params"]
        return params

    async def set_recovery_point(self, key_id: int, point: str, **fields: Any) -> None:
        """Move the key to ``point``; optional columns travel in the same statement (same phase)."""
        await self._exec(
            """
            UPDATE idempotency_keys SET recovery_point = %(point)s,
              plan = COALESCE(%(plan)s, plan),
              reservation_id = COALESCE(%(reservation_id)s, reservation_id),
              reservation_attempt = COALESCE(%(reservation_attempt)s, reservation_attempt),
              stripe_key_generation = COALESCE(%(stripe_key_generation)s, stripe_key_generation)
            WHERE id = %(id)s
            """,
            {
                "id": key_id,
                "point": point,
                "plan": Jsonb(fields["plan"]) if "plan" in fields else None,
                "reservation_id": fields.get("reservation_id"),
                "reservation_attempt": fields.get("reservation_attempt"),
                "stripe_key_generation": fields.get("stripe_key_generation"),
            },
        )

    async def rewind(self, key_id: int) -> None:
        """Back to ``started`` with nothing held; the plan stays so a paid orphan can be adopted."""
        await self._exec(
            "UPDATE idempotency_keys SET recovery_point = 'started', reservation_id = NULL,"
            " locked_at = NULL, stripe_key_generation = stripe_key_generation + 1"
            " WHERE id = %s AND response_code IS NULL",
            (key_id,),
        )

    async def finish(self, key_id: int, code: int, body: dict[str, Any]) -> None:
        await self._exec(
            "UPDATE idempotency_keys SET recovery_point = 'finished', locked_at = NULL,"
            " response_code = %s, response_body = %s WHERE id = %s",
            (code, Jsonb(body), key_id),
        )

    async def unlock(self, key_id: int) -> None:
        await self._exec("UPDATE idempotency_keys SET locked_at = NULL WHERE id = %s", (key_id,))

    async def abandoned(self, older_than_s: float, limit: int) -> list[IdempotencyKey]:
        """Unfinished keys nobody has touched for a while: their clients gave up or their process died."""
        rows = await self._all(
            "SELECT " + _COLUMNS + " FROM idempotency_keys"  # noqa: S608
            " WHERE response_code IS NULL AND recovery_point <> 'started'"
            "   AND last_run_at < now() - make_interval(secs => %s)"
            "   AND (locked_at IS NULL OR locked_at < now() - make_interval(secs => %s))"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (older_than_s, older_than_s, limit),
        )
        return [IdempotencyKey(**row) for row in rows]

    async def latest_plans_for_cart(self, cart_id: uuid.UUID) -> list[IdempotencyKey]:
        rows = await self._all(
            "SELECT " + _COLUMNS + " FROM idempotency_keys"  # noqa: S608
            " WHERE cart_id = %s AND plan IS NOT NULL ORDER BY id DESC LIMIT 20",
            (cart_id,),
        )
        return [IdempotencyKey(**row) for row in rows]

    async def bind_client_key(self, user_id: str, client_key: str, cart_id: uuid.UUID) -> uuid.UUID:
        """Remember which cart a client's Idempotency-Key was first used on; returns that cart."""
        await self._exec(
            "INSERT INTO client_idempotency_keys (user_id, client_key, cart_id) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (user_id, client_key, cart_id),
        )
        row = await self._one(
            "SELECT cart_id FROM client_idempotency_keys WHERE client_key = %s", (client_key,)
        )
        assert row is not None
        bound: uuid.UUID = row["cart_id"]
        return bound
