"""The PostgreSQL connection pool, the transaction boundary, and the migrations applied at start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from reference_impl.errors import DependencyDown
from reference_impl.repositories import Repositories
from reference_impl.repositories.migrations import MIGRATIONS

_MIGRATION_LOCK = 0x636B6F7574  # pg_advisory_xact_lock id: one instance migrates at a time
_DOWN = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


class Database:
    def __init__(self, url: str, *, max_size: int = 20) -> None:
        self._url = url
        self._max_size = max_size
        self.pool = self._new_pool()
        self._opened_once = False

    def _new_pool(self) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
        return AsyncConnectionPool(
            self._url,
            open=False,
            min_size=2,
            max_size=self._max_size,
            timeout=5.0,  # waiting for a free connection longer than this means trouble: 503
            reconnect_timeout=5.0,
            # Toxiproxy cuts links under us: check a connection before lending it out.
            check=AsyncConnectionPool.check_connection,
            kwargs={
                "autocommit": True,
                "connect_timeout": 3,
                "options": "-c statement_timeout=5000 -c lock_timeout=5000"
                " -c idle_in_transaction_session_timeout=30000",
            },
        )

    async def open(self, timeout_s: float) -> None:
        """Open the pool; an unreachable database is ``DependencyDown``, which start-up retries
        (the pool's own PoolTimeout is neither an OSError nor a TimeoutError)."""
        if self._opened_once and self.pool.closed:
            self.pool = self._new_pool()  # a pool that timed out opening is closed for good
        self._opened_once = True
        try:
            await self.pool.open(wait=True, timeout=timeout_s)
        except _DOWN as exc:
            raise DependencyDown("postgres", type(exc).__name__) from exc

    async def close(self) -> None:
        await self.pool.close(timeout=5.0)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repositories]:
        """One atomic unit of work; a lost or slow database becomes ``DependencyDown``."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                yield Repositories(conn)
        except _DOWN as exc:
            raise DependencyDown("postgres", type(exc).__name__) from exc

    async def migrate(self) -> list[int]:
        """Apply pending migrations in order, each in its own transaction; returns those applied."""
        applied: list[int] = []
        try:
            async with self.pool.connection() as conn:
                for version, statements in MIGRATIONS:
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                        await conn.execute(
                            "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            " version integer PRIMARY KEY,"
                            " applied_at timestamptz NOT NULL DEFAULT now())"
                        )
                        cur = await conn.execute(
                            "SELECT 1 FROM schema_migrations WHERE version = %s", (version,)
                        )
                        if await cur.fetchone() is not None:
                            continue
                        for statement in statements:
                            await conn.execute(statement)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version) VALUES (%s)", (version,)
                        )
                        applied.append(version)
        except _DOWN as exc:
            raise DependencyDown("postgres", type(exc).__name__) from exc
        return applied

    async def ping(self) -> None:
        try:
            async with self.pool.connection() as conn:
                await conn.execute("SELECT 1")
        except _DOWN as exc:
            raise DependencyDown("postgres", type(exc).__name__) from exc
