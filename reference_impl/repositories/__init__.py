"""All SQL lives here, one repository per aggregate; services compose them inside one transaction."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from reference_impl.repositories.carts import CartRepository
from reference_impl.repositories.events import EventRepository
from reference_impl.repositories.idempotency import IdempotencyKeyRepository
from reference_impl.repositories.orders import OrderRepository
from reference_impl.repositories.outbox import OutboxRepository
from reference_impl.repositories.products import ProductRepository
from reference_impl.repositories.sessions import SessionRepository


class Repositories:
    """Every repository bound to one connection, so they share its transaction."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.products = ProductRepository(conn)
        self.carts = CartRepository(conn)
        self.keys = IdempotencyKeyRepository(conn)
        self.sessions = SessionRepository(conn)
        self.orders = OrderRepository(conn)
        self.events = EventRepository(conn)
        self.outbox = OutboxRepository(conn)


__all__ = ["Repositories"]
