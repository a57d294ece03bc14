"""Hand-built histories and results for the report tests (no services, no clock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.checkers import Evidence, Outcome, Verdict
from harness.history import FAULT_PROCESS, OBSERVER_PROCESS, History, Op, OpType
from harness.runner.results import ScenarioResult, SuiteResult

EVIL = "<script>alert('pwned')</script>"


class Ops:
    """Appends ops with explicit times, so histories are exact and reproducible."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add(self, process: str, type: OpType, f: str, t: float, **value: Any) -> Ops:
        self.ops.append(Op(len(self.ops), process, type, f, value, t))
        return self

    def call(
        self, process: str, f: str, start: float, end: float | None, outcome: OpType, **value: Any
    ) -> Ops:
        self.add(process, OpType.INVOKE, f, start, **value)
        if end is not None:
            self.add(process, outcome, f, end, **value)
        return self

    def history(self) -> History:
        return History.from_ops(sorted(self.ops, key=lambda o: (o.time_s, o.index)))


def reindexed(history: History) -> History:
    """Indices in time order, as a real history has them."""
    return History.from_ops(
        Op(i, o.process, o.type, o.f, o.value, o.time_s) for i, o in enumerate(history.ops)
    )


def rich_history(fault_name: str = "redis-down") -> History:
    """Workers with ok/fail/info ops, a customer, a fault window and observer polls."""
    ops = Ops()
    ops.call("w1", "create_cart", 0.00, 0.05, OpType.OK, user_id="u1")
    ops.call("w1", "checkout", 0.10, 0.40, OpType.OK, cart_id="c1")
    ops.call("w2", "create_cart", 0.02, 0.06, OpType.OK, user_id="u2")
    ops.call("w2", "checkout", 0.30, 1.30, OpType.INFO, cart_id="c2", error="timeout")
    ops.call("w10", "checkout", 0.35, 0.50, OpType.FAIL, cart_id="c3", status=409)
    ops.call("customer-0", "pay", 0.45, 0.55, OpType.OK, checkout_session_id="cs_1")
    ops.call(
        FAULT_PROCESS,
        "start_fault",
        0.20,
        0.21,
        OpType.OK,
        name=fault_name,
        kind="down",
        cycle=0,
        params={"link": "redis"},
    )
    ops.call(
        FAULT_PROCESS, "stop_fault", 1.00, 1.02, OpType.OK, name=fault_name, kind="down", cycle=0
    )
    pending = [{"order_id": "o1", "status": "pending"}]
    done = [{"order_id": "o1", "status": "fulfilled"}, {"order_id": "o2", "status": "refunded"}]
    ops.call(OBSERVER_PROCESS, "observe_orders", 1.10, 1.12, OpType.OK, orders=pending)
    ops.call(OBSERVER_PROCESS, "observe_orders", 1.30, 1.31, OpType.FAIL, status=503)
    ops.call(OBSERVER_PROCESS, "observe_orders", 1.50, 1.52, OpType.OK, orders=done)
    return reindexed(ops.history())


def worker_history() -> History:
    """Operations only: no faults and no observer (so no convergence plot)."""
    ops = Ops()
    ops.call("w1", "create_cart", 0.0, 0.01, OpType.OK)
    ops.call("w1", "set_item", 0.02, 0.05, OpType.OK)
    return reindexed(ops.history())


def verdict(invariant: str, outcome: Outcome, summary: str = "", *evidence: Evidence) -> Verdict:
    return Verdict(invariant, outcome, summary or f"{invariant} {outcome.value}", evidence)


def scenario(
    name: str,
    out: Path,
    verdicts: list[Verdict],
    history: History | None = None,
    *,
    error: str | None = None,
    notes: list[str] | None = None,
    title: str = "",
) -> ScenarioResult:
    return ScenarioResult(
        scenario=name,
        title=title or f"the {name} scenario",
        seed=3,
        verdicts=verdicts,
        history=history if history is not None else worker_history(),
        duration_s=1.5,
        out_dir=out / name,
        error=error,
        reproduce=f"checkout-chaos run --scenario {name} --seed 3",
        notes=notes or [],
    )


def mixed_suite(out: Path) -> SuiteResult:
    """A passing, a failing (with evidence, one check not exercised) and an errored scenario."""
    passing = scenario(
        "happy-path",
        out,
        [verdict("conservation", Outcome.PASS), verdict("no-oversell", Outcome.PASS)],
        rich_history(),
        notes=["fresh target per scenario"],
    )
    failing = scenario(
        "double-order",
        out,
        [
            verdict(
                "exactly-once-order",
                Outcome.FAIL,
                "2 orders for session cs_1",
                Evidence("order", "ord_1", "first order for cs_1"),
                Evidence("order", "ord_2", "second order for cs_1"),
                Evidence("op", "17", EVIL),
            ),
            verdict("conservation", Outcome.PASS),
            verdict("authentic-webhooks-only", Outcome.NOT_EXERCISED, "no tampered delivery"),
        ],
        rich_history(fault_name="postgres-down"),
    )
    broken = scenario(
        "broken-run", out, [], History(), error="ServiceStartError: the target never answered"
    )
    return SuiteResult(
        target="reference", seed=3, out_dir=out, scenarios=[passing, failing, broken]
    )
