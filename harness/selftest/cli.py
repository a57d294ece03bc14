"""``checkout-chaos selftest``: the zoo through the suite; the matrix on screen, in JSON and HTML."""

from __future__ import annotations

import random
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.progress import counter
from harness.scenario import ScenarioError, load_library, select
from harness.scenario.library import DEFAULT_LIBRARY
from harness.selftest.matrix import CODES, Cell, Matrix, MemberRun, short_codes
from harness.selftest.runner import run_selftest
from harness.selftest.zoo import members as zoo_members

REPORTS = Path("reports")


def _cell_text(cell: Cell | None, run: MemberRun) -> str:
    """Counted violations bright (red: a false alarm of the control), collateral ones dim."""
    if cell is None:
        return ""
    kind = run.kind(cell)
    if kind == "broken":
        return "[yellow]ERR[/]"
    if kind == "clean":
        return "[dim]·[/]"
    if kind == "alarm":
        return f"[red]{short_codes(cell.violated)}[/]"
    counted = run.hits(cell)
    other = [v for v in cell.violated if v not in counted]
    parts = ([f"[green]{short_codes(counted)}[/]"] if counted else []) + (
        [f"[dim]{short_codes(other)}[/]"] if other else []
    )
    return "/".join(parts)


def matrix_table(matrix: Matrix) -> Table:
    """Scenarios down, members across (numbered; the legend names them), violations in cells."""
    table = Table(
        title="detection matrix: invariants each scenario found violated, per member "
        "(bright: an invariant the bug breaks; dim: collateral, not counted)"
    )
    table.add_column("scenario", no_wrap=True)
    for n, run in enumerate(matrix.runs):
        table.add_column("C" if run.is_control else str(n), justify="center", no_wrap=True)
    for scenario in matrix.scenarios:
        table.add_row(
            scenario,
            *(_cell_text(matrix.cell(r.member, scenario), r) for r in matrix.runs),
        )
    return table


def summary_table(matrix: Matrix) -> Table:
    table = Table(title="time to first detection")
    for column in ("member", "breaks", "caught by (scenario: invariants)", "first", "verdict"):
        table.add_column(column)
    for run in matrix.runs:
        first = run.first_detection_s
        caught = " ".join(f"{c.scenario}:{short_codes(run.hits(c))}" for c in run.catching[:3]) + (
            f" +{len(run.catching) - 3} more" if len(run.catching) > 3 else ""
        )
        if run.is_control:
            verdict = "[green]clean[/]" if run.ok else "[red]FALSE ALARM / ERROR[/]"
        else:
            verdict = "[green]detected[/]" if run.detected else "[red]UNDETECTED[/]"
        table.add_row(
            run.member,
            short_codes(run.expected) or "-",
            caught or "-",
            "-" if first is None else f"{first:.1f} s",
            verdict,
        )
    return table


def print_matrix(matrix: Matrix, console: Console) -> None:
    # Wider than a default 80-column console, so the matrix keeps one line per scenario in logs.
    wide = Console(
        file=console.file,
        width=max(console.width, 40 + 12 * len(matrix.runs)),
        force_terminal=console.is_terminal,
        no_color=console.no_color,
    )
    wide.print(matrix_table(matrix))
    console.print(
        "members: "
        + "; ".join(f"{'C' if r.is_control else n} {r.member}" for n, r in enumerate(matrix.runs))
    )
    console.print(
        "invariants: "
        + "; ".join(f"{code} {name}" for name, code in CODES.items())
        + "; ERR run broke"
    )
    console.print(summary_table(matrix))
    median = matrix.median_first_detection_s
    caught = len(matrix.bugs) - len(matrix.undetected)
    console.print(
        f"bugs detected: {caught} of {len(matrix.bugs)}"
        + (f" (undetected: {', '.join(matrix.undetected)})" if matrix.undetected else "")
    )
    console.print(
        "median time to first detection: " + ("n/a" if median is None else f"{median:.1f} s")
    )
    for run in matrix.bugs:
        if (note := run.escape_note) is not None:
            console.print(f"  {run.member} escapes: {note}")
    control = matrix.control
    if control is not None:
        if control.ok:
            console.print("control: [green]clean[/] (zero false alarms)")
        else:
            alarms = "; ".join(
                f"{c.scenario}: {c.error or ', '.join(c.violated)}"
                for c in control.cells
                if c.violated or c.error
            )
            console.print(f"control: [red]not clean[/]: {alarms}")
    console.print(f"total runtime: {matrix.total_s:.1f} s in {matrix.lanes} lane(s)")


def selftest_command(
    *,
    bugs: list[str],
    scenarios: list[str],
    seed: int | None,
    out: Path | None,
    scenarios_dir: Path | None,
    lanes: int,
    console: Console,
    err: Console,
) -> int:
    try:
        chosen = select(load_library(scenarios_dir or DEFAULT_LIBRARY), scenarios)
        members = zoo_members(bugs)
    except (ScenarioError, ValueError) as exc:
        err.print(f"[red]{exc}[/]")
        return 2
    names = [s.name for s in chosen]
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    out_dir = out or REPORTS / f"selftest-{time.strftime('%Y%m%d-%H%M%S')}"
    console.print(
        f"checkout-chaos selftest: {len(members)} member(s) x {len(names)} scenario(s), "
        f"seed {seed}, {lanes} lane(s)"
    )
    with counter(err) as progress:
        task = progress.add_task("starting the stacks", total=len(members) * len(names))

        def on_cell(run: MemberRun, cell: Cell) -> None:
            progress.advance(task)
            progress.update(task, description=f"{run.member}: {cell.scenario}")

        def on_member(run: MemberRun) -> None:
            first = run.first_detection_s
            if run.is_control:
                verdict = "[green]clean[/]" if run.ok else "[red]NOT CLEAN[/]"
            elif first is not None:
                verdict = f"[green]detected[/] after {first:.1f} s"
            else:
                verdict = "[red]UNDETECTED[/]"
            progress.console.print(
                f"{run.member}: {verdict} ({run.duration_s:.0f} s, lane {run.lane})"
            )

        matrix = run_selftest(
            members,
            names,
            seed=seed,
            out_dir=out_dir,
            lanes=lanes,
            scenarios_dir=scenarios_dir,
            on_cell=on_cell,
            on_member=on_member,
        )
    print_matrix(matrix, console)
    matrix.write(out_dir / "selftest.json")
    console.print(f"matrix: {out_dir / 'selftest.json'}")
    from harness.report.selftest import write_selftest_html  # matplotlib: slow to import

    console.print(f"report: {write_selftest_html(matrix, out_dir)}")
    for run in matrix.runs:
        for cell in run.errors:
            console.print(f"  [yellow]{run.member} / {cell.scenario}: {cell.error}[/]")
    return 0 if matrix.passed else 1
