"""conservation and no-oversell."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.checkers import Outcome, check_conservation, check_no_oversell
from harness.history import OpType
from tests.checkers.builders import HistoryBuilder, order, product, state


def stocked(**stock: int) -> HistoryBuilder:
    h = HistoryBuilder()
    for sku, units in stock.items():
        h.set_stock(sku, stock=units)
    return h


# -- conservation ---------------------------------------------------------------------------


def test_conservation_holds_when_available_plus_sold_is_the_initial_stock() -> None:
    h = stocked(mug=5, tee=2)
    final = state(
        products=[product("mug", 1), product("tee", 2)],
        orders=[
            order("cs_1", items=[("mug", 3)]),
            order("cs_2", items=[("mug", 1)]),
            order("cs_3", status="refunded", items=[("tee", 2)]),  # refunded: nothing sold
        ],
    )
    verdict = check_conservation(h.build(), final)
    assert verdict.outcome is Outcome.PASS
    assert "2 skus" in verdict.summary


def test_units_reserved_by_a_pending_order_at_quiescence_are_a_leak() -> None:
    h = stocked(mug=5)
    final = state(
        products=[product("mug", 2)],
        orders=[
            order("cs_1", items=[("mug", 2)]),
            order("cs_2", status="pending", items=[("mug", 1)]),
        ],
    )
    verdict = check_conservation(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    first = verdict.evidence[0]
    assert (first.kind, first.ref) == ("product", "mug")
    assert "initial stock 5 != available 2 + sold 2" in first.detail
    assert "1 unit leaked" in first.detail
    assert any(e.kind == "order" and e.ref == "ord_cs_2" for e in verdict.evidence)
    assert any(e.kind == "op" and e.ref == "0" for e in verdict.evidence)  # the set_stock


def test_units_created_from_nothing_are_reported_as_such() -> None:
    h = stocked(mug=5)
    final = state(products=[product("mug", 4)], orders=[order("cs_1", items=[("mug", 3)])])
    verdict = check_conservation(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert "2 units created from nothing" in verdict.evidence[0].detail


def test_initial_stock_is_the_last_set_stock_that_answered_ok() -> None:
    h = HistoryBuilder()
    h.set_stock("mug", stock=9)
    h.set_stock("mug", stock=4)
    h.set_stock("mug", stock=7, outcome=OpType.FAIL)  # definitely not applied
    final = state(products=[product("mug", 2)], orders=[order("cs_1", items=[("mug", 2)])])
    assert check_conservation(h.build(), final).outcome is Outcome.PASS


def test_a_set_stock_of_unknown_outcome_may_or_may_not_have_landed() -> None:
    h = HistoryBuilder()
    h.set_stock("mug", stock=4)
    h.set_stock("mug", stock=6, outcome=OpType.INFO)
    history = h.build()
    for available in (2, 4):  # from 4 or from 6, with 2 sold
        final = state(products=[product("mug", available)], orders=[order("cs_1")])
        assert check_conservation(history, final).outcome is Outcome.PASS
    broken = state(products=[product("mug", 3)], orders=[order("cs_1")])
    assert check_conservation(history, broken).outcome is Outcome.FAIL


def test_a_stocked_product_the_target_cannot_show_at_the_end_fails() -> None:
    h = stocked(mug=5, tee=1)
    final = state(products=[product("mug", 5), product("cap", 9)])  # tee missing, cap never set
    verdict = check_conservation(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert [(e.kind, e.ref) for e in verdict.evidence if e.kind == "product"] == [
        ("product", "tee")
    ]
    assert "(1 no longer readable)" in verdict.summary


def test_conservation_is_not_exercised_without_a_set_stock() -> None:
    final = state(products=[product("mug", 5)])
    assert check_conservation(HistoryBuilder().build(), final).outcome is Outcome.NOT_EXERCISED


@given(
    stock=st.integers(min_value=0, max_value=50),
    wanted=st.lists(st.integers(min_value=1, max_value=5), max_size=15),
    error=st.integers(min_value=-3, max_value=3),
)
def test_conservation_holds_exactly_for_any_fulfilled_orders_within_stock(
    stock: int, wanted: list[int], error: int
) -> None:
    # Fulfil orders in sequence while stock lasts, as a correct target would.
    orders, left = [], stock
    for n, quantity in enumerate(wanted):
        if quantity <= left:
            left -= quantity
            orders.append(order(f"cs_{n}", items=[("mug", quantity)]))
    history = stocked(mug=stock).build()
    final = state(products=[product("mug", left + error)], orders=orders)
    verdict = check_conservation(history, final)
    assert verdict.outcome is (Outcome.PASS if error == 0 else Outcome.FAIL)
    assert check_no_oversell(history, final).outcome is (
        Outcome.FAIL if left + error < 0 else Outcome.PASS
    )


# -- no-oversell ----------------------------------------------------------------------------


def test_no_oversell_holds_when_sales_fit_the_stock() -> None:
    h = stocked(mug=2)
    h.get_product("mug", 0)
    final = state(products=[product("mug", 0)], orders=[order("cs_1", items=[("mug", 2)])])
    verdict = check_no_oversell(h.build(), final)
    assert verdict.outcome is Outcome.PASS
    assert "2 availability observations" in verdict.summary  # set_stock + get_product


def test_selling_more_than_the_stock_is_an_oversell() -> None:
    h = stocked(mug=1)
    final = state(
        products=[product("mug", 0)],
        orders=[order("cs_1", items=[("mug", 1)]), order("cs_2", cart="c2", items=[("mug", 1)])],
    )
    verdict = check_no_oversell(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].detail == "2 units sold in fulfilled orders > stock 1"
    assert {e.ref for e in verdict.evidence if e.kind == "order"} == {"ord_cs_1", "ord_cs_2"}
    assert verdict.summary.startswith("1 oversell violation")


def test_refunded_orders_are_not_sales() -> None:
    h = stocked(mug=1)
    final = state(
        products=[product("mug", 0)],
        orders=[
            order("cs_1", items=[("mug", 1)]),
            order("cs_2", status="refunded", items=[("mug", 1)]),
        ],
    )
    assert check_no_oversell(h.build(), final).outcome is Outcome.PASS


def test_negative_available_at_the_end_is_an_oversell() -> None:
    final = state(products=[product("mug", -1)])
    verdict = check_no_oversell(stocked(mug=0).build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].detail == "final available -1 < 0"


def test_negative_available_observed_mid_run_is_an_oversell_even_if_it_recovered() -> None:
    h = stocked(mug=1)
    seen = h.get_product("mug", -1)
    verdict = check_no_oversell(h.build(), state(products=[product("mug", 1)]))
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].ref == str(seen.index)
    assert "mug observed with available -1 < 0" in verdict.evidence[0].detail


def test_an_unknown_set_stock_gives_the_benefit_of_the_doubt() -> None:
    h = stocked(mug=1)
    h.set_stock("mug", stock=3, outcome=None)  # never answered
    final = state(products=[product("mug", 0)], orders=[order("cs_1", items=[("mug", 3)])])
    assert check_no_oversell(h.build(), final).outcome is Outcome.PASS


def test_no_oversell_is_not_exercised_on_an_empty_run() -> None:
    verdict = check_no_oversell(HistoryBuilder().build(), state())
    assert verdict.outcome is Outcome.NOT_EXERCISED
