"""``checkout-chaos load``: Locust against a target, then the invariants on what it left behind.

Locust runs in its own process (it monkeypatches the standard library with gevent, which must not
touch the harness's asyncio and threads). Its users shop at the target and pay at the Stripe
simulator (``load/locustfile.py``). Afterwards the run is brought to quiescence like any scenario
and the invariants that need no per-operation history are checked: a stress test that also
proves nothing was oversold, lost or double-charged.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checkers import Product
from harness.checkers.registry import check_all
from harness.faults.schedule import PhaseBoard
from harness.history import History
from harness.runner.final_state import (
    carts_at_stripe,
    final_state,
    read_products,
    settle,
)
from harness.runner.results import ScenarioResult, SuiteResult
from harness.runner.target_setup import Secrets, fresh_simulator, make_adapter, start_target
from harness.settings import Settings
from harness.stack.stack import start_stack
from harness.stripe import StripeSimulator
from harness.target import TargetConfig, wait_healthy
from harness.target.adapter import TargetAdapter
from harness.workload.context import ProductSpec, WorkloadContext

LOCUSTFILE = Path(__file__).resolve().parents[2] / "load" / "locustfile.py"
# What a load run can judge without a per-operation history of the buyers' requests.
LOAD_INVARIANTS = (
    "conservation",
    "no-oversell",
    "exactly-once-order",
    "refund-exactly-once",
    "amount-integrity",
    "convergence",
)


@dataclass(frozen=True)
class LoadOptions:
    users: int
    spawn_rate: float
    duration_s: int
    iterations: int  # purchases per user, so the load is bounded in count as well as time
    pay_ratio: float
    products: tuple[ProductSpec, ...]
    out_dir: Path
    convergence_bound_s: float = 30.0
    seed: int = 0  # the Locust users' choices (CHECKOUT_CHAOS_SEED)


@dataclass(frozen=True)
class LoadStats:
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    rps: float


def read_stats(csv_prefix: Path) -> LoadStats:
    """The "Aggregated" row of Locust's ``<prefix>_stats.csv``."""
    with (csv_prefix.parent / f"{csv_prefix.name}_stats.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]
    if not rows:
        raise ValueError("Locust wrote no aggregated statistics")
    row = rows[0]
    return LoadStats(
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
        median_ms=float(row["Median Response Time"]),
        p95_ms=float(row["95%"]),
        rps=float(row["Requests/s"]),
    )


def _locust(options: LoadOptions, base_url: str, sim: StripeSimulator, csv_prefix: Path) -> None:
    env = {
        **os.environ,
        "CHECKOUT_CHAOS_SKUS": ",".join(p.sku for p in options.products),
        "CHECKOUT_CHAOS_SIMULATOR": sim.url,
        "CHECKOUT_CHAOS_ITERATIONS": str(options.iterations),
        "CHECKOUT_CHAOS_PAY_RATIO": str(options.pay_ratio),
        "CHECKOUT_CHAOS_SEED": str(options.seed),
    }
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(options.users),
        "--spawn-rate",
        str(options.spawn_rate),
        "--run-time",
        f"{options.duration_s}s",
        "--stop-timeout",
        "10",
        "--host",
        base_url,
        "--csv",
        str(csv_prefix),
        "--html",
        str(csv_prefix) + ".html",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    log = csv_prefix.parent / "locust.log"
    with log.open("wb") as out:
        # Bounded twice: Locust's own --run-time, and a hard limit here in case it hangs.
        result = subprocess.run(
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=options.duration_s + 60,
            check=False,
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"locust exited with {result.returncode}:\n{tail}")


async def _load(
    adapter: TargetAdapter,
    sim: StripeSimulator,
    history: History,
    options: LoadOptions,
    base_url: str,
    wait_for_target_s: float | None,
    on_event: Callable[[str], None],
) -> tuple[LoadStats, list[dict[str, Any]]]:
    """Stock the shop, run Locust, then settle: everything in one event loop, as the async
    client belongs to the loop it was first used in."""
    if wait_for_target_s is not None:
        await wait_healthy(adapter, wait_for_target_s)
    ctx = WorkloadContext(
        adapter=adapter,
        simulator=sim,
        webhook_secret="",
        history=history,
        phases=PhaseBoard(),
        rng=random.Random(0),
        run_id="load",
        products=list(options.products),
        deadline=time.monotonic() + options.duration_s + options.convergence_bound_s * 4 + 120,
    )
    await ctx.stock_products()
    on_event(f"load: {options.users} Locust users for up to {options.duration_s}s")
    csv_prefix = options.out_dir / "locust"
    await asyncio.to_thread(_locust, options, base_url, sim, csv_prefix)
    stats = read_stats(csv_prefix)
    on_event("load: settling")
    carts = carts_at_stripe(sim)
    orders = await settle(ctx, carts, options.convergence_bound_s)
    return stats, orders


def run_load(
    config: TargetConfig,
    settings: Settings,
    options: LoadOptions,
    on_event: Callable[[str], None] = lambda _msg: None,
) -> tuple[SuiteResult, LoadStats]:
    began = time.monotonic()
    keys = Secrets.for_target(config)
    history = History()
    options.out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="checkout-chaos-load-"))
    on_event("starting the stack")
    with (
        start_stack(settings, options.out_dir / "stack-logs", on_event=on_event) as stack,
        contextlib.ExitStack() as cleanup,
    ):
        sim = cleanup.enter_context(
            fresh_simulator(stack, 0.01, keys.webhook_secret, config.allowed_hosts)
        )
        cleanup.callback(shutil.rmtree, scratch, ignore_errors=True)  # last, after the target stops
        on_event("starting the target")
        target, base_url = start_target(config, stack, keys, scratch / "target.log", cleanup)
        adapter = make_adapter(config, base_url, keys.admin_token)
        sim.add_webhook_endpoint(adapter.webhook_url)

        async def main() -> tuple[LoadStats, list[dict[str, Any]], dict[str, Product]]:
            try:
                wait_s = config.startup_timeout_s if target is None else None
                stats, orders = await _load(
                    adapter, sim, history, options, base_url, wait_s, on_event
                )
                return stats, orders, await read_products(adapter, list(options.products))
            finally:
                await adapter.aclose()

        stats, orders, products = asyncio.run(main())
        carts = carts_at_stripe(sim)
        log = target.logs() if target is not None else ""
        state = final_state(sim, carts, orders, products, log, options.convergence_bound_s)
        verdicts = check_all(history, state, only=LOAD_INVARIANTS)
        if target is not None:
            (options.out_dir / "target.log").write_text(keys.redact(log))
    verdicts = [keys.redact_verdict(v) for v in verdicts]
    history = keys.redact_history(history)
    result = ScenarioResult(
        scenario="load",
        title=f"Locust: {options.users} users, {options.duration_s}s, "
        f"{options.iterations} purchases each at most",
        seed=options.seed,
        verdicts=verdicts,
        history=history,
        duration_s=time.monotonic() - began,
        out_dir=options.out_dir / "load",
        notes=[
            f"{stats.requests} requests, {stats.failures} failures, median {stats.median_ms:.0f} ms, "
            f"p95 {stats.p95_ms:.0f} ms, {stats.rps:.1f} req/s (Locust's report: locust.html)"
        ],
    )
    result.write()
    return SuiteResult(
        target=config.name, seed=options.seed, out_dir=options.out_dir, scenarios=[result]
    ), stats
