"""exactly-once-order, refund-exactly-once and amount-integrity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.checkers import (
    FinalState,
    Outcome,
    StripeRequest,
    check_amount_integrity,
    check_exactly_once_order,
    check_refund_exactly_once,
)
from harness.history import OpType
from tests.checkers.builders import (
    PRICE,
    HistoryBuilder,
    order,
    refund,
    session,
    state,
    with_state,
)

EMPTY = HistoryBuilder().build()

# -- exactly-once-order ---------------------------------------------------------------------


def test_one_order_per_paid_session_passes_and_pending_counts_as_an_order() -> None:
    final = state(
        orders=[order("cs_1"), order("cs_2", cart="c2", status="pending")],
        sessions=[
            session("cs_1"),
            session("cs_2", cart="c2"),
            session("cs_3", cart="c3", paid=False),
        ],
    )
    verdict = check_exactly_once_order(EMPTY, final)
    assert verdict.outcome is Outcome.PASS
    assert "2 paid sessions and 2 orders" in verdict.summary


def test_a_paid_session_without_an_order_is_a_violation() -> None:
    final = state(orders=[order("cs_1")], sessions=[session("cs_1"), session("cs_2", cart="c2")])
    verdict = check_exactly_once_order(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    assert [(e.kind, e.ref) for e in verdict.evidence] == [("session", "cs_2")]
    assert "1 paid without an order" in verdict.summary


def test_two_orders_for_one_session_is_a_violation() -> None:
    final = state(
        orders=[order("cs_1", order_id="o1"), order("cs_1", order_id="o2")],
        sessions=[session("cs_1")],
    )
    verdict = check_exactly_once_order(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].detail.startswith("paid session has 2 orders")
    assert {e.ref for e in verdict.evidence if e.kind == "order"} == {"o1", "o2"}


def test_an_order_for_an_unpaid_or_unknown_session_is_a_violation() -> None:
    final = state(
        orders=[order("cs_open"), order("cs_ghost", cart="c9")],
        sessions=[session("cs_open", paid=False)],
    )
    verdict = check_exactly_once_order(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    details = {e.ref: e.detail for e in verdict.evidence}
    assert details["ord_cs_open"].startswith("order for a session Stripe has as unpaid")
    assert details["ord_cs_ghost"].startswith("order for a session unknown to Stripe")


def test_an_order_on_another_carts_session_is_a_violation() -> None:
    final = state(orders=[order("cs_1", cart="c2")], sessions=[session("cs_1", cart="c1")])
    verdict = check_exactly_once_order(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    assert "order names a cart other than c1" in verdict.evidence[0].detail


def test_paid_sessions_of_no_cart_are_not_ours_to_order() -> None:
    final = state(sessions=[session("cs_x", cart=None)])
    verdict = check_exactly_once_order(EMPTY, final)
    assert verdict.outcome is Outcome.NOT_EXERCISED


# -- refund-exactly-once --------------------------------------------------------------------


def test_refunded_with_one_refund_and_fulfilled_with_none_pass() -> None:
    final = state(
        orders=[order("cs_1", status="refunded"), order("cs_2", cart="c2")],
        sessions=[session("cs_1"), session("cs_2", cart="c2")],
        refunds=[refund("cs_1")],
    )
    verdict = check_refund_exactly_once(EMPTY, final)
    assert verdict.outcome is Outcome.PASS
    assert "2 final orders and 1 refund" in verdict.summary


def test_a_refunded_order_without_a_refund_is_a_violation() -> None:
    final = state(orders=[order("cs_1", status="refunded")], sessions=[session("cs_1")])
    verdict = check_refund_exactly_once(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    assert "refunded order has 0 refunds of pi_cs_1, expected 1" in verdict.evidence[0].detail


def test_a_fulfilled_order_that_was_also_refunded_is_a_violation() -> None:
    final = state(orders=[order("cs_1")], sessions=[session("cs_1")], refunds=[refund("cs_1")])
    verdict = check_refund_exactly_once(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    assert "fulfilled order has 1 refund of pi_cs_1, expected 0" in verdict.evidence[0].detail


def test_refunding_twice_is_a_violation() -> None:
    final = state(
        orders=[order("cs_1", status="refunded")],
        sessions=[session("cs_1")],
        refunds=[refund("cs_1", "re_a"), refund("cs_1", "re_b")],
    )
    verdict = check_refund_exactly_once(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].kind == "refund"
    assert verdict.evidence[0].ref == "re_a, re_b"
    assert verdict.evidence[0].detail == "2 refunds of payment pi_cs_1"


def test_refunding_twice_is_a_violation_even_with_no_order() -> None:
    final = state(
        sessions=[session("cs_1")], refunds=[refund("cs_1", "re_a"), refund("cs_1", "re_b")]
    )
    assert check_refund_exactly_once(EMPTY, final).outcome is Outcome.FAIL


def test_a_refund_of_a_payment_no_paid_session_holds_is_a_violation() -> None:
    final = state(refunds=[refund("cs_nobody")])
    verdict = check_refund_exactly_once(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    assert "no paid session holds" in verdict.evidence[0].detail


def test_pending_orders_are_left_to_convergence() -> None:
    final = state(orders=[order("cs_1", status="pending")], sessions=[session("cs_1")])
    assert check_refund_exactly_once(EMPTY, final).outcome is Outcome.NOT_EXERCISED


# -- amount-integrity -----------------------------------------------------------------------


def cart_history() -> HistoryBuilder:
    h = HistoryBuilder()
    h.set_stock("mug", stock=10, price=PRICE)
    h.set_stock("tee", stock=10, price=2000)
    return h


def test_amounts_agreeing_everywhere_pass() -> None:
    h = cart_history()
    h.set_item("c1", "mug", 2)
    h.set_item("c1", "tee", 1)
    h.set_item("c1", "tee", 0)  # removed again
    h.checkout("c1", "cs_1", 2 * PRICE)
    final = state(orders=[order("cs_1")], sessions=[session("cs_1")])
    verdict = check_amount_integrity(h.build(), final)
    assert verdict.outcome is Outcome.PASS
    assert "1 order and 1 checkout" in verdict.summary


def test_an_item_below_catalog_price_is_a_violation() -> None:
    h = cart_history()
    cheap = order("cs_1", price=PRICE - 1)
    final = state(orders=[cheap], sessions=[session("cs_1", amount=cheap.amount_total)])
    verdict = check_amount_integrity(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert f"mug at {PRICE - 1} cents, catalog price {PRICE}" in verdict.evidence[0].detail


def test_an_order_total_not_the_sum_of_its_items_is_a_violation() -> None:
    final = state(orders=[order("cs_1", amount=100)], sessions=[session("cs_1", amount=100)])
    verdict = check_amount_integrity(cart_history().build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert f"amount 100 != Σ items {2 * PRICE}" in verdict.evidence[0].detail


def test_an_order_total_differing_from_the_stripe_session_is_a_violation() -> None:
    final = state(orders=[order("cs_1")], sessions=[session("cs_1", amount=999)])
    verdict = check_amount_integrity(cart_history().build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert f"amount {2 * PRICE} != Stripe session 999" in verdict.evidence[0].detail


def test_a_checkout_amount_not_matching_the_cart_is_a_violation() -> None:
    h = cart_history()
    h.set_item("c1", "mug", 2)
    h.set_item("c1", "mug", 3, outcome=OpType.FAIL)  # 409: cart locked, not applied
    answer = h.checkout("c1", "cs_1", 3 * PRICE)
    verdict = check_amount_integrity(h.build(), state(sessions=[session("cs_1", amount=3 * PRICE)]))
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].ref == str(answer.index)
    assert (
        f"answered {3 * PRICE}, cart at catalog prices is {2 * PRICE}" in verdict.evidence[0].detail
    )


def test_a_checkout_amount_differing_from_its_stripe_session_is_a_violation() -> None:
    h = cart_history()
    h.set_item("c1", "mug", 2)
    h.checkout("c1", "cs_1", 2 * PRICE)
    verdict = check_amount_integrity(h.build(), state(sessions=[session("cs_1", amount=1)]))
    assert verdict.outcome is Outcome.FAIL
    assert "Stripe session cs_1 is 1" in verdict.evidence[0].detail


def test_a_set_item_concurrent_with_the_checkout_may_or_may_not_count() -> None:
    for amount in (PRICE, 4 * PRICE):
        h = cart_history()
        h.set_item("c1", "mug", 1)
        checkout = h.checkout_invoke("c1", process="w1")
        edit = h.invoke(
            "set_item", {"cart_id": "c1", "user_id": "u1", "sku": "mug", "quantity": 4}, "w2"
        )
        h.checkout_ok(checkout, "cs_1", amount)
        h.complete(edit, OpType.OK)
        assert check_amount_integrity(h.build(), state()).outcome is Outcome.PASS
    h = cart_history()
    h.set_item("c1", "mug", 1)
    h.checkout("c1", "cs_1", 2 * PRICE)
    assert check_amount_integrity(h.build(), state()).outcome is Outcome.FAIL


def test_a_set_item_of_unknown_outcome_may_or_may_not_count() -> None:
    for amount, outcome in (
        (2 * PRICE, Outcome.PASS),
        (2 * PRICE + 2000, Outcome.PASS),
        (0, Outcome.FAIL),
    ):
        h = cart_history()
        h.set_item("c1", "mug", 2)
        h.set_item("c1", "tee", 1, outcome=OpType.INFO)
        h.checkout("c1", "cs_1", amount)
        assert check_amount_integrity(h.build(), state()).outcome is outcome, amount


def test_the_last_write_of_a_line_wins_and_a_later_edit_does_not_count() -> None:
    h = cart_history()
    h.set_item("c1", "mug", 5)
    h.set_item("c1", "mug", 1)
    h.checkout("c1", "cs_1", PRICE)
    h.set_item("c1", "mug", 7)  # after the checkout answered: a later epoch
    assert check_amount_integrity(h.build(), state()).outcome is Outcome.PASS


def test_checkouts_of_unknown_skus_are_not_repriced() -> None:
    h = HistoryBuilder()
    h.set_item("c1", "mystery", 1)
    h.checkout("c1", "cs_1", 123)
    verdict = check_amount_integrity(h.build(), state())
    assert verdict.outcome is Outcome.PASS
    assert "1 with unknown prices or unreconstructable carts not re-priced" in verdict.summary


def test_amount_integrity_is_not_exercised_without_orders_or_checkouts() -> None:
    h = cart_history()
    h.checkout_invoke("c1")  # never answered
    assert check_amount_integrity(h.build(), state()).outcome is Outcome.NOT_EXERCISED


@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["mug", "tee"]), st.integers(min_value=0, max_value=9)),
        max_size=12,
    ),
    error=st.integers(min_value=-2500, max_value=2500),
)
def test_a_checkout_passes_exactly_when_it_charges_the_last_written_cart(
    edits: list[tuple[str, int]], error: int
) -> None:
    h = cart_history()
    cart: dict[str, int] = {}
    for sku, quantity in edits:
        h.set_item("c1", sku, quantity)
        cart[sku] = quantity
    total = cart.get("mug", 0) * PRICE + cart.get("tee", 0) * 2000
    h.checkout("c1", "cs_1", total + error)
    verdict = check_amount_integrity(h.build(), state())
    # Sequential ok edits leave exactly one possible cart, so any other amount is wrong.
    assert verdict.outcome is (Outcome.PASS if error == 0 else Outcome.FAIL)


def refunded_run_state() -> FinalState:
    """One paid session whose order was refunded once: correct, until requests say otherwise."""
    paid = session("cs_1")
    return state(
        orders=[order("cs_1", status="refunded")], sessions=[paid], refunds=[refund("cs_1")]
    )


def _refund_request(intent: str, key: str | None, status: int) -> StripeRequest:
    return StripeRequest("POST", "/v1/refunds", key, status, intent)


def test_a_refund_asked_for_under_two_keys_fails_even_if_stripe_refused_the_second() -> None:
    base = refunded_run_state()
    bad = with_state(
        base,
        stripe_requests=(
            _refund_request("pi_cs_1", "refund-a", 200),
            _refund_request("pi_cs_1", "refund-b", 400),  # charge_already_refunded
        ),
    )
    verdict = check_refund_exactly_once(HistoryBuilder().build(), bad)
    assert verdict.outcome is Outcome.FAIL
    assert any("under 2 Idempotency-Keys" in e.detail for e in verdict.evidence)


def test_a_refund_without_a_key_fails() -> None:
    bad = with_state(refunded_run_state(), stripe_requests=(_refund_request("pi_cs_1", None, 200),))
    verdict = check_refund_exactly_once(HistoryBuilder().build(), bad)
    assert verdict.outcome is Outcome.FAIL
    assert any("without Idempotency-Key" in e.detail for e in verdict.evidence)


def test_a_new_key_after_a_stored_500_or_a_429_is_allowed() -> None:
    ok = with_state(
        refunded_run_state(),
        stripe_requests=(
            _refund_request("pi_cs_1", "refund-a", 500),
            _refund_request("pi_cs_1", "refund-b", 429),
            _refund_request("pi_cs_1", "refund-c", 200),
            _refund_request("pi_cs_1", "refund-c", 200),  # a replay under the same key
        ),
    )
    assert check_refund_exactly_once(HistoryBuilder().build(), ok).outcome is Outcome.PASS


def test_a_partial_refund_of_an_unfulfillable_order_fails() -> None:
    final = state(
        orders=[order("cs_1", status="refunded")],
        sessions=[session("cs_1")],
        refunds=[refund("cs_1", amount=1)],
    )
    verdict = check_refund_exactly_once(EMPTY, final)
    assert verdict.outcome is Outcome.FAIL
    assert "gave back 1 of the" in verdict.evidence[0].detail
