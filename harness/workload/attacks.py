"""Webhook attacks: forged, tampered, stale and far-future events for real, unpaid sessions.

Each is sent straight to the target (not through the simulator), so the history records exactly
what was sent and what the target answered: authentic-webhooks-only judges both.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.history import OpType
from harness.workload.context import WorkloadContext
from harness.workload.events import TAMPERS, Tamper, session_event, signed
from harness.workload.shoppers import canary_contact


class AttackParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sessions: int = Field(default=2, ge=1, le=50)  # unpaid sessions to attack
    kinds: list[Tamper] = Field(default_factory=lambda: list(TAMPERS))
    copies: int = Field(default=1, ge=1, le=20)
    # Validly signed events the target cannot use: one for a session it never created, one of
    # its own sessions stripped of metadata (as a Payment Link's would be). 2xx or 4xx, never 5xx.
    foreign_events: bool = True


async def webhook_attacks(ctx: WorkloadContext, raw: dict[str, Any]) -> None:
    params = AttackParams.model_validate(raw)
    if not ctx.products:
        raise ValueError("webhook_attacks needs a product to put in the attacked carts")
    sku = ctx.products[0].sku
    await ctx.phases.announce("attack-setup")
    targets: list[str] = []
    for n in range(params.sessions):
        process = ctx.worker()
        user = ctx.user(1000 + n)
        op, reply = await ctx.perform(
            process,
            "create_cart",
            {"user_id": user},
            partial(ctx.adapter.create_cart, user),
        )
        if op.type is not OpType.OK or reply is None:
            continue
        cart_id = str(reply.field("cart_id"))
        await ctx.perform(
            process,
            "set_item",
            {"cart_id": cart_id, "user_id": user, "sku": sku, "quantity": 1},
            partial(ctx.adapter.set_item, cart_id, user, sku, 1),
        )
        contact = canary_contact(ctx, 1000 + n)
        op, reply = await ctx.perform(
            process,
            "checkout",
            {"cart_id": cart_id, "user_id": user, **contact},
            partial(ctx.adapter.checkout, cart_id, user, contact),
        )
        if op.type is OpType.OK and reply is not None:
            session_id = str(reply.field("checkout_session_id"))
            ctx.sessions[session_id] = cart_id
            targets.append(session_id)
    await ctx.phases.announce("attack")
    for session_id in targets:
        session = ctx.simulator.ledger.session(session_id)
        for kind in params.kinds:
            for _ in range(params.copies):
                event = session_event(
                    "checkout.session.completed",
                    session,
                    status="complete",
                    payment_status="paid",
                    payment_intent="pi_forged_" + ctx.rng.randbytes(6).hex(),
                )
                payload, header = signed(event, ctx.webhook_secret, kind)
                await ctx.perform(
                    ctx.worker(),
                    "deliver_webhook",
                    {
                        "event_type": event["type"],
                        "checkout_session_id": session_id,
                        "tamper": kind,
                    },
                    partial(ctx.adapter.deliver_webhook, payload, header),
                )
    if params.foreign_events and targets:
        own = ctx.simulator.ledger.session(targets[0])
        unknown = {
            **own,
            "id": "cs_test_foreign" + ctx.rng.randbytes(8).hex(),
            "metadata": {},
            "client_reference_id": None,
        }
        stripped = {**own, "metadata": {}, "client_reference_id": None}
        for label, session in (("unknown-session", unknown), ("no-metadata", stripped)):
            event = session_event(
                "checkout.session.completed",
                session,
                status="complete",
                payment_status="paid",
                payment_intent=None,
            )
            payload, header = signed(event, ctx.webhook_secret)
            await ctx.perform(
                ctx.worker(),
                "deliver_webhook",
                {
                    "event_type": event["type"],
                    "checkout_session_id": session["id"],
                    "tamper": None,
                    "foreign": label,
                },
                partial(ctx.adapter.deliver_webhook, payload, header),
            )
    await ctx.phases.announce("attack-done")
