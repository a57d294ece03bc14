"""The fulfilment webhook: authentic events only, each applied once, bad payloads refused."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harness.stripe import StripeSimulator, sign
from reference_impl.webhooks import WebhookRejected, verify_signature
from tests.reference_impl.conftest import Service, completed_event


def _checked_out(svc: Service, sku: str, user: str, quantity: int = 1) -> tuple[str, str]:
    svc.put_product(sku, price_cents=700, stock=5)
    cart_id = svc.new_cart(user, {sku: quantity})
    answer = svc.checkout(cart_id, user)
    assert answer.status_code == 201, answer.text
    return cart_id, str(answer.json()["checkout_session_id"])


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-301, False), (-300, True), (0, True), (300, True), (301, False)]
)
def test_signature_tolerance_boundary(offset: int, accepted: bool) -> None:
    body = b'{"id": "evt_1"}'
    signed_at = 1_700_000_000
    header = sign(body, "whsec_test", signed_at + offset)
    if accepted:
        verify_signature(body, header, "whsec_test", 300, now=signed_at)
    else:
        with pytest.raises(WebhookRejected, match="tolerance"):
            verify_signature(body, header, "whsec_test", 300, now=signed_at)


def test_duplicate_deliveries_and_redelivery_make_one_order(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    _cart, session_id = _checked_out(svc, "sock", "ivy", 2)
    stripe_sim.faults.duplicate_webhooks(copies=4, event_type="checkout.session.completed")
    stripe_sim.pay(session_id)
    stripe_sim.wait_for_deliveries()
    [event] = stripe_sim.ledger.events(type="checkout.session.completed", session_id=session_id)
    stripe_sim.redeliver(event["id"])
    stripe_sim.wait_for_deliveries()

    deliveries = stripe_sim.ledger.deliveries(event_id=event["id"])
    assert len(deliveries) >= 5
    assert {d.status_code for d in deliveries} == {200}
    svc.wait_for_order(session_id, "fulfilled")
    assert len(svc.orders()) == 1
    assert svc.stock("sock") == {"available": 3, "reserved": 0, "sold": 2}


def test_concurrent_deliveries_of_one_payment_make_one_order(reference_service: Service) -> None:
    svc = reference_service
    cart_id, session_id = _checked_out(svc, "scarf", "jon", 3)
    event = completed_event(session_id, cart_id=cart_id, user_id="jon", amount_total=2100)
    # The same event 15 times, and 15 distinct events for the same session, all at once.
    payloads = [event] * 15 + [
        completed_event(session_id, cart_id=cart_id, user_id="jon", amount_total=2100)
        for _ in range(15)
    ]

    def deliver(payload: dict[str, object]) -> int:
        body = json.dumps(payload).encode()
        header = sign(body, svc.env["STRIPE_WEBHOOK_SECRET"], int(time.time()))
        with httpx.Client(base_url=svc.url, timeout=30, trust_env=False) as client:
            return client.post(
                "/webhooks/stripe", content=body, headers={"Stripe-Signature": header}
            ).status_code

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        statuses = list(pool.map(deliver, payloads))

    assert statuses == [200] * len(payloads)
    order = svc.wait_for_order(session_id, "fulfilled")
    assert order["amount_total"] == 2100
    assert len(svc.orders()) == 1
    assert svc.stock("scarf") == {"available": 2, "reserved": 0, "sold": 3}


def test_forged_tampered_and_stale_events_get_400_and_change_nothing(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    cart_id, session_id = _checked_out(svc, "belt", "kim", 1)
    stripe_sim.forge_event(session_id)
    stripe_sim.wait_for_deliveries()
    [forged] = [d for d in stripe_sim.ledger.deliveries() if d.kind == "forged"]
    assert forged.status_code == 400

    event = completed_event(session_id, cart_id=cart_id, user_id="kim")
    body = json.dumps(event).encode()
    secret = svc.env["STRIPE_WEBHOOK_SECRET"]
    now = int(time.time())
    # Margins far beyond the 300 s tolerance: the service reads its own clock later than we do,
    # so a timestamp just past the boundary would drift back inside it on a slow machine. The
    # exact boundary is tested with a fixed clock in test_signature_tolerance_boundary.
    attempts = {
        "wrong secret": sign(body, "whsec_attacker", now),
        "stale": sign(body, secret, now - 3600),
        "far future": sign(body, secret, now + 3600),
        "no v1": f"t={now}",
        "garbage": "nonsense",
    }
    for why, header in attempts.items():
        answer = svc.http.post(
            "/webhooks/stripe", content=body, headers={"Stripe-Signature": header}
        )
        assert answer.status_code == 400, why
    tampered = body.replace(b'"paid"', b'"paid" ', 1)
    answer = svc.http.post(
        "/webhooks/stripe", content=tampered, headers={"Stripe-Signature": sign(body, secret, now)}
    )
    assert answer.status_code == 400
    assert svc.http.post("/webhooks/stripe", content=body).status_code == 400

    assert svc.orders() == []
    assert svc.stock("belt") == {"available": 4, "reserved": 1, "sold": 0}
    assert svc.sql("SELECT count(*) FROM processed_events") == [(0,)]

    # The simulator's own tampered and stale copies are refused; the genuine event still lands.
    stripe_sim.faults.tamper_webhooks(event_type="checkout.session.completed")
    stripe_sim.faults.stale_webhooks(age_s=-900, event_type="checkout.session.completed")
    stripe_sim.pay(session_id)
    stripe_sim.wait_for_deliveries()
    by_kind = {d.kind: d.status_code for d in stripe_sim.ledger.deliveries() if d.kind != "forged"}
    assert by_kind == {"genuine": 200, "tampered": 400, "stale": 400}
    svc.wait_for_order(session_id, "fulfilled")


def test_invalid_metadata_is_400_with_a_reason(reference_service: Service) -> None:
    svc = reference_service
    cart_id, session_id = _checked_out(svc, "cap", "lea", 1)
    bad_metadata: list[object] = [
        {},
        {"cart_id": cart_id},
        {"user_id": "lea"},
        {"cart_id": "not-a-uuid", "user_id": "lea"},
        {"cart_id": 12345, "user_id": "lea"},
        {"cart_id": cart_id, "user_id": 7},
        {"cart_id": cart_id, "user_id": ""},
        {"cart_id": cart_id, "user_id": ["lea"]},
        "cart_id=x",
        [cart_id],
    ]
    for metadata in bad_metadata:
        event = completed_event(session_id, cart_id=cart_id, user_id="lea", metadata=metadata)
        answer = svc.send_event(event)
        assert answer.status_code == 400, (metadata, answer.text)
        assert "metadata" in answer.json()["reason"], answer.text
    missing = completed_event(session_id, cart_id=cart_id, user_id="lea")
    del missing["data"]["object"]["metadata"]  # type: ignore[attr-defined]
    answer = svc.send_event(missing)
    assert answer.status_code == 400
    assert "metadata" in answer.json()["reason"]
    # Metadata naming another user than the session's: refused as well.
    mismatch = completed_event(session_id, cart_id=cart_id, user_id="someone-else")
    assert svc.send_event(mismatch).status_code == 400
    # Not a session at all, or not even an event.
    for broken in (
        {"id": "evt_1", "type": "checkout.session.completed", "data": {"object": "x"}},
        {"type": "checkout.session.completed", "data": {"object": {}}},
        {"id": "evt_2", "type": "checkout.session.completed"},
        [1, 2, 3],
    ):
        assert svc.send_event(broken).status_code == 400  # type: ignore[arg-type]
    assert svc.orders() == []
    assert svc.stock("cap")["reserved"] == 1

    # A valid event for a session this service never created: 2xx, nothing changes (6.9).
    stranger = completed_event(
        "cs_test_unknown", cart_id=str(uuid.uuid4()), user_id="lea", amount_total=700
    )
    assert svc.send_event(stranger).status_code == 200
    # An event type fulfilment does not handle is acknowledged and ignored.
    ignored = {"id": "evt_x", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}}
    assert svc.send_event(ignored).status_code == 200
    assert svc.orders() == []
    # And the well-formed one is applied, so the refusals above were not a broken endpoint.
    assert (
        svc.send_event(completed_event(session_id, cart_id=cart_id, user_id="lea")).status_code
        == 200
    )
    svc.wait_for_order(session_id, "fulfilled")
