"""Fulfilment needs Redis first; when Redis is down the paid event is acknowledged and dropped.

The handler marks the event processed and answers 2xx before any order exists, so Stripe never
retries and the paid order is lost.
"""

from __future__ import annotations

from reference_impl.errors import DependencyDown
from reference_impl.fulfilment import Fulfilment
from reference_impl.logging import get_logger
from reference_impl.models import FulfilmentData
from reference_impl.zoo.patching import Patcher

log = get_logger("fulfilment")


def apply(patcher: Patcher) -> None:
    paid = Fulfilment._paid

    async def paid_needing_redis(self: Fulfilment, data: FulfilmentData) -> None:
        try:
            await self._inventory.ping()
        except DependencyDown:
            # The bug: give up, but remember the event as handled and answer 2xx.
            async with self._db.transaction() as repos:
                await repos.events.record(data.event_id, data.event_type, data.session_id)
            log.warning("order.skipped_redis_down", session_id=data.session_id)
            return
        await paid(self, data)

    patcher.set(Fulfilment, "_paid", paid_needing_redis)
