"""The ``checkout-chaos`` command line."""

from __future__ import annotations

import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.progress import spinner
from harness.settings import Settings
from harness.stack import binaries, doctor, state
from harness.stack.checks import run_checks
from harness.stack.network import HostNotAllowedError
from harness.stack.process import ServiceStartError, pid_running
from harness.stack.stack import Stack, start_stack

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
stack_app = typer.Typer(no_args_is_help=True, help="Bring the service stack up and down.")
app.add_typer(stack_app, name="stack")
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            err.print(f"[red]configuration error:[/] {field}: {error['msg']}")
        raise typer.Exit(2) from None


def _sigterm_as_interrupt(_signum: int, _frame: FrameType | None) -> None:
    # SIGTERM takes the same teardown path as Ctrl-C.
    raise KeyboardInterrupt


def _print_stack(stack: Stack) -> None:
    table = Table(title=f"stack ({stack.backend})")
    table.add_column("service")
    table.add_column("url")
    table.add_column("started in", justify="right")
    for service in stack.services.values():
        table.add_row(service.name, service.url, f"{service.started_in_s:.2f}s")
    console.print(table)
    proxies = Table(title="links through Toxiproxy (what a target uses)")
    proxies.add_column("link")
    proxies.add_column("url")
    for link, url in stack.proxied.items():
        proxies.add_row(link, url)
    console.print(proxies)
    console.print(f"logs: {stack.log_dir}")


@stack_app.command("install")
def stack_install() -> None:
    """Build the pinned Go programs (Toxiproxy, stripe-mock) into the cache if nothing provides them."""
    settings = _settings()
    wanted = []
    for program in binaries.GO_PROGRAMS:
        try:
            binaries.locate_go_program(settings, program)
        except binaries.BinaryMissingError:
            wanted.append(program)
    if not wanted:
        return
    with (
        spinner(err, transient=False) as progress,
        ThreadPoolExecutor(max_workers=len(wanted)) as pool,
    ):
        # The builds run side by side: a cold `go install` of each takes most of a minute.
        tasks = {
            pool.submit(binaries.go_install, settings, program): (
                program,
                progress.add_task(f"go install {program.module}@{program.version}", total=1),
            )
            for program in wanted
        }
        failed = False
        for future in as_completed(tasks):
            program, task = tasks[future]
            try:
                took = future.result()
            except binaries.BinaryMissingError as exc:
                err.print(f"[red]{exc}[/]")
                failed = True
                continue
            progress.update(
                task,
                completed=1,
                description=f"{program.name} {program.version} built in {took:.1f}s",
            )
    if failed:
        raise typer.Exit(1)


@stack_app.command("doctor")
def stack_doctor() -> None:
    """Say what is installed, what is missing, and the command that gets it."""
    findings = doctor.diagnose(_settings())
    table = Table(title="checkout-chaos doctor")
    table.add_column("")
    table.add_column("needs")
    table.add_column("found / how to get it")
    for f in findings:
        table.add_row("[green]ok[/]" if f.ok else "[red]missing[/]", f.item, f.detail)
    console.print(table)
    if not doctor.embedded_ready(findings):
        raise typer.Exit(1)


@stack_app.command("up")
def stack_up(
    check: Annotated[
        bool, typer.Option(help="Check every service with a real request, then tear down.")
    ] = False,
    detach: Annotated[
        bool, typer.Option(help="Leave the stack running; stop it with `stack down`.")
    ] = False,
    log_dir: Annotated[Path | None, typer.Option(help="Keep service logs here.")] = None,
) -> None:
    """Start PostgreSQL, Redis, Toxiproxy and stripe-mock on loopback, with proxies in front."""
    settings = _settings()
    if detach and state.load(settings) is not None:
        err.print(
            "[red]a detached stack is already recorded; run `checkout-chaos stack down` first[/]"
        )
        raise typer.Exit(1)
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    began = time.monotonic()
    try:
        with spinner(err) as progress:
            task = progress.add_task("starting the stack", total=None)
            stack_cm = start_stack(
                settings,
                log_dir,
                detach=detach,
                on_event=lambda msg: progress.update(task, description=msg),
            )
            stack = stack_cm.__enter__()
        try:
            console.print(f"stack up in {time.monotonic() - began:.2f}s")
            _print_stack(stack)
            if check:
                results = run_checks(stack)
                for r in results:
                    mark = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
                    console.print(f"{mark} {r.name}: {r.detail} ({r.took_ms:.0f} ms)")
                if not all(r.ok for r in results):
                    raise typer.Exit(1)
                console.print("all checks passed; tearing down")
            elif detach:
                path = state.record(settings, stack)
                console.print(f"detached; state in {path}. Stop with: checkout-chaos stack down")
            else:
                console.print("running; press Ctrl-C to tear down")
                sys.stdout.flush()  # a pipe is block-buffered: whoever waits for this line sees it
                signal.pause()
        finally:
            stack_cm.__exit__(*sys.exc_info())
    except KeyboardInterrupt:
        err.print("interrupted; stack torn down")
        raise typer.Exit(130) from None
    except (ServiceStartError, binaries.BinaryMissingError, HostNotAllowedError, ValueError) as exc:
        err.print(f"[red]stack failed to start:[/] {exc}")
        raise typer.Exit(1) from None


@stack_app.command("status")
def stack_status() -> None:
    """Show the detached stack, if any, and which of its processes still run."""
    recorded = state.load(_settings())
    if recorded is None:
        console.print("no detached stack")
        return
    for name, url in recorded.urls.items():
        pid = recorded.pids.get(name)
        alive = pid is not None and pid_running(pid)
        console.print(f"{'[green]up[/]' if alive else '[red]down[/]'} {name} {url} (pid {pid})")
    for link, url in recorded.proxied.items():
        console.print(f"   link {link}: {url}")


@stack_app.command("down")
def stack_down() -> None:
    """Stop the detached stack and remove its data."""
    stopped = state.stop(_settings())
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "no detached stack was running")


@app.command("run")
def run(
    target: Annotated[
        Path | None, typer.Option(help="Target file (TOML); default: the reference service.")
    ] = None,
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", "-s", help="Scenario name (repeatable).")
    ] = None,
    suite: Annotated[str | None, typer.Option(help="Suite name (default: 'default').")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for the workload (default: random).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: reports/<time>).")
    ] = None,
    scenarios_dir: Annotated[
        Path | None, typer.Option(help="Scenario library folder (default: scenarios/).")
    ] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the scenarios and exit.")] = False,
) -> None:
    """Run scenarios against a target and check every invariant; exit 1 on any violation."""
    from harness.runner.cli import run_command

    raise typer.Exit(
        run_command(
            settings=_settings(),
            target=target,
            scenarios=scenario or [],
            suite=suite,
            seed=seed,
            out=out,
            scenarios_dir=scenarios_dir,
            list_only=list_only,
            console=console,
            err=err,
        )
    )


@app.command("selftest")
def selftest(
    bug: Annotated[
        list[str] | None, typer.Option("--bug", "-b", help="Zoo member (repeatable; default: all).")
    ] = None,
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", "-s", help="Scenario name (repeatable).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for the workload (default: random).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: reports/selftest-<time>).")
    ] = None,
    scenarios_dir: Annotated[
        Path | None, typer.Option(help="Scenario library folder (default: scenarios/).")
    ] = None,
    lanes: Annotated[
        int, typer.Option(min=1, max=8, help="Members run side by side, each lane its own stack.")
    ] = 3,
) -> None:
    """Run the suite against every bug-zoo member; exit 1 if a bug escapes or the control alarms."""
    from harness.selftest.cli import selftest_command

    _settings()  # a configuration error is reported here, before any lane starts
    raise typer.Exit(
        selftest_command(
            bugs=bug or [],
            scenarios=scenario or [],
            seed=seed,
            out=out,
            scenarios_dir=scenarios_dir,
            lanes=lanes,
            console=console,
            err=err,
        )
    )


@app.command("report")
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder, e.g. reports/20261127-101500.")],
) -> None:
    """Re-draw a saved run's reports (HTML, JUnit, JSON) from its result and history files."""
    from harness.report.load import RunFolderError, load_suite
    from harness.report.writer import write_reports

    try:
        index = write_reports(load_suite(run_dir))
    except RunFolderError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    console.print(f"report: {index}")


@app.command("shrink")
def shrink(
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="The failing scenario.")],
    target: Annotated[
        Path | None, typer.Option(help="Target file (TOML); default: the reference service.")
    ] = None,
    seed: Annotated[int, typer.Option(help="The seed the failure was seen with.")] = 1,
    invariant: Annotated[
        str | None, typer.Option(help="The invariant to keep violated (default: the first).")
    ] = None,
    max_runs: Annotated[int, typer.Option(min=1, max=500, help="Runs at most.")] = 40,
    out: Annotated[
        Path | None, typer.Option(help="Folder (default: reports/shrink-<time>).")
    ] = None,
    scenarios_dir: Annotated[
        Path | None, typer.Option(help="Scenario library folder (default: scenarios/).")
    ] = None,
) -> None:
    """Shrink a failing scenario to a minimal one that still fails (exit 1 when it fails)."""
    from harness.runner.shrink_cli import shrink_command

    raise typer.Exit(
        shrink_command(
            settings=_settings(),
            target=target,
            scenario_name=scenario,
            seed=seed,
            invariant=invariant,
            max_runs=max_runs,
            out=out,
            scenarios_dir=scenarios_dir,
            console=console,
            err=err,
        )
    )


@app.command("load")
def load(
    target: Annotated[
        Path | None, typer.Option(help="Target file (TOML); default: the reference service.")
    ] = None,
    users: Annotated[int, typer.Option(min=1, max=500, help="Concurrent Locust users.")] = 20,
    spawn_rate: Annotated[
        float, typer.Option(min=0.1, max=500, help="Users started per second.")
    ] = 10,
    duration: Annotated[int, typer.Option(min=1, max=1800, help="Seconds of load at most.")] = 30,
    iterations: Annotated[
        int, typer.Option(min=1, max=10_000, help="Purchases per user at most.")
    ] = 20,
    pay_ratio: Annotated[float, typer.Option(min=0, max=1, help="Share of sessions paid.")] = 0.8,
    stock: Annotated[int, typer.Option(min=0, max=1_000_000, help="Units of each product.")] = 50,
    seed: Annotated[
        int | None, typer.Option(help="Seed for the users' choices (default: random).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: reports/load-<time>).")
    ] = None,
) -> None:
    """Stress a target with Locust, then check that nothing was oversold, lost or charged twice."""
    from harness.runner.load_cli import load_command

    raise typer.Exit(
        load_command(
            settings=_settings(),
            target=target,
            users=users,
            spawn_rate=spawn_rate,
            duration=duration,
            iterations=iterations,
            pay_ratio=pay_ratio,
            stock=stock,
            seed=seed,
            out=out,
            console=console,
            err=err,
        )
    )


@app.command("explore")
def explore(
    target: Annotated[
        Path | None, typer.Option(help="Target file (TOML); default: the reference service.")
    ] = None,
    examples: Annotated[
        int, typer.Option(min=1, max=10_000, help="Random rule sequences to try at most.")
    ] = 50,
    steps: Annotated[int, typer.Option(min=1, max=200, help="Rules per sequence at most.")] = 20,
    seed: Annotated[
        int | None,
        typer.Option(min=0, max=2**32 - 1, help="Explore derandomized from this seed."),
    ] = None,
    max_seconds: Annotated[
        int,
        typer.Option(
            min=1, max=86_400, help="Seconds of exploring; a failure found gets as long to shrink."
        ),
    ] = 300,
    out: Annotated[
        Path | None, typer.Option(help="Folder for a failure (default: reports/explore-<time>).")
    ] = None,
) -> None:
    """Explore random action sequences against a model of the contract; shrink a failure to a
    minimal reproduction (exit 1 when one is found)."""
    from harness.explore.cli import explore_command
    from harness.explore.runner import ExploreOptions

    settings = _settings()
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    raise typer.Exit(
        explore_command(
            settings=settings,
            target=target,
            options=ExploreOptions(
                examples=examples, steps=steps, seed=seed, max_seconds=max_seconds
            ),
            out=out,
            console=console,
            err=err,
        )
    )


def main() -> None:
    app()
