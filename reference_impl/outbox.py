"""The retry worker: finishes what a request could not (Redis or Stripe was down), bounded.

Each tick leases at most a batch of due outbox jobs (a lease, not a lock, so a SIGKILLed worker's
jobs come back on their own), then now and then rolls back abandoned checkouts and releases
reservations whose sessions have long expired. Retries back off up to a cap and give up (dead
letter, logged as an error) after a bounded number of attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from reference_impl.checkout import CheckoutService
from reference_impl.config import Config
from reference_impl.errors import DependencyDown
from reference_impl.fulfilment import Fulfilment
from reference_impl.inventory import Inventory
from reference_impl.logging import get_logger
from reference_impl.repositories.database import Database

log = get_logger("outbox")

_BATCH = 20
_LEASE_S = 30.0
_IDLE_S = 0.25
_REAP_EVERY_S = 5.0


class OutboxWorker:
    def __init__(
        self,
        config: Config,
        db: Database,
        inventory: Inventory,
        fulfilment: Fulfilment,
        checkout: CheckoutService,
    ) -> None:
        self._config = config
        self._db = db
        self._inventory = inventory
        self._fulfilment = fulfilment
        self._checkout = checkout

    async def run(self, stop: asyncio.Event) -> None:
        next_reap = 0.0
        while not stop.is_set():
            busy = False
            try:
                busy = await self.tick() >= _BATCH
                if time.monotonic() >= next_reap:
                    next_reap = time.monotonic() + _REAP_EVERY_S
                    await self.reap()
            except DependencyDown as exc:
                log.warning("outbox.dependency_down", dependency=exc.dependency, reason=exc.reason)
            except Exception:  # the worker must outlive any one bad job
                log.exception("outbox.tick_failed")
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=_IDLE_S)

    async def tick(self) -> int:
        async with self._db.transaction() as repos:
            jobs = await repos.outbox.lease_due(_BATCH, _LEASE_S)
        for job in jobs:
            if job.kind == "fulfil_order" and job.order_id is not None:
                await self._fulfilment.complete_order(job.order_id, job.id, job.attempts)
            elif job.kind == "release_reservation" and job.reservation_id is not None:
                await self._fulfilment.release(job.reservation_id, job.id, job.attempts)
        return len(jobs)

    async def reap(self) -> None:
        # A checkout whose request died and whose client never retried: undo it.
        await self._checkout.roll_back_abandoned(self._config.lock_timeout_s, _BATCH)
        # Reservations outliving their session by the grace period: nobody will pay for them.
        for reservation_id in await self._inventory.expired_reservations(_BATCH):
            async with self._db.transaction() as repos:
                held = await repos.orders.holds_reservation(reservation_id)
            if not held:
                await self._inventory.release(reservation_id)
                log.info("reservation.expired", reservation_id=reservation_id)
