"""Malformed requests on every route: each must get a 4xx with a reason, never a 5xx."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.workload.context import WorkloadContext


class BadInputParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(default=1, ge=1, le=20)


def _cases(
    ctx: WorkloadContext, cart_id: str, user: str, sku: str
) -> list[tuple[str, str, str, bytes, dict[str, str]]]:
    """(description, method, path, body, headers): the classic ways clients send garbage."""
    js = {"Content-Type": "application/json"}
    me = {**js, "X-User-Id": user}
    huge = json.dumps({"quantity": 10**12}).encode()
    return [
        ("cart: body is not JSON", "POST", "/carts", b"{not json", js),
        ("cart: user_id missing", "POST", "/carts", b"{}", js),
        ("cart: user_id is a list", "POST", "/carts", b'{"user_id": [1, 2]}', js),
        ("cart: body is a JSON array", "POST", "/carts", b"[]", js),
        (
            "item: quantity negative",
            "PUT",
            f"/carts/{cart_id}/items/{sku}",
            b'{"quantity": -1}',
            me,
        ),
        (
            "item: quantity a string",
            "PUT",
            f"/carts/{cart_id}/items/{sku}",
            b'{"quantity": "two"}',
            me,
        ),
        ("item: quantity huge", "PUT", f"/carts/{cart_id}/items/{sku}", huge, me),
        (
            "item: quantity a float",
            "PUT",
            f"/carts/{cart_id}/items/{sku}",
            b'{"quantity": 1.5}',
            me,
        ),
        ("item: no X-User-Id", "PUT", f"/carts/{cart_id}/items/{sku}", b'{"quantity": 1}', js),
        (
            "item: unknown cart",
            "PUT",
            f"/carts/nope-{ctx.run_id}/items/{sku}",
            b'{"quantity": 1}',
            me,
        ),
        ("item: truncated JSON", "PUT", f"/carts/{cart_id}/items/{sku}", b'{"quantity": ', me),
        (
            "checkout: email missing",
            "POST",
            f"/carts/{cart_id}/checkout",
            b'{"name": "x", "address": "y"}',
            me,
        ),
        (
            "checkout: address nested too deep",
            "POST",
            f"/carts/{cart_id}/checkout",
            b'{"email": "a@b.c", "name": "x", "address": {"a": {"b": "c"}}}',
            me,
        ),
        ("checkout: not JSON", "POST", f"/carts/{cart_id}/checkout", b"\xff\xfe", me),
        (
            "checkout: wrong user",
            "POST",
            f"/carts/{cart_id}/checkout",
            b'{"email": "a@b.c", "name": "x", "address": "y"}',
            {**js, "X-User-Id": user + "-other"},
        ),
        (
            "product: price zero",
            "PUT",
            f"/admin/products/{sku}-bad",
            b'{"name": "x", "price_cents": 0, "stock": 1}',
            js,
        ),
        (
            "webhook: no signature",
            "POST",
            "/webhooks/stripe",
            b'{"type": "checkout.session.completed"}',
            js,
        ),
        (
            "webhook: garbage signature",
            "POST",
            "/webhooks/stripe",
            b"{}",
            {**js, "Stripe-Signature": "t=abc,v1=zz"},
        ),
        (
            "webhook: empty body",
            "POST",
            "/webhooks/stripe",
            b"",
            {**js, "Stripe-Signature": "t=1,v1=00"},
        ),
        ("orders: no token", "GET", "/admin/orders", b"", {}),
        ("product: unknown sku", "GET", f"/products/nope-{ctx.run_id}", b"", {}),
    ]


async def bad_input(ctx: WorkloadContext, raw: dict[str, Any]) -> None:
    params = BadInputParams.model_validate(raw)
    if not ctx.products:
        raise ValueError("bad_input needs a product")
    sku = ctx.products[0].sku
    user = ctx.user(2000)
    process = ctx.worker()
    await ctx.phases.announce("bad-input")
    reply_cart = await ctx.adapter.create_cart(user)  # a real cart to aim at (not judged)
    cart_id = str(reply_cart.field("cart_id") or f"missing-{ctx.run_id}")
    for _ in range(params.rounds):
        for description, method, path, body, headers in _cases(ctx, cart_id, user, sku):
            await ctx.perform(
                process,
                "bad_request",
                {"method": method, "route": path, "description": description},
                partial(ctx.adapter.raw, method, path, body, headers),
            )
