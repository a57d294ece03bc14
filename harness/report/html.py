"""``index.html``: one self-contained page (inline CSS, inline SVG plots, no scripts).

The template is rendered with autoescape on: everything that came from the target is escaped; the
only markup marked safe is the SVG matplotlib produced (which escapes the text it draws).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
from markupsafe import Markup

from harness.checkers import CHECKERS, Verdict
from harness.report.data import FaultWindow, cell, fault_windows, op_counts, outcome_counts
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
class File:
    name: str
    href: str


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


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in the template fails tests, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )


def invariants(suite: SuiteResult) -> list[str]:
    """The contract's invariants in its order, then any others a verdict names."""
    named = list(CHECKERS)
    for s in suite.scenarios:
        named += [v.invariant for v in s.verdicts if v.invariant not in named]
    return named


def _files(result: ScenarioResult, base: Path | None) -> list[File]:
    if base is None:
        return []
    found = []
    for name in ("history.jsonl", "result.json", "target.log"):
        path = result.out_dir / name
        if path.is_file():
            found.append(File(name, Path(os.path.relpath(path, base)).as_posix()))
    return found


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
        files=_files(result, base),
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
        _env()
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
