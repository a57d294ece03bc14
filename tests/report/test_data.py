"""What the report derives from a history: spans, fault windows, observations, counts."""

from __future__ import annotations

from harness.checkers import Outcome
from harness.history import History, OpType
from harness.report.data import (
    cell,
    fault_windows,
    observations,
    op_counts,
    process_order,
    spans,
)
from tests.report.builders import Ops, reindexed, rich_history, verdict


def test_overlapping_faults_are_matched_by_name_not_by_process() -> None:
    ops = Ops()
    ops.call("nemesis", "start_fault", 0.0, 0.1, OpType.OK, name="a", cycle=0)
    ops.add("nemesis", OpType.INVOKE, "start_fault", 0.5, name="b", cycle=0)
    ops.add("nemesis", OpType.INVOKE, "stop_fault", 0.6, name="a", cycle=0)
    ops.add("nemesis", OpType.OK, "start_fault", 0.7, name="b", cycle=0)
    ops.add("nemesis", OpType.OK, "stop_fault", 0.8, name="a", cycle=0)
    ops.call("nemesis", "start_fault", 2.0, 2.1, OpType.OK, name="a", cycle=1)
    history = reindexed(ops.history())
    windows = [(w.name, w.start_s, w.end_s) for w in fault_windows(history)]
    assert windows == [("a", 0.0, 0.8), ("b", 0.5, None), ("a", 2.0, None)]
    by_start = {(s.f, s.start_s): s.end_s for s in spans(history)}
    assert by_start[("start_fault", 0.5)] == 0.7
    assert by_start[("stop_fault", 0.6)] == 0.8


def test_spans_and_counts_include_ops_that_never_completed() -> None:
    ops = Ops()
    ops.call("w1", "pay", 0.0, 0.2, OpType.OK)
    ops.call("w1", "pay", 0.3, None, OpType.OK)
    history = reindexed(ops.history())
    found = spans(history)
    assert [(s.end_s, s.outcome) for s in found] == [(0.2, OpType.OK), (None, OpType.INFO)]
    assert op_counts(history) == {"pay": {"ok": 1, "fail": 0, "info": 0, "pending": 1}}


def test_observations_count_statuses_of_successful_polls() -> None:
    seen = observations(rich_history())
    assert [o.counts for o in seen] == [{"pending": 1}, {"fulfilled": 1, "refunded": 1}]
    assert observations(History()) == []


def test_process_order_workers_numeric_then_others_observer_nemesis() -> None:
    lanes = ["nemesis", "w10", "observer", "setup", "w2", "customer-1", "customer-0"]
    assert process_order(lanes) == [
        "customer-0",
        "customer-1",
        "w2",
        "w10",
        "setup",
        "observer",
        "nemesis",
    ]


def test_matrix_cells() -> None:
    verdicts = [verdict("a", Outcome.PASS), verdict("b", Outcome.FAIL)]
    assert cell(verdicts, "a", None) == "pass"
    assert cell(verdicts, "b", None) == "fail"
    assert cell(verdicts, "c", None) == "not-checked"
    assert cell([], "c", "boom") == "error"
    assert cell([verdict("c", Outcome.NOT_EXERCISED)], "c", None) == "not-exercised"
