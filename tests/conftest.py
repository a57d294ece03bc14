"""Fixtures shared by every suite: one real stack per test session, fresh databases per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from hypothesis import HealthCheck, settings

from harness.settings import Settings
from harness.stack.stack import Stack, start_stack

pytest_plugins = ["tests.stripe_fixture"]

# Hypothesis: CI explores a bounded number of examples, derandomised so a run is reproducible.
settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Derandomized unless asked otherwise: the same examples on every run, so a red build is the
# code's fault, never the draw's. HYPOTHESIS_PROFILE=dev explores new inputs on each run.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The real embedded stack (PostgreSQL, Redis, Toxiproxy, stripe-mock), torn down at the end."""
    with start_stack(Settings()) as running:
        yield running


@pytest.fixture
def healed(stack: Stack) -> Iterator[Stack]:
    """The stack, with every Toxiproxy proxy enabled and free of toxics after the test."""
    stack.toxiproxy.reset()
    yield stack
    stack.toxiproxy.reset()


@pytest.fixture
def fresh_database(stack: Stack) -> Iterator[str]:
    """A new, empty database; returns its URL through the Toxiproxy ``postgres`` link."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield stack.proxied["postgres"].rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_redis_db(stack: Stack) -> str:
    """Redis flushed before the test; returns its URL through the Toxiproxy ``redis`` link."""
    client = redis.Redis.from_url(stack.redis_url)
    client.flushall()
    client.close()
    return stack.proxied["redis"]
