"""Everything a workload needs: the target's client, the Stripe customer, the history, a seed."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx

from harness.faults.schedule import PhaseBoard
from harness.history import History, Op, OpType
from harness.stripe import StripeSimulator
from harness.target.adapter import Reply, TargetAdapter

# 503 means "a dependency is down and nothing was done" (contract 6.6): a definite failure.
# Any other 5xx may have done part of the work, so its outcome is unknown.
DEFINITE_FAILURES = frozenset(range(400, 500)) | {503}


class SetupFailedError(RuntimeError):
    """The target refused a run's set-up, so there is nothing meaningful to check."""


@dataclass(frozen=True)
class ProductSpec:
    sku: str  # already namespaced with the run id
    name: str
    price_cents: int
    stock: int


@dataclass
class WorkloadContext:
    adapter: TargetAdapter
    simulator: StripeSimulator
    webhook_secret: str
    history: History
    phases: PhaseBoard
    rng: random.Random
    run_id: str
    products: list[ProductSpec]
    deadline: float  # time.monotonic() by which every workload must have stopped
    max_concurrency: int = 50
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> cart id, as handed out
    _workers: int = 0

    def worker(self) -> str:
        """A fresh process name: each one runs one operation at a time, as Jepsen's do."""
        self._workers += 1
        return f"w{self._workers}"

    def user(self, n: int) -> str:
        return f"{self.run_id}-u{n}"

    def remaining_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    async def perform(
        self, process: str, f: str, value: dict[str, Any], call: Callable[[], Awaitable[Reply]]
    ) -> tuple[Op, Reply | None]:
        """Record ``f`` as invoked, run it, record how it ended. Never raises for the target's
        failures: they are data for the checkers."""
        if self.remaining_s() <= 0:
            raise TimeoutError("the scenario's time budget is spent")
        invoke = self.history.invoke(process, f, value)
        await self.phases.step()
        try:
            reply = await asyncio.wait_for(call(), timeout=self.remaining_s())
        except (httpx.TimeoutException, TimeoutError) as exc:
            return self.history.complete(invoke, OpType.INFO, {"error": f"timeout: {exc!r}"}), None
        except httpx.TransportError as exc:
            # The request may have reached the target before the connection broke. "dropped"
            # marks a server that accepted the request and then hung up (crashed, gave up):
            # checkers of malformed input count that against it.
            dropped = isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError)
            lost = {"error": repr(exc), "dropped": dropped}
            return self.history.complete(invoke, OpType.INFO, lost), None
        if reply.ok:
            body = reply.body if isinstance(reply.body, dict) else {"body": reply.body}
            return self.history.complete(invoke, OpType.OK, {**body, "status": reply.status}), reply
        kind = OpType.FAIL if reply.status in DEFINITE_FAILURES else OpType.INFO
        detail = reply.body if isinstance(reply.body, dict) else {"body": str(reply.body)[:300]}
        return self.history.complete(invoke, kind, {**detail, "status": reply.status}), reply

    async def stock_products(self) -> None:
        """Set every product's price and stock, recorded as ``set_stock``: conservation counts
        from here. A refusal ends the run, as there would be nothing meaningful to check."""
        for product in self.products:
            op, _ = await self.perform(
                "setup",
                "set_stock",
                {
                    "sku": product.sku,
                    "name": product.name,
                    "price_cents": product.price_cents,
                    "stock": product.stock,
                },
                partial(
                    self.adapter.put_product,
                    product.sku,
                    product.name,
                    product.price_cents,
                    product.stock,
                ),
            )
            if op.type is not OpType.OK:
                raise SetupFailedError(f"the target refused product {product.sku}: {op.value}")

    async def customer(
        self, process: str, f: str, value: dict[str, Any], action: Callable[[], None]
    ) -> Op:
        """A customer's action at Stripe (pay, abandon), recorded like any operation."""
        invoke = self.history.invoke(process, f, value)
        await self.phases.step()
        try:
            await asyncio.to_thread(action)
        except Exception as exc:  # e.g. paying a session that expired meanwhile
            return self.history.complete(invoke, OpType.FAIL, {"error": str(exc)})
        return self.history.complete(invoke, OpType.OK, {})
