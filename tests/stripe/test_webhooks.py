"""Webhooks: signed as Stripe signs them, retried until a 2xx, and every chaos mode observed
at a real receiving server on loopback."""

from __future__ import annotations

import hmac
import itertools
import threading
import time
from collections.abc import Callable

import httpx
import pytest
import stripe

from harness.stripe import StripeSimulator, sign, verify
from harness.stripe.webhooks import STRIPE_RETRY_SCHEDULE_S
from tests.stripe.conftest import FAST_RETRIES, SECRET
from tests.stripe.helpers import Received, auth, receiver, session_form


def _open_session(sim: StripeSimulator, cart_id: str = "cart_w") -> str:
    response = httpx.post(
        f"{sim.url}/v1/checkout/sessions", headers=auth(), data=session_form(cart_id)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _construct(item: Received) -> stripe.Event:
    event: stripe.Event = stripe.Webhook.construct_event(item.body, item.signature, SECRET)
    return event


def test_the_official_library_accepts_the_signature_of_a_paid_session(sim: StripeSimulator) -> None:
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    (item,) = rcv.received
    event = _construct(item)
    assert event.type == "checkout.session.completed"
    assert event.data.object["id"] == session_id
    assert event.data.object["payment_status"] == "paid"
    assert event.request is not None
    assert item.signature.startswith("t=")
    assert ",v1=" in item.signature
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(item.body, item.signature, "whsec_someoneelse")


def test_sign_and_verify_agree_with_stripes_scheme() -> None:
    header = sign(b'{"a":1}', "whsec_x", 1_700_000_000)
    assert header == (
        "t=1700000000,v1=" + hmac.new(b"whsec_x", b'1700000000.{"a":1}', "sha256").hexdigest()
    )
    assert not verify(b'{"a":1}', header, "whsec_x")  # far too old
    fresh = sign(b"{}", "whsec_x", int(time.time()))
    assert verify(b"{}", fresh, "whsec_x")
    assert not verify(b"{ }", fresh, "whsec_x")


@pytest.mark.parametrize(
    ("outcome", "types", "final"),
    [
        ("paid", ["checkout.session.completed"], "paid"),
        (
            "async_succeeded",
            ["checkout.session.completed", "checkout.session.async_payment_succeeded"],
            "paid",
        ),
        (
            "async_failed",
            ["checkout.session.completed", "checkout.session.async_payment_failed"],
            "unpaid",
        ),
    ],
)
def test_each_payment_outcome_delivers_its_events_in_order(
    sim: StripeSimulator, outcome: str, types: list[str], final: str
) -> None:
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id, outcome=outcome)  # type: ignore[arg-type]
        sim.wait_for_deliveries()
    assert rcv.types() == types
    statuses = [_construct(r).data.object["payment_status"] for r in rcv.received]
    assert statuses[0] == ("paid" if outcome == "paid" else "unpaid")
    assert statuses[-1] == final
    assert sim.ledger.session(session_id)["payment_status"] == final


def test_expiring_and_abandoning_deliver_expired(sim: StripeSimulator) -> None:
    first, second = _open_session(sim, "c1"), _open_session(sim, "c2")
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.expire(first)
        sim.abandon(second)
        sim.wait_for_deliveries()
    assert [(_construct(r).type, _construct(r).data.object["id"]) for r in rcv.received] == [
        ("checkout.session.expired", first),
        ("checkout.session.expired", second),
    ]


def test_non_2xx_answers_are_retried_until_a_2xx(sim: StripeSimulator) -> None:
    session_id = _open_session(sim)
    with receiver() as rcv:
        rcv.script = [500, 503, 404]
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    assert len(rcv.received) == 4
    assert len({r.body for r in rcv.received}) == 1  # the same event every time
    (event,) = sim.ledger.events()
    attempts = sim.ledger.deliveries(event["id"])
    assert [(a.attempt, a.status_code, a.outcome) for a in attempts] == [
        (1, 500, "failed"),
        (2, 503, "failed"),
        (3, 404, "failed"),
        (4, 200, "delivered"),
    ]
    # Each attempt is signed afresh, and each signature is valid.
    for item in rcv.received:
        _construct(item)
    # Exponential backoff on Stripe's schedule, compressed: no retry comes before its wait.
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    waits = [s * FAST_RETRIES for s in STRIPE_RETRY_SCHEDULE_S[:3]]
    assert waits == sorted(waits)
    assert all(gap >= wait - 0.002 for gap, wait in zip(gaps, waits, strict=True))


def test_retries_stop_after_the_bounded_number_of_attempts(
    make_sim: Callable[..., StripeSimulator],
) -> None:
    sim = make_sim(max_delivery_attempts=3)
    session_id = _open_session(sim)
    with receiver() as rcv:
        rcv.script = [500] * 10
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    assert len(rcv.received) == 3
    assert [a.outcome for a in sim.ledger.deliveries()] == ["failed"] * 3
    assert sim.pending_deliveries == 0


def test_a_timed_out_delivery_is_retried(make_sim: Callable[..., StripeSimulator]) -> None:
    # A time-out with room to spare: a loaded CI machine must not make the retry time out too.
    sim = make_sim(delivery_timeout_s=2.0)
    session_id = _open_session(sim)
    unblock = threading.Event()
    calls: list[int] = []

    def stall_first(_: Received) -> None:
        calls.append(1)
        if len(calls) == 1:
            unblock.wait(10)  # outlasts the 2 s delivery time-out

    with receiver(stall_first) as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        try:
            sim.wait_for_deliveries()
        finally:
            unblock.set()
    outcomes = [a.outcome for a in sim.ledger.deliveries()]
    assert outcomes == ["timeout", "delivered"]


def test_deliver_n_times(sim: StripeSimulator) -> None:
    sim.faults.duplicate_webhooks(copies=3)
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    assert len(rcv.received) == 3
    assert len({_construct(r).id for r in rcv.received}) == 1
    assert [d.kind for d in sim.ledger.deliveries()] == ["genuine", "duplicate", "duplicate"]


def test_reorder_delivers_newest_first(sim: StripeSimulator) -> None:
    sim.faults.reorder_webhooks(batch=2)
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id, outcome="async_succeeded")
        sim.wait_for_deliveries()
    assert rcv.types() == [
        "checkout.session.async_payment_succeeded",
        "checkout.session.completed",
    ]


def test_held_events_keep_deliveries_pending_until_released(sim: StripeSimulator) -> None:
    sim.faults.reorder_webhooks(batch=3)
    first, second = _open_session(sim, "c1"), _open_session(sim, "c2")
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(first)
        sim.expire(second)
        with pytest.raises(TimeoutError):
            sim.wait_for_deliveries(timeout_s=0.2)
        assert rcv.received == []
        sim.release_held_webhooks()
        sim.wait_for_deliveries()
    assert rcv.types() == ["checkout.session.expired", "checkout.session.completed"]


def test_a_delayed_event_is_overtaken_by_a_later_one(sim: StripeSimulator) -> None:
    # Long enough that the undelayed `expired` lands first even on a loaded machine.
    sim.faults.delay_webhooks(3.0, event_type="checkout.session.completed")
    first, second = _open_session(sim, "c1"), _open_session(sim, "c2")
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(first)
        sim.expire(second)
        sim.wait_for_deliveries()
    assert rcv.types() == ["checkout.session.expired", "checkout.session.completed"]
    (completed,) = sim.ledger.events(type="checkout.session.completed")
    (attempt,) = sim.ledger.deliveries(completed["id"])
    assert attempt.at - completed["created"] >= 2.9  # created is whole seconds


def test_a_dropped_event_is_redelivered_by_the_retries(sim: StripeSimulator) -> None:
    sim.faults.drop_webhooks(drops=2)
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    assert len(rcv.received) == 1
    assert [(d.attempt, d.outcome, d.status_code) for d in sim.ledger.deliveries()] == [
        (1, "dropped", None),
        (2, "dropped", None),
        (3, "delivered", 200),
    ]


def test_a_tampered_copy_fails_verification_and_the_genuine_one_passes(
    sim: StripeSimulator,
) -> None:
    sim.faults.tamper_webhooks()
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    kinds = {d.kind: d for d in sim.ledger.deliveries()}
    assert set(kinds) == {"genuine", "tampered"}
    genuine, tampered = sorted(
        rcv.received, key=lambda r: r.event["data"]["object"]["amount_total"]
    )
    _construct(genuine)
    with pytest.raises(stripe.SignatureVerificationError):
        _construct(tampered)
    assert tampered.event["data"]["object"]["amount_total"] == 3001


def _stale_copy(sim: StripeSimulator, age_s: int) -> Received:
    sim.faults.stale_webhooks(age_s=age_s)
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    by_kind = {d.kind: d.signature for d in sim.ledger.deliveries()}
    assert set(by_kind) == {"genuine", "stale"}
    return next(r for r in rcv.received if r.signature == by_kind["stale"])


def test_an_old_copy_is_refused_for_its_timestamp_only(sim: StripeSimulator) -> None:
    stale = _stale_copy(sim, 600)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        _construct(stale)
    # With an unlimited tolerance the same copy verifies: only its age is wrong.
    stripe.Webhook.construct_event(stale.body, stale.signature, SECRET, tolerance=10**9)


def test_a_future_dated_copy_is_validly_signed_but_outside_the_tolerance(
    sim: StripeSimulator,
) -> None:
    future = _stale_copy(sim, -600)
    # stripe-python only refuses timestamps in the past; the contract (v1.1 §8) wants both ways,
    # which the simulator's own verify() implements. A target must check this itself.
    stripe.Webhook.construct_event(future.body, future.signature, SECRET)
    assert not verify(future.body, future.signature, SECRET)
    assert int(future.signature.split(",")[0][2:]) > time.time() + 500


def test_a_forged_event_for_an_unpaid_session_fails_verification(sim: StripeSimulator) -> None:
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        forged_id = sim.forge_event(session_id)
        sim.wait_for_deliveries()
    (item,) = rcv.received
    assert item.event["id"] == forged_id
    assert item.event["data"]["object"]["payment_status"] == "paid"
    with pytest.raises(stripe.SignatureVerificationError):
        _construct(item)
    assert sim.ledger.session(session_id)["status"] == "open"  # nothing was paid
    assert sim.ledger.events() == []
    assert [d.kind for d in sim.ledger.deliveries()] == ["forged"]


def test_chaos_copies_are_not_retried_and_record_the_targets_answer(sim: StripeSimulator) -> None:
    sim.faults.tamper_webhooks()
    session_id = _open_session(sim)
    genuine_seen: list[Received] = []

    def careful_target(item: Received) -> int:
        # Refuse what does not verify; refuse the first genuine delivery too, to see a retry.
        if not verify(item.body, item.signature, SECRET):
            return 400
        genuine_seen.append(item)
        return 400 if len(genuine_seen) == 1 else 200

    with receiver() as rcv:
        rcv.respond = careful_target
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    tampered = [d for d in sim.ledger.deliveries() if d.kind == "tampered"]
    genuine = [d for d in sim.ledger.deliveries() if d.kind == "genuine"]
    assert [(d.attempt, d.status_code, d.outcome) for d in tampered] == [(1, 400, "failed")]
    assert [(d.attempt, d.status_code) for d in genuine] == [(1, 400), (2, 200)]


def test_redeliver_sends_a_stored_event_again(sim: StripeSimulator) -> None:
    session_id = _open_session(sim)
    with receiver() as rcv:
        sim.add_webhook_endpoint(rcv.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
        (event,) = sim.ledger.events()
        sim.redeliver(event["id"])
        sim.wait_for_deliveries()
    assert [r.event["id"] for r in rcv.received] == [event["id"], event["id"]]
    assert [d.kind for d in sim.ledger.deliveries(event["id"])] == ["genuine", "redelivery"]


def test_every_endpoint_gets_every_event(sim: StripeSimulator) -> None:
    session_id = _open_session(sim)
    with receiver() as one, receiver() as two:
        sim.add_webhook_endpoint(one.url)
        sim.add_webhook_endpoint(two.url)
        sim.pay(session_id)
        sim.wait_for_deliveries()
    assert one.types() == two.types() == ["checkout.session.completed"]
    assert {d.endpoint for d in sim.ledger.deliveries()} == {one.url, two.url}


def test_webhook_endpoints_must_be_on_loopback(sim: StripeSimulator) -> None:
    with pytest.raises(ValueError, match="loopback"):
        sim.add_webhook_endpoint("http://example.com/webhooks")


def test_hosts_the_user_allowed_may_receive_webhooks(
    make_sim: Callable[..., StripeSimulator],
) -> None:
    sim = make_sim(allowed_hosts=["Shop.Internal"])
    sim.add_webhook_endpoint("http://shop.internal:8080/webhooks/stripe")
    assert sim.webhook_endpoints == ["http://shop.internal:8080/webhooks/stripe"]
    with pytest.raises(ValueError, match=r"add 'example\.com' to allowed_hosts"):
        sim.add_webhook_endpoint("http://example.com/webhooks")


def test_stripe_mock_off_loopback_needs_an_allowed_host() -> None:
    with pytest.raises(ValueError, match="not on loopback"):
        StripeSimulator("http://stripe-mock.internal:12111", webhook_secret="whsec_x")
    allowed = StripeSimulator(
        "http://stripe-mock.internal:12111",
        webhook_secret="whsec_x",
        allowed_hosts=["stripe-mock.internal"],
    )
    assert allowed.stripe_mock_url == "http://stripe-mock.internal:12111"
