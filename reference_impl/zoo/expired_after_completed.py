"""A closing event (``expired``, failed async payment) is applied whatever the session's state.

The handler never looks at whether the session was paid meanwhile: a late ``expired`` after
``completed`` marks a paid session expired and puts its units back on sale, though they are sold.
"""

from __future__ import annotations

from reference_impl.fulfilment import Fulfilment
from reference_impl.logging import get_logger
from reference_impl.models import FulfilmentData
from reference_impl.zoo.patching import Patcher

log = get_logger("fulfilment")


async def _closed_whatever_the_state(self: Fulfilment, data: FulfilmentData) -> None:
    async with self._db.transaction() as repos:
        if not await repos.events.record(data.event_id, data.event_type, data.session_id):
            return
        session = await repos.sessions.get(data.session_id, for_update=True)
        if session is None:
            return
        # The bug: no check that the session is still open (it may be paid by now).
        await repos.sessions.set_status(session.session_id, "expired")
        await repos.carts.reopen(session.cart_id, session_id=session.session_id)
    # Give the session's units back: its items, not its reservation (gone once committed).
    redis = self._inventory._redis
    for item in session.items:
        sku, quantity = str(item["sku"]), int(item["quantity"])
        await self._inventory._call(redis.hincrby(f"inv:{sku}", "reserved", -quantity))
        await self._inventory._call(redis.hincrby(f"inv:{sku}", "available", quantity))
    if session.reservation_id:
        await self._inventory._call(redis.delete(f"resv:{session.reservation_id}"))
        await self._inventory._call(redis.zrem("resv:expiry", session.reservation_id))
    log.info("session.closed", session_id=data.session_id, event_type=data.event_type)


def apply(patcher: Patcher) -> None:
    patcher.set(Fulfilment, "_closed", _closed_whatever_the_state)
