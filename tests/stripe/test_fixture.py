"""The ``stripe_sim`` fixture: a target reaches the simulator through Toxiproxy."""

from __future__ import annotations

import httpx

from harness.stack.stack import Stack
from harness.stripe import StripeSimulator
from tests.stripe.helpers import auth, receiver, session_form


def test_a_session_created_through_toxiproxy_is_stored_and_payable(
    stack: Stack, stripe_sim: StripeSimulator
) -> None:
    base = stack.proxied["stripe"]
    created = httpx.post(
        f"{base}/v1/checkout/sessions", headers=auth("k-1"), data=session_form("cart_f")
    )
    assert created.status_code == 200, created.text
    session = created.json()
    assert session["id"].startswith("cs_test_")
    assert session["amount_total"] == 3000
    with receiver() as rcv:
        stripe_sim.add_webhook_endpoint(rcv.url)
        stripe_sim.pay(session["id"])
        stripe_sim.wait_for_deliveries()
        assert rcv.types() == ["checkout.session.completed"]
    fetched = httpx.get(f"{base}/v1/checkout/sessions/{session['id']}", headers=auth()).json()
    assert (fetched["status"], fetched["payment_status"]) == ("complete", "paid")
    assert [s["id"] for s in stripe_sim.ledger.sessions(client_reference_id="cart_f")] == [
        session["id"]
    ]


def test_the_stripe_link_points_back_at_stripe_mock_after_the_fixture(stack: Stack) -> None:
    upstream = stack.toxiproxy.list()["stripe"].upstream
    assert stack.stripe_mock_url.endswith(upstream)
