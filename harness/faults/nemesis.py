"""The nemesis: runs each scheduled fault beside the workload and heals everything at the end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from harness.faults.links import inject_link_fault
from harness.faults.model import LINK_KINDS, PAYMENT_KINDS, PROCESS_KINDS, FaultSpec
from harness.faults.payments import inject_payment_fault
from harness.faults.schedule import PhaseBoard
from harness.history import FAULT_PROCESS, History, OpType
from harness.stack.proxies import ProxyServer
from harness.stripe import StripeSimulator
from harness.target.process import ProcessFaultUnavailableError, TargetProcess

log = logging.getLogger(__name__)

INJECT_TIMEOUT_S = 30.0  # an injection (a Toxiproxy call, a restart) that takes longer has failed


class FaultHealError(RuntimeError):
    """Some fault could not be injected or healed: the run cannot be trusted."""


class FaultUnavailableError(RuntimeError):
    """The scenario asks for a fault this target or stack cannot take (e.g. SIGKILL of a URL)."""


@dataclass
class FaultEnvironment:
    """What faults act on. ``None`` members make the matching faults unavailable."""

    history: History
    phases: PhaseBoard
    simulator: StripeSimulator
    toxiproxy: ProxyServer | None = None
    faultable_links: frozenset[str] = frozenset({"postgres", "redis", "stripe"})
    target: TargetProcess | None = None
    redis_url: str | None = None  # direct, for data faults


@dataclass
class Nemesis:
    env: FaultEnvironment
    specs: list[FaultSpec]
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _active: dict[int, Callable[[], None]] = field(default_factory=dict)
    _started: set[int] = field(default_factory=set)
    _injected: asyncio.Condition = field(default_factory=asyncio.Condition)

    def check_available(self) -> None:
        """Refuse up front, with the reason, a fault this run cannot inject."""
        for spec in self.specs:
            if spec.kind in LINK_KINDS:
                if self.env.toxiproxy is None or spec.link not in self.env.faultable_links:
                    raise FaultUnavailableError(
                        f"{spec.label}: the {spec.link} link does not pass through Toxiproxy for "
                        "this target (declare [links.{spec.link}] in the target file)"
                    )
            elif spec.kind in PROCESS_KINDS and self.env.target is None:
                raise FaultUnavailableError(
                    f"{spec.label}: process faults need a target the harness starts (a command), "
                    "not a running URL"
                )
            elif spec.kind == "redis_flush" and self.env.redis_url is None:
                raise FaultUnavailableError(f"{spec.label}: no direct Redis URL for data faults")

    def start(self) -> None:
        self.check_available()
        self.expect_marks()
        self._tasks = [asyncio.create_task(self._run(i, s)) for i, s in enumerate(self.specs)]

    async def _inject(self, spec: FaultSpec) -> Callable[[], None]:
        env = self.env
        if spec.kind in LINK_KINDS:
            assert env.toxiproxy is not None
            return await asyncio.to_thread(inject_link_fault, env.toxiproxy, spec)
        if spec.kind in PAYMENT_KINDS:
            return inject_payment_fault(env.simulator, spec)
        if spec.kind == "redis_flush":
            assert env.redis_url is not None
            url = env.redis_url

            def flush() -> None:  # a failover to an empty replica: the data is simply gone
                client = redis.Redis.from_url(url)
                try:
                    client.flushall()
                finally:
                    client.close()

            await asyncio.to_thread(flush)
            return lambda: None
        target = env.target
        if target is None:
            raise ProcessFaultUnavailableError("no target process")
        if spec.kind == "kill_restart":
            await asyncio.to_thread(target.kill)
            return target.restart_if_down
        await asyncio.to_thread(target.pause)
        return target.resume

    def _start_mark(self, spec: FaultSpec) -> str | None:
        """Where the workload must wait for this fault's injection (None: a timed start)."""
        schedule = spec.schedule
        if schedule.at_s:
            return None
        if schedule.at_phase is not None:
            return schedule.at_phase
        if schedule.at_step is not None:
            return f"step:{schedule.at_step}"
        return None

    async def _wait_start(self, spec: FaultSpec, cycle: int) -> None:
        schedule = spec.schedule
        if cycle > 0:
            return  # a periodic fault's later cycles follow its period
        if schedule.at_phase is not None:
            await self.env.phases.wait_phase(schedule.at_phase)
        elif schedule.at_step is not None:
            await self.env.phases.wait_step(schedule.at_step)
        if schedule.at_s:
            await asyncio.sleep(schedule.at_s)  # the schedule itself: "start t seconds in"

    async def _wait_stop(self, spec: FaultSpec) -> None:
        schedule = spec.schedule
        if schedule.until_phase is not None:
            await self.env.phases.wait_phase(schedule.until_phase)
        elif schedule.duration_s is not None:
            await asyncio.sleep(schedule.duration_s)  # the schedule: "for d seconds"
        else:
            await asyncio.Event().wait()  # until the workload ends and heal_all cancels us

    def expect_marks(self) -> None:
        """Register, before the workload starts, the phases at which it must wait for faults."""
        for spec in self.specs:
            start = self._start_mark(spec)
            if start is not None:
                self.env.phases.expect(start)
            if spec.schedule.until_phase is not None:
                self.env.phases.expect(spec.schedule.until_phase)

    async def _run(self, index: int, spec: FaultSpec) -> None:
        schedule = spec.schedule
        # The marks the workload waits at for this fault; each is released exactly once, even if
        # the fault fails to inject, so a broken fault can never hang the workload.
        holds = [m for m in (self._start_mark(spec), schedule.until_phase) if m is not None]

        async def release(mark: str | None) -> None:
            if mark is not None and mark in holds:
                holds.remove(mark)
                await self.env.phases.acted(mark)

        try:
            for cycle in range(schedule.count):
                try:
                    await self._wait_start(spec, cycle)
                    value = {
                        "name": spec.label,
                        "kind": spec.kind,
                        "link": spec.link,
                        "params": dict(spec.params),
                        "cycle": cycle,
                    }
                    invoke = self.env.history.invoke(FAULT_PROCESS, "start_fault", value)
                    self._active[index] = await asyncio.wait_for(
                        self._inject(spec), INJECT_TIMEOUT_S
                    )
                    self.env.history.complete(invoke, OpType.OK, value)
                    async with self._injected:
                        self._started.add(index)
                        self._injected.notify_all()
                finally:
                    await release(self._start_mark(spec))
                try:
                    await self._wait_stop(spec)
                finally:
                    await self._heal(index, spec, cycle)
                    await release(schedule.until_phase)
                if schedule.period_s is not None and cycle + 1 < schedule.count:
                    assert schedule.duration_s is not None
                    await asyncio.sleep(schedule.period_s - schedule.duration_s)  # the period
        finally:
            for mark in list(holds):
                await release(mark)

    async def _heal(self, index: int, spec: FaultSpec, cycle: int) -> None:
        heal = self._active.pop(index, None)
        if heal is None:
            return
        value = {"name": spec.label, "kind": spec.kind, "link": spec.link, "cycle": cycle}
        invoke = self.env.history.invoke(FAULT_PROCESS, "stop_fault", value)
        await asyncio.to_thread(heal)
        self.env.history.complete(invoke, OpType.OK, value)

    async def wait_injected(self, count: int) -> None:
        """Until ``count`` faults have been injected at least once (for tests and tools)."""
        async with self._injected:
            await self._injected.wait_for(lambda: len(self._started) >= count)

    async def wait_schedules(self) -> None:
        """Until every schedule has run its course (faults with no end never do)."""
        await asyncio.gather(*self._tasks)

    def never_started(self) -> list[str]:
        """Faults whose trigger never came: the run did not test what the scenario says."""
        return [s.label for i, s in enumerate(self.specs) if i not in self._started]

    async def heal_all(self) -> None:
        """Stop every schedule and heal every fault; then reset the links, payment faults and the
        target wholesale, so nothing survives even a fault whose own heal failed. Every step runs
        whatever the others do; their errors are raised together at the end."""
        errors: list[str] = []
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # a fault that failed to inject or heal: report it
                errors.append(f"{type(exc).__name__}: {exc}")
        for index in list(self._active):
            try:
                await self._heal(index, self.specs[index], -1)
            except Exception as exc:
                errors.append(f"healing {self.specs[index].label}: {exc}")
        env = self.env
        steps: list[tuple[str, Callable[[], object]]] = [
            ("payment faults", env.simulator.faults.clear),
            ("held webhooks", env.simulator.release_held_webhooks),
        ]
        if env.toxiproxy is not None:
            steps.insert(0, ("Toxiproxy reset", env.toxiproxy.reset))
        if env.target is not None:
            steps += [
                ("target resume", env.target.resume),
                ("target restart", env.target.restart_if_down),
            ]
        if self.specs:
            invoke = env.history.invoke(
                FAULT_PROCESS, "stop_fault", {"name": "all", "kind": "heal_all"}
            )
        for name, step in steps:
            try:
                await asyncio.to_thread(step)
            except Exception as exc:
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
        if self.specs:
            # The wholesale heal is a heal too: convergence is measured from here.
            env.history.complete(invoke, OpType.OK, {"name": "all", "kind": "heal_all"})
        if errors:
            raise FaultHealError("; ".join(errors))
