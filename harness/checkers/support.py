"""Shared, pure reading of a history and a final state for the checkers.

Nothing here judges an invariant: it extracts facts (initial stock, catalog prices, which cart a
Stripe session belongs to, what a cart may have held at a checkout) with the indeterminacy of
``info`` operations kept explicit, the way Jepsen checkers treat them: an ``info`` operation may
have taken effect at any moment after its invocation, or never.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.model import Evidence, FinalState, Order, Outcome, StripeSession, Verdict
from harness.history import History, Op, OpType
from harness.history.model import Pair

EVIDENCE_CAP = 20
FINAL_ORDER_STATUSES = frozenset({"fulfilled", "refunded"})
# Possible totals of a cart are enumerated exactly up to this many; beyond, the checkout is skipped.
MAX_POSSIBLE_TOTALS = 4096


# -- small typed readers for JSON-ish op values ---------------------------------------------------


def str_field(value: Mapping[str, Any], key: str) -> str | None:
    raw = value.get(key)
    return raw if isinstance(raw, str) and raw else None


def int_field(value: Mapping[str, Any], key: str) -> int | None:
    raw = value.get(key)
    # bool is an int subclass; a JSON true is never a count or an amount.
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (plural_form or noun + 's')}"


def every(count: int, noun: str, plural_form: str | None = None) -> str:
    """ "the 1 sku" / "all 3 skus": a pass summary that reads well at any count."""
    return f"{'the' if count == 1 else 'all'} {plural(count, noun, plural_form)}"


def is_4xx(status: int | None) -> bool:
    return status is not None and 400 <= status < 500


def completion_index(pair: Pair) -> float:
    """Where an operation ended in the history; an unfinished one may still take effect later."""
    return float("inf") if pair.completion is None else float(pair.completion.index)


def may_have_happened(pair: Pair) -> bool:
    """ok or info (or unfinished): only a ``fail`` definitely did not take effect."""
    return pair.outcome is not OpType.FAIL


def op_evidence(op: Op, detail: str) -> Evidence:
    return Evidence("op", str(op.index), f"{op.process} {op.type.value} {op.f}: {detail}")


# -- verdicts -------------------------------------------------------------------------------------


def make_verdict(
    invariant: str, outcome: Outcome, summary: str, evidence: Sequence[Evidence] = ()
) -> Verdict:
    """A verdict with its evidence capped, saying how much was left out."""
    shown = tuple(evidence[:EVIDENCE_CAP])
    hidden = len(evidence) - len(shown)
    if hidden > 0:
        shown += (Evidence("truncated", str(hidden), f"{hidden} more items not shown"),)
        summary = f"{summary.rstrip('.')} ({hidden} more evidence items not shown)."
    return Verdict(invariant, outcome, summary, shown)


def judged(
    invariant: str,
    violations: Sequence[Evidence],
    pass_summary: str,
    fail_summary: str,
    context: Sequence[Evidence] = (),
) -> Verdict:
    """PASS or FAIL from a list of violations; ``context`` explains a failure (listed after it)."""
    if violations:
        return make_verdict(invariant, Outcome.FAIL, fail_summary, [*violations, *context])
    return make_verdict(invariant, Outcome.PASS, pass_summary)


def not_exercised(invariant: str, summary: str) -> Verdict:
    return make_verdict(invariant, Outcome.NOT_EXERCISED, summary)


# -- catalog: initial stock and prices ------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """What the harness set up: possible initial stock and the catalog price, per sku.

    ``initial`` holds every stock the sku may have started from: the last ``set_stock`` that
    answered ok, plus any ``set_stock`` whose outcome is unknown (it may have landed after).
    """

    initial: dict[str, frozenset[int]] = field(default_factory=dict)
    prices: dict[str, int] = field(default_factory=dict)
    set_ops: dict[str, tuple[Op, ...]] = field(default_factory=dict)

    def price(self, sku: str) -> int | None:
        return self.prices.get(sku)


def read_catalog(history: History, state: FinalState) -> Catalog:
    last_ok: dict[str, Pair] = {}
    uncertain: dict[str, list[Pair]] = defaultdict(list)
    for pair in history.pairs("set_stock"):
        sku = str_field(pair.invoke.value, "sku")
        if sku is None or int_field(pair.invoke.value, "stock") is None:
            continue
        if pair.outcome is OpType.OK:
            previous = last_ok.get(sku)
            if previous is None or completion_index(pair) > completion_index(previous):
                last_ok[sku] = pair
        elif pair.outcome is OpType.INFO:
            uncertain[sku].append(pair)
    initial: dict[str, frozenset[int]] = {}
    prices: dict[str, int] = {}
    set_ops: dict[str, tuple[Op, ...]] = {}
    for sku in last_ok.keys() | uncertain.keys():
        pairs = ([last_ok[sku]] if sku in last_ok else []) + uncertain[sku]
        initial[sku] = frozenset(
            stock for p in pairs if (stock := int_field(p.invoke.value, "stock")) is not None
        )
        set_ops[sku] = tuple(p.invoke for p in pairs)
        price = int_field(pairs[0].invoke.value, "price_cents")
        if price is not None:
            prices[sku] = price
    # Without a set_stock in the history, the product as the target reports it is the catalog.
    for sku, product in state.products.items():
        prices.setdefault(sku, product.price_cents)
    return Catalog(initial, prices, set_ops)


# -- Stripe sessions and orders -------------------------------------------------------------------


def session_cart(session: StripeSession) -> str | None:
    """The cart a session was created for (``client_reference_id``, else ``metadata[cart_id]``)."""
    return session.client_reference_id or session.metadata.get("cart_id") or None


def paid_cart_sessions(state: FinalState) -> list[StripeSession]:
    """Paid sessions that belong to a cart: the ones that must end with an order."""
    return [s for s in state.sessions if s.paid and session_cart(s) is not None]


def sessions_by_id(state: FinalState) -> dict[str, StripeSession]:
    return {s.id: s for s in state.sessions}


def orders_by_session(orders: Iterable[Order]) -> dict[str, list[Order]]:
    grouped: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        grouped[order.checkout_session_id].append(order)
    return grouped


def order_evidence(order: Order, detail: str) -> Evidence:
    return Evidence(
        "order",
        order.order_id,
        f"{detail} (session {order.checkout_session_id}, cart {order.cart_id}, "
        f"status {order.status}, amount {order.amount_total})",
    )


def session_evidence(session: StripeSession, detail: str) -> Evidence:
    return Evidence(
        "session",
        session.id,
        f"{detail} (cart {session_cart(session)}, {session.status}/{session.payment_status}, "
        f"amount {session.amount_total})",
    )


# -- carts: what a cart may have held when it was checked out -------------------------------------


def set_item_pairs_by_cart(history: History) -> dict[str, list[Pair]]:
    grouped: dict[str, list[Pair]] = defaultdict(list)
    for pair in history.pairs("set_item"):
        cart = str_field(pair.invoke.value, "cart_id")
        if cart is not None:
            grouped[cart].append(pair)
    return grouped


def possible_contents(set_items: Sequence[Pair], at: Pair) -> dict[str, frozenset[int]] | None:
    """Every quantity each sku may have had in the cart when ``at`` (a checkout) took effect.

    Each line is a last-writer-wins register. A ``set_item`` that answered ok before ``at`` was
    invoked definitely happened before it, and is overwritten by any such write invoked after it
    completed; a ``set_item`` concurrent with ``at`` or of unknown outcome may or may not count.
    ``None`` when an operation is unreadable (the contents cannot be reconstructed).
    """
    start = at.invoke.index
    end = completion_index(at)
    definite: dict[str, list[Pair]] = defaultdict(list)
    uncertain: dict[str, set[int]] = defaultdict(set)
    for pair in set_items:
        if not may_have_happened(pair) or pair.invoke.index > end:
            continue
        sku = str_field(pair.invoke.value, "sku")
        quantity = int_field(pair.invoke.value, "quantity")
        if sku is None or quantity is None:
            return None
        if pair.outcome is OpType.OK and completion_index(pair) < start:
            definite[sku].append(pair)
        else:
            uncertain[sku].add(quantity)
    contents: dict[str, frozenset[int]] = {}
    for sku in definite.keys() | uncertain.keys():
        writes = definite.get(sku, [])
        latest = {
            q
            for w in writes
            if not any(o.invoke.index > completion_index(w) for o in writes)
            and (q := int_field(w.invoke.value, "quantity")) is not None
        }
        contents[sku] = frozenset((latest or {0}) | uncertain.get(sku, set()))
    return contents


def possible_totals(
    contents: Mapping[str, frozenset[int]], prices: Mapping[str, int]
) -> frozenset[int] | None:
    """Every Σ price * quantity the contents allow; ``None`` if a price is unknown or too many."""
    totals: set[int] = {0}
    for sku, quantities in sorted(contents.items()):
        if quantities == frozenset({0}):
            continue
        price = prices.get(sku)
        if price is None:
            return None
        totals = {t + price * q for t in totals for q in quantities}
        if len(totals) > MAX_POSSIBLE_TOTALS:
            return None
    return frozenset(totals)


def describe_amounts(amounts: Iterable[int]) -> str:
    ordered = sorted(amounts)
    if len(ordered) <= 4:
        return " or ".join(str(a) for a in ordered)
    return f"one of {len(ordered)} values in [{ordered[0]}, {ordered[-1]}]"
