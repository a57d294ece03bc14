"""Checkout end to end: cart → Stripe session (simulator) → payment → webhook → order."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from harness.stack.network import free_port
from harness.stack.stack import Stack
from harness.stripe import StripeSimulator
from tests.reference_impl.conftest import (
    CANARY_ADDRESS,
    CANARY_EMAIL,
    CANARY_NAME,
    Service,
    start_service,
)


def test_happy_path_pays_and_fulfils_one_order(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    assert svc.put_product("mug", price_cents=1250, stock=5).status_code == 200
    cart_id = svc.new_cart("alice", {"mug": 2})

    created = svc.checkout(cart_id, "alice")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["amount_total"] == 2500
    session_id = body["checkout_session_id"]
    [session] = stripe_sim.ledger.sessions(client_reference_id=cart_id)
    assert session["id"] == session_id
    assert session["amount_total"] == 2500  # the price the catalogue set, as Stripe saw it
    assert session["metadata"] == {"cart_id": cart_id, "user_id": "alice"}
    assert svc.available("mug") == 3  # two held for the open session
    assert svc.stock("mug") == {"available": 3, "reserved": 2, "sold": 0}

    # The cart is locked while its session is open; checking out again returns the same session.
    locked = svc.http.put(
        f"/carts/{cart_id}/items/mug", json={"quantity": 1}, headers={"X-User-Id": "alice"}
    )
    assert locked.status_code == 409
    assert svc.checkout(cart_id, "alice").json()["checkout_session_id"] == session_id

    stripe_sim.pay(session_id)
    stripe_sim.wait_for_deliveries()
    order = svc.wait_for_order(session_id, "fulfilled")
    assert order["cart_id"] == cart_id
    assert order["user_id"] == "alice"
    assert order["amount_total"] == 2500
    assert order["items"] == [{"sku": "mug", "quantity": 2, "unit_price_cents": 1250}]
    assert svc.stock("mug") == {"available": 3, "reserved": 0, "sold": 2}
    assert stripe_sim.ledger.refunds() == []
    # Paid: the same cart checked out again still answers with its one session.
    again = svc.checkout(cart_id, "alice")
    assert again.status_code == 201
    assert again.json()["checkout_session_id"] == session_id
    assert len(stripe_sim.ledger.sessions(client_reference_id=cart_id)) == 1


@pytest.mark.parametrize("clients", [10, 50])
def test_concurrent_identical_checkouts_create_exactly_one_session(
    reference_service: Service, stripe_sim: StripeSimulator, clients: int
) -> None:
    svc = reference_service
    svc.put_product("lamp", price_cents=4000, stock=3)
    cart_id = svc.new_cart("bob", {"lamp": 3})
    start = threading.Barrier(clients)
    # Built before the race: constructing 50 clients takes seconds on a loaded machine, and only
    # the requests should meet at the barrier.
    http = [httpx.Client(base_url=svc.url, timeout=60, trust_env=False) for _ in range(clients)]

    def one(i: int) -> httpx.Response:
        # Half send their own (different) Idempotency-Keys: the cart still defines the session.
        key = f"client-{uuid.uuid4()}" if i % 2 else None
        start.wait(timeout=60)
        headers = {"X-User-Id": "bob"} | ({"Idempotency-Key": key} if key else {})
        return http[i].post(
            f"/carts/{cart_id}/checkout",
            json={"email": CANARY_EMAIL, "name": CANARY_NAME, "address": CANARY_ADDRESS},
            headers=headers,
        )

    try:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            answers = list(pool.map(one, range(clients)))
    finally:
        for client in http:
            client.close()

    assert [a.status_code for a in answers] == [201] * clients, {a.text for a in answers}
    assert len({a.json()["checkout_session_id"] for a in answers}) == 1
    assert len(stripe_sim.ledger.sessions(client_reference_id=cart_id)) == 1
    assert svc.stock("lamp")["reserved"] == 3  # reserved once, not once per request


def test_another_users_cart_is_forbidden(reference_service: Service) -> None:
    svc = reference_service
    svc.put_product("pen", price_cents=100, stock=10)
    cart_id = svc.new_cart("carol", {"pen": 1})
    edit = svc.http.put(
        f"/carts/{cart_id}/items/pen", json={"quantity": 5}, headers={"X-User-Id": "mallory"}
    )
    assert edit.status_code == 403
    no_user = svc.http.put(f"/carts/{cart_id}/items/pen", json={"quantity": 5})
    assert no_user.status_code == 403
    assert svc.checkout(cart_id, "mallory").status_code == 403
    assert svc.http.get(f"/carts/{cart_id}", headers={"X-User-Id": "carol"}).json()["items"] == [
        {"sku": "pen", "quantity": 1, "unit_price_cents": 100}
    ]


def test_an_idempotency_key_reused_on_another_cart_is_refused(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    svc.put_product("cup", price_cents=300, stock=10)
    first = svc.new_cart("dave", {"cup": 1})
    second = svc.new_cart("dave", {"cup": 2})
    assert svc.checkout(first, "dave", key="same-key").status_code == 201
    reused = svc.checkout(second, "dave", key="same-key")
    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"
    assert stripe_sim.ledger.sessions(client_reference_id=second) == []
    assert svc.stock("cup")["reserved"] == 1


def test_out_of_stock_is_409_and_holds_nothing(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    svc.put_product("rare", price_cents=9900, stock=1)
    cart_id = svc.new_cart("erin", {"rare": 2})
    answer = svc.checkout(cart_id, "erin")
    assert answer.status_code == 409
    assert answer.json() == {"error": "out_of_stock", "sku": "rare"}
    assert svc.stock("rare") == {"available": 1, "reserved": 0, "sold": 0}
    assert stripe_sim.ledger.sessions(client_reference_id=cart_id) == []
    # Nothing half-done: the cart is editable again and can check out what exists.
    fix = svc.http.put(
        f"/carts/{cart_id}/items/rare", json={"quantity": 1}, headers={"X-User-Id": "erin"}
    )
    assert fix.status_code == 200
    assert svc.checkout(cart_id, "erin").status_code == 201


def test_expiry_releases_stock_and_reopens_the_cart(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    svc.put_product("hat", price_cents=2000, stock=2)
    cart_id = svc.new_cart("fay", {"hat": 2})
    first = svc.checkout(cart_id, "fay").json()["checkout_session_id"]
    assert svc.available("hat") == 0
    stripe_sim.expire(first)
    stripe_sim.wait_for_deliveries()
    assert svc.stock("hat") == {"available": 2, "reserved": 0, "sold": 0}
    # Reopened: the next checkout of the unchanged cart makes a new session (contract 6.4).
    second = svc.checkout(cart_id, "fay")
    assert second.status_code == 201
    assert second.json()["checkout_session_id"] != first
    assert len(stripe_sim.ledger.sessions(client_reference_id=cart_id)) == 2


def test_price_comes_from_the_catalogue_not_the_client(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    svc.put_product("tv", price_cents=50_000, stock=1)
    cart_id = svc.new_cart("gus", {})
    put = svc.http.put(
        f"/carts/{cart_id}/items/tv",
        json={"quantity": 1, "unit_price_cents": 1, "price_cents": 1},
        headers={"X-User-Id": "gus"},
    )
    assert put.status_code == 200
    assert put.json()["total_cents"] == 50_000
    answer = svc.checkout(cart_id, "gus", amount_total=1, price_cents=1)
    assert answer.json()["amount_total"] == 50_000
    [session] = stripe_sim.ledger.sessions(client_reference_id=cart_id)
    assert session["amount_total"] == 50_000


def test_logs_are_json_and_carry_no_canary_pii(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    svc.put_product("book", price_cents=1500, stock=5)
    cart_id = svc.new_cart("hana", {"book": 1})
    dict_address = {"line1": CANARY_ADDRESS, "city": "Canaryville-9"}
    answer = svc.checkout(cart_id, "hana", address=dict_address)
    assert answer.status_code == 201
    # Invalid bodies carrying PII, too (validation errors must not echo them into logs).
    assert svc.checkout(cart_id, "hana", email=CANARY_EMAIL + " x").status_code == 422
    assert svc.checkout(cart_id, "hana", name=[CANARY_NAME]).status_code == 422
    stripe_sim.pay(answer.json()["checkout_session_id"])
    stripe_sim.wait_for_deliveries()
    svc.wait_for_order(answer.json()["checkout_session_id"], "fulfilled")

    logs = svc.logs()
    assert "checkout.session_created" in logs  # the log is really being written
    for canary in (CANARY_EMAIL, CANARY_NAME, CANARY_ADDRESS, "Canaryville-9", "pii-canary"):
        assert canary not in logs
    assert svc.env["STRIPE_SECRET_KEY"] not in logs
    assert svc.env["ADMIN_TOKEN"] not in logs
    for line in logs.splitlines():
        assert isinstance(json.loads(line), dict), line


def test_async_payments_fulfil_on_success_and_release_on_failure(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    svc.put_product("kite", price_cents=1500, stock=4)
    good_cart = svc.new_cart("uma", {"kite": 1})
    bad_cart = svc.new_cart("uma", {"kite": 2})
    good = svc.checkout(good_cart, "uma").json()["checkout_session_id"]
    bad = svc.checkout(bad_cart, "uma").json()["checkout_session_id"]
    assert svc.stock("kite") == {"available": 1, "reserved": 3, "sold": 0}

    stripe_sim.pay(good, outcome="async_succeeded")
    stripe_sim.pay(bad, outcome="async_failed")
    stripe_sim.wait_for_deliveries()
    svc.wait_for_order(good, "fulfilled")
    assert svc.orders_for(bad) == []
    assert svc.stock("kite") == {"available": 3, "reserved": 0, "sold": 1}
    # The failed cart reopened: editable again, and its next checkout is a new session.
    edit = svc.http.put(
        f"/carts/{bad_cart}/items/kite", json={"quantity": 1}, headers={"X-User-Id": "uma"}
    )
    assert edit.status_code == 200
    retry = svc.checkout(bad_cart, "uma")
    assert retry.status_code == 201
    assert retry.json()["checkout_session_id"] != bad


def test_a_fresh_database_on_an_old_redis_reuses_no_reservation(
    reference_service: Service, stripe_sim: StripeSimulator, stack: Stack, tmp_path: Path
) -> None:
    """A restored or new database restarts its row ids while Redis keeps its reservation markers
    and Stripe its idempotency keys: a second service's first checkout (same Redis, same Stripe
    account) must collide with neither."""
    first = reference_service
    first.put_product("kite", price_cents=900, stock=2)
    cart_id = first.new_cart("gus", {"kite": 1})
    session_id = first.checkout(cart_id, "gus").json()["checkout_session_id"]
    stripe_sim.expire(session_id)  # released: Redis keeps a tombstone for the reservation
    stripe_sim.wait_for_deliveries()
    assert first.stock("kite") == {"available": 2, "reserved": 0, "sold": 0}

    database = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    env = first.env | {
        "PORT": str(free_port()),
        "DATABASE_URL": first.env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{database}",
    }
    process = start_service(stack, env, tmp_path / "second.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{env['PORT']}", trust_env=False) as http:
            admin = {"Authorization": f"Bearer {env['ADMIN_TOKEN']}"}
            product = {"name": "kite", "price_cents": 900, "stock": 3}
            assert http.put("/admin/products/kite2", json=product, headers=admin).is_success
            cart = http.post("/carts", json={"user_id": "hal"}).json()["cart_id"]
            user = {"X-User-Id": "hal"}
            http.put(f"/carts/{cart}/items/kite2", json={"quantity": 1}, headers=user)
            contact = {"email": "h@example.invalid", "name": "Hal", "address": "1 Road"}
            answer = http.post(f"/carts/{cart}/checkout", json=contact, headers=user)
        assert answer.status_code == 201, answer.text
    finally:
        process.stop()
        with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
