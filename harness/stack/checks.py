"""One real request per service, direct and through its Toxiproxy proxy: ``stack up --check``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import psycopg
import redis

from harness.stack.services import STRIPE_MOCK_PROBE_KEY
from harness.stack.stack import Stack


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    took_ms: float


def _sql(url: str) -> str:
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SELECT version()").fetchone()
    return str(row[0]).split(",")[0] if row else "no row"


def _ping(url: str) -> str:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return "PONG" if client.ping() else "no PONG"
    finally:
        client.close()


def _checkout_session(base: str) -> str:
    response = httpx.post(
        f"{base}/v1/checkout/sessions",
        headers={"Authorization": f"Bearer {STRIPE_MOCK_PROBE_KEY}"},
        data={
            "mode": "payment",
            "success_url": "http://127.0.0.1/ok",
            "line_items[0][price_data][currency]": "usd",
            "line_items[0][price_data][unit_amount]": "1000",
            "line_items[0][price_data][product_data][name]": "probe",
            "line_items[0][quantity]": "1",
        },
        timeout=10,
        trust_env=False,
    )
    response.raise_for_status()
    return f"{response.json()['object']} created"


def run_checks(stack: Stack) -> list[CheckResult]:
    checks: list[tuple[str, Callable[[], str]]] = [
        ("postgres: SELECT version()", lambda: _sql(stack.postgres_url)),
        ("postgres via toxiproxy", lambda: _sql(stack.proxied["postgres"])),
        ("redis: PING", lambda: _ping(stack.redis_url)),
        ("redis via toxiproxy", lambda: _ping(stack.proxied["redis"])),
        ("toxiproxy: GET /version", stack.toxiproxy.version),
        (
            "stripe-mock: POST /v1/checkout/sessions",
            lambda: _checkout_session(stack.stripe_mock_url),
        ),
        ("stripe-mock via toxiproxy", lambda: _checkout_session(stack.proxied["stripe"])),
    ]
    results = []
    for name, check in checks:
        began = time.perf_counter()
        try:
            detail, ok = check(), True
        except Exception as exc:  # a failed check is a result to report, not a crash
            detail, ok = f"{type(exc).__name__}: {exc}", False
        results.append(CheckResult(name, ok, detail, (time.perf_counter() - began) * 1000))
    return results
