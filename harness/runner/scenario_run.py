"""One scenario, start to verdict: fresh target, faults beside the workload, quiescence, checks."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psycopg
import redis

from harness.checkers import FinalState, Verdict
from harness.checkers.registry import check_all
from harness.faults import FaultEnvironment, Nemesis
from harness.faults.schedule import PhaseBoard
from harness.history import History
from harness.runner.final_state import (
    expire_open_sessions,
    final_state,
    observe_until_converged,
    read_products,
    run_carts,
)
from harness.runner.results import ScenarioResult
from harness.scenario import Scenario
from harness.stack.network import free_port
from harness.stack.stack import Stack
from harness.stripe import StripeSimulator
from harness.target import TargetConfig, TargetProcess, load_adapter, wait_healthy
from harness.target.adapter import TargetAdapter
from harness.workload import WorkloadContext, run_workload
from harness.workload.context import ProductSpec

MAX_DELIVERY_ATTEMPTS = 8
SETUP_TIMEOUT_S = 30.0


class FaultNeverStartedError(RuntimeError):
    """A scheduled fault never fired, so the run did not test what its scenario claims."""


@dataclass(frozen=True)
class RunOptions:
    seed: int
    out_dir: Path
    reproduce: str  # the command that re-runs this scenario with this seed
    on_event: Callable[[str], None] = lambda _msg: None


@dataclass(frozen=True)
class Secrets:
    admin_token: str
    webhook_secret: str
    stripe_key: str

    def redact(self, text: str) -> str:
        for secret in (self.admin_token, self.webhook_secret, self.stripe_key):
            text = text.replace(secret, "[REDACTED]")
        return text


def _secrets(config: TargetConfig) -> Secrets:
    return Secrets(
        admin_token=config.admin_token or "admin-" + secrets.token_hex(16),
        webhook_secret=config.webhook_secret or "whsec_" + secrets.token_hex(24),
        stripe_key=config.stripe_secret_key,
    )


@contextlib.contextmanager
def _fresh_database(stack: Stack) -> Iterator[str]:
    """A new database for a command target; yields its URL through the postgres link."""
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield stack.proxied["postgres"].rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


@contextlib.contextmanager
def _simulator(stack: Stack, scenario: Scenario, webhook_secret: str) -> Iterator[StripeSimulator]:
    """A fresh Stripe simulator behind the stripe link for the length of one scenario."""
    with StripeSimulator(
        stack.stripe_mock_url,
        webhook_secret=webhook_secret,
        retry_time_factor=scenario.stripe.retry_time_factor,
        max_delivery_attempts=MAX_DELIVERY_ATTEMPTS,
    ) as sim:
        original = stack.toxiproxy.list()["stripe"].upstream
        stack.toxiproxy.set_upstream("stripe", f"127.0.0.1:{sim.port}")
        try:
            yield sim
        finally:
            stack.toxiproxy.set_upstream("stripe", original)


def _adapter(config: TargetConfig, base_url: str, admin_token: str) -> TargetAdapter:
    cls = load_adapter(config.adapter)
    adapter: TargetAdapter = cls(
        base_url,
        admin_token,
        timeout_s=config.request_timeout_s,
        allowed_hosts=tuple(config.allowed_hosts),
    )
    return adapter


async def _drive(
    scenario: Scenario,
    adapter: TargetAdapter,
    sim: StripeSimulator,
    keys: Secrets,
    stack: Stack,
    target: TargetProcess | None,
    faultable_links: frozenset[str],
    seed: int,
) -> tuple[History, FinalState]:
    history = History()
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
    # Set-up is recorded too: conservation counts from the stock set here.
    for product in products:
        await ctx.perform(
            "setup",
            "set_stock",
            {
                "sku": product.sku,
                "name": product.name,
                "price_cents": product.price_cents,
                "stock": product.stock,
            },
            partial(
                adapter.put_product, product.sku, product.name, product.price_cents, product.stock
            ),
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
    nemesis.start()
    try:
        await run_workload(ctx, scenario.workload)
    finally:
        await nemesis.heal_all()
    idle = nemesis.never_started()
    if idle:
        raise FaultNeverStartedError(
            f"fault(s) {', '.join(idle)} never started: their trigger (phase, step or time) did "
            "not come before the workload ended"
        )
    # Quiescence: nobody left mid-payment, every webhook delivered, every order final (or the
    # convergence bound passed).
    carts = run_carts(history)
    with contextlib.suppress(TimeoutError):
        await asyncio.to_thread(sim.wait_for_deliveries, scenario.convergence_bound_s)
    await expire_open_sessions(ctx, carts)
    with contextlib.suppress(TimeoutError):
        await asyncio.to_thread(sim.wait_for_deliveries, scenario.convergence_bound_s)
    orders = await observe_until_converged(ctx, carts, scenario.convergence_bound_s)
    products_now = await read_products(adapter, products)
    log = target.logs() if target is not None else ""
    return history, final_state(sim, carts, orders, products_now, log, scenario.convergence_bound_s)


def run_scenario(
    scenario: Scenario,
    config: TargetConfig,
    stack: Stack,
    options: RunOptions,
    *,
    faultable_links: frozenset[str] = frozenset({"postgres", "redis", "stripe"}),
) -> ScenarioResult:
    began = time.monotonic()
    keys = _secrets(config)
    out_dir = options.out_dir / scenario.name
    scratch = Path(tempfile.mkdtemp(prefix="checkout-chaos-run-"))
    history = History()
    verdicts: list[Verdict] = []
    error: str | None = None
    notes: list[str] = []
    try:
        with contextlib.ExitStack() as cleanup:
            sim = cleanup.enter_context(_simulator(stack, scenario, keys.webhook_secret))
            target: TargetProcess | None = None
            if config.starts_process:
                database_url = cleanup.enter_context(_fresh_database(stack))
                _flush_redis(stack.redis_url)
                env = {
                    "PORT": str(free_port()),
                    "DATABASE_URL": database_url,
                    "REDIS_URL": stack.proxied["redis"],
                    "STRIPE_API_BASE": stack.proxied["stripe"],
                    "STRIPE_SECRET_KEY": keys.stripe_key,
                    "STRIPE_WEBHOOK_SECRET": keys.webhook_secret,
                    "ADMIN_TOKEN": keys.admin_token,
                    **config.env,
                }
                target = TargetProcess(
                    config.argv(),
                    env,
                    scratch / "target.log",
                    cwd=config.cwd,
                    startup_timeout_s=config.startup_timeout_s,
                )
                options.on_event(f"{scenario.name}: starting the target")
                target.start()  # from this (main) thread, so it dies with the harness
                cleanup.callback(target.stop)
                base_url = target.base_url
            else:
                assert config.base_url is not None
                base_url = config.base_url
                notes.append("running target: process faults unavailable, logs not scanned")
            adapter = _adapter(config, base_url, keys.admin_token)
            sim.add_webhook_endpoint(adapter.webhook_url)
            options.on_event(f"{scenario.name}: running")

            async def drive() -> tuple[History, FinalState]:
                try:
                    if target is None:
                        await wait_healthy(adapter, config.startup_timeout_s)
                    return await _drive(
                        scenario, adapter, sim, keys, stack, target, faultable_links, options.seed
                    )
                finally:
                    await adapter.aclose()

            history, state = asyncio.run(drive())
            options.on_event(f"{scenario.name}: checking")
            verdicts = check_all(history, state, only=scenario.invariants)
            if target is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                (out_dir / "target.log").write_text(keys.redact(target.logs()))
    except Exception as exc:  # a broken run is reported as such, never as a pass
        error = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
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
