"""Simulators for the simulator's own tests: straight on stripe-mock, with tunable delivery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.stack.stack import Stack
from harness.stripe import StripeSimulator

SECRET = "whsec_simulatortestsecret"

# Retries every few milliseconds: Stripe's schedule (60 s, 300 s, …) times 1e-4.
FAST_RETRIES = 0.0001


@pytest.fixture
def make_sim(stack: Stack) -> Iterator[Callable[..., StripeSimulator]]:
    """Start simulators with chosen options; all are stopped after the test."""
    started: list[StripeSimulator] = []

    def make(**options: Any) -> StripeSimulator:
        options.setdefault("webhook_secret", SECRET)
        options.setdefault("retry_time_factor", FAST_RETRIES)
        sim = StripeSimulator(stack.stripe_mock_url, **options)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., StripeSimulator]) -> StripeSimulator:
    return make_sim()
