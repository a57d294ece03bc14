"""The signals a schedule waits on: phases the workload announces and operations it invokes.

Announcing a phase is a barrier: the workload goes on only once every fault due at that phase
has been injected (or healed, for ``until_phase``). Without it, "Redis down at phase pay" would
race the payments it is meant to precede.
"""

from __future__ import annotations

import asyncio
from collections import Counter


class PhaseBoard:
    """Workloads announce phases ("checkout", "pay", ...) and count steps; faults wait on both.

    One instance per run, used from the run's event loop only.
    """

    def __init__(self) -> None:
        self._phases: dict[str, asyncio.Event] = {}
        self._steps = 0
        self._changed = asyncio.Condition()
        self._due: Counter[str] = Counter()  # fault actions still to finish, per phase or step
        self.announced: list[str] = []

    def _event(self, phase: str) -> asyncio.Event:
        return self._phases.setdefault(phase, asyncio.Event())

    # -- the nemesis side ----------------------------------------------------------------

    def expect(self, mark: str) -> None:
        """A fault will act at ``mark`` (a phase, or ``step:N``): hold the workload there."""
        self._due[mark] += 1

    async def acted(self, mark: str) -> None:
        """The fault expected at ``mark`` has acted (or given up): release the workload."""
        async with self._changed:
            self._due[mark] -= 1
            self._changed.notify_all()

    async def wait_phase(self, phase: str) -> None:
        await self._event(phase).wait()

    async def wait_step(self, n: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._steps >= n)

    # -- the workload side ---------------------------------------------------------------

    async def announce(self, phase: str) -> None:
        """Enter ``phase``; returns once every fault due at it has acted."""
        if not self._event(phase).is_set():
            self.announced.append(phase)
        self._event(phase).set()
        async with self._changed:
            await self._changed.wait_for(lambda: self._due[phase] <= 0)

    def reached(self, phase: str) -> bool:
        return self._event(phase).is_set()

    async def step(self) -> None:
        """Count one operation; returns once every fault due at this step has acted."""
        async with self._changed:
            self._steps += 1
            self._changed.notify_all()
            mark = f"step:{self._steps}"
            await self._changed.wait_for(lambda: self._due[mark] <= 0)

    @property
    def steps(self) -> int:
        return self._steps
