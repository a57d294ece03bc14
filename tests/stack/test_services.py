"""Each real service answers a real request, directly and through its Toxiproxy link."""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest
import redis

from harness.stack.services import STRIPE_MOCK_PROBE_KEY
from harness.stack.stack import Stack


def test_postgres_answers_sql(stack: Stack) -> None:
    with psycopg.connect(stack.proxied["postgres"]) as conn:
        row = conn.execute("SELECT 6 * 7, current_setting('listen_addresses')").fetchone()
    assert row == (42, "127.0.0.1")


def test_redis_answers_ping(stack: Stack) -> None:
    client = redis.Redis.from_url(stack.proxied["redis"])
    assert client.ping() is True
    assert client.set("k", "v")
    assert client.get("k") == b"v"
    client.close()


def test_toxiproxy_reports_its_version(stack: Stack) -> None:
    response = httpx.get(f"{stack.toxiproxy_url}/version")
    assert response.status_code == 200
    assert set(stack.toxiproxy.list()) == {"postgres", "redis", "stripe"}


def test_stripe_mock_creates_a_checkout_session(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.proxied['stripe']}/v1/checkout/sessions",
        headers={"Authorization": f"Bearer {STRIPE_MOCK_PROBE_KEY}"},
        data={
            "mode": "payment",
            "success_url": "http://127.0.0.1/ok",
            "line_items[0][price_data][currency]": "usd",
            "line_items[0][price_data][unit_amount]": "1500",
            "line_items[0][price_data][product_data][name]": "mug",
            "line_items[0][quantity]": "2",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "checkout.session"


def test_stripe_mock_rejects_an_invalid_request(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.stripe_mock_url}/v1/checkout/sessions",
        headers={"Authorization": f"Bearer {STRIPE_MOCK_PROBE_KEY}"},
        data={"mode": "not-a-mode"},
    )
    assert response.status_code == 400


def test_disabling_the_redis_proxy_breaks_a_client_and_enabling_restores_it(healed: Stack) -> None:
    client = redis.Redis.from_url(
        healed.proxied["redis"], socket_timeout=2, socket_connect_timeout=2
    )
    assert client.ping() is True
    healed.toxiproxy.set_enabled("redis", False)
    client.connection_pool.disconnect()
    with pytest.raises(redis.ConnectionError):
        client.ping()
    healed.toxiproxy.set_enabled("redis", True)
    assert client.ping() is True
    client.close()


def _timed_select(conn: psycopg.Connection[tuple[object, ...]]) -> float:
    began = time.perf_counter()
    conn.execute("SELECT 1").fetchone()
    return time.perf_counter() - began


def test_a_latency_toxic_measurably_delays_a_postgres_query(healed: Stack) -> None:
    with psycopg.connect(healed.proxied["postgres"]) as conn:
        # The fastest of a few: a stall only adds time, so the minimum is the link's own cost.
        baseline = min(_timed_select(conn) for _ in range(5))
        healed.toxiproxy.add_toxic("postgres", "latency", {"latency": 300, "jitter": 0})
        delayed = _timed_select(conn)
    # One round trip crosses the downstream toxic once: at least its 300 ms, far above baseline.
    assert delayed >= 0.3
    assert delayed > baseline + 0.25
