"""A suite: the stack up once, each scenario on a fresh target, results as they come."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from pathlib import Path

from harness.runner.results import ScenarioResult, SuiteResult
from harness.runner.scenario_run import RunOptions, run_scenario
from harness.scenario import Scenario
from harness.settings import Settings
from harness.stack.process import ServiceStartError
from harness.stack.stack import Stack, start_stack
from harness.target import TargetConfig


def reproduce_command(
    scenario: str,
    seed: int,
    target_file: Path | None,
    scenarios_dir: Path | None = None,
    verb: str = "run",
) -> str:
    """The exact command that runs ``scenario`` again with ``seed`` (``verb="shrink"``: shrinks it)."""
    parts = ["checkout-chaos", verb, "--scenario", scenario, "--seed", str(seed)]
    if target_file is not None:
        parts += ["--target", str(target_file)]
    if scenarios_dir is not None:
        parts += ["--scenarios-dir", str(scenarios_dir)]
    return shlex.join(parts)


def prepare_links(stack: Stack, config: TargetConfig) -> frozenset[str]:
    """For a running target, move the proxies it uses to the fixed addresses it was given.

    Returns the links the harness can fault for this target.
    """
    if config.starts_process:
        return frozenset({"postgres", "redis", "stripe"})
    if stack.backend == "containers":
        # Toxiproxy in a container listens inside it, not on the host's fixed addresses.
        raise ServiceStartError(
            "a running target's [links] need the embedded or external backend, not containers"
        )
    current = stack.toxiproxy.list()
    for link, wanted in config.links.items():
        upstream = wanted.upstream or current[link].upstream
        stack.toxiproxy.delete(link)
        try:
            stack.toxiproxy.create(link, upstream, listen=wanted.listen)
        except Exception as exc:  # toxiproxy-python reports a refused listen as KeyError('name')
            raise ServiceStartError(
                f"links.{link}: Toxiproxy cannot listen on {wanted.listen} (is the address in "
                f"use, or not local?): {type(exc).__name__}: {exc}"
            ) from exc
    return frozenset(config.links)


def run_suite(
    scenarios: list[Scenario],
    config: TargetConfig,
    settings: Settings,
    *,
    seed: int,
    out_dir: Path,
    target_file: Path | None = None,
    scenarios_dir: Path | None = None,
    on_event: Callable[[str], None] = lambda _msg: None,
    on_result: Callable[[ScenarioResult], None] = lambda _result: None,
) -> SuiteResult:
    suite = SuiteResult(target=config.name, seed=seed, out_dir=out_dir)
    began = time.monotonic()
    on_event("starting the stack")
    with start_stack(settings, out_dir / "stack-logs", on_event=on_event) as stack:
        suite.stack_start_s = time.monotonic() - began
        links = prepare_links(stack, config)
        for scenario in scenarios:
            options = RunOptions(
                seed=seed,
                out_dir=out_dir,
                reproduce=reproduce_command(scenario.name, seed, target_file, scenarios_dir),
                on_event=on_event,
            )
            result = run_scenario(scenario, config, stack, options, faultable_links=links)
            suite.scenarios.append(result)
            on_result(result)
    return suite
