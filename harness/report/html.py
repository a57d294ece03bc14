"""``index.html``: one self-contained page (inline CSS, inline SVG plots, no scripts).

Rendered with ``page.environment()``: autoescape on, only matplotlib's SVG marked safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from harness.checkers import CHECKERS, Verdict
from harness.report.data import FaultWindow, cell, fault_windows, op_counts, outcome_counts
from harness.report.page import File, environment, run_files
from harness.report.plots import convergence_svg, latency_svg, timeline_svg
from harness.runner.results import ScenarioResult, SuiteResult

CELL_LABELS = {
    "pass": "pass",
    "fail": "FAIL",
    "not-exercised": "not exercised",
    "error": "error",
    "not-checked": "\u2013",  # en dash: "not part of this scenario"
}


@dataclass(frozen=True)
class ScenarioView:
    result: ScenarioResult
    anchor: str
    status: str  # pass, fail or error
    cells: list[str]  # one per invariant of the matrix
    op_counts: dict[str, dict[str, int]]
    op_totals: dict[str, int]
    faults: list[FaultWindow]
    verdicts: list[Verdict]
    files: list[File]
    timeline: Markup
    latency: Markup
    convergence: Markup | None


def invariants(suite: SuiteResult) -> list[str]:
    """The contract's invariants in its order, then any others a verdict names."""
    named = list(CHECKERS)
    for s in suite.scenarios:
        named += [v.invariant for v in s.verdicts if v.invariant not in named]
    return named


def _status(result: ScenarioResult) -> str:
    if result.error is not None:
        return "error"
    return "fail" if result.violated else "pass"


def scenario_view(
    result: ScenarioResult, columns: list[str], position: int, base: Path | None
) -> ScenarioView:
    counts = op_counts(result.history)
    totals = {k: sum(row[k] for row in counts.values()) for k in ("ok", "fail", "info", "pending")}
    salt = f"s{position}"
    convergence = convergence_svg(result.history, salt=f"{salt}-convergence")
    return ScenarioView(
        result=result,
        anchor=f"scenario-{position}",
        status=_status(result),
        cells=[cell(result.verdicts, inv, result.error) for inv in columns],
        op_counts=dict(sorted(counts.items())),
        op_totals=totals,
        faults=fault_windows(result.history),
        # Failures first: they are what a reader came for.
        verdicts=sorted(result.verdicts, key=lambda v: (not v.violated, v.outcome.value != "pass")),
        files=run_files(result.out_dir, base),
        timeline=Markup(timeline_svg(result.history, salt=f"{salt}-timeline")),  # noqa: S704 - matplotlib SVG
        latency=Markup(latency_svg(result.history, salt=f"{salt}-latency")),  # noqa: S704 - matplotlib SVG
        convergence=None if convergence is None else Markup(convergence),  # noqa: S704
    )


def render_html(
    suite: SuiteResult, generated_at: datetime | None = None, base: Path | None = None
) -> str:
    """The report page; ``base`` is where it will live (for relative links to run files)."""
    columns = invariants(suite)
    views = [scenario_view(s, columns, i, base) for i, s in enumerate(suite.scenarios)]
    verdicts = [v for s in suite.scenarios for v in s.verdicts]
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            suite=suite,
            generated_at=generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
            if generated_at
            else "",
            columns=columns,
            views=views,
            labels=CELL_LABELS,
            passed=sum(1 for v in views if v.status == "pass"),
            failed=sum(1 for v in views if v.status == "fail"),
            errored=sum(1 for v in views if v.status == "error"),
            verdict_counts=outcome_counts(verdicts),
            failures=[v for v in views if v.status != "pass"],
        )
    )
