"""Fixtures for the reference service: the real ``python -m reference_impl`` on the real stack.

``reference_service`` starts the service as a subprocess on a free port with the contract's
environment: PostgreSQL and Redis through their Toxiproxy links, Stripe through the ``stripe`` link
(re-pointed by ``stripe_sim`` at the stateful simulator), a fresh database and a flushed Redis per
test. It waits on ``/health`` (readiness polling with a deadline) and registers the service's webhook
endpoint with the simulator.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from harness.stack.network import free_port
from harness.stack.process import ManagedProcess
from harness.stack.stack import Stack
from harness.stripe import StripeSimulator, sign
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 30.0
CANARY_EMAIL = "canary.7f3e@pii-canary.example"
CANARY_NAME = "Zanzibar Quillfeather"
CANARY_ADDRESS = "42 Canary Wharf Lane, Gloomhaven"


@dataclass
class Service:
    """A running reference service and a client that speaks the contract."""

    url: str
    env: dict[str, str]
    log_path: Path
    database_url: str  # direct (not proxied) URL of its database, for assertions
    redis_url: str  # direct Redis URL, for assertions
    process: ManagedProcess
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['ADMIN_TOKEN']}"}

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # --- contract calls ---------------------------------------------------------------------

    def put_product(self, sku: str, *, price_cents: int = 1250, stock: int = 10) -> httpx.Response:
        return self.http.put(
            f"/admin/products/{sku}",
            json={"name": f"Product {sku}", "price_cents": price_cents, "stock": stock},
            headers=self.admin,
        )

    def new_cart(self, user_id: str, items: dict[str, int]) -> str:
        response = self.http.post("/carts", json={"user_id": user_id})
        assert response.status_code == 201, response.text
        cart_id: str = response.json()["cart_id"]
        for sku, quantity in items.items():
            put = self.http.put(
                f"/carts/{cart_id}/items/{sku}",
                json={"quantity": quantity},
                headers={"X-User-Id": user_id},
            )
            assert put.status_code == 200, put.text
        return cart_id

    def checkout(
        self, cart_id: str, user_id: str, *, key: str | None = None, **contact: Any
    ) -> httpx.Response:
        headers = {"X-User-Id": user_id}
        if key is not None:
            headers["Idempotency-Key"] = key
        body = {"email": CANARY_EMAIL, "name": CANARY_NAME, "address": CANARY_ADDRESS} | contact
        return self.http.post(f"/carts/{cart_id}/checkout", json=body, headers=headers)

    def available(self, sku: str) -> int:
        response = self.http.get(f"/products/{sku}")
        assert response.status_code == 200, response.text
        value: int = response.json()["available"]
        return value

    def orders(self) -> list[dict[str, Any]]:
        response = self.http.get("/admin/orders", headers=self.admin)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    def orders_for(self, session_id: str) -> list[dict[str, Any]]:
        return [o for o in self.orders() if o["checkout_session_id"] == session_id]

    def wait_for_order(
        self, session_id: str, status: str, timeout_s: float = 20.0
    ) -> dict[str, Any]:
        def settled() -> dict[str, Any] | None:
            found = self.orders_for(session_id)
            return found[0] if len(found) == 1 and found[0]["status"] == status else None

        order: dict[str, Any] = wait_until(settled, timeout_s)
        return order

    def send_event(self, event: dict[str, Any], *, timestamp: int | None = None) -> httpx.Response:
        """POST an event signed with the service's webhook secret (as Stripe would)."""
        payload = json.dumps(event).encode()
        header = sign(payload, self.env["STRIPE_WEBHOOK_SECRET"], timestamp or int(time.time()))
        return self.http.post(
            "/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    # --- looking inside (assertions only) -----------------------------------------------------

    def stock(self, sku: str) -> dict[str, int]:
        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        try:
            raw = client.hgetall(f"inv:{sku}")
        finally:
            client.close()
        return {k: int(v) for k, v in raw.items()}

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cur = conn.execute(query, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description is not None else []


def completed_event(
    session_id: str,
    *,
    cart_id: str,
    user_id: str,
    amount_total: int | None = None,
    metadata: Any = None,
    event_type: str = "checkout.session.completed",
    payment_status: str = "paid",
) -> dict[str, Any]:
    """A ``checkout.session.*`` event shaped like Stripe's (with PII in customer_details)."""
    return {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "payment_status": payment_status,
                "status": "complete",
                "amount_total": amount_total,
                "payment_intent": "pi_" + secrets.token_hex(8),
                "client_reference_id": cart_id,
                "metadata": {"cart_id": cart_id, "user_id": user_id}
                if metadata is None
                else metadata,
                "customer_details": {
                    "email": CANARY_EMAIL,
                    "name": CANARY_NAME,
                    "address": {"line1": CANARY_ADDRESS},
                },
            }
        },
    }


def start_service(
    stack: Stack, env: dict[str, str], log_path: Path, *, timeout_s: float = STARTUP_TIMEOUT_S
) -> ManagedProcess:
    process = ManagedProcess(
        "reference-service",
        [sys.executable, "-m", "reference_impl"],
        log_path,
        env={**os.environ, **env},
        cwd=REPO,
    )
    process.start()
    url = f"http://127.0.0.1:{env['PORT']}"

    def healthy() -> bool:
        return httpx.get(f"{url}/health", timeout=2, trust_env=False).status_code == 200

    try:
        process.wait_ready(healthy, timeout_s)
    except Exception:
        process.stop()
        raise
    return process


@pytest.fixture
def service_env(
    stack: Stack,
    healed: Stack,
    fresh_database: str,
    fresh_redis_db: str,
    stripe_sim: StripeSimulator,
) -> dict[str, str]:
    """The contract's environment for one service instance (fresh database, flushed Redis)."""
    return {
        "PORT": str(free_port()),
        "DATABASE_URL": fresh_database,
        "REDIS_URL": fresh_redis_db,
        "STRIPE_API_BASE": stack.proxied["stripe"],
        "STRIPE_SECRET_KEY": "sk_test_reference" + secrets.token_hex(8),
        "STRIPE_WEBHOOK_SECRET": stripe_sim.webhook_secret,
        "ADMIN_TOKEN": "admin-" + secrets.token_hex(16),
    }


@pytest.fixture
def reference_service(
    stack: Stack, service_env: dict[str, str], stripe_sim: StripeSimulator, tmp_path: Path
) -> Iterator[Service]:
    """``python -m reference_impl``, ready, with the simulator delivering webhooks to it."""
    log_path = tmp_path / "reference-service.log"
    process = start_service(stack, service_env, log_path)
    direct_db = (
        stack.postgres_url.rsplit("/", 1)[0] + "/" + service_env["DATABASE_URL"].rsplit("/", 1)[1]
    )
    service = Service(
        url=f"http://127.0.0.1:{service_env['PORT']}",
        env=service_env,
        log_path=log_path,
        database_url=direct_db,
        redis_url=stack.redis_url,
        process=process,
    )
    stripe_sim.add_webhook_endpoint(f"{service.url}/webhooks/stripe")
    try:
        yield service
    finally:
        service.http.close()
        process.stop()
