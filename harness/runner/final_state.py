"""Watching a run's orders, bringing it to quiescence, and reading the final state checkers judge."""

from __future__ import annotations

import asyncio
import contextlib
import time
from functools import partial
from typing import Any

from harness.checkers import (
    FinalState,
    Order,
    Product,
    StripeRefund,
    StripeRequest,
    StripeSession,
    WebhookDelivery,
)
from harness.history import OBSERVER_PROCESS, History, OpType
from harness.stripe import StripeSimulator
from harness.target.adapter import TargetAdapter
from harness.workload.context import ProductSpec, WorkloadContext

OBSERVE_INTERVAL_S = 0.2  # while waiting for convergence
WATCH_INTERVAL_S = 0.5  # while the workload runs: light enough not to be the load


def run_carts(history: History) -> set[str]:
    """The carts this run created (a target that is not reset may hold others)."""
    return {
        str(op.value["cart_id"])
        for op in history.completions("create_cart", OpType.OK)
        if "cart_id" in op.value
    }


def _session_cart(session: dict[str, Any]) -> str | None:
    """The cart a session is for: client_reference_id, else metadata[cart_id] (contract 3 asks
    for both; a target that sets only one must not hide its sessions from the checkers)."""
    metadata = session.get("metadata") or {}
    cart = session.get("client_reference_id") or metadata.get("cart_id")
    return str(cart) if cart else None


def carts_at_stripe(sim: StripeSimulator) -> set[str]:
    """Every cart the simulator saw a session for (a load run's carts are not in its history)."""
    return {cart for s in sim.ledger.sessions() if (cart := _session_cart(s)) is not None}


def _sessions(sim: StripeSimulator, carts: set[str]) -> list[dict[str, Any]]:
    return [s for s in sim.ledger.sessions() if _session_cart(s) in carts]


async def expire_open_sessions(ctx: WorkloadContext, carts: set[str]) -> None:
    """Customers who never paid walk away, so every reservation must be released."""
    for session in _sessions(ctx.simulator, carts):
        if session.get("status") == "open":
            session_id = str(session["id"])
            await ctx.customer(
                "customer-final",
                "expire",
                {"checkout_session_id": session_id},
                partial(ctx.simulator.expire, session_id),
            )


def _finished(orders: list[dict[str, Any]], paid: set[str]) -> bool:
    final = {
        o["checkout_session_id"] for o in orders if o.get("status") in ("fulfilled", "refunded")
    }
    return paid <= final and not any(o.get("status") == "pending" for o in orders)


async def observe_orders(ctx: WorkloadContext, carts: set[str]) -> list[dict[str, Any]] | None:
    """One ``observe_orders`` op: the orders of ``carts`` the target lists now (None: no answer)."""
    invoke = ctx.history.invoke(OBSERVER_PROCESS, "observe_orders", {})
    try:
        reply = await ctx.adapter.orders()
    except Exception as exc:  # the target may be down, paused or restarting: outcome unknown
        ctx.history.complete(invoke, OpType.INFO, {"error": repr(exc)})
        return None
    if reply.ok and isinstance(reply.body, list):
        orders = [o for o in reply.body if str(o.get("cart_id")) in carts]
        ctx.history.complete(invoke, OpType.OK, {"orders": orders})
        return orders
    ctx.history.complete(invoke, OpType.FAIL, {"status": reply.status})
    return None


async def watch_orders(ctx: WorkloadContext, stop: asyncio.Event, limit_s: float) -> None:
    """Observe the run's orders until ``stop`` is set (at most ``limit_s``).

    Only what is observed can be judged: the convergence checker needs these looks to time when
    an order became final, and to see one that was final go back to pending or vanish, which no
    final read can show.
    """
    until = time.monotonic() + limit_s
    while not stop.is_set() and time.monotonic() < until:
        carts = run_carts(ctx.history)
        if carts:
            await observe_orders(ctx, carts)
        # The observation interval; a set ``stop`` ends the wait at once.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WATCH_INTERVAL_S)


async def observe_until_converged(
    ctx: WorkloadContext, carts: set[str], bound_s: float
) -> list[dict[str, Any]]:
    """Poll the target's orders (each poll is an ``observe_orders`` op) until every paid session
    has a final order, or ``bound_s`` passes. Polling *is* the measurement here."""
    deadline = time.monotonic() + bound_s
    orders: list[dict[str, Any]] = []
    while True:
        paid = {
            str(s["id"])
            for s in _sessions(ctx.simulator, carts)
            if s.get("payment_status") in ("paid", "no_payment_required")
        }
        seen = await observe_orders(ctx, carts)
        if seen is not None:
            orders = seen
            # Final orders are not enough while Stripe is still redelivering: a late duplicate
            # could still make a second order.
            if _finished(orders, paid) and ctx.simulator.pending_deliveries == 0:
                return orders
        if time.monotonic() >= deadline:
            return orders
        await asyncio.sleep(OBSERVE_INTERVAL_S)  # the observation interval


async def settle(
    ctx: WorkloadContext,
    carts: set[str],
    bound_s: float,
    watching: asyncio.Event | None = None,
) -> list[dict[str, Any]]:
    """Quiescence: webhooks delivered, unpaid sessions expired (their webhooks delivered too),
    then orders observed until final. Returns the last orders seen. A background watcher
    (``watching`` stops it) keeps looking while the deliveries drain, then this takes over."""
    with contextlib.suppress(TimeoutError):
        await asyncio.to_thread(ctx.simulator.wait_for_deliveries, bound_s)
    await expire_open_sessions(ctx, carts)
    with contextlib.suppress(TimeoutError):
        await asyncio.to_thread(ctx.simulator.wait_for_deliveries, bound_s)
    if watching is not None:
        watching.set()
    return await observe_until_converged(ctx, carts, bound_s)


async def read_products(adapter: TargetAdapter, products: list[ProductSpec]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for spec in products:
        reply = await adapter.get_product(spec.sku)
        if reply.ok:
            found[spec.sku] = Product(
                spec.sku, int(reply.field("price_cents")), int(reply.field("available"))
            )
    return found


def final_state(
    sim: StripeSimulator,
    carts: set[str],
    orders: list[dict[str, Any]],
    products: dict[str, Product],
    target_log: str,
    bound_s: float,
) -> FinalState:
    sessions = tuple(
        StripeSession(
            id=str(s["id"]),
            client_reference_id=s.get("client_reference_id"),
            status=str(s.get("status")),
            payment_status=str(s.get("payment_status")),
            amount_total=int(s.get("amount_total") or 0),
            payment_intent=str(s["payment_intent"]) if s.get("payment_intent") else None,
            metadata={str(k): str(v) for k, v in (s.get("metadata") or {}).items()},
        )
        for s in _sessions(sim, carts)
    )
    intents = {s.payment_intent for s in sessions if s.payment_intent}
    refunds = tuple(
        StripeRefund(str(r["id"]), str(r["payment_intent"]), int(r.get("amount") or 0))
        for r in sim.ledger.refunds()
        if r.get("payment_intent") in intents
    )
    parsed = tuple(Order.from_api(o) for o in orders)
    deliveries = tuple(
        WebhookDelivery(d.event_id, d.event_type, d.kind, d.status_code)
        for d in sim.ledger.deliveries()
    )
    requests = tuple(
        StripeRequest(r.method, r.path, r.idempotency_key, r.status, r.subject)
        for r in sim.ledger.requests()
    )
    return FinalState(
        products, parsed, sessions, refunds, target_log, bound_s, deliveries, requests
    )
