"""Work owed to Redis (and Stripe) after a PostgreSQL commit, written in that same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from reference_impl.repositories.base import Repository

OutboxKind = Literal["fulfil_order", "release_reservation"]


@dataclass(frozen=True)
class OutboxJob:
    id: int
    kind: OutboxKind
    order_id: uuid.UUID | None
    reservation_id: str | None
    attempts: int


class OutboxRepository(Repository):
    async def add(
        self,
        kind: OutboxKind,
        *,
        order_id: uuid.UUID | None = None,
        reservation_id: str | None = None,
        lease_s: float = 0.0,
    ) -> int:
        """A job; with ``lease_s`` the caller keeps it for itself first (it is about to run it)."""
        row = await self._one(
            """
            INSERT INTO outbox (kind, order_id, reservation_id, leased_until)
            VALUES (%s, %s, %s, CASE WHEN %s > 0 THEN now() + make_interval(secs => %s) END)
            RETURNING id
            """,
            (kind, order_id, reservation_id, lease_s, lease_s),
        )
        assert row is not None
        job_id: int = row["id"]
        return job_id

    async def lease_due(self, limit: int, lease_s: float) -> list[OutboxJob]:
        """Claim due jobs for ``lease_s``; a crashed worker's lease simply runs out."""
        rows = await self._all(
            """
            UPDATE outbox SET leased_until = now() + make_interval(secs => %s)
            WHERE id IN (
              SELECT id FROM outbox
              WHERE done_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
                AND (leased_until IS NULL OR leased_until < now())
              ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, order_id, reservation_id, attempts
            """,
            (lease_s, limit),
        )
        return [OutboxJob(**row) for row in rows]

    async def done(self, job_id: int) -> None:
        await self._exec(
            "UPDATE outbox SET done_at = now(), leased_until = NULL WHERE id = %s", (job_id,)
        )

    async def done_for_order(self, order_id: uuid.UUID) -> None:
        await self._exec(
            "UPDATE outbox SET done_at = now(), leased_until = NULL"
            " WHERE order_id = %s AND done_at IS NULL",
            (order_id,),
        )

    async def done_for_reservation(self, reservation_id: str) -> None:
        await self._exec(
            "UPDATE outbox SET done_at = now(), leased_until = NULL"
            " WHERE reservation_id = %s AND kind = 'release_reservation' AND done_at IS NULL",
            (reservation_id,),
        )

    async def failed(self, job_id: int, error: str, retry_in_s: float, max_attempts: int) -> bool:
        """Record a failed attempt; True when the job is now dead (out of attempts)."""
        row = await self._one(
            """
            UPDATE outbox SET attempts = attempts + 1, last_error = left(%s, 500),
              leased_until = NULL,
              next_attempt_at = now() + make_interval(secs => %s),
              dead_at = CASE WHEN attempts + 1 >= %s THEN now() END
            WHERE id = %s RETURNING dead_at
            """,
            (error, retry_in_s, max_attempts, job_id),
        )
        return row is not None and row["dead_at"] is not None

    async def release_lease(self, job_id: int) -> None:
        await self._exec("UPDATE outbox SET leased_until = NULL WHERE id = %s", (job_id,))
