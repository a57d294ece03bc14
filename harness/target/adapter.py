"""The protocol between the harness and a checkout service: one method per contract route.

Workloads only ever call these methods, so a service whose API differs (GraphQL, other paths,
other field names) is tested by writing one class that implements this protocol.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

HEALTH_POLL_S = 0.1


@dataclass(frozen=True)
class Reply:
    """What the service answered, reduced to what checkers need."""

    status: int
    body: Any  # decoded JSON, or the text when it was not JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


class TargetAdapter(Protocol):
    """Every call may raise ``httpx.TimeoutException`` / ``httpx.TransportError``: the workload
    records those as ``info`` (outcome unknown)."""

    base_url: str

    async def health(self) -> Reply: ...

    async def put_product(self, sku: str, name: str, price_cents: int, stock: int) -> Reply: ...

    async def get_product(self, sku: str) -> Reply: ...

    async def create_cart(self, user_id: str) -> Reply: ...

    async def set_item(self, cart_id: str, user_id: str, sku: str, quantity: int) -> Reply: ...

    async def checkout(
        self,
        cart_id: str,
        user_id: str,
        contact: dict[str, Any],
        idempotency_key: str | None = None,
    ) -> Reply: ...

    async def orders(self) -> Reply: ...

    async def deliver_webhook(self, payload: bytes, signature: str) -> Reply: ...

    async def raw(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply: ...

    @property
    def webhook_url(self) -> str: ...

    async def aclose(self) -> None: ...


# What ``load_adapter`` checks an adapter class has: every method and property of the protocol
# (``base_url`` is an instance attribute, set by the constructor, so a class cannot show it).
ADAPTER_MEMBERS = (
    "health",
    "put_product",
    "get_product",
    "create_cart",
    "set_item",
    "checkout",
    "orders",
    "deliver_webhook",
    "raw",
    "webhook_url",
    "aclose",
)


class TargetNotReadyError(RuntimeError):
    """A running (URL) target did not report ready on ``/health`` in time."""


async def wait_healthy(adapter: TargetAdapter, timeout_s: float) -> None:
    """Poll ``adapter.health()`` until it answers 2xx. A running target may still be connecting
    to its dependencies through the links the harness has just created."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            reply = await adapter.health()
        except httpx.TransportError as exc:  # refused, reset, timed out: not serving yet
            last = repr(exc)
        else:
            if reply.ok:
                return
            last = f"{reply.status} {str(reply.body)[:200]}"
        if time.monotonic() >= deadline:
            raise TargetNotReadyError(
                f"the running target at {adapter.base_url} was not healthy within "
                f"{timeout_s:.0f}s (startup_timeout_s); last answer: {last}"
            )
        await asyncio.sleep(HEALTH_POLL_S)  # readiness polling with a deadline
