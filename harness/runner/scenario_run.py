"""One scenario, start to verdict: fresh target, faults beside the workload, quiescence, checks."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.checkers import FinalState, Verdict
from harness.checkers.registry import check_all
from harness.faults import FaultEnvironment, Nemesis
from harness.faults.schedule import PhaseBoard
from harness.history import History
from harness.runner.final_state import (
    final_state,
    read_products,
    run_carts,
    settle,
    watch_orders,
)
from harness.runner.results import ScenarioResult
from harness.runner.target_setup import Secrets, fresh_simulator, make_adapter, start_target
from harness.scenario import Scenario
from harness.stack.stack import Stack
from harness.stripe import StripeSimulator
from harness.target import TargetConfig, TargetProcess, wait_healthy
from harness.target.adapter import TargetAdapter
from harness.workload import WorkloadContext, run_workload
from harness.workload.context import ProductSpec


class RunTimeoutError(RuntimeError):
    """A run outlived its hard ceiling (workload time limit + settling bounds)."""


class FaultNeverStartedError(RuntimeError):
    """A scheduled fault never fired, so the run did not test what its scenario claims."""


@dataclass(frozen=True)
class RunOptions:
    seed: int
    out_dir: Path
    reproduce: str  # the command that re-runs this scenario with this seed
    on_event: Callable[[str], None] = lambda _msg: None


async def _drive(
    scenario: Scenario,
    adapter: TargetAdapter,
    sim: StripeSimulator,
    keys: Secrets,
    stack: Stack,
    target: TargetProcess | None,
    faultable_links: frozenset[str],
    seed: int,
    history: History,
) -> FinalState:
    phases = PhaseBoard()
    run_id = f"r{uuid.uuid4().hex[:8]}"
    products = [
        ProductSpec(f"{run_id}-{p.sku}", p.name or p.sku, p.price_cents, p.stock)
        for p in scenario.products
    ]
    ctx = WorkloadContext(
        adapter=adapter,
        simulator=sim,
        webhook_secret=keys.webhook_secret,
        history=history,
        phases=phases,
        rng=random.Random(f"{seed}:{scenario.name}"),
        run_id=run_id,
        products=products,
        deadline=time.monotonic() + scenario.time_limit_s,
    )
    nemesis = Nemesis(
        FaultEnvironment(
            history=history,
            phases=phases,
            simulator=sim,
            toxiproxy=stack.toxiproxy,
            faultable_links=faultable_links,
            target=target,
            # The stack's Redis is not a running target's: flushing it would be a silent no-op.
            redis_url=stack.redis_url if target is not None else None,
        ),
        list(scenario.faults),
    )
    nemesis.check_available()  # refuse a fault the target cannot take before touching it
    await ctx.stock_products()
    nemesis.start()
    # The observer looks at the orders from now until quiescence: through the faults, and while
    # the last webhooks are still being delivered after the heal (convergence is timed by it).
    stop_watching = asyncio.Event()
    watcher = asyncio.create_task(
        watch_orders(
            ctx, stop_watching, scenario.time_limit_s + 2 * scenario.convergence_bound_s + 30
        )
    )
    try:
        try:
            await run_workload(ctx, scenario.workload)
        finally:
            await nemesis.heal_all()
        idle = nemesis.never_started()
        if idle:
            raise FaultNeverStartedError(
                f"fault(s) {', '.join(idle)} never started: their trigger (phase, step or time) "
                "did not come before the workload ended"
            )
        # Quiescence: nobody left mid-payment, every webhook delivered, every order final (or
        # the convergence bound passed).
        carts = run_carts(history)
        orders = await settle(ctx, carts, scenario.convergence_bound_s, watching=stop_watching)
    finally:
        stop_watching.set()
        await watcher
    products_now = await read_products(adapter, products)
    log = target.logs() if target is not None else ""
    return final_state(sim, carts, orders, products_now, log, scenario.convergence_bound_s)


def run_scenario(
    scenario: Scenario,
    config: TargetConfig,
    stack: Stack,
    options: RunOptions,
    *,
    faultable_links: frozenset[str] = frozenset({"postgres", "redis", "stripe"}),
) -> ScenarioResult:
    began = time.monotonic()
    keys = Secrets.for_target(config)
    out_dir = options.out_dir / scenario.name
    scratch = Path(tempfile.mkdtemp(prefix="checkout-chaos-run-"))
    history = History()
    verdicts: list[Verdict] = []
    error: str | None = None
    notes: list[str] = []
    try:
        with contextlib.ExitStack() as cleanup:
            sim = cleanup.enter_context(
                fresh_simulator(
                    stack,
                    scenario.stripe.retry_time_factor,
                    keys.webhook_secret,
                    config.allowed_hosts,
                )
            )
            options.on_event(f"{scenario.name}: starting the target")
            target, base_url = start_target(config, stack, keys, scratch / "target.log", cleanup)
            if target is None:
                notes.append("running target: process faults unavailable, logs not scanned")
            adapter = make_adapter(config, base_url, keys.admin_token)
            sim.add_webhook_endpoint(adapter.webhook_url)
            options.on_event(f"{scenario.name}: running")

            async def drive() -> FinalState:
                try:
                    if target is None:
                        await wait_healthy(adapter, config.startup_timeout_s)
                    return await _drive(
                        scenario,
                        adapter,
                        sim,
                        keys,
                        stack,
                        target,
                        faultable_links,
                        options.seed,
                        history,  # recorded into as it goes, so a broken run keeps its evidence
                    )
                finally:
                    await adapter.aclose()

            # A hard ceiling on the whole run, so that no target, fault or schedule can hang it.
            budget_s = scenario.time_limit_s + 4 * scenario.convergence_bound_s + 60
            try:
                state = asyncio.run(asyncio.wait_for(drive(), budget_s))
            except TimeoutError:
                raise RunTimeoutError(f"the run did not finish within {budget_s:.0f}s") from None
            options.on_event(f"{scenario.name}: checking")
            verdicts = check_all(history, state, only=scenario.invariants)
            if target is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                (out_dir / "target.log").write_text(keys.redact(target.logs()))
    except Exception as exc:  # a broken run is reported as such, never as a pass
        error = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    verdicts = [keys.redact_verdict(v) for v in verdicts]
    history = keys.redact_history(history)
    error = keys.redact(error) if error is not None else None
    result = ScenarioResult(
        scenario=scenario.name,
        title=scenario.title,
        seed=options.seed,
        verdicts=verdicts,
        history=history,
        duration_s=time.monotonic() - began,
        out_dir=out_dir,
        error=error,
        reproduce=options.reproduce,
        notes=notes,
    )
    result.write()
    return result
