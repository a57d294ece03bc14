"""``checkout-chaos shrink``: from a failing scenario to the smallest one that still fails."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harness.runner.cli import REPORTS, load_target
from harness.runner.results import ScenarioResult
from harness.runner.scenario_run import RunOptions, run_scenario
from harness.runner.shrink import shrink, size, still_fails, write_minimal
from harness.runner.suite import prepare_links, reproduce_command
from harness.scenario import Scenario, ScenarioError, load_library, select
from harness.scenario.library import DEFAULT_LIBRARY
from harness.settings import Settings
from harness.stack.binaries import BinaryMissingError
from harness.stack.network import HostNotAllowedError
from harness.stack.process import ServiceStartError
from harness.stack.stack import start_stack


def shrink_command(
    *,
    settings: Settings,
    target: Path | None,
    scenario_name: str,
    seed: int,
    invariant: str | None,
    max_runs: int,
    out: Path | None,
    scenarios_dir: Path | None,
    console: Console,
    err: Console,
) -> int:
    try:
        (scenario,) = select(load_library(scenarios_dir or DEFAULT_LIBRARY), [scenario_name])
    except ScenarioError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        return 2
    config = load_target(target, err)
    if config is None:
        return 2
    out_dir = out or REPORTS / f"shrink-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        with start_stack(settings, out_dir / "stack-logs") as stack:
            links = prepare_links(stack, config)
            runs = 0

            def run(candidate: Scenario) -> ScenarioResult:
                nonlocal runs
                runs += 1
                options = RunOptions(
                    seed=seed,
                    out_dir=out_dir / f"run-{runs:03d}",
                    reproduce=reproduce_command(candidate.name, seed, target, scenarios_dir),
                )
                return run_scenario(candidate, config, stack, options, faultable_links=links)

            first = run(scenario)
            if first.error is not None:
                err.print(f"[red]the scenario does not run:[/] {escape(first.error)}")
                return 1
            if not first.violated:
                console.print(
                    f"{scenario.name} passes against {config.name} with seed {seed}: nothing to shrink"
                )
                return 0
            wanted = invariant or first.violated[0].invariant
            if not still_fails(first, wanted):
                err.print(f"[red]{scenario.name} does not violate {wanted} with seed {seed}[/]")
                return 2
            console.print(
                f"{scenario.name} violates [bold]{wanted}[/] (size {size(scenario)}); shrinking"
            )

            def report(what: str, kept: bool) -> None:
                console.print(f"  {'[green]kept[/]   ' if kept else '[dim]no[/]     '} {what}")

            result = shrink(scenario, run, wanted, max_runs=max_runs, on_step=report)
    except (ServiceStartError, BinaryMissingError, HostNotAllowedError) as exc:
        err.print(f"[red]the stack failed to start:[/] {escape(str(exc))}")
        return 1
    path = write_minimal(result, out_dir / "minimal")
    console.print(
        f"minimal: size {size(result.minimal)} (from {size(scenario)}) after {result.runs + 1} "
        f"runs; written to {path}"
    )
    again = reproduce_command(scenario.name, seed, target, path.parent)
    console.print(f"reproduce: [bold]{escape(again)}[/]")
    return 1
