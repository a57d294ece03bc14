"""Reserving stock reads ``available``, then decrements it in separate Redis calls.

Between the check and the decrement another buyer can pass the same check: the last unit is
reserved (and sold) several times and ``available`` goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence

from reference_impl.inventory import Inventory
from reference_impl.zoo.patching import Patcher


async def _reserve_check_then_act(
    self: Inventory, reservation_id: str, items: Sequence[tuple[str, int]], expires_at: float
) -> str | None:
    r = self._redis
    if await self._call(r.exists(f"resv:{reservation_id}")):
        return None
    for sku, quantity in items:
        available = await self._call(r.hget(f"inv:{sku}", "available"))
        if int(available or 0) < quantity:
            return sku
    # The bug: the stock checked above may be gone by now; nothing makes check and act atomic.
    for sku, quantity in items:
        await self._call(r.hincrby(f"inv:{sku}", "available", -quantity))
        await self._call(r.hincrby(f"inv:{sku}", "reserved", quantity))
        await self._call(r.hset(f"resv:{reservation_id}", sku, quantity))
    await self._call(r.zadd("resv:expiry", {reservation_id: expires_at}))
    return None


def apply(patcher: Patcher) -> None:
    patcher.set(Inventory, "reserve", _reserve_check_then_act)
