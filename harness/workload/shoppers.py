"""Buyers: carts, items, (duplicate) checkouts, payments, webhook storms, late events.

The flow runs in stages across all buyers (carts -> checkout -> pay -> after), announcing each
stage as a phase so faults can be placed exactly ("Redis down from phase pay"). Inside a stage,
buyers run concurrently, so N buyers checking out the last unit really race.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.history import OpType
from harness.workload.context import WorkloadContext
from harness.workload.events import session_event, signed

CANARY_DOMAIN = "pii-canary.invalid"


class ShoppersParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    buyers: int = Field(default=1, ge=1, le=500)
    concurrency: int = Field(default=10, ge=1, le=200)
    items: dict[str, int] | None = None  # sku -> quantity; default: the first product, 1 unit
    checkouts_per_cart: int = Field(default=1, ge=1, le=100)
    distinct_keys: bool = False  # each duplicate checkout sends its own Idempotency-Key
    pay: Literal["paid", "async_succeeded", "async_failed", "abandon", "none"] = "paid"
    redeliver: int = Field(default=0, ge=0, le=50)  # extra deliveries of each completed event
    late_expired_event: bool = False  # after payment, a validly signed `expired` for the session
    race_expiry: bool = False  # the session expires at the very moment the customer pays
    # A tampering client: the checkout body also names its own (tiny) prices, in the shapes a
    # naive service might read. The catalogue price must win.
    send_prices: bool = False
    # Second thoughts: with the session open, and again once paid, the buyer tries to change the
    # cart. Both must get 409 (contract 6.4), or the shop ships something other than was paid for.
    edit_after_checkout: bool = False
    settle_s: float = Field(default=10.0, ge=0, le=120)  # how long to let webhooks land per stage


@dataclass
class Buyer:
    n: int
    user_id: str
    cart_id: str | None = None
    session_id: str | None = None
    contact: dict[str, Any] = field(default_factory=dict)


async def bounded(concurrency: int, jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run jobs at most ``concurrency`` at a time; every job runs, in order of start."""
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(run(job) for job in jobs))


def canary_contact(ctx: WorkloadContext, n: int) -> dict[str, Any]:
    """Unique, recognisable PII: if any of it shows up in the target's logs, it leaked."""
    tag = ctx.rng.randbytes(4).hex()
    return {
        "email": f"canary.{tag}@{CANARY_DOMAIN}",
        "name": f"Canary Quill{tag}",
        "address": {"line1": f"{n} Canary Row {tag}", "city": "Leakville", "country": "US"},
    }


async def _settle(ctx: WorkloadContext, timeout_s: float) -> None:
    """Let the simulator deliver what it has (bounded: a fault may keep webhooks failing)."""
    # Still retrying under a fault is fine: quiescence at the end of the run waits longer.
    with contextlib.suppress(TimeoutError):
        await asyncio.to_thread(
            ctx.simulator.wait_for_deliveries, min(timeout_s, ctx.remaining_s())
        )


async def shoppers(ctx: WorkloadContext, raw: dict[str, Any]) -> None:
    params = ShoppersParams.model_validate(raw)
    by_name = {p.sku.removeprefix(f"{ctx.run_id}-"): p for p in ctx.products}
    if params.items is None:
        if not ctx.products:
            raise ValueError("the shoppers workload needs at least one product")
        wanted = {ctx.products[0].sku: 1}
    else:
        unknown = [sku for sku in params.items if sku not in by_name]
        if unknown:
            raise ValueError(f"items name unknown products: {', '.join(unknown)}")
        wanted = {by_name[sku].sku: qty for sku, qty in params.items.items()}
    buyers = [Buyer(n, ctx.user(n)) for n in range(params.buyers)]

    # Stage 1: carts.
    await ctx.phases.announce("carts")

    async def fill(buyer: Buyer) -> None:
        process = ctx.worker()
        op, reply = await ctx.perform(
            process,
            "create_cart",
            {"user_id": buyer.user_id},
            lambda: ctx.adapter.create_cart(buyer.user_id),
        )
        if op.type is not OpType.OK or reply is None:
            return
        buyer.cart_id = str(reply.field("cart_id"))
        for sku, quantity in wanted.items():
            cart_id = buyer.cart_id
            await ctx.perform(
                process,
                "set_item",
                {"cart_id": cart_id, "user_id": buyer.user_id, "sku": sku, "quantity": quantity},
                partial(ctx.adapter.set_item, cart_id, buyer.user_id, sku, quantity),
            )

    await bounded(params.concurrency, [partial(fill, b) for b in buyers])

    # Stage 2: checkouts; duplicates of one cart are fired together, as a double click is.
    await ctx.phases.announce("checkout")

    async def check_out(buyer: Buyer, copy: int) -> None:
        if buyer.cart_id is None:
            return
        key = f"{buyer.cart_id}-k{copy}" if params.distinct_keys else None
        cart_id = buyer.cart_id
        value = {"cart_id": cart_id, "user_id": buyer.user_id, **buyer.contact}
        if key is not None:
            value["idempotency_key"] = key
        op, reply = await ctx.perform(
            ctx.worker(),
            "checkout",
            value,
            lambda: ctx.adapter.checkout(cart_id, buyer.user_id, buyer.contact, key),
        )
        if op.type is OpType.OK and reply is not None and buyer.session_id is None:
            buyer.session_id = str(reply.field("checkout_session_id"))
            ctx.sessions[buyer.session_id] = cart_id

    for buyer in buyers:
        buyer.contact = canary_contact(ctx, buyer.n)
        if params.send_prices:
            buyer.contact |= {
                "prices": dict.fromkeys(wanted, 1),
                "unit_price_cents": 1,
                "amount_total": 1,
            }
    await bounded(
        params.concurrency * params.checkouts_per_cart,
        [partial(check_out, b, c) for b in buyers for c in range(params.checkouts_per_cart)],
    )

    async def second_thoughts(buyer: Buyer) -> None:
        if buyer.cart_id is None or buyer.session_id is None:
            return
        cart_id = buyer.cart_id
        sku, quantity = next(iter(wanted.items()))
        await ctx.perform(
            ctx.worker(),
            "set_item",
            {
                "cart_id": cart_id,
                "user_id": buyer.user_id,
                "sku": sku,
                "quantity": quantity + 1,
                "after_checkout": True,
            },
            partial(ctx.adapter.set_item, cart_id, buyer.user_id, sku, quantity + 1),
        )

    if params.edit_after_checkout:
        await ctx.phases.announce("edit-open")
        await bounded(params.concurrency, [partial(second_thoughts, b) for b in buyers])

    # Stage 3: the customers pay (or walk away) at Stripe.
    await ctx.phases.announce("pay")

    async def pay(buyer: Buyer) -> None:
        session_id = buyer.session_id
        if session_id is None or params.pay == "none":
            return
        process = f"customer-{buyer.n}"
        if params.pay == "abandon":
            await ctx.customer(
                process,
                "expire",
                {"checkout_session_id": session_id},
                lambda: ctx.simulator.abandon(session_id),
            )
            return
        outcome: Any = params.pay
        paying = ctx.customer(
            process,
            "pay",
            {"checkout_session_id": session_id, "outcome": params.pay},
            lambda: ctx.simulator.pay(session_id, outcome=outcome),
        )
        if not params.race_expiry:
            await paying
            return
        # Stripe decides which came first; the target must cope with either order.
        await asyncio.gather(
            paying,
            ctx.customer(
                f"expiry-{buyer.n}",
                "expire",
                {"checkout_session_id": session_id},
                lambda: ctx.simulator.expire(session_id),
            ),
        )

    await bounded(params.concurrency, [partial(pay, b) for b in buyers])
    await ctx.phases.announce("paid")
    await _settle(ctx, params.settle_s)

    # Stage 4: what production adds after payment: storms of redeliveries, late events.
    paid = [b for b in buyers if b.session_id is not None and params.pay != "none"]
    if params.edit_after_checkout:
        await ctx.phases.announce("edit-paid")
        await bounded(params.concurrency, [partial(second_thoughts, b) for b in paid])
    if params.redeliver:
        await ctx.phases.announce("redeliver")

        async def storm(buyer: Buyer) -> None:
            assert buyer.session_id is not None
            events = ctx.simulator.ledger.events(session_id=buyer.session_id)
            completed = [e for e in events if e["type"] == "checkout.session.completed"]
            for event in completed:
                for _ in range(params.redeliver):
                    ctx.simulator.redeliver(str(event["id"]))

        await bounded(params.concurrency, [partial(storm, b) for b in paid])
        await _settle(ctx, params.settle_s)
    if params.late_expired_event:
        await ctx.phases.announce("late-events")

        async def late(buyer: Buyer) -> None:
            assert buyer.session_id is not None
            session = ctx.simulator.ledger.session(buyer.session_id)
            event = session_event("checkout.session.expired", session, status="expired")
            payload, header = signed(event, ctx.webhook_secret)
            await ctx.perform(
                ctx.worker(),
                "deliver_webhook",
                {
                    "event_type": event["type"],
                    "checkout_session_id": buyer.session_id,
                    "tamper": None,
                    "late": True,
                },
                lambda: ctx.adapter.deliver_webhook(payload, header),
            )

        await bounded(params.concurrency, [partial(late, b) for b in paid])
    await ctx.phases.announce("done")
