"""Payment-side faults, the admin HTTP routes, the ledger and the standalone command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from harness.stack.stack import Stack
from harness.stripe import StripeSimulator
from tests.stripe.helpers import API_KEY, auth, receiver, session_form
from tests.waiting import wait_until

SESSIONS = "/v1/checkout/sessions"


def _post(sim: StripeSimulator, key: str | None, cart: str, timeout: float = 20) -> httpx.Response:
    return httpx.post(
        f"{sim.url}{SESSIONS}", headers=auth(key), data=session_form(cart), timeout=timeout
    )


def test_a_429_is_not_stored_and_the_same_key_then_succeeds(sim: StripeSimulator) -> None:
    sim.faults.fail(429, times=2)
    assert _post(sim, "k", "cart_429").status_code == 429
    limited = _post(sim, "k", "cart_429")
    assert (limited.status_code, limited.json()["error"]["code"]) == (429, "rate_limit")
    ok = _post(sim, "k", "cart_429")
    assert ok.status_code == 200
    assert "idempotent-replayed" not in ok.headers
    assert len(sim.ledger.sessions(client_reference_id="cart_429")) == 1
    assert [r.fault for r in sim.ledger.requests(path=SESSIONS)] == [
        "rate_limit_429",
        "rate_limit_429",
        None,
    ]


def test_an_ambiguous_drop_creates_the_session_and_the_retry_gets_it_back(
    sim: StripeSimulator,
) -> None:
    sim.faults.ambiguous(mode="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        _post(sim, "amb-1", "cart_amb")
    (created,) = sim.ledger.sessions(client_reference_id="cart_amb")  # it exists at Stripe
    retry = _post(sim, "amb-1", "cart_amb")
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == created["id"]
    assert len(sim.ledger.sessions(client_reference_id="cart_amb")) == 1
    statuses = [(r.status, r.fault, r.replayed) for r in sim.ledger.requests(path=SESSIONS)]
    assert statuses == [(0, "ambiguous_drop", False), (200, None, True)]


def test_an_ambiguous_timeout_answers_too_late_for_the_client(sim: StripeSimulator) -> None:
    sim.faults.ambiguous(mode="timeout", delay_s=3.0)
    with pytest.raises(httpx.ReadTimeout):
        _post(sim, "amb-2", "cart_late", timeout=0.5)
    # On a slow machine the client may give up before stripe-mock has even validated the request:
    # the session appears at Stripe anyway, a moment later.
    (created,) = wait_until(lambda: sim.ledger.sessions(client_reference_id="cart_late"))
    retry = _post(sim, "amb-2", "cart_late")
    assert (retry.status_code, retry.json()["id"]) == (200, created["id"])
    assert retry.headers["idempotent-replayed"] == "true"


def test_a_slow_fault_delays_the_answer(sim: StripeSimulator) -> None:
    sim.faults.slow(0.4, path=SESSIONS)
    began = time.monotonic()
    assert _post(sim, None, "cart_slow").status_code == 200
    assert time.monotonic() - began >= 0.4
    began = time.monotonic()
    assert _post(sim, None, "cart_slow2").status_code == 200  # used up after one request
    assert sim.faults.armed() == []


def test_faults_only_strike_matching_requests(sim: StripeSimulator) -> None:
    sim.faults.fail(500, method="POST", path="/v1/refunds")
    assert _post(sim, None, "cart_m").status_code == 200
    assert sim.faults.armed() == ["api error_500 POST /v1/refunds x1"]
    sim.faults.clear()
    assert sim.faults.armed() == []


def test_the_admin_routes_pay_arm_faults_and_serve_the_ledger(sim: StripeSimulator) -> None:
    session_id = _post(sim, "adm", "cart_adm").json()["id"]
    with receiver() as rcv:
        hooked = httpx.post(f"{sim.url}/_simulator/webhook_endpoints", json={"url": rcv.url})
        assert hooked.json() == {"endpoints": [rcv.url]}
        armed = httpx.post(
            f"{sim.url}/_simulator/faults", json={"kind": "duplicate_webhooks", "copies": 2}
        )
        assert armed.status_code == 200, armed.text
        paid = httpx.post(
            f"{sim.url}/_simulator/sessions/{session_id}/pay", json={"outcome": "paid"}
        )
        assert paid.json()["payment_status"] == "paid"
        waited = httpx.post(f"{sim.url}/_simulator/wait_for_deliveries", json={"timeout_s": 5})
        assert waited.status_code == 200
    assert rcv.types() == ["checkout.session.completed"] * 2
    again = httpx.post(f"{sim.url}/_simulator/sessions/{session_id}/pay", json={})
    assert again.status_code == 400  # a complete session cannot be paid twice
    unknown = httpx.post(f"{sim.url}/_simulator/faults", json={"kind": "explode"})
    assert unknown.status_code == 400
    ledger = httpx.get(f"{sim.url}/_simulator/ledger").json()
    assert [s["id"] for s in ledger["sessions"]] == [session_id]
    assert [d["kind"] for d in ledger["deliveries"]] == ["genuine", "duplicate"]
    assert ledger["idempotency"][0]["key"] == "adm"
    assert API_KEY not in json.dumps(ledger)  # keys appear masked only
    page = httpx.get(f"{sim.url}/c/pay/{session_id}").json()
    assert page["status"] == "complete"


def test_the_admin_route_expires_a_session(sim: StripeSimulator) -> None:
    session_id = _post(sim, None, "cart_exp").json()["id"]
    expired = httpx.post(f"{sim.url}/_simulator/sessions/{session_id}/expire")
    assert expired.json()["status"] == "expired"
    assert [e["type"] for e in sim.ledger.events(session_id=session_id)] == [
        "checkout.session.expired"
    ]


def test_the_ledger_counts_what_a_checker_needs(sim: StripeSimulator) -> None:
    first = _post(sim, "cart-a-1", "cart_a").json()["id"]
    _post(sim, "cart-a-1", "cart_a")  # replay
    second = _post(sim, "cart-a-2", "cart_a").json()["id"]  # a second session for one cart
    other = _post(sim, "cart-b-1", "cart_b").json()["id"]
    with receiver() as rcv:
        rcv.script = [500]
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(first)
        sim.pay(other, outcome="async_succeeded")
        sim.expire(second)
        sim.wait_for_deliveries()
    intent = sim.ledger.session(first)["payment_intent"]
    httpx.post(f"{sim.url}/v1/refunds", headers=auth("ref-1"), data={"payment_intent": intent})
    httpx.post(f"{sim.url}/v1/refunds", headers=auth("ref-1"), data={"payment_intent": intent})

    assert [s["id"] for s in sim.ledger.sessions(client_reference_id="cart_a")] == [first, second]
    assert len(sim.ledger.sessions(client_reference_id="cart_b")) == 1
    assert len(sim.ledger.refunds(payment_intent=intent)) == 1
    assert sorted(sim.ledger.idempotency_keys()) == ["cart-a-1", "cart-a-2", "cart-b-1", "ref-1"]
    assert sorted(sim.ledger.replayed_keys()) == ["cart-a-1", "ref-1"]
    assert len(sim.ledger.events()) == 4
    completed = sim.ledger.events(type="checkout.session.completed", session_id=first)[0]
    assert [(d.attempt, d.status_code) for d in sim.ledger.deliveries(completed["id"])] == [
        (1, 500),
        (2, 200),
    ]
    assert len(sim.ledger.deliveries()) == 5
    assert len(sim.ledger.requests(method="POST", path=SESSIONS)) == 4


def test_the_standalone_command_serves_until_terminated(stack: Stack) -> None:
    env = {**os.environ, "STRIPE_WEBHOOK_SECRET": "whsec_standalone"}
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.stripe", "--stripe-mock-url", stack.stripe_mock_url],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the server is ready
        assert line.startswith("Stripe simulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        created = httpx.post(f"{url}{SESSIONS}", headers=auth("std"), data=session_form("c"))
        assert created.json()["amount_total"] == 3000
        assert "whsec_standalone" not in line
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0
