"""``selftest.html``: the bug zoo's detection matrix, time to first detection, and how to reproduce.

One self-contained page beside ``selftest.json``, in the style of the run report (``index.html``):
the same stylesheet and escaping (``page.environment()``), plots drawn as inline SVG the same way
(``svg``). ``render_selftest_html`` is a pure function of the ``Matrix``; only the links to the
runs' files look at the folder, and only when given one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup
from matplotlib.figure import Figure

from harness.report.page import File, environment, run_files
from harness.report.svg import figure_svg, label_text, label_width_in, message_svg, set_margins
from harness.selftest.matrix import CODES, TITLE, Cell, CellKind, Matrix, MemberRun, short_codes
from harness.selftest.runner import reproduce_command

PAGE = "selftest.html"

DETECTED_COLOUR = "#2e9d4a"  # the report's pass green: a caught bug is the harness passing
UNDETECTED_COLOUR = "#d62f2f"
MEDIAN_COLOUR = "#374151"

CELL_TEXT: dict[CellKind, str] = {"clean": "·", "broken": "ERR"}
KIND_LABELS: dict[CellKind, str] = {
    "counted": "detected: an invariant this bug breaks",
    "collateral": "only invariants this bug is not known to break (not counted)",
    "broken": "the run broke (neither a detection nor a pass)",
    "alarm": "the control flagged something: a false alarm",
    "clean": "nothing flagged",
}
_BEHIND_TEXT = {"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85}
_TITLE_LIMIT = 300  # a hover text, not the place for a whole traceback


@dataclass(frozen=True)
class CellView:
    kind: CellKind | None  # None: the scenario never ran for this member
    counted: str  # short codes in bold
    collateral: str  # short codes, dimmed
    title: str
    href: str | None  # the run's result.json (or whatever of its files exists)


@dataclass(frozen=True)
class MemberView:
    run: MemberRun
    breaks: str
    first: str
    caught_by: list[str]  # scenario: codes
    status: str  # pass or fail (the badge)
    verdict: str
    note: str | None  # why a bug escaped, or what the control raised
    folder: str | None


@dataclass(frozen=True)
class RunLine:
    """A cell worth re-running: a detection, a false alarm, or a broken run."""

    member: str
    scenario: str
    what: str
    command: str
    files: list[File]


def _ordered(matrix: Matrix) -> list[MemberRun]:
    """The control first (the column every other one is compared against), then zoo order."""
    return sorted(matrix.runs, key=lambda r: not r.is_control)


def _seconds(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.1f} s"


def _names(invariants: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"{CODES.get(v, v)} {v}" for v in invariants)


def _cell_files(run: MemberRun, cell: Cell, base: Path | None) -> list[File]:
    # The runner writes each member's scenarios to <out>/<member>/<scenario>/.
    return [] if base is None else run_files(base / run.member / cell.scenario, base)


def _main_file(files: list[File]) -> str | None:
    """result.json when it is there (the verdicts and their evidence), else any file of the run."""
    best = next((f for f in files if f.name == "result.json"), files[0] if files else None)
    return None if best is None else best.href


def _cell_view(run: MemberRun, cell: Cell | None, base: Path | None) -> CellView:
    if cell is None:
        return CellView(None, "", "", f"{run.member}: not run", None)
    kind = run.kind(cell)
    counted = run.hits(cell) if kind in ("counted", "alarm") else ()
    other = tuple(v for v in cell.violated if v not in counted)
    detail = cell.error if kind == "broken" else _names(cell.violated) or "nothing flagged"
    title = f"{run.member} \u00d7 {cell.scenario}: {KIND_LABELS[kind]}; {detail}"
    if len(title) > _TITLE_LIMIT:
        title = title[: _TITLE_LIMIT - 1] + "\u2026"
    files = _cell_files(run, cell, base)
    return CellView(
        kind=kind,
        counted=CELL_TEXT.get(kind, short_codes(counted)),
        collateral="" if kind in CELL_TEXT else short_codes(other),
        title=title,
        href=_main_file(files),
    )


def _member_view(run: MemberRun, base: Path | None) -> MemberView:
    if run.is_control:
        status = "pass" if run.ok else "fail"
        verdict = "clean" if run.ok else "NOT CLEAN"
        raised = [f"{c.scenario}: {c.error or _names(c.violated)}" for c in run.catching]
        raised += [f"{c.scenario}: {c.error}" for c in run.errors if c not in run.catching]
        note = "; ".join(raised) or None
    else:
        status = "pass" if run.detected else "fail"
        verdict = "detected" if run.detected else "UNDETECTED"
        note = run.escape_note
    # The control's "catches" are its false alarms: the note above says those.
    caught_by = (
        []
        if run.is_control
        else [f"{c.scenario}: {short_codes(run.hits(c))}" for c in run.catching]
    )
    has_folder = base is not None and (base / run.member).is_dir()
    return MemberView(
        run=run,
        breaks=short_codes(run.expected),
        first=_seconds(None if run.is_control else run.first_detection_s),
        caught_by=caught_by,
        status=status,
        verdict=verdict,
        note=note,
        folder=quote(run.member, safe="") + "/" if has_folder else None,
    )


def _line(matrix: Matrix, run: MemberRun, cell: Cell, what: str, base: Path | None) -> RunLine:
    return RunLine(
        member=run.member,
        scenario=cell.scenario,
        what=what,
        command=reproduce_command(run.member, cell.scenario, matrix.seed),
        files=_cell_files(run, cell, base),
    )


def detections(matrix: Matrix, base: Path | None = None) -> list[RunLine]:
    """Every cell that caught its bug, fastest first within each member."""
    return [
        _line(matrix, run, cell, _names(run.hits(cell)), base)
        for run in matrix.bugs
        for cell in sorted(run.catching, key=lambda c: c.finished_at_s)
    ]


def problems(matrix: Matrix, base: Path | None = None) -> list[RunLine]:
    """False alarms of the control, then runs that broke: what a reader must look at first."""
    alarms = [
        _line(matrix, run, cell, f"false alarm: {_names(cell.violated)}", base)
        for run in matrix.runs
        if run.is_control
        for cell in run.cells
        if run.kind(cell) == "alarm"
    ]
    broken = [
        _line(matrix, run, cell, f"run broke: {cell.error}", base)
        for run in _ordered(matrix)
        for cell in run.errors
    ]
    return alarms + broken


def first_detection_svg(matrix: Matrix, salt: str = "first-detection") -> str:
    """A bar per bug: seconds until its first catching scenario ended; sorted, median marked.

    Undetected bugs sit at the bottom with no bar, so an escape cannot go unnoticed."""
    bugs = matrix.bugs
    if not bugs:
        return message_svg("no bugs in this selftest", salt)
    detected = sorted(
        (r for r in bugs if r.first_detection_s is not None),
        key=lambda r: (r.first_detection_s or 0.0, r.member),
    )
    escaped = [r for r in bugs if r.first_detection_s is None]
    rows = detected + escaped
    labels = [label_text(r.member, 32) for r in rows]
    times = [r.first_detection_s or 0.0 for r in detected]
    fig = Figure(figsize=(9, 0.9 + 0.26 * len(rows)))
    ax = fig.add_subplot()
    ax.barh(range(len(detected)), times, height=0.6, color=DETECTED_COLOUR)
    notes = []
    for i, run in enumerate(detected):
        first = min(run.catching, key=lambda c: c.finished_at_s)
        notes.append(f"{_seconds(run.first_detection_s)}  {label_text(first.scenario, 36)}")
        ax.annotate(
            notes[-1],
            xy=(times[i], i),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color="#374151",
            annotation_clip=False,
            bbox=_BEHIND_TEXT,
        )
    for i, _run in enumerate(escaped, start=len(detected)):
        ax.annotate(
            "undetected",
            xy=(0, i),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            fontweight="bold",
            color=UNDETECTED_COLOUR,
            annotation_clip=False,
        )
    median = matrix.median_first_detection_s
    if median is not None:
        # Behind the bars and their notes: it marks a position, the notes carry the numbers.
        ax.axvline(median, color=MEDIAN_COLOUR, linestyle="--", linewidth=1, zorder=0.5)
        ax.annotate(
            f"median {median:.1f} s",
            xy=(median, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color=MEDIAN_COLOUR,
        )
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    for tick, run in zip(ax.get_yticklabels(), rows, strict=True):
        if run.first_detection_s is None:
            tick.set_color(UNDETECTED_COLOUR)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.invert_yaxis()
    longest = max(times, default=0.0)
    ax.set_xlim(0, longest * 1.02 if longest > 0 else 1.0)
    ax.set_xlabel(
        "seconds from the start of the member's run until its first catching scenario ended"
    )
    set_margins(
        fig,
        label_width_in(labels, 8),
        max(label_width_in(notes, 7), 0.9),  # the longest bar's note runs into the margin
        0.3,
        0.5,
    )
    return figure_svg(fig, salt)


def render_selftest_html(
    matrix: Matrix, generated_at: datetime | None = None, base: Path | None = None
) -> str:
    """The page; ``base`` is the folder it will live in (for relative links to the runs' files)."""
    runs = _ordered(matrix)
    rows = [
        (scenario, [_cell_view(r, matrix.cell(r.member, scenario), base) for r in runs])
        for scenario in matrix.scenarios
    ]
    return (
        environment()
        .get_template("selftest.html.j2")
        .render(
            title=TITLE,
            matrix=matrix,
            generated_at=generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
            if generated_at
            else "",
            members=[_member_view(r, base) for r in runs],
            rows=rows,
            codes=CODES,
            kind_labels=KIND_LABELS,
            detections=detections(matrix, base),
            problems=problems(matrix, base),
            median=_seconds(matrix.median_first_detection_s),
            plot=Markup(first_detection_svg(matrix)),  # noqa: S704 - matplotlib SVG
        )
    )


def write_selftest_html(
    matrix: Matrix, out_dir: Path, generated_at: datetime | None = None
) -> Path:
    """Write ``selftest.html`` into ``out_dir`` (beside ``selftest.json``); return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / PAGE
    html = render_selftest_html(matrix, generated_at or datetime.now().astimezone(), base=out_dir)
    page.write_text(html, encoding="utf-8")
    return page
