"""The Redis pool is opened before the service serves, so a burst connects nobody on its way; and
connections an outage cut are replaced when next borrowed, so healing costs no request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from redis.asyncio.connection import AbstractConnection

from harness.stack.stack import Stack
from reference_impl.errors import DependencyDown
from reference_impl.inventory import Inventory, StockLevel


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)  # polling interval with a deadline, not synchronisation


def count_new_connections(inventory: Inventory) -> list[AbstractConnection]:
    """Every connection the inventory's pool makes from now on, in order."""
    pool = inventory._redis.connection_pool
    make = pool.make_connection
    made: list[AbstractConnection] = []

    def counted() -> AbstractConnection:
        connection: AbstractConnection = make()  # type: ignore[no-untyped-call]
        made.append(connection)
        return connection

    pool.make_connection = counted  # type: ignore[method-assign]
    return made


async def test_a_burst_after_warm_up_is_served_by_open_connections(fresh_redis_db: str) -> None:
    inventory = Inventory(fresh_redis_db, warm_connections=8)
    made = count_new_connections(inventory)
    try:
        await inventory.warm_up()
        assert len(made) == 8
        assert all(connection.is_connected for connection in made)
        # As many concurrent reservations as were warmed: none of them opens a connection first.
        held = await asyncio.gather(
            *(inventory.reserve(f"r{n}", [("pen", 1)], expires_at=0) for n in range(8))
        )
        assert held == ["pen"] * 8  # nothing stocked: each one answered, on a warm connection
        assert len(made) == 8
    finally:
        await inventory.close()


async def test_warm_up_against_a_missing_redis_is_dependency_down() -> None:
    inventory = Inventory("redis://127.0.0.1:1", warm_connections=3)
    try:
        with pytest.raises(DependencyDown):
            await inventory.warm_up()
        assert not inventory._redis.connection_pool._in_use_connections  # nothing left held
    finally:
        await inventory.close()


async def test_connections_an_outage_cut_are_replaced_when_next_borrowed(
    healed: Stack, fresh_redis_db: str
) -> None:
    inventory = Inventory(fresh_redis_db, warm_connections=8)
    pool = inventory._redis.connection_pool
    try:
        await inventory.warm_up()
        healed.toxiproxy.set_enabled("redis", False)  # the link drops every open connection
        await until(
            lambda: all(
                c._reader is not None and c._reader.at_eof() for c in pool._available_connections
            )
        )
        healed.toxiproxy.set_enabled("redis", True)
        # Every pooled connection is dead: each is replaced on borrow, and no request fails.
        levels = await asyncio.gather(*(inventory.level("pen") for _ in range(8)))
        assert levels == [StockLevel(0, 0)] * 8
    finally:
        await inventory.close()
