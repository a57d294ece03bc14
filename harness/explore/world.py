"""The world one exploration runs in: the target's adapter on one event loop, the Stripe simulator,
the time budget, and what has been seen so far (examples, steps, failures).

Hypothesis calls rules synchronously and the adapter is async, so the world owns one
``asyncio.Runner`` for the whole exploration and every call runs on it, bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from harness.stripe import StripeSimulator
from harness.target.adapter import TargetAdapter

T = TypeVar("T")

POLL_INTERVAL_S = 0.05  # between looks while waiting for a condition with a deadline


class ContractViolationError(AssertionError):
    """The target answered something the contract does not allow."""


class ExplorationStoppedError(KeyboardInterrupt):
    """The exploration ends where it stands: ``--max-seconds`` ran out, or shrinking stalled.

    An interruption, because that is the one exception Hypothesis lets end a run cleanly: any
    other exception is a failing example to shrink, and any other BaseException cut short mid-run
    is taken for flaky data generation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


INVARIANT_CALL = "state.target_matches_model("
# A line of Hypothesis's program that calls a method: "state.rule(...)", or with the results bound
# to bundle variables: "carts_0 = state.rule(...)", "(a_0,) = (b_0,) = state.rule(...)".
_CALL = re.compile(r"^(?:.* = )?state\.(\w+)\(")


def is_rule_call(line: str) -> bool:
    """A step of Hypothesis's program (not its construction, teardown or invariant checks)."""
    match = _CALL.match(line)
    return match is not None and match[1] not in ("teardown", "target_matches_model")


@dataclass(frozen=True)
class FailureSeen:
    """One failing example: Hypothesis's program for it, the steps with the target's answers,
    and the expectation it broke."""

    program: tuple[str, ...]
    narrative: tuple[str, ...]
    message: str

    @property
    def size(self) -> tuple[int, int]:
        """Fewer steps first, then shorter ones: roughly the order Hypothesis shrinks in."""
        return len(self.narrative), sum(len(line) for line in self.program)


@dataclass(frozen=True)
class Progress:
    examples: int
    steps: int
    shrinking: bool  # a failure was found; Hypothesis is now looking for a smaller one
    smallest_failure: int | None  # steps in the smallest failing example so far


@dataclass
class World:
    runner: asyncio.Runner
    adapter: TargetAdapter
    simulator: StripeSimulator
    webhook_secret: str
    run_tag: str  # namespaces every example's skus and users
    max_seconds: float
    shrink_patience: int  # examples in a row without a smaller failure before shrinking stops
    request_timeout_s: float
    settle_s: float  # how long a webhook's effects may take to show after delivery
    on_progress: Callable[[Progress], None] = lambda _p: None
    examples: int = 0
    steps: int = 0
    smallest: FailureSeen | None = None
    last_failure: FailureSeen | None = None
    started: float = field(default_factory=time.monotonic)
    first_failure_at: float | None = None
    _fresh_example: bool = False
    _machines: int = 0
    _since_smaller: int = 0
    _program: list[str] = field(default_factory=list)

    # -- budget and progress -------------------------------------------------------------------

    def check_budget(self) -> None:
        """Exploring gets ``max_seconds``; once a failure is found, shrinking gets as long again."""
        now = time.monotonic()
        since = self.started if self.first_failure_at is None else self.first_failure_at
        if now - since > self.max_seconds:
            raise ExplorationStoppedError("time")

    def new_example(self) -> int:
        """A new machine; returns its number, unique in this exploration (names its skus)."""
        self.check_budget()
        if self.smallest is not None:
            self._since_smaller += 1
            if self._since_smaller > self.shrink_patience:
                raise ExplorationStoppedError("stalled")
        self._fresh_example = True
        self._machines += 1
        return self._machines

    def new_step(self) -> None:
        self.check_budget()
        if self._fresh_example:
            # Counted at its first step: Hypothesis cuts some examples short before any.
            self._fresh_example = False
            self.examples += 1
        self.steps += 1
        self._report()

    def hypothesis_said(self, value: object) -> None:
        """Hypothesis's reporter (debug verbosity): it prints each example's program as it runs,
        which is kept so that any failing example, not only the final one, can be shown."""
        line = str(value)
        if line.startswith("state = "):
            self._program = [line]
            return
        running = bool(self._program) and self._program[-1] != "state.teardown()"
        if running and (is_rule_call(line) or line == "state.teardown()"):
            self._program.append(line)

    def failed(self, narrative: list[str], message: str) -> None:
        if self.first_failure_at is None:
            self.first_failure_at = time.monotonic()
        seen = FailureSeen(tuple(self._program), tuple(narrative), message)
        self.last_failure = seen
        if self.smallest is None or seen.size < self.smallest.size:
            self.smallest = seen
            self._since_smaller = 0
        self._report()

    def _report(self) -> None:
        smallest = self.smallest
        self.on_progress(
            Progress(
                self.examples,
                self.steps,
                shrinking=smallest is not None,
                smallest_failure=len(smallest.narrative) if smallest is not None else None,
            )
        )

    # -- calls -----------------------------------------------------------------------------------

    def call(self, what: str, coro: Coroutine[Any, Any, T]) -> T:
        """Run one adapter call on the exploration's loop. No faults are injected, so a request
        without an answer is a violation, not an unknown outcome."""
        try:
            return self.runner.run(asyncio.wait_for(coro, self.request_timeout_s + 5))
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise ContractViolationError(
                f"{what}: no answer within {self.request_timeout_s:.0f}s ({exc!r}); with no "
                "faults injected every request must be answered"
            ) from None
        except httpx.TransportError as exc:
            raise ContractViolationError(
                f"{what}: the connection failed ({exc!r}); with no faults injected every "
                "request must be answered"
            ) from None

    def wait_for_webhooks(self, what: str) -> None:
        try:
            self.simulator.wait_for_deliveries(timeout_s=self.settle_s + 10)
        except TimeoutError:
            raise ContractViolationError(
                f"{what}: webhooks were still being retried after {self.settle_s + 10:.0f}s; the "
                "target must answer every authentic event with a 2xx"
            ) from None

    def eventually(self, condition: Callable[[], bool]) -> bool:
        """Poll ``condition`` until it holds or ``settle_s`` passes (a target may finish
        fulfilment or a release after it acknowledged the webhook); returns its last value."""
        deadline = time.monotonic() + self.settle_s
        while True:
            if condition():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL_S)  # polling an observable condition, with a deadline
