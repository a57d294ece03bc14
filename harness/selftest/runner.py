"""Running the zoo: parallel lanes, each a process with its own stack, pulling members off a queue.

Why a whole stack per lane rather than lanes sharing one: a scenario flushes all of Redis, its
nemesis resets every Toxiproxy proxy when it heals, and link faults act on the shared proxies, so
two scenarios on one stack would fault, heal and wipe each other. A stack per lane (three by
default, not one per member) keeps scenarios isolated with no change to the runner. Three lanes on
two cores: a scenario spends much of its time waiting (start-up, webhooks, quiescence), so a
third lane fills the cores (measured: 521 s with three lanes, 706 s with two).
"""

from __future__ import annotations

import multiprocessing
import queue
import shlex
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from harness.selftest.matrix import Cell, Matrix, MemberRun
from harness.selftest.zoo import SLOW, Member

_POLL_S = 0.5  # how often the parent checks that its lanes are still alive while it waits


@dataclass(frozen=True)
class LaneJob:
    lane: int
    scenarios: list[str]
    scenarios_dir: Path | None
    seed: int
    out_dir: Path


def reproduce_command(member: str, scenario: str, seed: int) -> str:
    return shlex.join(
        ["checkout-chaos", "selftest", "--bug", member, "--scenario", scenario, "--seed", str(seed)]
    )


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM from the parent tears the lane's stack down cleanly


def run_lane(job: LaneJob, work: Any, results: Any) -> None:
    """A lane's process: one stack, then members from ``work`` until it is empty."""
    signal.signal(signal.SIGTERM, _interrupt)
    from harness.runner.scenario_run import RunOptions, run_scenario
    from harness.runner.suite import prepare_links
    from harness.scenario import load_library, select
    from harness.scenario.library import DEFAULT_LIBRARY
    from harness.settings import Settings
    from harness.stack.stack import start_stack

    library = load_library(job.scenarios_dir or DEFAULT_LIBRARY)
    chosen = select(library, job.scenarios)
    try:
        with start_stack(Settings(), job.out_dir / f"lane-{job.lane}-stack-logs") as stack:
            while True:
                try:
                    name, summary = work.get_nowait()
                except queue.Empty:
                    return
                member = Member(name, summary)
                config = member.target()
                links = prepare_links(stack, config)
                results.put(("member", job.lane, name))
                began = time.monotonic()
                for scenario in chosen:
                    options = RunOptions(
                        seed=job.seed,
                        out_dir=job.out_dir / name,
                        reproduce=reproduce_command(name, scenario.name, job.seed),
                    )
                    result = run_scenario(scenario, config, stack, options, faultable_links=links)
                    cell = Cell(
                        scenario=scenario.name,
                        violated=tuple(v.invariant for v in result.violated),
                        error=result.error,
                        duration_s=result.duration_s,
                        finished_at_s=time.monotonic() - began,
                    )
                    results.put(("cell", job.lane, name, cell))
                results.put(("done", job.lane, name, time.monotonic() - began))
    except KeyboardInterrupt:
        return
    except Exception as exc:  # the lane's stack failed: the parent reports the members it lost
        results.put(("lane-failed", job.lane, f"{type(exc).__name__}: {exc}"))


def run_selftest(
    members: list[Member],
    scenarios: list[str],
    *,
    seed: int,
    out_dir: Path,
    lanes: int = 3,
    scenarios_dir: Path | None = None,
    on_cell: Callable[[MemberRun, Cell], None] = lambda _run, _cell: None,
    on_member: Callable[[MemberRun], None] = lambda _run: None,
) -> Matrix:
    """Every member through every scenario; blocks until done. Lanes run side by side."""
    began = time.monotonic()
    lanes = max(1, min(lanes, len(members)))
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    work = context.Queue()
    results = context.Queue()
    for member in sorted(members, key=lambda m: m.name not in SLOW):  # stable: slow ones first
        work.put((member.name, member.summary))
    runs = {
        m.name: MemberRun(
            member=m.name,
            summary=m.summary,
            is_control=m.is_control,
            known_gap=m.known_gap,
            expected=m.breaks,
        )
        for m in members
    }
    processes: list[BaseProcess] = []
    for lane in range(lanes):
        job = LaneJob(lane, scenarios, scenarios_dir, seed, out_dir)
        process: BaseProcess = context.Process(
            target=run_lane, args=(job, work, results), name=f"selftest-lane-{lane}"
        )
        process.start()
        processes.append(process)
    lane_errors: list[str] = []
    try:
        while any(p.is_alive() for p in processes) or not results.empty():
            try:
                message = results.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            kind = message[0]
            if kind == "member":
                runs[message[2]].lane = message[1]
            elif kind == "cell":
                run = runs[message[2]]
                run.cells.append(message[3])
                on_cell(run, message[3])
            elif kind == "done":
                run = runs[message[2]]
                run.duration_s = message[3]
                on_member(run)
            elif kind == "lane-failed":
                lane_errors.append(f"lane {message[1]}: {message[2]}")
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=30)
    # A member a dead lane never finished is reported as broken, never as a pass.
    for run in runs.values():
        done = {c.scenario for c in run.cells}
        for scenario in scenarios:
            if scenario not in done:
                why = "; ".join(lane_errors) or "its lane stopped before running it"
                run.cells.append(Cell(scenario, (), f"not run: {why}", 0.0, 0.0))
    matrix = Matrix(scenarios=scenarios, runs=list(runs.values()), seed=seed, lanes=lanes)
    matrix.total_s = time.monotonic() - began
    return matrix
