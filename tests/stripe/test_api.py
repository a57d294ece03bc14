"""The API: authentication, validation by stripe-mock, stored sessions, refunds and events."""

from __future__ import annotations

import base64

import httpx
import pytest
import stripe

from harness.stack.stack import Stack
from harness.stripe import StripeSimulator
from tests.stripe.helpers import API_KEY, auth, session_form


def _create(sim: StripeSimulator, cart_id: str = "cart_1", **form: str) -> dict[str, object]:
    response = httpx.post(
        f"{sim.url}/v1/checkout/sessions", headers=auth(), data={**session_form(cart_id), **form}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_live_key_is_refused_with_a_clear_401(sim: StripeSimulator) -> None:
    response = httpx.post(
        f"{sim.url}/v1/checkout/sessions",
        headers={"Authorization": "Bearer sk_live_abc123"},
        data=session_form(),
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "live key" in error["message"]
    assert "sk_live_abc123" not in response.text  # the key is not echoed back
    assert sim.ledger.sessions() == []


@pytest.mark.parametrize(
    "header", [None, "Bearer pk_test_abc", "Bearer nonsense", "Token sk_test_a"]
)
def test_anything_but_a_test_secret_key_is_a_401(sim: StripeSimulator, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = httpx.post(f"{sim.url}/v1/checkout/sessions", headers=headers, data=session_form())
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_basic_auth_with_the_key_as_user_name_is_accepted(sim: StripeSimulator) -> None:
    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    response = httpx.post(
        f"{sim.url}/v1/checkout/sessions",
        headers={"Authorization": f"Basic {token}"},
        data=session_form(),
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "change",
    [{"mode": "bogus"}, {"nonsense_param": "1"}, {"line_items[0][quantity]": "two"}],
)
def test_what_stripe_mock_rejects_is_rejected_the_same_way(
    stack: Stack, sim: StripeSimulator, change: dict[str, str]
) -> None:
    form = {**session_form(), **change}
    direct = httpx.post(f"{stack.stripe_mock_url}/v1/checkout/sessions", headers=auth(), data=form)
    simulated = httpx.post(f"{sim.url}/v1/checkout/sessions", headers=auth(), data=form)
    assert direct.status_code == 400
    assert (simulated.status_code, simulated.json()) == (direct.status_code, direct.json())
    assert sim.ledger.sessions() == []


def test_a_session_holds_what_was_asked_and_the_computed_amount(sim: StripeSimulator) -> None:
    form = {
        **session_form("cart_42", unit_amount=1250, quantity=3),
        "line_items[1][price_data][currency]": "usd",
        "line_items[1][price_data][unit_amount]": "499",
        "line_items[1][price_data][product_data][name]": "spoon",
        "line_items[1][quantity]": "2",
    }
    response = httpx.post(f"{sim.url}/v1/checkout/sessions", headers=auth(), data=form)
    session = response.json()
    assert session["object"] == "checkout.session"
    assert session["id"].startswith("cs_test_")
    assert (session["status"], session["payment_status"]) == ("open", "unpaid")
    assert session["amount_total"] == 1250 * 3 + 499 * 2
    assert session["currency"] == "usd"
    assert session["client_reference_id"] == "cart_42"
    assert session["metadata"] == {"cart_id": "cart_42", "user_id": "user_1"}
    assert session["expires_at"] - session["created"] == 24 * 3600
    assert session["payment_intent"] is None  # created when the customer pays, as in Stripe
    assert session["url"].endswith(session["id"])
    assert session["livemode"] is False
    assert "line_items" not in session

    fetched = httpx.get(
        f"{sim.url}/v1/checkout/sessions/{session['id']}",
        params={"expand[]": "line_items"},
        headers=auth(),
    ).json()
    items = fetched["line_items"]["data"]
    assert [(i["description"], i["quantity"], i["amount_total"]) for i in items] == [
        ("mug", 3, 3750),
        ("spoon", 2, 998),
    ]
    assert [i["price"]["unit_amount"] for i in items] == [1250, 499]
    listed = httpx.get(
        f"{sim.url}/v1/checkout/sessions/{session['id']}/line_items", headers=auth()
    ).json()
    assert listed["data"] == items


def test_an_unknown_session_is_a_404_resource_missing(sim: StripeSimulator) -> None:
    response = httpx.get(f"{sim.url}/v1/checkout/sessions/cs_test_nope", headers=auth())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"


def test_amounts_beyond_stripes_cap_and_mixed_currencies_are_rejected(sim: StripeSimulator) -> None:
    too_big = httpx.post(
        f"{sim.url}/v1/checkout/sessions",
        headers=auth(),
        data=session_form(unit_amount=50_000_000, quantity=2),
    )
    assert too_big.status_code == 400
    assert too_big.json()["error"]["code"] == "amount_too_large"
    mixed = httpx.post(
        f"{sim.url}/v1/checkout/sessions",
        headers=auth(),
        data={
            **session_form(),
            "line_items[1][price_data][currency]": "eur",
            "line_items[1][price_data][unit_amount]": "1",
            "line_items[1][price_data][product_data][name]": "x",
            "line_items[1][quantity]": "1",
        },
    )
    assert mixed.status_code == 400
    assert sim.ledger.sessions() == []


def test_expiring_through_the_api_emits_an_event_carrying_the_idempotency_key(
    sim: StripeSimulator,
) -> None:
    session = _create(sim)
    expired = httpx.post(
        f"{sim.url}/v1/checkout/sessions/{session['id']}/expire", headers=auth("expire-1")
    )
    assert expired.status_code == 200, expired.text
    assert expired.json()["status"] == "expired"
    (event,) = sim.ledger.events(type="checkout.session.expired")
    assert event["request"]["idempotency_key"] == "expire-1"
    assert event["data"]["object"]["id"] == session["id"]
    again = httpx.post(f"{sim.url}/v1/checkout/sessions/{session['id']}/expire", headers=auth())
    assert again.status_code == 400  # only open sessions expire


def test_a_refund_is_stored_per_payment_intent_and_cannot_be_repeated(sim: StripeSimulator) -> None:
    session = _create(sim)
    sim.pay(str(session["id"]))
    intent = sim.ledger.session(str(session["id"]))["payment_intent"]
    assert intent.startswith("pi_")
    refund = httpx.post(
        f"{sim.url}/v1/refunds", headers=auth("r1"), data={"payment_intent": intent}
    )
    assert refund.status_code == 200, refund.text
    assert (refund.json()["amount"], refund.json()["status"]) == (3000, "succeeded")
    second = httpx.post(
        f"{sim.url}/v1/refunds", headers=auth("r2"), data={"payment_intent": intent}
    )
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "charge_already_refunded"
    assert [r["id"] for r in sim.ledger.refunds(payment_intent=intent)] == [refund.json()["id"]]
    fetched = httpx.get(f"{sim.url}/v1/refunds/{refund.json()['id']}", headers=auth())
    assert fetched.json()["payment_intent"] == intent


def test_a_refund_needs_a_paid_intent(sim: StripeSimulator) -> None:
    unknown = httpx.post(f"{sim.url}/v1/refunds", headers=auth(), data={"payment_intent": "pi_x"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "resource_missing")
    session = _create(sim)
    sim.begin_async_payment(str(session["id"]))
    intent = sim.ledger.session(str(session["id"]))["payment_intent"]
    processing = httpx.post(
        f"{sim.url}/v1/refunds", headers=auth(), data={"payment_intent": intent}
    )
    assert processing.status_code == 400
    assert sim.ledger.refunds() == []


def test_events_are_retrievable_by_id(sim: StripeSimulator) -> None:
    session = _create(sim)
    sim.pay(str(session["id"]))
    (event,) = sim.ledger.events(session_id=str(session["id"]))
    fetched = httpx.get(f"{sim.url}/v1/events/{event['id']}", headers=auth()).json()
    assert fetched == event
    assert fetched["data"]["object"]["payment_status"] == "paid"


def test_an_unmodelled_endpoint_answers_stripe_mocks_canonical_object(sim: StripeSimulator) -> None:
    response = httpx.get(f"{sim.url}/v1/customers/cus_123", headers=auth())
    assert response.status_code == 200
    assert response.json()["object"] == "customer"


def test_the_official_stripe_client_creates_reads_and_refunds(sim: StripeSimulator) -> None:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": sim.url}, max_network_retries=0)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "http://127.0.0.1/ok",
            "client_reference_id": "cart_sdk",
            "metadata": {"cart_id": "cart_sdk"},
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 700,
                        "product_data": {"name": "tea"},
                    },
                    "quantity": 3,
                }
            ],
        },
        options={"idempotency_key": "sdk-1"},
    )
    assert session.amount_total == 2100
    sim.pay(session.id)
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert paid.payment_status == "paid"
    assert paid.line_items is not None
    assert paid.line_items.data[0].quantity == 3
    assert isinstance(paid.payment_intent, str)
    refund = client.v1.refunds.create(params={"payment_intent": paid.payment_intent})
    assert refund.amount == 2100
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": paid.payment_intent})


def test_malformed_form_encoding_is_a_400_and_is_logged(sim: StripeSimulator) -> None:
    response = httpx.post(
        f"{sim.url}/v1/checkout/sessions",
        headers={**auth("bad-form"), "Content-Type": "application/x-www-form-urlencoded"},
        content=b"mode=payment&metadata=x&metadata[a]=b",
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert [(r.status, r.idempotency_key) for r in sim.ledger.requests()] == [(400, "bad-form")]
    assert sim.ledger.idempotency_records() == []
