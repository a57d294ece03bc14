"""convergence: after the faults heal, every paid session reaches its final order within a bound."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from harness.checkers.model import Evidence, FinalState, Order, Verdict
from harness.checkers.support import (
    FINAL_ORDER_STATUSES,
    judged,
    not_exercised,
    order_evidence,
    paid_cart_sessions,
    plural,
    session_evidence,
    str_field,
)
from harness.history import FAULT_PROCESS, OBSERVER_PROCESS, History, OpType

CONVERGENCE = "convergence"


@dataclass(frozen=True)
class Observation:
    """One ``observe_orders`` answer: which sessions had a final order at that time."""

    index: int
    time_s: float
    final_sessions: frozenset[str]


def _parse_orders(raw: Any) -> list[Order]:
    orders: list[Order] = []
    if isinstance(raw, list):
        for item in raw:
            try:
                orders.append(Order.from_api(item))
            except (KeyError, TypeError, ValueError):
                continue  # a malformed row proves nothing either way
    return orders


def observations(history: History) -> list[Observation]:
    """The observer's answers, timed at their invocation.

    The orders were read somewhere between invocation and answer; timing them at invocation
    never blames a target for the observer's own latency.
    """
    found: list[Observation] = []
    for pair in history.pairs("observe_orders"):
        done = pair.completion
        if pair.invoke.process != OBSERVER_PROCESS or done is None or done.type is not OpType.OK:
            continue
        final = frozenset(
            o.checkout_session_id
            for o in _parse_orders(done.value.get("orders"))
            if o.status in FINAL_ORDER_STATUSES
        )
        found.append(Observation(done.index, pair.invoke.time_s, final))
    found.sort(key=lambda o: o.time_s)
    return found


def heal_time(history: History) -> tuple[float, int]:
    """When the last fault was healed (0 without faults), and how many faults never were."""
    healed_at = 0.0
    last_start: dict[str, float] = {}
    last_stop: dict[str, float] = {}
    for pair in history.pairs():
        if pair.invoke.process != FAULT_PROCESS or pair.invoke.f not in (
            "start_fault",
            "stop_fault",
        ):
            continue
        at = (pair.completion or pair.invoke).time_s
        name = str_field(pair.invoke.value, "name") or "?"
        if pair.invoke.f == "stop_fault":
            healed_at = max(healed_at, at)
            last_stop[name] = max(last_stop.get(name, 0.0), at)
        else:
            last_start[name] = max(last_start.get(name, 0.0), pair.invoke.time_s)
    unhealed = sum(1 for n, t in last_start.items() if t > last_stop.get(n, -1.0))
    return healed_at, unhealed


def _paid_at(history: History) -> dict[str, float]:
    """When each session's payment (that may have happened) was last answered."""
    paid: dict[str, float] = defaultdict(float)
    for pair in history.pairs("pay"):
        session = str_field(pair.invoke.value, "checkout_session_id")
        if session is None or pair.outcome is OpType.FAIL:
            continue
        if pair.invoke.value.get("outcome") == "async_failed":
            continue
        paid[session] = max(paid[session], (pair.completion or pair.invoke).time_s)
    return paid


def _regressions(history: History) -> list[Evidence]:
    """Orders seen final that a later look shows pending, in another status, or gone.

    The observer's looks are sequential, so a later invocation read after an earlier answer: a
    final order must still be there, unchanged. A final read alone cannot see a regression that
    was later repaired (or left a pending order behind): only looks taken along the way can.
    """
    pairs = sorted(
        (
            p
            for p in history.pairs("observe_orders")
            if p.invoke.process == OBSERVER_PROCESS
            and p.completion is not None
            and p.completion.type is OpType.OK
        ),
        key=lambda p: p.invoke.index,
    )
    final_seen: dict[str, tuple[str, str, int]] = {}  # session -> (order id, status, op index)
    reported: set[str] = set()
    found: list[Evidence] = []
    for pair in pairs:
        done = pair.completion
        assert done is not None
        orders = _parse_orders(done.value.get("orders"))
        statuses: dict[str, set[str]] = defaultdict(set)
        for o in orders:
            statuses[o.checkout_session_id].add(o.status)
        for session, (order_id, status, at) in final_seen.items():
            now = statuses.get(session)
            if session in reported or (now is not None and status in now):
                continue
            reported.add(session)
            later = "gone" if now is None else "/".join(sorted(now))
            found.append(
                Evidence(
                    "order",
                    order_id,
                    f"order {order_id} for {session} was {status} (observation op {at}), then "
                    f"{later} (observation op {done.index}): a final order must stay final",
                )
            )
        for o in orders:
            if o.status in FINAL_ORDER_STATUSES and o.checkout_session_id not in final_seen:
                final_seen[o.checkout_session_id] = (o.order_id, o.status, done.index)
    return found


def check_convergence(history: History, state: FinalState) -> Verdict:
    """Each paid session is observed with a final order within the bound after the last heal.

    A session paid after the heal gets the bound from its payment. The observer's
    ``observe_orders`` answers give the timing; without any observation after the heal only the
    final state is judged (no pending order; every paid session has a final order). An order
    once observed final must stay so in every later look (no fulfilled order going back to
    pending, changing status or vanishing).
    """
    paid = paid_cart_sessions(state)
    if not paid and not state.orders:
        return not_exercised(CONVERGENCE, "No paid session and no order to judge.")
    bound = state.convergence_bound_s
    healed_at, unhealed = heal_time(history)
    seen = [o for o in observations(history) if o.time_s >= healed_at]
    paid_at = _paid_at(history)
    violations: list[Evidence] = []
    slowest = 0.0
    unwatched = 0
    for session in paid:
        if not seen:
            break
        start = max(healed_at, paid_at.get(session.id, 0.0))
        deadline = start + bound
        first = next((o for o in seen if session.id in o.final_sessions), None)
        if first is None and seen[-1].time_s <= deadline:
            unwatched += 1  # the observer stopped before the bound ran out: the final state judges
            continue
        if first is None:
            violations.append(
                session_evidence(
                    session,
                    f"never observed final up to observation op {seen[-1].index}, "
                    f"{seen[-1].time_s - start:.1f} s after heal or payment (bound {bound:g} s)",
                )
            )
        elif first.time_s > deadline:
            violations.append(
                session_evidence(
                    session,
                    f"first observed final {first.time_s - start:.1f} s after heal or payment "
                    f"(observation op {first.index}), bound {bound:g} s",
                )
            )
        slowest = max(slowest, (first or seen[-1]).time_s - healed_at)
    final_sessions = {
        o.checkout_session_id for o in state.orders if o.status in FINAL_ORDER_STATUSES
    }
    for session in paid:
        if session.id not in final_sessions:
            violations.append(session_evidence(session, "no final order at quiescence"))
    violations.extend(
        order_evidence(o, "not final at quiescence")
        for o in state.orders
        if o.status not in FINAL_ORDER_STATUSES
    )
    violations.extend(_regressions(history))
    timing = (
        f"converged {slowest:.1f} s after the last heal (bound {bound:g} s)"
        if seen and not violations
        else f"slowest {slowest:.1f} s after the last heal (bound {bound:g} s)"
        if seen
        else "timing not measured: no observation after the last heal"
    )
    if unwatched:
        timing += f"; {unwatched} paid after the observer's last look, judged on the final state"
    if unhealed:
        timing += f"; {plural(unhealed, 'fault')} never healed in the history"
    counts = (
        f"{plural(len(paid), 'paid session')}, {plural(len(state.orders), 'final-state order')}"
    )
    return judged(
        CONVERGENCE,
        violations,
        f"Every paid session reached a final order and none is pending ({counts}); {timing}.",
        f"{plural(len(violations), 'convergence violation')} across {counts}; {timing}.",
    )
