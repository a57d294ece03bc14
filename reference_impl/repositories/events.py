"""Stripe events already processed: the event-id half of webhook deduplication."""

from __future__ import annotations

from reference_impl.repositories.base import Repository


class EventRepository(Repository):
    async def record(self, event_id: str, event_type: str, session_id: str | None) -> bool:
        """True the first time; False when this event was processed before (or is being, and wins).

        Runs inside the transaction that applies the event, so a concurrent duplicate waits on the
        unique index and then sees the winner's row.
        """
        count = await self._exec(
            "INSERT INTO processed_events (event_id, event_type, session_id) VALUES (%s, %s, %s)"
            " ON CONFLICT (event_id) DO NOTHING",
            (event_id, event_type, session_id),
        )
        return count == 1
