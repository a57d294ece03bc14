"""Stock invariants: conservation and no-oversell."""

from __future__ import annotations

from collections import defaultdict

from harness.checkers.model import Evidence, FinalState, Order, Verdict
from harness.checkers.support import (
    every,
    int_field,
    judged,
    not_exercised,
    op_evidence,
    order_evidence,
    plural,
    read_catalog,
    str_field,
)
from harness.history import History, OpType

CONSERVATION = "conservation"
NO_OVERSELL = "no-oversell"


def units_in(orders: tuple[Order, ...], status: str) -> dict[str, int]:
    units: dict[str, int] = defaultdict(int)
    for order in orders:
        if order.status == status:
            for item in order.items:
                units[item.sku] += item.quantity
    return dict(units)


def _orders_holding(orders: tuple[Order, ...], sku: str, status: str) -> list[Order]:
    return [o for o in orders if o.status == status and any(i.sku == sku for i in o.items)]


def check_conservation(history: History, state: FinalState) -> Verdict:
    """Per sku at quiescence: initial stock = available + sold (units in fulfilled orders)."""
    catalog = read_catalog(history, state)
    sold = units_in(state.orders, "fulfilled")
    judgeable = sorted(sku for sku in catalog.initial if sku in state.products)
    unjudged = sorted(catalog.initial.keys() - state.products.keys())
    if not judgeable and not unjudged:
        return not_exercised(CONSERVATION, "No sku was stocked in this run.")
    # A stocked product the target can no longer show (404, 5xx) cannot be shown to add up.
    violations: list[Evidence] = [
        Evidence("product", sku, "stocked at the start, but not readable at quiescence")
        for sku in unjudged
    ]
    context: list[Evidence] = []
    for sku in judgeable:
        available = state.products[sku].available
        sold_units = sold.get(sku, 0)
        accounted = available + sold_units
        candidates = catalog.initial[sku]
        if accounted in candidates:
            continue
        # Against the closest possible initial stock, so the reported gap is the smallest one.
        initial = min(candidates, key=lambda c: (abs(c - accounted), c))
        gap = initial - accounted
        why = (
            f"{plural(gap, 'unit')} leaked (reserved or taken and never released or sold)"
            if gap > 0
            else f"{plural(-gap, 'unit')} created from nothing"
        )
        violations.append(
            Evidence(
                "product",
                sku,
                f"initial stock {initial} != available {available} + sold {sold_units}: {why}",
            )
        )
        context.extend(op_evidence(op, f"set stock of {sku}") for op in catalog.set_ops[sku])
        # Pending orders hold reservations: the usual explanation of a leak at quiescence.
        context.extend(
            order_evidence(o, f"pending order still holds {sku}")
            for o in _orders_holding(state.orders, sku, "pending")
        )
    stocked = len(judgeable) + len(unjudged)
    return judged(
        CONSERVATION,
        violations,
        f"Stock is conserved for {every(stocked, 'sku')}.",
        f"Stock is not conserved for {len(violations)} of {plural(stocked, 'sku')}"
        + (f" ({len(unjudged)} no longer readable)" if unjudged else "")
        + ".",
        context,
    )


def check_no_oversell(history: History, state: FinalState) -> Verdict:
    """Sold never exceeds the initial stock; ``available`` is never observed below 0."""
    catalog = read_catalog(history, state)
    sold = units_in(state.orders, "fulfilled")
    violations: list[Evidence] = []
    context: list[Evidence] = []
    for sku, units in sorted(sold.items()):
        candidates = catalog.initial.get(sku)
        # The largest possible initial stock: an unknown set_stock gets the benefit of the doubt.
        if candidates and units > max(candidates):
            violations.append(
                Evidence(
                    "product",
                    sku,
                    f"{units} units sold in fulfilled orders > stock {max(candidates)}",
                )
            )
            context.extend(
                order_evidence(o, f"fulfilled order sells {sku}")
                for o in _orders_holding(state.orders, sku, "fulfilled")
            )
    for sku, product in sorted(state.products.items()):
        if product.available < 0:
            violations.append(Evidence("product", sku, f"final available {product.available} < 0"))
    observations = 0
    for op in history:
        # Any answer that reports availability (get_product, and set_stock's product) counts.
        if op.type is not OpType.OK or op.f not in ("get_product", "set_stock"):
            continue
        available = int_field(op.value, "available")
        if available is None:
            continue
        observations += 1
        if available < 0:
            sku = str_field(op.value, "sku") or "?"
            violations.append(op_evidence(op, f"{sku} observed with available {available} < 0"))
    judged_skus = len(sold.keys() & catalog.initial.keys())
    if not judged_skus and not state.products and not observations:
        return not_exercised(NO_OVERSELL, "No sale, product or availability to judge.")
    scope = (
        f"{plural(judged_skus, 'sku')} with sales, {plural(len(state.products), 'final product')} "
        f"and {plural(observations, 'availability observation')}"
    )
    return judged(
        NO_OVERSELL,
        violations,
        f"Nothing oversold across {scope}.",
        f"{plural(len(violations), 'oversell violation')} across {scope}.",
        context,
    )
