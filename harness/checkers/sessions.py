"""one-session-per-cart: an unchanged cart hands out one session, and is never paid twice."""

from __future__ import annotations

from collections import defaultdict

from harness.checkers.model import Evidence, FinalState, StripeSession, Verdict
from harness.checkers.support import (
    completion_index,
    judged,
    may_have_happened,
    not_exercised,
    op_evidence,
    plural,
    session_cart,
    session_evidence,
    sessions_by_id,
    set_item_pairs_by_cart,
    str_field,
)
from harness.history import History, Op, OpType
from harness.history.model import Pair

ONE_SESSION_PER_CART = "one-session-per-cart"

# Webhook events that tell a target its session is over and the cart is open again (6.4).
_REOPENING_EVENTS = frozenset({"checkout.session.expired", "checkout.session.async_payment_failed"})


def _reopenings(history: History) -> dict[str, list[Pair]]:
    """Per session, the operations that may have closed it unpaid (expiry, failed async pay)."""
    closing: dict[str, list[Pair]] = defaultdict(list)
    for pair in history.pairs():
        value = pair.invoke.value
        session = str_field(value, "checkout_session_id")
        if session is None or not may_have_happened(pair):
            continue
        f = pair.invoke.f
        if (
            f == "expire"
            or (f == "pay" and value.get("outcome") == "async_failed")
            or (
                f == "deliver_webhook"
                and value.get("tamper") is None
                and value.get("event_type") in _REOPENING_EVENTS
            )
        ):
            closing[session].append(pair)
    return closing


def _handouts(history: History) -> dict[str, list[tuple[Pair, Op, str]]]:
    """Per cart, the checkouts that answered ok with a session id, in completion order."""
    by_cart: dict[str, list[tuple[Pair, Op, str]]] = defaultdict(list)
    for pair in history.pairs("checkout"):
        done = pair.completion
        if done is None or done.type is not OpType.OK:
            continue
        cart = str_field(pair.invoke.value, "cart_id")
        session = str_field(done.value, "checkout_session_id")
        if cart is not None and session is not None:
            by_cart[cart].append((pair, done, session))
    for handouts in by_cart.values():
        handouts.sort(key=lambda h: h[1].index)
    return by_cart


def _new_session_reason(
    previous: str,
    previous_first: Pair,
    new: Pair,
    stripe: StripeSession | None,
    closing: list[Pair],
    set_items: list[Pair],
) -> str | None:
    """Why ``new`` may legitimately carry another session than ``previous``; None if nothing."""
    if stripe is not None and stripe.paid:
        return None  # a paid cart returns its session forever (6.4)
    before_new = completion_index(new)
    if any(p.invoke.index < before_new for p in closing):
        return f"{previous} was expired or its async payment failed before"
    if not closing and stripe is not None and stripe.status == "expired":
        # Stripe expired it on its own: the history cannot say when, so give the benefit of doubt.
        return f"{previous} expired at Stripe"
    for item in set_items:
        if (
            may_have_happened(item)
            and item.invoke.index < before_new
            and completion_index(item) > previous_first.invoke.index
        ):
            return f"the cart changed (op {item.invoke.index})"
    return None


def _edits_while_locked(
    handouts: list[tuple[Pair, Op, str]],
    set_items: list[Pair],
    stripe: dict[str, StripeSession],
    closing: dict[str, list[Pair]],
) -> list[Evidence]:
    """Item edits a cart accepted while its session was open or paid (6.4: those get 409).

    Only edits answered ok and invoked after a checkout of the cart had answered are judged; the
    session is then settled unless something that may have closed it unpaid (expiry, a failed
    async payment) was invoked before the edit ended, or Stripe expired it by itself.
    """
    found: list[Evidence] = []
    for edit in set_items:
        done = edit.completion
        if done is None or done.type is not OpType.OK:
            continue
        earlier = [h for h in handouts if h[1].index < edit.invoke.index]
        if not earlier:
            continue
        _pair, _done, session = earlier[-1]
        known = stripe.get(session)
        paid = known is not None and known.paid
        if not paid:
            ended = completion_index(edit)
            if any(p.invoke.index < ended for p in closing.get(session, [])):
                continue
            if known is not None and known.status == "expired":
                continue  # Stripe expired it unprompted: the history cannot say when
        value = edit.invoke.value
        found.append(
            op_evidence(
                done,
                f"cart {value.get('cart_id')} accepted {value.get('sku')} x "
                f"{value.get('quantity')} while its session {session} was "
                f"{'paid' if paid else 'open'}: the cart should be locked (409)",
            )
        )
    return found


def check_one_session_per_cart(history: History, state: FinalState) -> Verdict:
    """Checkouts of an unchanged cart all carry one session id; a cart is paid at most once.

    Only sessions handed to clients count (6.10). A new id is legitimate after the previous
    session expired or its async payment failed (an operation that may have done so was invoked
    before the new id was answered; or Stripe expired it unprompted), or after the cart may have
    changed; never after the previous session was paid. Once a newer id is handed out, a checkout
    invoked after that must not answer the superseded one. A cart whose session is open or paid
    refuses item edits (6.4): otherwise the buyer pays for one cart and the shop ships another.
    """
    handouts = _handouts(history)
    stripe = sessions_by_id(state)
    paid_by_cart: dict[str, list[StripeSession]] = defaultdict(list)
    for candidate in state.sessions:
        if candidate.paid and (cart := session_cart(candidate)) is not None:
            paid_by_cart[cart].append(candidate)
    if not handouts and not paid_by_cart:
        return not_exercised(ONE_SESSION_PER_CART, "No checkout answered ok and no paid session.")
    closing = _reopenings(history)
    set_items = set_item_pairs_by_cart(history)
    violations: list[Evidence] = []
    carts_violated: set[str] = set()
    distinct = 0
    for cart, answers in sorted(handouts.items()):
        first: dict[str, Pair] = {}
        superseded_at: dict[str, int] = {}
        current: str | None = None
        for pair, done, session in answers:
            if current is None:
                current, first[session] = session, pair
                continue
            if session == current:
                continue
            if session in first:
                superseded = superseded_at.get(session)
                if superseded is not None and pair.invoke.index > superseded:
                    carts_violated.add(cart)
                    violations.append(
                        op_evidence(
                            done,
                            f"cart {cart} handed out {session} again after {current} replaced it",
                        )
                    )
                continue
            reason = _new_session_reason(
                current,
                first[current],
                pair,
                stripe.get(current),
                closing.get(current, []),
                set_items.get(cart, []),
            )
            if reason is None:
                carts_violated.add(cart)
                known = stripe.get(current)
                state_of = (
                    f"{known.status}/{known.payment_status}" if known else "unknown to Stripe"
                )
                violations.append(
                    op_evidence(
                        done,
                        f"cart {cart} handed out {session} while {current} (op "
                        f"{first[current].invoke.index}, {state_of}) still held the unchanged cart",
                    )
                )
            else:
                superseded_at[current] = done.index
            current, first[session] = session, pair
        distinct += len(first)
    for cart, answers in sorted(handouts.items()):
        locked = _edits_while_locked(answers, set_items.get(cart, []), stripe, closing)
        if locked:
            carts_violated.add(cart)
            violations.extend(locked)
    for cart, paid in sorted(paid_by_cart.items()):
        if len(paid) > 1:
            carts_violated.add(cart)
            violations.extend(
                session_evidence(s, f"cart {cart} paid {len(paid)} times") for s in paid
            )
    # Contract section 3: a session is created with an Idempotency-Key, so a retry after a lost
    # answer gets the same session back instead of making a second one for the cart.
    for request in state.stripe_requests:
        if (
            request.method == "POST"
            and request.path == "/v1/checkout/sessions"
            and request.idempotency_key is None
        ):
            cart = request.subject or "?"
            carts_violated.add(cart)
            violations.append(
                Evidence(
                    "request",
                    cart,
                    f"session for cart {cart} created without Idempotency-Key (answered "
                    f"{request.status}): a retry makes a second session",
                )
            )
    checkouts = sum(len(a) for a in handouts.values())
    counts = (
        f"{plural(len(handouts), 'cart')} ({plural(checkouts, 'checkout')} answered ok, "
        f"{plural(distinct, 'distinct session')} handed out) and "
        f"{plural(sum(len(p) for p in paid_by_cart.values()), 'paid session')}"
    )
    return judged(
        ONE_SESSION_PER_CART,
        violations,
        f"One session per unchanged cart and no cart paid twice, across {counts}.",
        f"{plural(len(carts_violated), 'cart')} got extra sessions or were paid twice, "
        f"across {counts}.",
    )
