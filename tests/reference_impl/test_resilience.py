"""Chaos through Toxiproxy and signals: outages, stock lost at payment, SIGTERM and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx

from harness.stack.stack import Stack
from harness.stripe import StripeSimulator
from tests.reference_impl.conftest import REPO, Service, start_service
from tests.waiting import wait_until


def _pay_and_deliver(sim: StripeSimulator, session_id: str) -> str:
    sim.pay(session_id)
    sim.wait_for_deliveries()
    [event] = sim.ledger.events(type="checkout.session.completed", session_id=session_id)
    return str(event["id"])


def test_redis_down_after_payment_leaves_a_pending_order_that_completes_once(
    reference_service: Service, stripe_sim: StripeSimulator, stack: Stack
) -> None:
    svc = reference_service
    svc.put_product("kettle", price_cents=3500, stock=4)
    cart_id = svc.new_cart("max", {"kettle": 2})
    session_id = svc.checkout(cart_id, "max").json()["checkout_session_id"]

    stack.toxiproxy.set_enabled("redis", False)
    event_id = _pay_and_deliver(stripe_sim, session_id)
    # The payment is acknowledged (2xx: Stripe stops retrying) and safely stored as pending.
    assert {d.status_code for d in stripe_sim.ledger.deliveries(event_id=event_id)} == {200}
    [order] = svc.orders_for(session_id)
    assert order["status"] == "pending"
    assert svc.sql("SELECT kind, done_at IS NULL FROM outbox") == [("fulfil_order", True)]
    assert svc.stock("kettle") == {"available": 2, "reserved": 2, "sold": 0}

    stack.toxiproxy.set_enabled("redis", True)
    svc.wait_for_order(session_id, "fulfilled")
    assert svc.stock("kettle") == {"available": 2, "reserved": 0, "sold": 2}
    # A late redelivery changes nothing: the stock was committed exactly once.
    stripe_sim.redeliver(event_id)
    stripe_sim.wait_for_deliveries()
    assert svc.stock("kettle") == {"available": 2, "reserved": 0, "sold": 2}
    assert len(svc.orders()) == 1
    assert stripe_sim.ledger.refunds() == []


def test_stock_gone_at_payment_refunds_exactly_once(
    reference_service: Service, stripe_sim: StripeSimulator, stack: Stack
) -> None:
    svc = reference_service
    svc.put_product("vase", price_cents=8000, stock=1)
    cart_id = svc.new_cart("nia", {"vase": 1})
    session_id = svc.checkout(cart_id, "nia").json()["checkout_session_id"]
    # Redis restarts without persistence: the reservation and the stock figures are gone.
    import redis

    client = redis.Redis.from_url(stack.redis_url)
    client.flushall()
    client.close()

    event_id = _pay_and_deliver(stripe_sim, session_id)
    order = svc.wait_for_order(session_id, "refunded")
    intent = stripe_sim.ledger.session(session_id)["payment_intent"]
    assert len(stripe_sim.ledger.refunds(payment_intent=intent)) == 1
    assert order["amount_total"] == 8000
    stripe_sim.redeliver(event_id)
    stripe_sim.wait_for_deliveries()
    assert len(stripe_sim.ledger.refunds(payment_intent=intent)) == 1
    assert len(svc.orders()) == 1
    assert svc.stock("vase").get("sold", 0) == 0


def test_redis_down_at_checkout_is_503_with_nothing_half_done(
    reference_service: Service, stripe_sim: StripeSimulator, stack: Stack
) -> None:
    svc = reference_service
    svc.put_product("fan", price_cents=2500, stock=2)
    cart_id = svc.new_cart("oli", {"fan": 2})
    stack.toxiproxy.set_enabled("redis", False)
    answer = svc.checkout(cart_id, "oli")
    assert answer.status_code == 503
    stack.toxiproxy.set_enabled("redis", True)
    assert stripe_sim.ledger.sessions(client_reference_id=cart_id) == []
    # The cart is editable again and no unit stays held (the outbox releases anything ambiguous).
    edit = svc.http.put(
        f"/carts/{cart_id}/items/fan", json={"quantity": 1}, headers={"X-User-Id": "oli"}
    )
    assert edit.status_code == 200
    wait_until(lambda: svc.stock("fan") == {"available": 2, "reserved": 0, "sold": 0})
    assert svc.checkout(cart_id, "oli").status_code == 201


def test_ambiguous_stripe_failures_retry_with_the_same_key(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    svc.put_product("bag", price_cents=1900, stock=5)
    cart_id = svc.new_cart("pia", {"bag": 1})
    stripe_sim.faults.ambiguous(mode="drop")  # created at Stripe, reply lost
    answer = svc.checkout(cart_id, "pia")
    assert answer.status_code == 201, answer.text
    [session] = stripe_sim.ledger.sessions(client_reference_id=cart_id)
    assert answer.json()["checkout_session_id"] == session["id"]
    assert stripe_sim.ledger.replayed_keys()  # the retry reused the key and got the session back

    # A stored 500 is replayed for its key: the service moves to a new key and succeeds.
    other = svc.new_cart("pia", {"bag": 2})
    stripe_sim.faults.fail(500)
    answer = svc.checkout(other, "pia")
    assert answer.status_code == 201, answer.text
    assert len(stripe_sim.ledger.sessions(client_reference_id=other)) == 1


def test_sigterm_drains_an_in_flight_checkout(
    reference_service: Service, stripe_sim: StripeSimulator
) -> None:
    svc = reference_service
    svc.put_product("drum", price_cents=6000, stock=1)
    cart_id = svc.new_cart("quin", {"drum": 1})
    gate = stripe_sim.faults.hold()
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight: Future[httpx.Response] = pool.submit(svc.checkout, cart_id, "quin")
        gate.wait_arrived()
        assert svc.process.popen is not None
        svc.process.popen.send_signal(signal.SIGTERM)
        # Draining: the listener closes; the request already inside still completes.
        wait_until(lambda: _refused(svc.url), timeout_s=10)
        gate.release()
        answer = in_flight.result(timeout=20)
    assert answer.status_code == 201, answer.text
    # uvicorn re-raises the SIGTERM it captured once the drain is done: a clean "killed by TERM".
    assert svc.process.popen.wait(timeout=20) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in svc.logs()


def _refused(url: str) -> bool:
    """The listener is closed. A slow answer (a timeout) proves nothing: keep asking."""
    try:
        httpx.get(f"{url}/health", timeout=1, trust_env=False)
    except httpx.ConnectError:
        return True
    except httpx.TimeoutException:
        return False
    return False


def test_sigkill_after_payment_loses_no_order(
    reference_service: Service, stripe_sim: StripeSimulator, stack: Stack
) -> None:
    svc = reference_service
    svc.put_product("rug", price_cents=12000, stock=3)
    cart_id = svc.new_cart("ravi", {"rug": 1})
    session_id = svc.checkout(cart_id, "ravi").json()["checkout_session_id"]
    second_cart = svc.new_cart("ravi", {"rug": 1})
    second = svc.checkout(second_cart, "ravi").json()["checkout_session_id"]

    # First payment: stored as pending (Redis down), then the process is killed outright.
    stack.toxiproxy.set_enabled("redis", False)
    _pay_and_deliver(stripe_sim, session_id)
    assert svc.orders_for(session_id)[0]["status"] == "pending"
    assert svc.process.popen is not None
    svc.process.popen.kill()
    svc.process.popen.wait(timeout=10)
    # The kill may land while the retry worker holds the job's lease (30 s): the clock moves on,
    # as it would for a real crash, instead of the test waiting out the lease.
    svc.sql("UPDATE outbox SET leased_until = NULL, next_attempt_at = now() WHERE done_at IS NULL")
    # Second payment while the service is dead: its deliveries fail.
    second_event = _pay_and_deliver_while_down(stripe_sim, second)
    stack.toxiproxy.set_enabled("redis", True)

    svc.process = start_service(stack, svc.env, svc.log_path)
    # The retry worker finishes the pending order; redelivery brings the missed one.
    svc.wait_for_order(session_id, "fulfilled")
    stripe_sim.redeliver(second_event)
    stripe_sim.wait_for_deliveries()
    svc.wait_for_order(second, "fulfilled")
    assert len(svc.orders()) == 2
    assert svc.stock("rug") == {"available": 1, "reserved": 0, "sold": 2}


def _pay_and_deliver_while_down(sim: StripeSimulator, session_id: str) -> str:
    sim.pay(session_id)
    [event] = sim.ledger.events(type="checkout.session.completed", session_id=session_id)
    event_id = str(event["id"])
    wait_until(lambda: sim.ledger.deliveries(event_id=event_id), timeout_s=10)
    assert all(d.status_code != 200 for d in sim.ledger.deliveries(event_id=event_id))
    return event_id


def test_a_checkout_killed_mid_flight_resumes_from_its_recovery_point(
    reference_service: Service, stripe_sim: StripeSimulator, stack: Stack
) -> None:
    svc = reference_service
    svc.put_product("clock", price_cents=4500, stock=2)
    cart_id = svc.new_cart("sam", {"clock": 2})
    gate = stripe_sim.faults.hold()
    errors: list[BaseException] = []

    def doomed() -> None:
        try:
            svc.checkout(cart_id, "sam")
        except httpx.TransportError as exc:  # the process dies under it
            errors.append(exc)

    thread = threading.Thread(target=doomed)
    thread.start()
    gate.wait_arrived()
    assert svc.process.popen is not None
    svc.process.popen.kill()
    svc.process.popen.wait(timeout=10)
    thread.join(timeout=20)
    assert errors
    gate.release()  # Stripe creates the session; nobody hears about it
    wait_until(lambda: stripe_sim.ledger.sessions(client_reference_id=cart_id))
    assert svc.sql("SELECT recovery_point FROM idempotency_keys") == [("stock_reserved",)]

    svc.process = start_service(stack, svc.env, svc.log_path)
    # The dead request's lock times out (the clock moves on), and the retry resumes with the
    # same Stripe key: Stripe hands back the session it made.
    svc.sql("UPDATE idempotency_keys SET locked_at = now() - interval '1 hour'")
    answer = svc.checkout(cart_id, "sam")
    assert answer.status_code == 201, answer.text
    [session] = stripe_sim.ledger.sessions(client_reference_id=cart_id)
    assert answer.json()["checkout_session_id"] == session["id"]
    assert svc.stock("clock") == {"available": 0, "reserved": 2, "sold": 0}


def test_health_is_503_until_the_service_can_serve(
    stack: Stack, service_env: dict[str, str], tmp_path: Path
) -> None:
    stack.toxiproxy.set_enabled("postgres", False)
    log_path = tmp_path / "svc.log"
    from harness.stack.process import ManagedProcess

    process = ManagedProcess(
        "reference-service",
        [sys.executable, "-m", "reference_impl"],
        log_path,
        env={**os.environ, **service_env},
        cwd=REPO,
    )
    process.start()
    url = f"http://127.0.0.1:{service_env['PORT']}/health"
    try:
        seen = wait_until(lambda: _status(url) == 503, timeout_s=30)
        assert seen
        # Keep the database away until a whole connection attempt has failed, so the service
        # must recover from a failed start, not merely wait inside its first attempt.
        wait_until(lambda: "startup.waiting" in log_path.read_text(errors="replace"), timeout_s=30)
        assert _status(url) == 503
        stack.toxiproxy.set_enabled("postgres", True)
        wait_until(lambda: _status(url) == 200, timeout_s=30)
    finally:
        process.stop()


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code
    except httpx.TransportError:
        return None


def test_a_live_key_stops_start_up_with_a_clear_message() -> None:
    env = {
        "PORT": "1",
        "DATABASE_URL": "postgresql://127.0.0.1:1/x",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "STRIPE_API_BASE": "http://127.0.0.1:1",
        "STRIPE_SECRET_KEY": "sk_live_SECRETVALUE123",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
        "ADMIN_TOKEN": "admin-token-123",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "reference_impl"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "sk_test_" in done.stderr
    assert "refusing to start" in done.stderr
    assert "SECRETVALUE" not in done.stdout + done.stderr


def test_a_paid_session_never_handed_to_the_client_is_adopted_by_its_cart(
    reference_service: Service, stripe_sim: StripeSimulator, stack: Stack
) -> None:
    """Contract 6.10: Stripe makes the session, but the service cannot record it (PostgreSQL
    went away meanwhile), so the checkout fails and nobody is handed the session. If the
    customer pays it anyway, the cart adopts it: exactly one order."""
    svc = reference_service
    svc.put_product("vase", price_cents=3100, stock=2)
    cart_id = svc.new_cart("uma", {"vase": 1})
    gate = stripe_sim.faults.hold()
    with ThreadPoolExecutor(max_workers=1) as pool:
        attempt: Future[httpx.Response] = pool.submit(svc.checkout, cart_id, "uma")
        gate.wait_arrived()
        stack.toxiproxy.set_enabled("postgres", False)
        try:
            gate.release()  # Stripe creates the session and answers into the outage
            failed = attempt.result(timeout=60)
        finally:
            stack.toxiproxy.set_enabled("postgres", True)
    assert failed.status_code == 503, failed.text
    [orphan] = stripe_sim.ledger.sessions(client_reference_id=cart_id)
    assert svc.sql("SELECT count(*) FROM checkout_sessions") == [(0,)]  # never recorded

    _pay_and_deliver(stripe_sim, str(orphan["id"]))
    order = svc.wait_for_order(str(orphan["id"]), "fulfilled")
    assert order["amount_total"] == 3100
    assert len(svc.orders()) == 1
    assert svc.stock("vase") == {"available": 1, "reserved": 0, "sold": 1}
    # The cart is paid now: checking out again returns the adopted session, makes no new one,
    # and does not wait for the key that the failed request could not unlock in the outage
    # (still locked afterwards: the answer never needed it).
    [(locked_before,)] = svc.sql("SELECT locked_at FROM idempotency_keys")
    assert locked_before is not None
    again = svc.checkout(cart_id, "uma")
    assert again.status_code == 201, again.text
    assert svc.sql("SELECT locked_at FROM idempotency_keys") == [(locked_before,)]
    assert again.json()["checkout_session_id"] == orphan["id"]
    assert len(stripe_sim.ledger.sessions(client_reference_id=cart_id)) == 1
