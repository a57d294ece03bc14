"""no-server-errors-on-bad-input: malformed requests get 4xx, never 5xx (nor 2xx)."""

from __future__ import annotations

from harness.checkers.model import Evidence, FinalState, Verdict
from harness.checkers.support import every, is_4xx, judged, not_exercised, op_evidence, plural
from harness.history import History

NO_SERVER_ERRORS_ON_BAD_INPUT = "no-server-errors-on-bad-input"


def check_no_server_errors_on_bad_input(history: History, state: FinalState) -> Verdict:
    """Every answered ``bad_request`` got a 4xx; no unusable event (``deliver_webhook`` marked
    ``foreign``) got a 5xx.

    Only ``bad_request`` operations are judged: a 503 on an ordinary operation during an outage is
    the contract's answer, not a bad-input failure. A ``bad_request`` without an answer (dropped
    connection, timeout) is indeterminate and not judged.
    """
    answered = unanswered = foreign_answered = 0
    violations: list[Evidence] = []
    for pair in history.pairs("bad_request"):
        done = pair.completion
        status = done.status if done is not None else None
        if done is not None and status is None and done.value.get("dropped"):
            # Hanging up on malformed input is no better than a 500: the server fell over.
            answered += 1
            value = pair.invoke.value
            violations.append(
                op_evidence(
                    done,
                    f"{value.get('method')} {value.get('route')} ({value.get('description')}): "
                    "the server dropped the connection",
                )
            )
            continue
        if done is None or status is None:
            unanswered += 1
            continue
        answered += 1
        if not is_4xx(status):
            value = pair.invoke.value
            kind = "server error" if status >= 500 else "accepted"
            violations.append(
                op_evidence(
                    done,
                    f"{value.get('method')} {value.get('route')} "
                    f"({value.get('description')}) answered {status}: {kind}",
                )
            )
    bad_requests = len(violations)
    # Events the target cannot use (a session it never made, one without metadata) are input it
    # must ignore (2xx) or refuse (4xx); a 5xx would make Stripe retry them for days.
    for pair in history.pairs("deliver_webhook"):
        foreign = pair.invoke.value.get("foreign")
        if not foreign:
            continue
        done = pair.completion
        status = done.status if done is not None else None
        if done is None or status is None:
            unanswered += 1
            continue
        foreign_answered += 1
        if status >= 500:
            violations.append(
                op_evidence(
                    done,
                    f"{pair.invoke.value.get('event_type')} ({foreign}) answered {status}: a "
                    "retry storm, as the event can never succeed",
                )
            )
    if not answered and not foreign_answered:
        why = f"all {unanswered} went unanswered" if unanswered else "none was sent"
        return not_exercised(
            NO_SERVER_ERRORS_ON_BAD_INPUT, f"No malformed request to judge: {why}."
        )
    skipped = f"; {unanswered} unanswered not judged" if unanswered else ""
    requests = (
        f"{every(answered, 'answered malformed request').capitalize()} got 4xx"
        if answered
        else "No malformed request was sent"
    )
    events = (
        f"; {plural(foreign_answered, 'unusable event')} answered without a 5xx"
        if foreign_answered
        else ""
    )
    storms = len(violations) - bad_requests
    return judged(
        NO_SERVER_ERRORS_ON_BAD_INPUT,
        violations,
        f"{requests}{events}{skipped}.",
        f"{bad_requests} of {plural(answered, 'answered malformed request')} did not get 4xx"
        + (
            f"; {storms} of {plural(foreign_answered, 'unusable event')} got a 5xx"
            if storms
            else ""
        )
        + f"{skipped}.",
    )
