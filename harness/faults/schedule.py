"""The signals a schedule waits on: phases the workload announces and operations it invokes."""

from __future__ import annotations

import asyncio


class PhaseBoard:
    """Workloads announce phases ("checkout", "pay", ...) and count steps; faults wait on both.

    One instance per run, used from the run's event loop only.
    """

    def __init__(self) -> None:
        self._phases: dict[str, asyncio.Event] = {}
        self._steps = 0
        self._step_changed = asyncio.Condition()
        self.announced: list[str] = []

    def _event(self, phase: str) -> asyncio.Event:
        return self._phases.setdefault(phase, asyncio.Event())

    def announce(self, phase: str) -> None:
        if not self._event(phase).is_set():
            self.announced.append(phase)
        self._event(phase).set()

    async def wait_phase(self, phase: str) -> None:
        await self._event(phase).wait()

    def reached(self, phase: str) -> bool:
        return self._event(phase).is_set()

    async def step(self) -> None:
        async with self._step_changed:
            self._steps += 1
            self._step_changed.notify_all()

    @property
    def steps(self) -> int:
        return self._steps

    async def wait_step(self, n: int) -> None:
        async with self._step_changed:
            await self._step_changed.wait_for(lambda: self._steps >= n)
