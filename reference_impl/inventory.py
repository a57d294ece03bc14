"""Stock in Redis, changed only by Lua scripts so every check-and-change is atomic.

Per sku a hash ``inv:{sku}`` holds ``available`` (free to reserve), ``reserved`` (held by open
sessions) and ``sold``. A reservation is a hash ``resv:{id}`` (sku → quantity) plus an entry in the
``resv:expiry`` sorted set. Committing a paid session records its outcome under
``fulfil:{session_id}`` in the same script, so a retry gets the same answer and never sells twice.

The release and commit scripts derive ``inv:{sku}`` keys from the reservation they read: fine for
the single Redis this service runs against, not for Redis Cluster.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.maint_notifications import MaintNotificationsConfig

from reference_impl.errors import DependencyDown

_EXPIRY = "resv:expiry"
# Connections opened before serving: as many as the database pool's maximum, i.e. about as many
# requests as can be past their first transaction at once.
_WARM_CONNECTIONS = 20
_OUTCOME_TTL_S = 60 * 60 * 24 * 30
_TOMBSTONE_TTL_S = 60 * 60 * 24 * 7

_SET_STOCK = """
local avail = tonumber(redis.call('HGET', KEYS[1], 'available') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
local delta = tonumber(ARGV[1]) - (avail + reserved)
if avail + delta < 0 then return {0, avail, reserved} end
redis.call('HINCRBY', KEYS[1], 'available', delta)
redis.call('HINCRBY', KEYS[1], 'reserved', 0)
redis.call('HINCRBY', KEYS[1], 'sold', 0)
return {1, avail + delta, reserved}
"""

# KEYS: resv:{id}, resv:expiry, tomb:{id}, inv:{sku}...  ARGV: id, expires_at, sku, qty, sku, qty...
_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {1, ''} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {2, ''} end
local n = (#ARGV - 2) / 2
for i = 1, n do
  local qty = tonumber(ARGV[2 + 2 * i])
  local avail = tonumber(redis.call('HGET', KEYS[3 + i], 'available') or '0')
  if avail < qty then return {0, ARGV[1 + 2 * i]} end
end
for i = 1, n do
  local qty = tonumber(ARGV[2 + 2 * i])
  redis.call('HINCRBY', KEYS[3 + i], 'available', -qty)
  redis.call('HINCRBY', KEYS[3 + i], 'reserved', qty)
  redis.call('HSET', KEYS[1], ARGV[1 + 2 * i], qty)
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return {1, ''}
"""

# KEYS: resv:{id}, resv:expiry, tomb:{id}  ARGV: id, tombstone ttl
_RELEASE = """
redis.call('ZREM', KEYS[2], ARGV[1])
local held = redis.call('HGETALL', KEYS[1])
if #held == 0 then return 0 end
for i = 1, #held, 2 do
  local qty = tonumber(held[i + 1])
  redis.call('HINCRBY', 'inv:' .. held[i], 'reserved', -qty)
  redis.call('HINCRBY', 'inv:' .. held[i], 'available', qty)
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], 'released', 'EX', ARGV[2])
return 1
"""

# KEYS: fulfil:{session}, resv:{id}, resv:expiry, tomb:{id}
# ARGV: outcome ttl, reservation id, tombstone ttl, sku, qty, sku, qty...
_COMMIT = """
local done = redis.call('GET', KEYS[1])
if done then return done end
local held = redis.call('HGETALL', KEYS[2])
if #held > 0 then
  for i = 1, #held, 2 do
    local qty = tonumber(held[i + 1])
    redis.call('HINCRBY', 'inv:' .. held[i], 'reserved', -qty)
    redis.call('HINCRBY', 'inv:' .. held[i], 'sold', qty)
  end
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('SET', KEYS[4], 'committed', 'EX', ARGV[3])
else
  -- The reservation is gone (expired, released, or Redis lost it): sell from what is left.
  for i = 4, #ARGV, 2 do
    local avail = tonumber(redis.call('HGET', 'inv:' .. ARGV[i], 'available') or '0')
    if avail < tonumber(ARGV[i + 1]) then
      redis.call('SET', KEYS[1], 'out_of_stock', 'EX', ARGV[1])
      return 'out_of_stock'
    end
  end
  for i = 4, #ARGV, 2 do
    local qty = tonumber(ARGV[i + 1])
    redis.call('HINCRBY', 'inv:' .. ARGV[i], 'available', -qty)
    redis.call('HINCRBY', 'inv:' .. ARGV[i], 'sold', qty)
  end
end
redis.call('SET', KEYS[1], 'committed', 'EX', ARGV[1])
return 'committed'
"""

CommitOutcome = Literal["committed", "out_of_stock"]


@dataclass(frozen=True)
class StockLevel:
    available: int
    reserved: int

    @property
    def stock(self) -> int:
        return self.available + self.reserved


class StockConflict(Exception):
    """A stock change would leave availability below zero (contract 6.1: 422)."""

    def __init__(self, level: StockLevel) -> None:
        super().__init__("stock below reserved units")
        self.level = level


class Inventory:
    def __init__(self, url: str, *, warm_connections: int = _WARM_CONNECTIONS) -> None:
        self._warm_connections = warm_connections
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            health_check_interval=5,
            # One plain Redis, no cluster maintenance to follow. Left on ("auto"), the pool also
            # skips its check on borrow: after an outage every pooled connection would fail one
            # request each before being replaced.
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
            decode_responses=True,
        )
        self._set_stock = self._redis.register_script(_SET_STOCK)
        self._reserve = self._redis.register_script(_RESERVE)
        self._release = self._redis.register_script(_RELEASE)
        self._commit = self._redis.register_script(_COMMIT)

    async def close(self) -> None:
        await self._redis.aclose()

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise DependencyDown("redis", type(exc).__name__) from exc
        except RedisError as exc:  # e.g. LOADING after a restart: also "not now"
            raise DependencyDown("redis", type(exc).__name__) from exc

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    async def warm_up(self) -> None:
        """Open the pool's connections before serving, as the database pool opens its minimum.

        redis-py connects lazily. On a cold pool, a burst of concurrent reservations would each
        open a connection first (TCP connect, then the handshake's round trips) while the one
        request that found the start-up connection ran ahead of them all: the first burst after
        every start would be served in an order set by connection setup, not by arrival.
        """
        pool = self._redis.connection_pool
        opened = await asyncio.gather(
            *(
                self._call(pool.get_connection())  # type: ignore[no-untyped-call]
                for _ in range(self._warm_connections)
            ),
            return_exceptions=True,
        )
        for connection in opened:
            if not isinstance(connection, BaseException):
                await pool.release(connection)
        failed = next((c for c in opened if isinstance(c, BaseException)), None)
        if failed is not None:
            raise failed

    async def set_stock(self, sku: str, stock: int) -> StockLevel:
        ok, available, reserved = await self._call(
            self._set_stock(keys=[f"inv:{sku}"], args=[stock])
        )
        level = StockLevel(int(available), int(reserved))
        if not int(ok):
            raise StockConflict(level)
        return level

    async def level(self, sku: str) -> StockLevel:
        values = await self._call(self._redis.hmget(f"inv:{sku}", ["available", "reserved"]))
        return StockLevel(int(values[0] or 0), int(values[1] or 0))

    async def reserve(
        self, reservation_id: str, items: Sequence[tuple[str, int]], expires_at: float
    ) -> str | None:
        """Hold every line or none; returns the first sku short of stock, None when held.

        Idempotent for one ``reservation_id``: a retry after an ambiguous failure is a no-op.
        """
        keys = [f"resv:{reservation_id}", _EXPIRY, f"tomb:{reservation_id}"]
        keys += [f"inv:{sku}" for sku, _ in items]
        args: list[str | int | float] = [reservation_id, expires_at]
        for sku, quantity in items:
            args += [sku, quantity]
        code, sku = await self._call(self._reserve(keys=keys, args=args))
        if int(code) == 2:
            raise DependencyDown("redis", f"reservation {reservation_id} was already released")
        return None if int(code) == 1 else str(sku)

    async def release(self, reservation_id: str) -> bool:
        """Give held units back; a no-op after commit or a previous release."""
        result = await self._call(
            self._release(
                keys=[f"resv:{reservation_id}", _EXPIRY, f"tomb:{reservation_id}"],
                args=[reservation_id, _TOMBSTONE_TTL_S],
            )
        )
        return bool(int(result))

    async def commit(
        self, session_id: str, reservation_id: str | None, items: Sequence[tuple[str, int]]
    ) -> CommitOutcome:
        """Sell a paid session's units once; the outcome is recorded so retries agree."""
        rid = reservation_id or f"none:{session_id}"
        args: list[str | int] = [_OUTCOME_TTL_S, rid, _TOMBSTONE_TTL_S]
        for sku, quantity in items:
            args += [sku, quantity]
        result = await self._call(
            self._commit(
                keys=[f"fulfil:{session_id}", f"resv:{rid}", _EXPIRY, f"tomb:{rid}"], args=args
            )
        )
        return "out_of_stock" if str(result) == "out_of_stock" else "committed"

    async def expired_reservations(self, limit: int, now: float | None = None) -> list[str]:
        found = await self._call(
            self._redis.zrangebyscore(_EXPIRY, "-inf", now or time.time(), start=0, num=limit)
        )
        return [str(r) for r in found]
