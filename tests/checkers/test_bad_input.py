"""no-server-errors-on-bad-input: malformed requests get 4xx."""

from __future__ import annotations

from harness.checkers import Outcome, check_no_server_errors_on_bad_input
from harness.history import OpType
from tests.checkers.builders import HistoryBuilder, state


def test_malformed_requests_answered_4xx_pass() -> None:
    h = HistoryBuilder()
    for status in (400, 403, 404, 409, 422):
        h.bad_request(status)
    verdict = check_no_server_errors_on_bad_input(h.build(), state())
    assert verdict.outcome is Outcome.PASS
    assert verdict.summary == "All 5 answered malformed requests got 4xx."


def test_a_500_on_malformed_input_fails() -> None:
    h = HistoryBuilder()
    h.bad_request(422)
    crash = h.bad_request(500, result=OpType.FAIL, description="quantity is a string")
    verdict = check_no_server_errors_on_bad_input(h.build(), state())
    assert verdict.outcome is Outcome.FAIL
    assert [e.ref for e in verdict.evidence] == [str(crash.index)]
    assert "(quantity is a string) answered 500: server error" in verdict.evidence[0].detail
    assert verdict.summary == "1 of 2 answered malformed requests did not get 4xx."


def test_accepting_malformed_input_fails() -> None:
    h = HistoryBuilder()
    h.bad_request(201)
    verdict = check_no_server_errors_on_bad_input(h.build(), state())
    assert verdict.outcome is Outcome.FAIL
    assert "answered 201: accepted" in verdict.evidence[0].detail


def test_a_503_on_an_ordinary_operation_is_not_bad_input() -> None:
    h = HistoryBuilder()
    call = h.checkout_invoke("c1")
    h.complete(call, OpType.FAIL, {"status": 503, "error": "redis down"})
    h.bad_request(422)
    verdict = check_no_server_errors_on_bad_input(h.build(), state())
    assert verdict.outcome is Outcome.PASS
    assert "1 answered malformed request" in verdict.summary


def test_unanswered_malformed_requests_are_indeterminate() -> None:
    h = HistoryBuilder()
    h.bad_request(None, result=OpType.INFO)
    verdict = check_no_server_errors_on_bad_input(h.build(), state())
    assert verdict.outcome is Outcome.NOT_EXERCISED
    assert "all 1 went unanswered" in verdict.summary
    h.bad_request(400)
    assert (
        "1 unanswered not judged" in check_no_server_errors_on_bad_input(h.build(), state()).summary
    )


def test_no_malformed_request_is_not_exercised() -> None:
    verdict = check_no_server_errors_on_bad_input(HistoryBuilder().build(), state())
    assert verdict.outcome is Outcome.NOT_EXERCISED
    assert "none was sent" in verdict.summary


def test_an_unusable_event_may_be_ignored_or_refused_but_not_failed() -> None:
    h = HistoryBuilder()
    h.deliver("cs_foreign", status=200, foreign="unknown-session")
    h.deliver("cs_1", status=400, foreign="no-metadata")
    h.deliver("cs_2", status=500)  # an ordinary event's 5xx is not judged here
    verdict = check_no_server_errors_on_bad_input(h.build(), state())
    assert verdict.outcome is Outcome.PASS
    assert "2 unusable events answered without a 5xx" in verdict.summary


def test_an_unusable_event_answered_500_is_a_retry_storm() -> None:
    h = HistoryBuilder()
    h.deliver("cs_foreign", status=500, foreign="no-metadata")
    verdict = check_no_server_errors_on_bad_input(h.build(), state())
    assert verdict.outcome is Outcome.FAIL
    assert "retry storm" in verdict.evidence[0].detail
    assert "1 of 1 unusable event got a 5xx" in verdict.summary


def test_hanging_up_on_malformed_input_is_a_violation_but_a_timeout_is_not_judged() -> None:
    h = HistoryBuilder()
    value = {"method": "POST", "route": "/carts", "description": "not JSON"}
    h.op("bad_request", value, {"error": "RemoteProtocolError()", "dropped": True}, OpType.INFO)
    h.op("bad_request", value, {"error": "ReadTimeout()", "dropped": False}, OpType.INFO)
    verdict = check_no_server_errors_on_bad_input(h.build(), state())
    assert verdict.outcome is Outcome.FAIL
    assert "dropped the connection" in verdict.evidence[0].detail
    assert "1 unanswered not judged" in verdict.summary
