"""``checkout-chaos run``: choose scenarios, run them with progress, print verdicts, write reports."""

from __future__ import annotations

import random
import time
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.progress import counter
from harness.runner.results import ScenarioResult
from harness.runner.suite import reproduce_command, run_suite
from harness.scenario import ScenarioError, load_library, select
from harness.scenario.library import DEFAULT_LIBRARY
from harness.settings import Settings
from harness.stack.binaries import BinaryMissingError
from harness.stack.network import HostNotAllowedError
from harness.stack.process import ServiceStartError
from harness.target.config import REFERENCE, TargetConfig

REPORTS = Path("reports")


def load_target(path: Path | None, err: Console) -> TargetConfig | None:
    if path is None:
        return REFERENCE
    try:
        return TargetConfig.load(path)
    except ValidationError as exc:
        for e in exc.errors():
            field = ".".join(str(p) for p in e["loc"]) or "(top level)"
            message = f"{path}: {field}: {e['msg']}"
            # Escaped: messages may quote TOML tables ([links.stripe]) that rich reads as markup.
            err.print(f"[red]{escape(message)}[/]")
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
    return None


def _verdict_line(result: ScenarioResult) -> str:
    if result.error is not None:
        return f"[red]ERROR[/] {result.scenario}: {escape(result.error)}"
    if result.violated:
        names = ", ".join(v.invariant for v in result.violated)
        return f"[red]FAIL[/]  {result.scenario}: violated {names}"
    return (
        f"[green]PASS[/]  {result.scenario} ({result.duration_s:.1f}s, {len(result.history)} ops)"
    )


def run_command(
    *,
    settings: Settings,
    target: Path | None,
    scenarios: list[str],
    suite: str | None,
    seed: int | None,
    out: Path | None,
    scenarios_dir: Path | None,
    list_only: bool,
    console: Console,
    err: Console,
) -> int:
    try:
        library = load_library(scenarios_dir or DEFAULT_LIBRARY)
        chosen = select(library, scenarios, suite)
    except ScenarioError as exc:
        err.print(f"[red]{exc}[/]")
        return 2
    if list_only:
        table = Table(title="scenarios")
        for column in ("name", "suites", "title"):
            table.add_column(column)
        for s in library.values():
            table.add_row(s.name, ", ".join(s.suites), s.title)
        console.print(table)
        return 0
    config = load_target(target, err)
    if config is None:
        return 2
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    out_dir = out or REPORTS / time.strftime("%Y%m%d-%H%M%S")
    console.print(
        f"checkout-chaos: {len(chosen)} scenario(s) against [bold]{config.name}[/], seed {seed}"
    )
    try:
        with counter(err) as progress:
            task = progress.add_task("starting", total=len(chosen))

            def on_result(result: ScenarioResult) -> None:
                progress.advance(task)
                progress.console.print(_verdict_line(result))

            result = run_suite(
                chosen,
                config,
                settings,
                seed=seed,
                out_dir=out_dir,
                target_file=target,
                scenarios_dir=scenarios_dir,
                on_event=lambda msg: progress.update(task, description=msg),
                on_result=on_result,
            )
    except (ServiceStartError, BinaryMissingError, HostNotAllowedError) as exc:
        err.print(f"[red]the stack failed to start:[/] {escape(str(exc))}")
        return 1
    from harness.report import write_reports

    report = write_reports(result)
    failed = [r for r in result.scenarios if not r.passed]
    console.print(
        f"{len(result.scenarios) - len(failed)} passed, {len(failed)} failed; report: {report}"
    )
    for r in failed:
        console.print(f"  reproduce {r.scenario}: [bold]{escape(r.reproduce)}[/]")
        for v in r.violated:
            console.print(f"    {v.invariant}: {escape(v.summary)}")
        if r.violated:
            shrink = reproduce_command(r.scenario, r.seed, target, scenarios_dir, verb="shrink")
            console.print(f"  minimise it: {escape(shrink)}")
    return 0 if not failed else 1
