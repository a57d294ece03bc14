"""The catalogue: names and prices. Stock is not here: it lives in Redis (see inventory.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reference_impl.repositories.base import Repository


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int


class ProductRepository(Repository):
    async def upsert(self, sku: str, name: str, price_cents: int) -> Product:
        row = await self._one(
            """
            INSERT INTO products (sku, name, price_cents) VALUES (%s, %s, %s)
            ON CONFLICT (sku) DO UPDATE
              SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, updated_at = now()
            RETURNING sku, name, price_cents
            """,
            (sku, name, price_cents),
        )
        assert row is not None
        return Product(**row)

    async def get(self, sku: str) -> Product | None:
        row = await self._one("SELECT sku, name, price_cents FROM products WHERE sku = %s", (sku,))
        return Product(**row) if row else None

    async def get_many(self, skus: Iterable[str]) -> dict[str, Product]:
        rows = await self._all(
            "SELECT sku, name, price_cents FROM products WHERE sku = ANY(%s)", (list(skus),)
        )
        return {row["sku"]: Product(**row) for row in rows}
