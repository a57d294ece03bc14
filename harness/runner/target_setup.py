"""Setting up one run's target: its secrets, a fresh Stripe simulator, database and process.

Shared by scenario runs and load runs, so both give a target exactly the same world.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import redis

from harness.checkers import Verdict
from harness.history import History
from harness.stack.network import free_port
from harness.stack.stack import Stack
from harness.stripe import StripeSimulator
from harness.target import TargetConfig, TargetProcess, load_adapter
from harness.target.adapter import TargetAdapter

MAX_DELIVERY_ATTEMPTS = 8


MIN_SECRET_CHARS = 8  # shorter values are not worth hiding and would garble every text


@dataclass(frozen=True)
class Secrets:
    admin_token: str
    webhook_secret: str
    stripe_key: str
    extra: tuple[str, ...] = ()  # the target file's [env] values: DSNs, API keys, ...

    @classmethod
    def for_target(cls, config: TargetConfig) -> Secrets:
        """The target file's secrets, or fresh ones for a target the harness starts."""
        return cls(
            admin_token=config.admin_token or "admin-" + secrets.token_hex(16),
            webhook_secret=config.webhook_secret or "whsec_" + secrets.token_hex(24),
            stripe_key=config.stripe_secret_key,
            extra=tuple(v for v in config.env.values() if len(v) >= MIN_SECRET_CHARS),
        )

    def redact(self, text: str) -> str:
        for secret in (self.admin_token, self.webhook_secret, self.stripe_key, *self.extra):
            if len(secret) >= MIN_SECRET_CHARS:
                text = text.replace(secret, "[REDACTED]")
        return text

    def redact_verdict(self, verdict: Verdict) -> Verdict:
        """Evidence quotes the target's logs and answers: nothing secret goes to a report."""
        return replace(
            verdict,
            summary=self.redact(verdict.summary),
            evidence=tuple(replace(e, detail=self.redact(e.detail)) for e in verdict.evidence),
        )

    def redact_history(self, history: History) -> History:
        """The history with every secret taken out of the values the target answered."""
        ops = []
        for op in history:
            raw = json.dumps(op.value, default=str)
            clean = self.redact(raw)
            ops.append(op if clean == raw else replace(op, value=json.loads(clean)))
        return History.from_ops(ops)


@contextlib.contextmanager
def fresh_database(stack: Stack) -> Iterator[str]:
    """A new database for a command target; yields its URL through the postgres link."""
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield stack.proxied["postgres"].rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


@contextlib.contextmanager
def fresh_simulator(
    stack: Stack,
    retry_time_factor: float,
    webhook_secret: str,
    target_hosts: Iterable[str] = (),
) -> Iterator[StripeSimulator]:
    """A fresh Stripe simulator behind the stripe link, for the length of one run.

    It may reach the hosts the user allowed for the stack (stripe-mock) and for the target
    (``target_hosts``: where the webhooks go); nothing else off loopback.
    """
    with StripeSimulator(
        stack.stripe_mock_url,
        webhook_secret=webhook_secret,
        retry_time_factor=retry_time_factor,
        max_delivery_attempts=MAX_DELIVERY_ATTEMPTS,
        allowed_hosts=(*stack.allowed_hosts, *target_hosts),
    ) as sim:
        original = stack.toxiproxy.list()["stripe"].upstream
        stack.toxiproxy.set_upstream("stripe", f"127.0.0.1:{sim.port}")
        try:
            yield sim
        finally:
            stack.toxiproxy.set_upstream("stripe", original)


def start_target(
    config: TargetConfig, stack: Stack, keys: Secrets, log_path: Path, cleanup: contextlib.ExitStack
) -> tuple[TargetProcess | None, str]:
    """Start a command target on a fresh database and a flushed Redis (stopped by ``cleanup``);
    for a running target, only its URL. Returns the process (None for a URL) and the base URL."""
    if not config.starts_process:
        assert config.base_url is not None
        return None, config.base_url
    database_url = cleanup.enter_context(fresh_database(stack))
    flush_redis(stack.redis_url)
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
        config.argv(), env, log_path, cwd=config.cwd, startup_timeout_s=config.startup_timeout_s
    )
    target.start()  # from the caller's (main) thread, so it dies with the harness
    cleanup.callback(target.stop)
    return target, target.base_url


def make_adapter(config: TargetConfig, base_url: str, admin_token: str) -> TargetAdapter:
    cls = load_adapter(config.adapter)
    adapter: TargetAdapter = cls(
        base_url,
        admin_token,
        timeout_s=config.request_timeout_s,
        allowed_hosts=tuple(config.allowed_hosts),
    )
    return adapter
