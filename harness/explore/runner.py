"""One exploration: a fresh Stripe simulator and target on a running stack, the state machine run
by Hypothesis within its bounds, and what it found (the shrunk reproduction, or a clean pass)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, reporting, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky, HypothesisException
from hypothesis.stateful import run_state_machine_as_test

from harness.explore.machine import machine_for
from harness.explore.world import (
    INVARIANT_CALL,
    ExplorationStoppedError,
    Progress,
    World,
    is_rule_call,
)
from harness.runner.target_setup import Secrets, fresh_simulator, make_adapter, start_target
from harness.stack.stack import Stack
from harness.target import TargetConfig, wait_healthy

RETRY_TIME_FACTOR = 0.001  # Stripe's retry schedule compressed: a minute becomes 60 ms


@dataclass(frozen=True)
class ExploreOptions:
    examples: int = 50
    steps: int = 20
    seed: int | None = None  # None: a fresh draw (reported, so a failure can be replayed)
    max_seconds: float = 300.0  # exploring; a failure found gets as long again to shrink
    shrink_patience: int = 100  # examples in a row without a smaller failure: shrinking stops
    settle_s: float = 5.0  # how long a webhook's effects may take to show after delivery


@dataclass(frozen=True)
class Failure:
    message: str  # the expectation the target violated
    reproduction: tuple[str, ...]  # Hypothesis's program: state = ...; state.rule(...); ...
    narrative: tuple[str, ...]  # the same steps with the target's answers
    # Why shrinking ended: "done" (Hypothesis finished); else the smallest failure seen is shown:
    # "stalled" (none smaller for shrink_patience examples), "time" (the budget ran out) or
    # "flaky" (Hypothesis's replay of its minimal example did not fail the same way).
    shrinking: str

    @property
    def steps(self) -> int:
        """Rule calls in the reproduction (construction, invariants and teardown excluded)."""
        return sum(1 for line in self.reproduction if is_rule_call(line))


@dataclass(frozen=True)
class ExploreResult:
    target: str
    seed: int
    examples: int
    steps: int
    duration_s: float
    failure: Failure | None
    out_of_time: bool  # the budget ended exploring (or shrinking) early
    target_log: str  # redacted

    @property
    def passed(self) -> bool:
        return self.failure is None


def _reproduction(exc: BaseException) -> tuple[str, ...]:
    """The program Hypothesis attaches to its final failure as notes, without the invariant
    checks it prints after every step (they run after every step anyway)."""
    notes = [str(n) for n in getattr(exc, "__notes__", [])]
    start = next((i for i, n in enumerate(notes) if n.startswith("state = ")), None)
    if start is None:
        return ()
    end = next((i for i, n in enumerate(notes) if n == "state.teardown()"), len(notes) - 1)
    return tuple(n for n in notes[start : end + 1] if not n.startswith(INVARIANT_CALL))


def _found(exc: Exception, world: World) -> Failure:
    """The failure Hypothesis raised at the end of its shrinking."""
    if isinstance(exc, Flaky) and world.smallest is not None:
        # The replay failed differently (timing, or a target that is not deterministic here):
        # the smallest failure actually seen is the story to tell.
        seen = world.smallest
        return Failure(seen.message, seen.program, seen.narrative, "flaky")
    last = world.last_failure  # the replay of the minimal example is the last one run
    return Failure(
        message=str(exc) if isinstance(exc, AssertionError) else repr(exc),
        reproduction=_reproduction(exc) or (last.program if last else ()),
        narrative=last.narrative if last is not None else (),
        shrinking="done",
    )


def _settings(options: ExploreOptions) -> settings:
    return settings(
        max_examples=options.examples,
        stateful_step_count=options.steps,
        deadline=None,
        derandomize=options.seed is not None,
        database=None,
        # Explain re-runs the minimal example with variations to annotate it: real requests
        # against a real target for a comment, so it is left out.
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
        # These judge how efficiently data is generated. Here examples are slow by design (HTTP
        # to a real service), long (up to 200 steps), and many rule draws are refused until a
        # bundle fills (no paid session yet): none of that says anything about the target.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        report_multiple_bugs=False,
        # Debug verbosity makes Hypothesis print every example's program as it runs (to the
        # world's reporter, not stdout), so a failure cut short by the budget can be shown too.
        verbosity=Verbosity.debug,
    )


def explore(
    config: TargetConfig,
    stack: Stack,
    options: ExploreOptions,
    *,
    on_progress: Callable[[Progress], None] = lambda _p: None,
    on_event: Callable[[str], None] = lambda _m: None,
) -> ExploreResult:
    """Start a fresh simulator and the target on ``stack``, explore, and tear both down."""
    began = time.monotonic()
    seed = options.seed if options.seed is not None else secrets.randbelow(2**32)
    keys = Secrets.for_target(config)
    scratch = Path(tempfile.mkdtemp(prefix="checkout-chaos-explore-"))
    failure: Failure | None = None
    out_of_time = False
    log = ""
    try:
        with contextlib.ExitStack() as cleanup:
            sim = cleanup.enter_context(
                fresh_simulator(stack, RETRY_TIME_FACTOR, keys.webhook_secret, config.allowed_hosts)
            )
            on_event(f"starting {config.name}")
            target, base_url = start_target(config, stack, keys, scratch / "target.log", cleanup)
            adapter = make_adapter(config, base_url, keys.admin_token)
            sim.add_webhook_endpoint(adapter.webhook_url)
            runner = cleanup.enter_context(asyncio.Runner())
            cleanup.callback(lambda: runner.run(adapter.aclose()))  # before the loop closes
            if target is None:
                runner.run(wait_healthy(adapter, config.startup_timeout_s))
            world = World(
                runner=runner,
                adapter=adapter,
                simulator=sim,
                webhook_secret=keys.webhook_secret,
                run_tag=f"x{secrets.token_hex(3)}",
                max_seconds=options.max_seconds,
                shrink_patience=options.shrink_patience,
                request_timeout_s=config.request_timeout_s,
                settle_s=options.settle_s,
                on_progress=on_progress,
            )
            machine = hypothesis_seed(seed)(machine_for(world))
            on_event("exploring")
            try:
                with reporting.with_reporter(world.hypothesis_said):
                    run_state_machine_as_test(machine, settings=_settings(options))
            except ExplorationStoppedError as stop:
                out_of_time = stop.reason == "time"
                if world.smallest is not None:
                    seen = world.smallest
                    failure = Failure(seen.message, seen.program, seen.narrative, stop.reason)
            except Exception as exc:  # the failing example Hypothesis shrank and replayed
                if isinstance(exc, HypothesisException) and not isinstance(exc, Flaky):
                    raise  # a misuse of Hypothesis (the harness's bug), not the target's
                failure = _found(exc, world)
            examples, steps = world.examples, world.steps
            log = target.logs() if target is not None else ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if failure is not None:
        failure = Failure(
            keys.redact(failure.message),
            tuple(keys.redact(line) for line in failure.reproduction),
            tuple(keys.redact(line) for line in failure.narrative),
            failure.shrinking,
        )
    return ExploreResult(
        target=config.name,
        seed=seed,
        examples=examples,
        steps=steps,
        duration_s=time.monotonic() - began,
        failure=failure,
        out_of_time=out_of_time,
        target_log=keys.redact(log),
    )
