"""convergence: every paid session is observed final within the bound after the last heal."""

from __future__ import annotations

from harness.checkers import Outcome, check_convergence
from harness.history import FAULT_PROCESS, OpType
from tests.checkers.builders import HistoryBuilder, order, order_to_api, session, state

DONE = order("cs_1")
PENDING = order("cs_1", status="pending")


def faulted_run() -> HistoryBuilder:
    """cs_1 is paid during a Redis outage from 10 s to 20 s."""
    h = HistoryBuilder()
    h.fault("redis", start_s=10.0, stop_s=20.0)
    h.at(12.0).pay("cs_1")
    h.observe([PENDING], at_s=15.0)
    return h


def test_a_session_still_pending_when_the_bound_ran_out_fails_on_observations_alone() -> None:
    h = faulted_run()
    h.observe([PENDING], at_s=55.0)
    verdict = check_convergence(h.build(), state(orders=[DONE], sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.FAIL
    assert [(e.kind, e.ref) for e in verdict.evidence] == [("session", "cs_1")]
    assert "never observed final" in verdict.evidence[0].detail


def test_a_session_paid_after_the_observer_stopped_is_judged_on_the_final_state() -> None:
    h = faulted_run()
    h.observe([DONE], at_s=30.0)
    h.at(40.0).pay("cs_2")  # nobody looked after this
    done_2 = order("cs_2", cart="c2")
    final = state(orders=[DONE, done_2], sessions=[session("cs_1"), session("cs_2", cart="c2")])
    verdict = check_convergence(h.build(), final)
    assert verdict.outcome is Outcome.PASS
    assert "1 paid after the observer's last look, judged on the final state" in verdict.summary


def test_a_session_final_soon_after_the_heal_converges_and_says_how_fast() -> None:
    h = faulted_run()
    h.observe([PENDING], at_s=21.0)
    h.observe([DONE], at_s=23.5)
    verdict = check_convergence(h.build(), state(orders=[DONE], sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.PASS
    # Healed when stop_fault answered (20.1 s); observations timed at invocation.
    assert "converged 3.4 s after the last heal (bound 30 s)" in verdict.summary


def test_a_session_final_only_after_the_bound_fails() -> None:
    h = faulted_run()
    h.observe([PENDING], at_s=49.0)
    late = h.observe([DONE], at_s=51.0)
    verdict = check_convergence(h.build(), state(orders=[DONE], sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.FAIL
    [evidence] = verdict.evidence
    assert (evidence.kind, evidence.ref) == ("session", "cs_1")
    assert f"first observed final 30.9 s after heal or payment (observation op {late.index})" in (
        evidence.detail
    )
    assert "slowest 30.9 s after the last heal" in verdict.summary


def test_a_final_order_observed_before_the_heal_only_counts_once_observed_after() -> None:
    h = HistoryBuilder()
    h.at(1.0).pay("cs_1")
    h.observe([DONE], at_s=2.0)
    h.fault("postgres", start_s=3.0, stop_s=5.0)
    h.observe([DONE], at_s=6.0)
    verdict = check_convergence(h.build(), state(orders=[DONE], sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.PASS
    assert "converged 0.9 s after the last heal" in verdict.summary


def test_a_session_never_observed_final_fails() -> None:
    h = faulted_run()
    h.observe([PENDING], at_s=60.0)
    final = state(orders=[PENDING], sessions=[session("cs_1")])
    verdict = check_convergence(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    details = [e.detail for e in verdict.evidence]
    assert any(d.startswith("never observed final up to observation op") for d in details)
    assert any(d.startswith("no final order at quiescence") for d in details)
    assert any(d.startswith("not final at quiescence") for d in details)


def test_a_pending_order_at_quiescence_fails_even_without_observations() -> None:
    final = state(
        orders=[DONE, order("cs_2", cart="c2", status="pending")], sessions=[session("cs_1")]
    )
    verdict = check_convergence(HistoryBuilder().build(), final)
    assert verdict.outcome is Outcome.FAIL
    assert [(e.kind, e.ref) for e in verdict.evidence] == [("order", "ord_cs_2")]
    assert "timing not measured" in verdict.summary


def test_without_observations_only_the_final_state_is_judged() -> None:
    verdict = check_convergence(
        HistoryBuilder().build(), state(orders=[DONE], sessions=[session("cs_1")])
    )
    assert verdict.outcome is Outcome.PASS
    assert "timing not measured: no observation after the last heal" in verdict.summary


def test_a_paid_session_without_any_order_never_converged() -> None:
    verdict = check_convergence(HistoryBuilder().build(), state(sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].detail.startswith("no final order at quiescence")


def test_a_session_paid_after_the_heal_gets_the_bound_from_its_payment() -> None:
    h = HistoryBuilder()
    h.fault("stripe", start_s=1.0, stop_s=2.0)
    h.at(100.0).pay("cs_1")
    h.observe([DONE], at_s=110.0)
    final = state(orders=[DONE], sessions=[session("cs_1")], bound_s=30.0)
    assert check_convergence(h.build(), final).outcome is Outcome.PASS
    tight = state(orders=[DONE], sessions=[session("cs_1")], bound_s=5.0)
    verdict = check_convergence(h.build(), tight)
    assert verdict.outcome is Outcome.FAIL
    assert "bound 5 s" in verdict.evidence[0].detail


def test_the_last_heal_counts_and_unhealed_faults_are_reported() -> None:
    h = HistoryBuilder()
    h.fault("redis", start_s=1.0, stop_s=2.0)
    h.fault("postgres", start_s=3.0, stop_s=40.0)
    h.observe([DONE], at_s=45.1)
    h.at(50.0).op("start_fault", {"name": "stripe", "kind": "timeout"}, {}, process=FAULT_PROCESS)
    verdict = check_convergence(h.build(), state(orders=[DONE], sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.PASS
    assert "converged 5.0 s after the last heal" in verdict.summary  # healed at 40.1 s
    assert "1 fault never healed in the history" in verdict.summary


def test_nothing_paid_and_no_order_is_not_exercised() -> None:
    final = state(sessions=[session("cs_1", paid=False)])
    assert check_convergence(HistoryBuilder().build(), final).outcome is Outcome.NOT_EXERCISED


def test_an_observation_requested_in_time_but_answered_late_is_not_blamed_on_the_target() -> None:
    h = faulted_run()
    call = h.at(49.0).invoke("observe_orders", {}, process="observer")
    h.at(60.0).complete(call, OpType.OK, value={"orders": [order_to_api(DONE)]})
    verdict = check_convergence(h.build(), state(orders=[DONE], sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.PASS


def test_a_final_order_going_back_to_pending_fails_even_if_it_ends_final() -> None:
    h = HistoryBuilder()
    h.at(1.0).pay("cs_1")
    first = h.observe([DONE], at_s=2.0)
    back = h.observe([PENDING], at_s=2.5)
    h.observe([DONE], at_s=3.0)
    verdict = check_convergence(h.build(), state(orders=[DONE], sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.FAIL
    [evidence] = verdict.evidence
    assert (evidence.kind, evidence.ref) == ("order", "ord_cs_1")
    assert evidence.detail == (
        f"order ord_cs_1 for cs_1 was fulfilled (observation op {first.index}), then pending "
        f"(observation op {back.index}): a final order must stay final"
    )


def test_a_final_order_that_vanishes_or_changes_final_status_fails_once_per_session() -> None:
    h = HistoryBuilder()
    h.at(1.0).pay("cs_1")
    h.pay("cs_2")
    done_2 = order("cs_2", cart="c2")
    h.observe([DONE, done_2], at_s=2.0)
    h.observe([order("cs_1", status="refunded")], at_s=2.5)
    h.observe([order("cs_1", status="refunded")], at_s=3.0)
    final = state(
        orders=[order("cs_1", status="refunded")],
        sessions=[session("cs_1"), session("cs_2", cart="c2")],
    )
    verdict = check_convergence(h.build(), final)
    assert verdict.outcome is Outcome.FAIL
    details = sorted(e.detail for e in verdict.evidence)
    assert len([d for d in details if "was fulfilled" in d]) == 2
    assert any("for cs_1 was fulfilled" in d and "then refunded" in d for d in details)
    assert any("for cs_2 was fulfilled" in d and "then gone" in d for d in details)


def test_failed_or_unanswered_looks_prove_no_regression() -> None:
    h = HistoryBuilder()
    h.at(1.0).pay("cs_1")
    h.observe([DONE], at_s=2.0)
    h.op("observe_orders", {}, {"status": 503}, OpType.FAIL, process="observer")
    h.op("observe_orders", {}, {"error": "ReadTimeout"}, OpType.INFO, process="observer")
    h.observe([DONE], at_s=4.0)
    verdict = check_convergence(h.build(), state(orders=[DONE], sessions=[session("cs_1")]))
    assert verdict.outcome is Outcome.PASS
