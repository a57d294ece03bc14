"""The ``stripe_sim`` fixture: a Stripe simulator that targets reach through Toxiproxy.

A target gets ``STRIPE_API_BASE=stack.proxied["stripe"]`` and
``STRIPE_WEBHOOK_SECRET=stripe_sim.webhook_secret``; the test pays with ``stripe_sim.pay(…)``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from harness.stack.stack import Stack
from harness.stripe import StripeSimulator


@pytest.fixture
def stripe_sim(stack: Stack) -> Iterator[StripeSimulator]:
    """A fresh simulator over the stack's stripe-mock, behind the Toxiproxy ``stripe`` link.

    The link's upstream is restored afterwards, so ``stack.proxied["stripe"]`` reaches the bare
    stripe-mock again in tests that do not use this fixture.
    """
    secret = "whsec_" + secrets.token_hex(24)
    # A generous delivery timeout: a loaded machine can take seconds to answer one webhook, and
    # the tests assert on every attempt's answer, not on Stripe's patience.
    with StripeSimulator(
        stack.stripe_mock_url, webhook_secret=secret, delivery_timeout_s=30
    ) as sim:
        original = stack.toxiproxy.list()["stripe"].upstream
        stack.toxiproxy.set_upstream("stripe", f"127.0.0.1:{sim.port}")
        try:
            yield sim
        finally:
            stack.toxiproxy.set_upstream("stripe", original)
