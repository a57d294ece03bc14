"""``checkout-chaos explore``: start the stack, explore with progress, print what was found."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harness.explore.runner import ExploreOptions, ExploreResult, Failure, explore
from harness.explore.world import Progress
from harness.progress import spinner
from harness.runner.cli import REPORTS, load_target
from harness.settings import Settings
from harness.stack.binaries import BinaryMissingError
from harness.stack.network import HostNotAllowedError
from harness.stack.process import ServiceStartError
from harness.stack.stack import start_stack
from harness.target import TargetNotReadyError


def replay_command(target: Path | None, options: ExploreOptions, seed: int) -> str:
    argv = ["checkout-chaos", "explore"]
    if target is not None:
        argv += ["--target", str(target)]
    argv += ["--examples", str(options.examples), "--steps", str(options.steps)]
    argv += ["--seed", str(seed)]
    return shlex.join(argv)


def failure_text(
    result: ExploreResult, failure: Failure, replay: str, options: ExploreOptions
) -> str:
    lines = [
        f"checkout-chaos explore: {result.target} broke the contract",
        f"seed {result.seed}; replay: {replay}",
        "",
        "violated:",
        f"  {failure.message}",
        "",
    ]
    how = {
        "done": "shrunk by Hypothesis",
        "stalled": f"shrinking stopped: no smaller failure in {options.shrink_patience} examples in a row",
        "time": "shrinking cut short by --max-seconds: the smallest failure seen",
        "flaky": "the smallest failure seen; replayed, it did not fail the same way",
    }[failure.shrinking]
    lines.append(f"minimal reproduction ({failure.steps} steps, {how}):")
    lines += [f"  {line}" for line in failure.reproduction]
    lines += ["", "what the target answered, step by step:"]
    lines += [f"  {line}" for line in failure.narrative]
    return "\n".join(lines) + "\n"


def _describe(progress: Progress, options: ExploreOptions) -> str:
    if progress.shrinking:
        return (
            f"shrinking a failure: smallest so far {progress.smallest_failure} steps "
            f"({progress.examples} examples run)"
        )
    return f"exploring: example {progress.examples}/{options.examples}, {progress.steps} steps"


def explore_command(
    *,
    settings: Settings,
    target: Path | None,
    options: ExploreOptions,
    out: Path | None,
    console: Console,
    err: Console,
) -> int:
    config = load_target(target, err)
    if config is None:
        return 2
    console.print(
        f"checkout-chaos explore: [bold]{escape(config.name)}[/], up to {options.examples} "
        f"examples x {options.steps} steps, at most {options.max_seconds:.0f}s"
    )
    try:
        with spinner(err) as progress:
            task = progress.add_task("starting the stack", total=None)

            def on_event(message: str) -> None:
                progress.update(task, description=message)

            with start_stack(settings, on_event=on_event) as stack:
                result = explore(
                    config,
                    stack,
                    options,
                    on_progress=lambda p: on_event(_describe(p, options)),
                    on_event=on_event,
                )
    except (
        ServiceStartError,
        BinaryMissingError,
        HostNotAllowedError,
        TargetNotReadyError,
    ) as exc:
        err.print(f"[red]explore could not start:[/] {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        err.print("interrupted; stack and target torn down")
        return 130
    ran = (
        f"{result.examples} examples, {result.steps} steps in {result.duration_s:.1f}s "
        f"(seed {result.seed})"
    )
    failure = result.failure
    if failure is None:
        stopped = " (stopped at --max-seconds)" if result.out_of_time else ""
        console.print(f"[green]PASS[/] no violation in {ran}{stopped}")
        return 0
    replay = replay_command(target, options, result.seed)
    out_dir = out or REPORTS / f"explore-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "failure.txt"
    text = failure_text(result, failure, replay, options)
    report.write_text(text)
    if result.target_log:
        (out_dir / "target.log").write_text(result.target_log)
    console.print(f"[red]FAIL[/] after {ran}\n")
    console.out(text, highlight=False)  # unwrapped: the program lines stay copyable
    console.print(f"written to {report}")
    return 1
