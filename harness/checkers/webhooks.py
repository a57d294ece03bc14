"""authentic-webhooks-only: forged, tampered or stale events get 4xx and change nothing."""

from __future__ import annotations

from collections import defaultdict

from harness.checkers.model import Evidence, FinalState, Verdict
from harness.checkers.support import (
    every,
    is_4xx,
    judged,
    not_exercised,
    op_evidence,
    order_evidence,
    plural,
    sessions_by_id,
    str_field,
)
from harness.history import History, Op

AUTHENTIC_WEBHOOKS_ONLY = "authentic-webhooks-only"
SPOILED_KINDS = frozenset({"tampered", "stale", "forged"})


def check_authentic_webhooks_only(history: History, state: FinalState) -> Verdict:
    """Every tampered delivery is answered 4xx; no order rests on tampered evidence alone.

    A tampered delivery without an answer (a dropped connection, a timeout) is indeterminate and
    not judged. Untampered deliveries are not judged here.
    """
    answered = unanswered = 0
    violations: list[Evidence] = []
    tampered_for: dict[str, list[Op]] = defaultdict(list)
    for pair in history.pairs("deliver_webhook"):
        tamper = pair.invoke.value.get("tamper")
        if tamper is None:
            continue
        session = str_field(pair.invoke.value, "checkout_session_id")
        if session is not None:
            tampered_for[session].append(pair.invoke)
        done = pair.completion
        status = done.status if done is not None else None
        if done is None or status is None:
            unanswered += 1
            continue
        answered += 1
        if not is_4xx(status):
            event = pair.invoke.value.get("event_type")
            violations.append(
                op_evidence(done, f"{tamper} {event} for {session} answered {status}")
            )
    # The simulator's own chaos (webhook_tamper / webhook_stale faults) is judged the same way.
    for delivery in state.deliveries:
        if delivery.kind not in SPOILED_KINDS:
            continue
        if delivery.status_code is None:
            unanswered += 1
            continue
        answered += 1
        if not is_4xx(delivery.status_code):
            violations.append(
                Evidence(
                    "delivery",
                    delivery.event_id,
                    f"{delivery.kind} {delivery.event_type} from Stripe answered "
                    f"{delivery.status_code}",
                )
            )
    rejected_badly = len(violations)
    # An order whose session Stripe never saw paid can only come from a forged claim.
    stripe = sessions_by_id(state)
    forged_orders = 0
    for order in state.orders:
        at_stripe = stripe.get(order.checkout_session_id)
        deliveries = tampered_for.get(order.checkout_session_id)
        if deliveries and (at_stripe is None or not at_stripe.paid):
            forged_orders += 1
            violations.append(order_evidence(order, "order for a session Stripe has not seen paid"))
            violations.extend(
                op_evidence(op, f"tampered delivery ({op.value.get('tamper')})")
                for op in deliveries
            )
    if not answered and not forged_orders:
        why = (
            f"all {plural(unanswered, 'tampered delivery', 'tampered deliveries')} went unanswered"
            if unanswered
            else "no tampered delivery"
        )
        return not_exercised(AUTHENTIC_WEBHOOKS_ONLY, f"Nothing to judge: {why}.")
    skipped = f"; {unanswered} unanswered not judged" if unanswered else ""
    counts = plural(answered, "answered tampered delivery", "answered tampered deliveries")
    return judged(
        AUTHENTIC_WEBHOOKS_ONLY,
        violations,
        f"{every(answered, 'answered tampered delivery', 'answered tampered deliveries').capitalize()} got 4xx and no order rests on forged evidence{skipped}.",
        f"{rejected_badly} of {counts} not answered 4xx and "
        f"{plural(forged_orders, 'order')} on forged evidence{skipped}.",
    )
