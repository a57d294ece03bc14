"""Time report generation for a synthetic 20k-op history and print the figures.

Not collected by pytest (the name does not match ``test_*.py``); speed is printed, never asserted.
Run: ``.venv/bin/python -m tests.report.bench_report [OPS]``
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.checkers import Evidence, Outcome
from harness.history import FAULT_PROCESS, OBSERVER_PROCESS, History, OpType
from harness.report import plots, write_reports
from harness.report.data import spans
from harness.report.html import render_html
from harness.report.junit import junit_xml
from harness.runner.results import SuiteResult
from tests.report.builders import Ops, reindexed, scenario, verdict

KINDS = ("create_cart", "set_item", "checkout", "pay", "deliver_webhook", "get_product")


def synthetic_history(n_ops: int, workers: int = 50, seed: int = 1) -> History:
    """``n_ops`` history entries: invoke/complete pairs over ``workers`` lanes, faults, polls."""
    rng = random.Random(seed)
    ops = Ops()
    clock = [0.0] * workers
    pairs = n_ops // 2 - 4 - 20  # room for two faults and 20 observer polls
    for i in range(pairs):
        w = i % workers
        start = clock[w] + rng.expovariate(50)
        latency = rng.lognormvariate(-4, 0.8)
        roll = rng.random()
        outcome = OpType.OK if roll < 0.93 else OpType.FAIL if roll < 0.98 else OpType.INFO
        ops.call(f"w{w}", rng.choice(KINDS), start, start + latency, outcome)
        clock[w] = start + latency
    end = max(clock)
    for k, name in enumerate(("redis-down", "stripe-latency")):
        at = end * (0.2 + 0.4 * k)
        ops.call(FAULT_PROCESS, "start_fault", at, at + 0.01, OpType.OK, name=name, cycle=0)
        ops.call(FAULT_PROCESS, "stop_fault", at + end * 0.15, at + end * 0.15 + 0.01, OpType.OK, name=name, cycle=0)  # fmt: skip
    for k in range(20):
        t = end + k * 0.1
        orders = [{"status": "fulfilled"}] * (k * 5) + [{"status": "pending"}] * (100 - k * 5)
        ops.call(OBSERVER_PROCESS, "observe_orders", t, t + 0.01, OpType.OK, orders=orders)
    return reindexed(ops.history())


def timed(label: str, fn: Callable[[], object]) -> object:
    began = time.perf_counter()
    out = fn()
    size = f"{len(out) / 1024:8.1f} KiB" if isinstance(out, str) else ""
    print(f"{label:<28} {time.perf_counter() - began:7.3f} s {size}")
    return out


def main(n_ops: int) -> None:
    history = timed(f"build history ({n_ops} ops)", lambda: synthetic_history(n_ops))
    assert isinstance(history, History)
    timed("spans", lambda: spans(history))
    timed("timeline_svg", lambda: plots.timeline_svg(history))
    timed("latency_svg", lambda: plots.latency_svg(history))
    timed("convergence_svg", lambda: plots.convergence_svg(history))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        failing = verdict(
            "exactly-once-order",
            Outcome.FAIL,
            "many duplicates",
            *(Evidence("op", str(i), f"duplicate order {i}") for i in range(500)),
        )
        suite = SuiteResult(
            "synthetic", 1, out, [scenario("big", out, [failing], history, title="20k ops")]
        )
        timed("junit_xml", lambda: junit_xml(suite))
        timed("render_html", lambda: render_html(suite, base=out))
        page = timed("write_reports (all three)", lambda: write_reports(suite))
        assert isinstance(page, Path)
        for name in ("index.html", "junit.xml", "summary.json"):
            print(f"{name:<28} {(out / name).stat().st_size / 1024:8.1f} KiB on disk")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
