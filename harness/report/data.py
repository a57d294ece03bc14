"""What the report shows, derived from a history: pure functions, no I/O, no plotting.

``History.pairs`` assumes one open operation per process, which holds for workers but not for the
nemesis (overlapping faults): fault operations are matched by (f, name, cycle) instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.checkers import Outcome, Verdict
from harness.history import FAULT_PROCESS, OBSERVER_PROCESS, History, Op, OpType

FAULT_FS = ("start_fault", "stop_fault")
COMPLETIONS = (OpType.OK, OpType.FAIL, OpType.INFO)
ORDER_STATUSES = ("pending", "fulfilled", "refunded")


@dataclass(frozen=True)
class Span:
    """One operation from invocation to completion; ``end_s`` is ``None`` if it never completed."""

    process: str
    f: str
    start_s: float
    end_s: float | None
    outcome: OpType  # ok, fail or info (never completed counts as info, as in ``Pair``)
    index: int

    @property
    def latency_s(self) -> float | None:
        return None if self.end_s is None else self.end_s - self.start_s


@dataclass(frozen=True)
class FaultWindow:
    name: str
    kind: str
    start_s: float
    end_s: float | None  # None: never healed within the history
    params: str


@dataclass(frozen=True)
class Observation:
    time_s: float
    counts: dict[str, int]  # order status -> how many orders had it


def _fault_key(op: Op) -> tuple[str, str, str]:
    return (op.f, str(op.value.get("name", "?")), str(op.value.get("cycle", "")))


def spans(history: History) -> list[Span]:
    """Every invocation with its completion, in invocation order."""
    open_by_process: dict[str, Op] = {}
    open_faults: dict[tuple[str, str, str], Op] = {}
    found: dict[int, Span] = {}
    for op in history:
        nemesis = op.process == FAULT_PROCESS and op.f in FAULT_FS
        if op.type is OpType.INVOKE:
            if nemesis:
                open_faults[_fault_key(op)] = op
            else:
                open_by_process[op.process] = op
            found[op.index] = Span(op.process, op.f, op.time_s, None, OpType.INFO, op.index)
            continue
        invoke = (
            open_faults.pop(_fault_key(op), None)
            if nemesis
            else open_by_process.pop(op.process, None)
        )
        if invoke is not None:
            found[invoke.index] = Span(
                invoke.process, invoke.f, invoke.time_s, op.time_s, op.type, invoke.index
            )
    return sorted(found.values(), key=lambda s: s.index)


def fault_windows(history: History) -> list[FaultWindow]:
    """Each fault from its ``start_fault`` invocation to its ``stop_fault`` completion."""
    started: dict[tuple[str, str], Op] = {}
    stopped: dict[tuple[str, str], float] = {}
    for op in history:
        if op.process != FAULT_PROCESS or op.f not in FAULT_FS:
            continue
        key = (str(op.value.get("name", "?")), str(op.value.get("cycle", "")))
        if op.f == "start_fault":
            started.setdefault(key, op)
        else:
            stopped[key] = max(stopped.get(key, op.time_s), op.time_s)
    windows = [
        FaultWindow(
            name=key[0],
            kind=str(op.value.get("kind", "")),
            start_s=op.time_s,
            end_s=stopped.get(key),
            params=_params(op.value.get("params")),
        )
        for key, op in started.items()
    ]
    return sorted(windows, key=lambda w: w.start_s)


def _params(raw: Any) -> str:
    if not isinstance(raw, dict) or not raw:
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(raw.items(), key=lambda kv: str(kv[0])))


def observations(history: History) -> list[Observation]:
    """Order statuses per successful ``observe_orders`` answer of the observer."""
    found: list[Observation] = []
    for span_op in history:
        if (
            span_op.process != OBSERVER_PROCESS
            or span_op.f != "observe_orders"
            or span_op.type is not OpType.OK
        ):
            continue
        orders = span_op.value.get("orders")
        counts: Counter[str] = Counter()
        if isinstance(orders, list):
            for order in orders:
                if isinstance(order, dict):
                    counts[str(order.get("status", "?"))] += 1
        found.append(Observation(span_op.time_s, dict(counts)))
    return found


def op_counts(history: History) -> dict[str, dict[str, int]]:
    """Per operation kind: completions by type, plus invocations that never completed."""
    table: dict[str, Counter[str]] = {}
    for s in spans(history):
        row = table.setdefault(s.f, Counter())
        row["pending" if s.end_s is None else s.outcome.value] += 1
    return {f: {k: row[k] for k in ("ok", "fail", "info", "pending")} for f, row in table.items()}


def end_time(history: History) -> float:
    return max((op.time_s for op in history), default=0.0)


_WORKER = re.compile(r"^([A-Za-z_-]*?)(\d+)$")


def process_order(processes: Iterable[str]) -> list[str]:
    """Workers then customers (numbers in numeric order), other processes, observer, nemesis."""

    def key(p: str) -> tuple[int, str, int, str]:
        rank = {OBSERVER_PROCESS: 2, FAULT_PROCESS: 3}.get(p, 0)
        m = _WORKER.match(p)
        if m is not None:
            return (rank, m.group(1), int(m.group(2)), p)
        return (rank if rank else 1, p, 0, p)

    return sorted(set(processes), key=key)


def cell(verdicts: list[Verdict], invariant: str, error: str | None) -> str:
    """One matrix cell: pass, fail, not-exercised, error or not-checked."""
    for v in verdicts:
        if v.invariant == invariant:
            return v.outcome.value
    return "error" if error is not None else "not-checked"


def outcome_counts(verdicts: Iterable[Verdict]) -> dict[str, int]:
    counts = Counter(v.outcome.value for v in verdicts)
    return {o.value: counts[o.value] for o in Outcome}
