"""Idempotency keys behave as Stripe documents, under real concurrent requests."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.stripe import StripeSimulator
from tests.stripe.helpers import auth, session_form

SESSIONS = "/v1/checkout/sessions"


def _post(
    sim: StripeSimulator, key: str | None, form: dict[str, str], api_key: str | None = None
) -> httpx.Response:
    headers = auth(key) if api_key is None else auth(key, api_key)
    return httpx.post(f"{sim.url}{SESSIONS}", headers=headers, data=form, timeout=20)


def test_a_repeated_key_replays_the_first_answer_and_creates_nothing(sim: StripeSimulator) -> None:
    first = _post(sim, "key-a", session_form("cart_r"))
    second = _post(sim, "key-a", session_form("cart_r"))
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["original-request"] == first.headers["request-id"]
    assert second.content == first.content
    assert len(sim.ledger.sessions(client_reference_id="cart_r")) == 1
    (record,) = sim.ledger.idempotency_records("key-a")
    assert (record.replays, record.mismatches, record.conflicts) == (1, 0, 0)
    assert sim.ledger.replayed_keys() == ["key-a"]


def test_the_same_key_with_other_parameters_is_an_idempotency_error(sim: StripeSimulator) -> None:
    assert _post(sim, "key-b", session_form("cart_1")).status_code == 200
    other = _post(sim, "key-b", session_form("cart_2"))
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    assert sim.ledger.sessions(client_reference_id="cart_2") == []
    assert sim.ledger.idempotency_records("key-b")[0].mismatches == 1


def test_a_key_in_flight_gets_409_and_the_first_request_still_wins(sim: StripeSimulator) -> None:
    gate = sim.faults.hold(path=SESSIONS)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(_post, sim, "key-c", session_form("cart_c"))
        gate.wait_arrived()  # the first request owns the key and is executing
        second = _post(sim, "key-c", session_form("cart_c"))
        gate.release()
        first_response = first.result(timeout=20)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_key_in_use"
    assert second.json()["error"]["type"] == "idempotency_error"
    assert first_response.status_code == 200
    third = _post(sim, "key-c", session_form("cart_c"))
    assert third.headers["idempotent-replayed"] == "true"
    assert third.json()["id"] == first_response.json()["id"]
    assert len(sim.ledger.sessions(client_reference_id="cart_c")) == 1
    assert sim.ledger.idempotency_records("key-c")[0].conflicts == 1


def test_a_stored_500_is_replayed_and_nothing_was_created(sim: StripeSimulator) -> None:
    sim.faults.fail(500, path=SESSIONS)
    first = _post(sim, "key-500", session_form("cart_5"))
    assert first.status_code == 500
    assert first.json()["error"]["type"] == "api_error"
    replay = _post(sim, "key-500", session_form("cart_5"))
    assert (replay.status_code, replay.headers["idempotent-replayed"]) == (500, "true")
    assert sim.ledger.sessions(client_reference_id="cart_5") == []
    fresh = _post(sim, "key-500-new", session_form("cart_5"))  # a new key can succeed
    assert fresh.status_code == 200
    assert len(sim.ledger.sessions(client_reference_id="cart_5")) == 1


def test_a_request_rejected_by_validation_leaves_the_key_free(sim: StripeSimulator) -> None:
    bad = _post(sim, "key-v", {**session_form(), "mode": "bogus"})
    assert bad.status_code == 400
    assert sim.ledger.idempotency_records("key-v") == []
    good = _post(sim, "key-v", session_form("cart_v"))
    assert good.status_code == 200
    assert "idempotent-replayed" not in good.headers


def test_keys_are_scoped_per_api_key(sim: StripeSimulator) -> None:
    one = _post(sim, "shared", session_form("cart_s"), api_key="sk_test_accountOne")
    two = _post(sim, "shared", session_form("cart_s"), api_key="sk_test_accountTwo")
    assert one.status_code == two.status_code == 200
    assert one.json()["id"] != two.json()["id"]
    assert "idempotent-replayed" not in two.headers
    accounts = {r.account for r in sim.ledger.idempotency_records("shared")}
    assert accounts == {"sk_test_…tOne", "sk_test_…tTwo"}  # masked, never in clear


def test_keys_are_ignored_on_get(sim: StripeSimulator) -> None:
    session = _post(sim, None, session_form()).json()
    url = f"{sim.url}{SESSIONS}/{session['id']}"
    before = httpx.get(url, headers=auth("get-key")).json()
    sim.pay(session["id"])
    after = httpx.get(url, headers=auth("get-key"))
    assert "idempotent-replayed" not in after.headers
    assert (before["payment_status"], after.json()["payment_status"]) == ("unpaid", "paid")
    assert sim.ledger.idempotency_records("get-key") == []


def test_a_key_longer_than_255_characters_is_rejected(sim: StripeSimulator) -> None:
    assert _post(sim, "k" * 255, session_form("cart_l")).status_code == 200
    too_long = _post(sim, "k" * 256, session_form("cart_l"))
    assert too_long.status_code == 400
    assert too_long.json()["error"]["type"] == "invalid_request_error"
    assert len(sim.ledger.sessions(client_reference_id="cart_l")) == 1


# A request: which key it uses (of three), and whether it changes the parameters.
_requests = st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=5)


@settings(max_examples=15)
@given(waves=st.lists(_requests, min_size=1, max_size=3))
def test_any_interleaving_of_duplicates_stores_one_object_per_key(
    sim: StripeSimulator, waves: list[list[tuple[int, bool]]]
) -> None:
    """Waves run one after another; the requests inside a wave race each other."""
    run = uuid.uuid4().hex[:10]
    first_params: dict[str, bool] = {}
    answers: list[tuple[str, bool, httpx.Response]] = []
    with ThreadPoolExecutor(max_workers=5) as pool:
        for wave in waves:
            start = threading.Barrier(len(wave))

            def send(key: str, variant: bool, start: threading.Barrier = start) -> httpx.Response:
                form = session_form(key)
                if variant:
                    form["metadata[variant]"] = "other"
                start.wait(timeout=10)
                return _post(sim, key, form)

            futures = []
            for index, variant in wave:
                key = f"{run}-{index}"
                futures.append((key, variant, pool.submit(send, key, variant)))
            answers += [
                (key, variant, future.result(timeout=30)) for key, variant, future in futures
            ]
            for key, variant, response in answers:
                if response.status_code == 200 and "idempotent-replayed" not in response.headers:
                    first_params.setdefault(key, variant)

    for key in {key for key, _, _ in answers}:
        stored = sim.ledger.sessions(client_reference_id=key)
        assert len(stored) == 1, f"{key}: {len(stored)} sessions"
        assert key in first_params
        for _, variant, response in (a for a in answers if a[0] == key):
            if response.status_code == 200:
                assert response.json()["id"] == stored[0]["id"]
                assert variant == first_params[key]
            else:
                assert response.status_code in (400, 409)
                assert response.json()["error"]["type"] == "idempotency_error"
                # A mismatch needs other parameters; a conflict, a request still running.
                if response.status_code == 400:
                    assert variant != first_params[key]
