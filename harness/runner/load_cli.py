"""``checkout-chaos load``: set up, run Locust with progress, print throughput and verdicts."""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.progress import spinner
from harness.runner.cli import REPORTS, load_target
from harness.runner.load_run import LoadOptions, run_load
from harness.settings import Settings
from harness.stack.binaries import BinaryMissingError
from harness.stack.network import HostNotAllowedError
from harness.stack.process import ServiceStartError
from harness.workload.context import ProductSpec

# Three products at different prices, so amounts and stock are checked across a real basket.
CATALOGUE = (("mug", 1250), ("tee", 2500), ("lamp", 4999))


def load_command(
    *,
    settings: Settings,
    target: Path | None,
    users: int,
    spawn_rate: float,
    duration: int,
    iterations: int,
    pay_ratio: float,
    stock: int,
    seed: int | None,
    out: Path | None,
    console: Console,
    err: Console,
) -> int:
    config = load_target(target, err)
    if config is None:
        return 2
    tag = uuid.uuid4().hex[:6]  # skus of their own, so a target that is not reset still adds up
    products = tuple(
        ProductSpec(f"load-{tag}-{sku}", sku, price, stock) for sku, price in CATALOGUE
    )
    out_dir = out or REPORTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}"
    options = LoadOptions(
        users=users,
        spawn_rate=spawn_rate,
        duration_s=duration,
        iterations=iterations,
        pay_ratio=pay_ratio,
        products=products,
        out_dir=out_dir,
        seed=seed if seed is not None else random.SystemRandom().randrange(1, 2**31),
    )
    console.print(f"checkout-chaos load: {config.name}, seed {options.seed}")
    try:
        with spinner(err) as progress:
            task = progress.add_task("starting", total=None)
            suite, stats = run_load(
                config, settings, options, on_event=lambda m: progress.update(task, description=m)
            )
    except (ServiceStartError, BinaryMissingError, HostNotAllowedError, RuntimeError) as exc:
        err.print(f"[red]load run failed:[/] {escape(str(exc))}")
        return 1
    table = Table(title=f"Locust against {config.name}")
    for column in ("requests", "failures", "median ms", "p95 ms", "req/s"):
        table.add_column(column, justify="right")
    table.add_row(
        str(stats.requests),
        str(stats.failures),
        f"{stats.median_ms:.0f}",
        f"{stats.p95_ms:.0f}",
        f"{stats.rps:.1f}",
    )
    console.print(table)
    result = suite.scenarios[0]
    for verdict in result.verdicts:
        mark = {"pass": "[green]PASS[/]", "fail": "[red]FAIL[/]"}.get(
            verdict.outcome.value, "[dim]not exercised[/]"
        )
        console.print(f"{mark} {verdict.invariant}: {escape(verdict.summary)}")
    from harness.report import write_reports

    report = write_reports(suite)
    console.print(f"report: {report} (Locust's own: {out_dir / 'locust.html'})")
    return 0 if suite.passed else 1
