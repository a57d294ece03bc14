"""The detection matrix's rules: what counts as catching a bug, and what as a false alarm."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from harness.checkers.registry import CHECKERS
from harness.selftest import Matrix, members
from harness.selftest.cli import print_matrix
from harness.selftest.matrix import Cell, MemberRun
from reference_impl.zoo import BUGS


def _cell(scenario: str, *violated: str, at: float = 1.0) -> Cell:
    return Cell(scenario, tuple(violated), None, 0.5, at)


def _bug(*cells: Cell) -> MemberRun:
    return MemberRun(
        "refund-twice",
        "refunds twice",
        is_control=False,
        cells=list(cells),
        expected=("refund-exactly-once",),
    )


def test_every_bug_names_the_invariants_it_breaks_by_their_contract_ids() -> None:
    for bug in BUGS:
        if bug.is_control:
            assert bug.breaks == ()
        else:
            assert bug.breaks, f"{bug.name} names no invariant it breaks"
            assert set(bug.breaks) <= CHECKERS.keys(), bug.name
    assert {m.name: m.breaks for m in members()} == {b.name: b.breaks for b in BUGS}


def test_a_bug_is_detected_only_by_an_invariant_it_breaks() -> None:
    lucky = _bug(_cell("storm", "conservation"), _cell("calm"))
    assert not lucky.detected
    assert lucky.first_detection_s is None
    assert [c.scenario for c in lucky.off_target] == ["storm"]

    caught = _bug(
        _cell("storm", "conservation", at=2.0),
        _cell("stock-out", "conservation", "refund-exactly-once", at=7.5),
    )
    assert caught.detected
    assert caught.first_detection_s == 7.5  # the collateral-only cell at 2.0 s does not count
    assert [c.scenario for c in caught.catching] == ["stock-out"]
    assert caught.hits(caught.cells[1]) == ("refund-exactly-once",)


def test_the_control_alarms_on_any_violation() -> None:
    control = MemberRun("control", "correct", is_control=True, cells=[_cell("s", "convergence")])
    assert control.detected
    assert not control.ok
    matrix = Matrix(["s"], [control], seed=1, lanes=1)
    assert not matrix.control_clean
    assert not matrix.passed


def test_the_written_matrix_separates_counted_from_collateral(tmp_path: Path) -> None:
    control = MemberRun("control", "correct", is_control=True, cells=[_cell("s")])
    bug = _bug(_cell("s", "conservation", "refund-exactly-once"))
    matrix = Matrix(["s"], [control, bug], seed=3, lanes=1)
    assert matrix.passed
    matrix.write(tmp_path / "selftest.json")
    written = json.loads((tmp_path / "selftest.json").read_text())
    [member] = [m for m in written["members"] if m["member"] == "refund-twice"]
    assert member["expected"] == ["refund-exactly-once"]
    assert member["cells"][0]["counted"] == ["refund-exactly-once"]
    assert member["cells"][0]["violated"] == ["conservation", "refund-exactly-once"]
    [row] = [r for r in written["report_section"]["rows"] if r["member"] == "refund-twice"]
    assert row["caught_by"] == {"s": ["refund-exactly-once"]}
    assert row["also_flagged"] == {"s": ["conservation"]}


def test_the_printout_says_why_an_off_target_bug_is_not_detected() -> None:
    control = MemberRun("control", "correct", is_control=True, cells=[_cell("s")])
    matrix = Matrix(["s"], [control, _bug(_cell("s", "conservation"))], seed=3, lanes=1)
    out = io.StringIO()
    print_matrix(matrix, Console(file=out, width=200, no_color=True))
    text = out.getvalue()
    assert "UNDETECTED" in text
    assert "refund-twice escapes: tripped only invariants it does not break (s: CON)" in text
    assert "a detection must flag REF" in text
