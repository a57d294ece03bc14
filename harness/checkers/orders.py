"""Order invariants: exactly-once-order, refund-exactly-once and amount-integrity."""

from __future__ import annotations

from collections import defaultdict

from harness.checkers.model import Evidence, FinalState, Verdict
from harness.checkers.support import (
    describe_amounts,
    int_field,
    judged,
    not_exercised,
    op_evidence,
    order_evidence,
    orders_by_session,
    paid_cart_sessions,
    plural,
    possible_contents,
    possible_totals,
    read_catalog,
    session_cart,
    session_evidence,
    sessions_by_id,
    set_item_pairs_by_cart,
    str_field,
)
from harness.history import History, OpType

EXACTLY_ONCE_ORDER = "exactly-once-order"
REFUND_EXACTLY_ONCE = "refund-exactly-once"
AMOUNT_INTEGRITY = "amount-integrity"


def check_exactly_once_order(history: History, state: FinalState) -> Verdict:
    """Every paid session has exactly one order; every order has a paid session (of its cart).

    Pending orders count as orders here: whether they finished is convergence's question.
    """
    paid = paid_cart_sessions(state)
    if not paid and not state.orders:
        return not_exercised(EXACTLY_ONCE_ORDER, "No paid session and no order to judge.")
    by_session = orders_by_session(state.orders)
    known = sessions_by_id(state)
    violations: list[Evidence] = []
    missing = duplicated = unpaid = 0
    for session in paid:
        orders = by_session.get(session.id, [])
        if not orders:
            missing += 1
            violations.append(session_evidence(session, "paid session has no order"))
        elif len(orders) > 1:
            duplicated += 1
            violations.append(session_evidence(session, f"paid session has {len(orders)} orders"))
            violations.extend(order_evidence(o, "one of several orders") for o in orders)
    for order in state.orders:
        of_order = known.get(order.checkout_session_id)
        if of_order is None:
            unpaid += 1
            violations.append(order_evidence(order, "order for a session unknown to Stripe"))
        elif not of_order.paid:
            unpaid += 1
            violations.append(
                order_evidence(
                    order, f"order for a session Stripe has as {of_order.payment_status}"
                )
            )
        elif (cart := session_cart(of_order)) is not None and cart != order.cart_id:
            unpaid += 1
            violations.append(order_evidence(order, f"order names a cart other than {cart}"))
    counts = f"{plural(len(paid), 'paid session')} and {plural(len(state.orders), 'order')}"
    return judged(
        EXACTLY_ONCE_ORDER,
        violations,
        f"Exactly one order per paid session and a paid session per order, across {counts}.",
        f"Across {counts}: {missing} paid without an order, {duplicated} with several orders, "
        f"{plural(unpaid, 'order')} without a paid session of its cart.",
    )


# Answers after which a client may legitimately try a new key: nothing was done (429), the
# key was busy (409), or Stripe stored a server error for it (5xx, contract 6.10).
_KEY_MAY_CHANGE_AFTER = frozenset({409, 429})


def refund_keys_by_intent(state: FinalState) -> dict[str, set[str | None]]:
    """The Idempotency-Keys under which each payment intent's refund got a definite answer."""
    keys: dict[str, set[str | None]] = defaultdict(set)
    for request in state.stripe_requests:
        if request.method != "POST" or request.path != "/v1/refunds" or request.subject is None:
            continue
        if request.status >= 500 or request.status in _KEY_MAY_CHANGE_AFTER:
            continue
        keys[request.subject].add(request.idempotency_key)
    return keys


def check_refund_exactly_once(history: History, state: FinalState) -> Verdict:
    """Refunded order ⇒ exactly one refund of its payment; fulfilled ⇒ none; never two."""
    refunds_by_intent: dict[str, list[str]] = defaultdict(list)
    refund_amounts: dict[str, int] = {}
    for refund in state.refunds:
        refunds_by_intent[refund.payment_intent].append(refund.id)
        refund_amounts[refund.id] = refund.amount
    paid = paid_cart_sessions(state)
    paid_intents = {s.payment_intent for s in state.sessions if s.paid and s.payment_intent}
    by_session = orders_by_session(state.orders)
    violations: list[Evidence] = []
    judged_orders = 0
    for intent, ids in sorted(refunds_by_intent.items()):
        if len(ids) > 1:
            violations.append(
                Evidence("refund", ", ".join(ids), f"{len(ids)} refunds of payment {intent}")
            )
        if intent not in paid_intents:
            violations.extend(
                Evidence("refund", rid, f"refund of {intent}, which no paid session holds")
                for rid in ids
            )
    attempts = refund_keys_by_intent(state)
    for intent, keys in sorted(attempts.items()):
        if None in keys:
            violations.append(
                Evidence("request", intent, f"refund of {intent} requested without Idempotency-Key")
            )
        named = sorted(k for k in keys if k is not None)
        if len(named) > 1:
            # Stripe refusing a second *full* refund is all that kept the money safe.
            violations.append(
                Evidence(
                    "request",
                    intent,
                    f"refund of {intent} requested under {len(named)} Idempotency-Keys: "
                    + ", ".join(named[:3]),
                )
            )
    for session in paid:
        refunds = refunds_by_intent.get(session.payment_intent or "", [])
        for order in by_session.get(session.id, []):
            expected = {"refunded": 1, "fulfilled": 0}.get(order.status)
            if expected is None:
                continue  # pending: not final yet, convergence judges it
            judged_orders += 1
            if expected == 1 and len(refunds) == 1:
                amount = refund_amounts.get(refunds[0])
                if amount is not None and amount != session.amount_total:
                    violations.append(
                        order_evidence(
                            order,
                            f"refund {refunds[0]} gave back {amount} of the "
                            f"{session.amount_total} paid",
                        )
                    )
            if len(refunds) != expected:
                violations.append(
                    order_evidence(
                        order,
                        f"{order.status} order has {plural(len(refunds), 'refund')} of "
                        f"{session.payment_intent}, expected {expected}",
                    )
                )
    if not judged_orders and not state.refunds and not attempts:
        return not_exercised(
            REFUND_EXACTLY_ONCE, "No final order on a paid session and no refund to judge."
        )
    counts = f"{plural(judged_orders, 'final order')} and {plural(len(state.refunds), 'refund')}"
    return judged(
        REFUND_EXACTLY_ONCE,
        violations,
        f"Refunds match orders exactly across {counts}.",
        f"{plural(len(violations), 'refund violation')} across {counts}.",
    )


def check_amount_integrity(history: History, state: FinalState) -> Verdict:
    """Order amount = session amount = Σ catalog price * quantity at checkout.

    Judged on every order (items at catalog price, total = Σ items = Stripe session) and on every
    ``checkout`` that answered ok (its amount = the cart's contents at checkout, reconstructed
    from ``set_item`` operations, and = the Stripe session handed out).
    """
    catalog = read_catalog(history, state)
    sessions = sessions_by_id(state)
    violations: list[Evidence] = []
    for order in state.orders:
        items_total = 0
        for item in order.items:
            items_total += item.unit_price_cents * item.quantity
            price = catalog.price(item.sku)
            if price is not None and item.unit_price_cents != price:
                violations.append(
                    order_evidence(
                        order,
                        f"{item.sku} at {item.unit_price_cents} cents, catalog price {price}",
                    )
                )
        if order.amount_total != items_total:
            violations.append(
                order_evidence(order, f"amount {order.amount_total} != Σ items {items_total}")
            )
        session = sessions.get(order.checkout_session_id)
        if session is not None and session.amount_total != order.amount_total:
            violations.append(
                order_evidence(
                    order, f"amount {order.amount_total} != Stripe session {session.amount_total}"
                )
            )
    checkouts = unjudged = 0
    carts = set_item_pairs_by_cart(history)
    for pair in history.pairs("checkout"):
        if pair.completion is None or pair.completion.type is not OpType.OK:
            continue
        completion = pair.completion
        cart = str_field(pair.invoke.value, "cart_id")
        amount = int_field(completion.value, "amount_total")
        if cart is None or amount is None:
            continue
        checkouts += 1
        session_id = str_field(completion.value, "checkout_session_id")
        session = sessions.get(session_id or "")
        if session is not None and session.amount_total != amount:
            violations.append(
                op_evidence(
                    completion,
                    f"checkout of {cart} answered {amount}, Stripe session {session.id} "
                    f"is {session.amount_total}",
                )
            )
        contents = possible_contents(carts.get(cart, []), pair)
        totals = None if contents is None else possible_totals(contents, catalog.prices)
        if totals is None:
            unjudged += 1
        elif amount not in totals:
            violations.append(
                op_evidence(
                    completion,
                    f"checkout of {cart} answered {amount}, cart at catalog prices is "
                    f"{describe_amounts(totals)}",
                )
            )
    if not state.orders and not checkouts:
        return not_exercised(AMOUNT_INTEGRITY, "No order and no successful checkout to judge.")
    skipped = (
        f" ({unjudged} with unknown prices or unreconstructable carts not re-priced)"
        if unjudged
        else ""
    )
    counts = f"{plural(len(state.orders), 'order')} and {plural(checkouts, 'checkout')}{skipped}"
    return judged(
        AMOUNT_INTEGRITY,
        violations,
        f"Amounts agree with the catalog and Stripe across {counts}.",
        f"{plural(len(violations), 'amount mismatch', 'amount mismatches')} across {counts}.",
    )
