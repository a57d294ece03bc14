"""authentic-webhooks-only: tampered deliveries get 4xx and create nothing."""

from __future__ import annotations

import pytest

from harness.checkers import Outcome, WebhookDelivery, check_authentic_webhooks_only
from harness.history import OpType
from tests.checkers.builders import HistoryBuilder, order, session, state, with_state

TAMPERS = ["forged", "bad_signature", "stale", "future", "wrong_secret"]


def test_every_tampered_delivery_answered_4xx_passes() -> None:
    h = HistoryBuilder()
    for tamper in TAMPERS:
        h.deliver("cs_1", tamper=tamper, status=400)
    h.deliver("cs_1", tamper="forged", status=401)
    verdict = check_authentic_webhooks_only(
        h.build(), state(sessions=[session("cs_1", paid=False)])
    )
    assert verdict.outcome is Outcome.PASS
    assert "All 6 answered tampered deliveries got 4xx" in verdict.summary


@pytest.mark.parametrize("status", [200, 204, 500, 503, 302])
def test_a_tampered_delivery_not_answered_4xx_fails(status: int) -> None:
    h = HistoryBuilder()
    h.deliver("cs_1", tamper="bad_signature", status=400)
    answer = h.deliver("cs_1", tamper="stale", status=status)
    verdict = check_authentic_webhooks_only(h.build(), state())
    assert verdict.outcome is Outcome.FAIL
    assert [e.ref for e in verdict.evidence] == [str(answer.index)]
    assert (
        f"stale checkout.session.completed for cs_1 answered {status}" in verdict.evidence[0].detail
    )
    assert verdict.summary.startswith("1 of 2 answered tampered deliveries not answered 4xx")


def test_a_forged_completion_answered_200_that_created_an_order_fails_twice_over() -> None:
    h = HistoryBuilder()
    h.checkout("c1", "cs_1", 3000)
    forged = h.deliver("cs_1", tamper="forged", status=200)
    final = state(orders=[order("cs_1")], sessions=[session("cs_1", paid=False)])
    verdict = check_authentic_webhooks_only(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    kinds = [(e.kind, e.ref) for e in verdict.evidence]
    assert ("op", str(forged.index)) in kinds
    assert ("order", "ord_cs_1") in kinds
    assert "1 order on forged evidence" in verdict.summary


def test_an_order_on_forged_evidence_fails_even_if_the_answer_was_lost() -> None:
    h = HistoryBuilder()
    h.deliver("cs_ghost", tamper="forged", status=None, result=OpType.INFO)
    final = state(orders=[order("cs_ghost")])  # a session Stripe never created
    verdict = check_authentic_webhooks_only(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].detail.startswith("order for a session Stripe has not seen paid")


def test_an_order_on_a_genuinely_paid_session_is_fine_despite_forgeries() -> None:
    h = HistoryBuilder()
    h.deliver("cs_1", tamper="forged", status=400)
    h.deliver("cs_1")
    final = state(orders=[order("cs_1")], sessions=[session("cs_1")])
    assert check_authentic_webhooks_only(h.build(), final).outcome is Outcome.PASS


def test_untampered_deliveries_are_not_judged_here() -> None:
    h = HistoryBuilder()
    h.deliver("cs_1", status=500)
    verdict = check_authentic_webhooks_only(h.build(), state())
    assert verdict.outcome is Outcome.NOT_EXERCISED
    assert "no tampered delivery" in verdict.summary


def test_unanswered_tampered_deliveries_are_indeterminate() -> None:
    h = HistoryBuilder()
    h.deliver("cs_1", tamper="forged", status=None, result=OpType.INFO)
    h.deliver("cs_1", tamper="forged", status=None, result=None)
    verdict = check_authentic_webhooks_only(h.build(), state())
    assert verdict.outcome is Outcome.NOT_EXERCISED
    assert "all 2 tampered deliveries went unanswered" in verdict.summary
    h.deliver("cs_1", tamper="stale", status=400)
    verdict = check_authentic_webhooks_only(h.build(), state())
    assert verdict.outcome is Outcome.PASS
    assert "2 unanswered not judged" in verdict.summary


def _deliveries(*rows: tuple[str, int | None]) -> tuple[WebhookDelivery, ...]:
    return tuple(
        WebhookDelivery(f"evt_{i}", "checkout.session.completed", kind, status)
        for i, (kind, status) in enumerate(rows)
    )


def test_the_simulators_spoiled_deliveries_are_judged_too() -> None:
    good = with_state(
        state(),
        deliveries=_deliveries(
            ("genuine", 200), ("tampered", 400), ("stale", 400), ("forged", 401)
        ),
    )
    verdict = check_authentic_webhooks_only(HistoryBuilder().build(), good)
    assert verdict.outcome is Outcome.PASS
    assert "All 3 answered tampered deliveries" in verdict.summary


def test_a_spoiled_delivery_from_stripe_accepted_fails() -> None:
    bad = with_state(
        state(), deliveries=_deliveries(("genuine", 500), ("stale", 200), ("tampered", None))
    )
    verdict = check_authentic_webhooks_only(HistoryBuilder().build(), bad)
    assert verdict.outcome is Outcome.FAIL
    assert [(e.kind, e.ref) for e in verdict.evidence] == [("delivery", "evt_1")]
    assert "stale checkout.session.completed from Stripe answered 200" in verdict.evidence[0].detail
    assert "1 unanswered not judged" in verdict.summary
