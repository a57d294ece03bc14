"""one-session-per-cart: duplicates share a session; reopened carts may get a new one."""

from __future__ import annotations

from harness.checkers import Outcome, StripeRequest, check_one_session_per_cart
from harness.history import OpType
from tests.checkers.builders import PRICE, HistoryBuilder, session, state, with_state

AMOUNT = 2 * PRICE


def test_duplicate_and_concurrent_checkouts_sharing_one_session_pass() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=2)
    calls = [h.checkout_invoke("c1", process=f"w{n}") for n in range(5)]
    for call in calls:
        h.checkout_ok(call, "cs_1", AMOUNT)
    h.checkout("c1", "cs_1", AMOUNT)
    verdict = check_one_session_per_cart(h.build(), state(sessions=[session("cs_1", paid=False)]))
    assert verdict.outcome is Outcome.PASS
    assert "1 cart (6 checkouts answered ok, 1 distinct session handed out)" in verdict.summary


def test_concurrent_checkouts_of_an_unchanged_cart_getting_two_sessions_fail() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=2)
    first, second = h.checkout_invoke("c1", "w1"), h.checkout_invoke("c1", "w2")
    h.checkout_ok(first, "cs_1", AMOUNT)
    answer = h.checkout_ok(second, "cs_2", AMOUNT)
    final = state(sessions=[session("cs_1", paid=False), session("cs_2", paid=False)])
    verdict = check_one_session_per_cart(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert len(verdict.evidence) == 1
    assert verdict.evidence[0].ref == str(answer.index)
    assert "cart c1 handed out cs_2 while cs_1" in verdict.evidence[0].detail
    assert "open/unpaid" in verdict.evidence[0].detail


def test_a_cart_reopened_by_expiry_may_get_a_new_session() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=2)
    h.checkout("c1", "cs_1", AMOUNT)
    h.expire("cs_1")
    h.checkout("c1", "cs_2", AMOUNT)
    h.checkout("c1", "cs_2", AMOUNT, process="w2")
    final = state(sessions=[session("cs_1", paid=False, status="expired"), session("cs_2")])
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.PASS


def test_a_cart_reopened_by_a_failed_async_payment_may_get_a_new_session() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=2)
    h.checkout("c1", "cs_1", AMOUNT)
    h.pay("cs_1", outcome="async_failed")
    h.checkout("c1", "cs_2", AMOUNT)
    final = state(sessions=[session("cs_1", paid=False, status="complete"), session("cs_2")])
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.PASS


def test_an_expiry_of_unknown_outcome_concurrent_with_the_checkout_may_reopen() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    expiry = h.invoke("expire", {"checkout_session_id": "cs_1"}, "customer")
    h.checkout("c1", "cs_2", AMOUNT)
    h.complete(expiry, OpType.INFO)
    final = state(sessions=[session("cs_1", paid=False, status="expired"), session("cs_2")])
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.PASS


def test_a_new_session_answered_before_the_expiry_was_even_invoked_fails() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    h.checkout("c1", "cs_2", AMOUNT)
    h.expire("cs_1")
    final = state(
        sessions=[session("cs_1", paid=False, status="expired"), session("cs_2", paid=False)]
    )
    verdict = check_one_session_per_cart(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert "expired/unpaid" in verdict.evidence[0].detail


def test_an_expire_that_failed_reopens_nothing() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    h.expire("cs_1", result=OpType.FAIL)
    h.checkout("c1", "cs_2", AMOUNT)
    final = state(sessions=[session("cs_1", paid=False), session("cs_2", paid=False)])
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.FAIL


def test_a_session_stripe_expired_on_its_own_may_be_replaced() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    h.checkout("c1", "cs_2", AMOUNT)
    final = state(
        sessions=[session("cs_1", paid=False, status="expired"), session("cs_2", paid=False)]
    )
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.PASS


def test_a_changed_cart_may_get_a_new_session() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=1)
    # An edit racing the first checkout may have landed just before it locked the cart.
    edit = h.invoke("set_item", {"cart_id": "c1", "sku": "mug", "quantity": 2}, "w2")
    h.checkout("c1", "cs_1", PRICE)
    h.complete(edit, OpType.OK, {"cart_id": "c1"})
    h.checkout("c1", "cs_2", AMOUNT)
    final = state(sessions=[session("cs_1", paid=False), session("cs_2", paid=False)])
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.PASS


def test_a_rejected_edit_does_not_change_the_cart() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=1)
    h.checkout("c1", "cs_1", PRICE)
    h.set_item("c1", quantity=2, outcome=OpType.FAIL)  # 409: locked
    h.checkout("c1", "cs_2", PRICE)
    final = state(sessions=[session("cs_1", paid=False), session("cs_2", paid=False)])
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.FAIL


def test_a_paid_cart_never_gets_another_session_even_if_an_edit_got_through() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    h.pay("cs_1")
    h.set_item("c1", quantity=3)
    h.checkout("c1", "cs_2", 3 * PRICE)
    final = state(sessions=[session("cs_1"), session("cs_2", paid=False, amount=3 * PRICE)])
    verdict = check_one_session_per_cart(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert "complete/paid" in verdict.evidence[0].detail


def test_handing_out_the_superseded_session_again_fails() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    h.expire("cs_1")
    h.checkout("c1", "cs_2", AMOUNT)
    stale = h.checkout("c1", "cs_1", AMOUNT)
    final = state(
        sessions=[session("cs_1", paid=False, status="expired"), session("cs_2", paid=False)]
    )
    verdict = check_one_session_per_cart(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].ref == str(stale.index)
    assert "handed out cs_1 again after cs_2 replaced it" in verdict.evidence[0].detail


def test_a_slow_checkout_invoked_before_the_replacement_may_still_answer_the_old_session() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    slow = h.checkout_invoke("c1", process="w9")
    h.expire("cs_1")
    h.checkout("c1", "cs_2", AMOUNT)
    h.checkout_ok(slow, "cs_1", AMOUNT)
    final = state(
        sessions=[session("cs_1", paid=False, status="expired"), session("cs_2", paid=False)]
    )
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.PASS


def test_a_cart_paid_twice_fails_even_through_sessions_never_handed_out() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    final = state(sessions=[session("cs_1"), session("cs_orphan")])  # both for c1, both paid
    verdict = check_one_session_per_cart(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert {e.ref for e in verdict.evidence} == {"cs_1", "cs_orphan"}
    assert all("cart c1 paid 2 times" in e.detail for e in verdict.evidence)


def test_sessions_created_but_never_handed_out_are_not_violations() -> None:
    h = HistoryBuilder()
    h.checkout_invoke("c1", process="w1")  # timed out: the session may exist at Stripe
    h.checkout("c1", "cs_1", AMOUNT, process="w2")
    final = state(sessions=[session("cs_lost", paid=False), session("cs_1")])
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.PASS


def test_separate_carts_have_separate_sessions() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    h.checkout("c2", "cs_2", AMOUNT)
    final = state(sessions=[session("cs_1"), session("cs_2", cart="c2")])
    verdict = check_one_session_per_cart(h.build(), final)
    assert verdict.outcome is Outcome.PASS
    assert "2 carts" in verdict.summary


def test_nothing_handed_out_and_nothing_paid_is_not_exercised() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", AMOUNT)
    h.ops.pop()  # the answer never came
    assert check_one_session_per_cart(h.build(), state()).outcome is Outcome.NOT_EXERCISED


def test_a_session_created_without_an_idempotency_key_fails() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=2)
    h.checkout("c1", "cs_1", AMOUNT)
    keyed = StripeRequest("POST", "/v1/checkout/sessions", "checkout-c1", 0, "c1")
    unkeyed = StripeRequest("POST", "/v1/checkout/sessions", None, 200, "c1")
    base = state(sessions=[session("cs_1", paid=False)])
    assert (
        check_one_session_per_cart(h.build(), with_state(base, stripe_requests=(keyed,))).outcome
        is Outcome.PASS
    )
    verdict = check_one_session_per_cart(
        h.build(), with_state(base, stripe_requests=(keyed, unkeyed))
    )
    assert verdict.outcome is Outcome.FAIL
    assert [e.kind for e in verdict.evidence] == ["request"]
    assert "created without Idempotency-Key" in verdict.evidence[0].detail


def test_an_item_edit_accepted_while_the_session_is_open_fails() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=2)
    h.checkout("c1", "cs_1", AMOUNT)
    refused = h.set_item("c1", quantity=3, outcome=OpType.FAIL, result={"status": 409})
    accepted = h.set_item("c1", quantity=5)
    verdict = check_one_session_per_cart(h.build(), state(sessions=[session("cs_1", paid=False)]))
    assert verdict.outcome is Outcome.FAIL
    [evidence] = verdict.evidence
    assert evidence.ref == str(accepted.index) != str(refused.index)
    assert "cart c1 accepted" in evidence.detail
    assert "while its session cs_1 was open" in evidence.detail


def test_an_item_edit_accepted_after_payment_fails_even_after_an_expiry_attempt() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=2)
    h.checkout("c1", "cs_1", AMOUNT)
    h.pay("cs_1")
    h.expire("cs_1", result=OpType.FAIL)
    h.set_item("c1", quantity=1)
    verdict = check_one_session_per_cart(h.build(), state(sessions=[session("cs_1", paid=True)]))
    assert verdict.outcome is Outcome.FAIL
    assert "while its session cs_1 was paid" in verdict.evidence[0].detail


def test_item_edits_before_checkout_after_expiry_or_concurrent_with_it_pass() -> None:
    h = HistoryBuilder()
    h.set_item("c1", quantity=2)
    racing = h.invoke("set_item", {"cart_id": "c1", "sku": "mug", "quantity": 4}, "w2")
    h.checkout("c1", "cs_1", AMOUNT)
    h.complete(racing, OpType.OK, {"cart_id": "c1"})  # invoked before the session existed
    h.expire("cs_1")
    h.set_item("c1", quantity=3)  # the expiry reopened the cart
    h.checkout("c1", "cs_2", 3 * PRICE)
    final = state(sessions=[session("cs_1", paid=False, status="expired"), session("cs_2")])
    assert check_one_session_per_cart(h.build(), final).outcome is Outcome.PASS
