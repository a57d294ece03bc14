"""The little each repository shares: run a statement, get dict rows back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from psycopg import AsyncConnection
from psycopg.rows import dict_row

Params = Sequence[Any] | Mapping[str, Any] | None


class Repository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def _one(self, sql: LiteralString, params: Params = None) -> dict[str, Any] | None:
        async with self._conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)
            return await cur.fetchone()

    async def _all(self, sql: LiteralString, params: Params = None) -> list[dict[str, Any]]:
        async with self._conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)
            return await cur.fetchall()

    async def _exec(self, sql: LiteralString, params: Params = None) -> int:
        async with self._conn.cursor() as cur:
            await cur.execute(sql, params)
            return cur.rowcount
