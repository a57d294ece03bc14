"""``GraphQLShopAdapter`` against the GraphQL-style fixture service: every answer comes back in the
contract's statuses and shapes, and the harness runs scenarios through it end to end."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from harness.stack.network import free_port
from harness.stack.stack import Stack
from harness.stripe import StripeSimulator, sign
from harness.target.adapter import Reply
from harness.target.examples.graphql import GraphQLShopAdapter, error_reply
from tests.target.helpers import REPO, by_scenario, run_cli, start_module, summary

ADMIN = "admin-" + secrets.token_hex(8)
CONTACT = {"email": "a@example.com", "name": "A Buyer", "address": "1 Main St"}


@pytest.fixture
def shop_url(
    stack: Stack,
    healed: Stack,
    fresh_database: str,
    fresh_redis_db: str,
    stripe_sim: StripeSimulator,
    tmp_path: Path,
) -> Iterator[str]:
    """``python -m tests.fixtures.graphql_shop`` with the contract's environment, ready."""
    env = {
        "PORT": str(free_port()),
        "DATABASE_URL": fresh_database,
        "REDIS_URL": fresh_redis_db,
        "STRIPE_API_BASE": stack.proxied["stripe"],
        "STRIPE_SECRET_KEY": "sk_test_graphqlshop",
        "STRIPE_WEBHOOK_SECRET": stripe_sim.webhook_secret,
        "ADMIN_TOKEN": ADMIN,
    }
    process = start_module("graphql-shop", "tests.fixtures.graphql_shop", env, tmp_path / "log")
    url = f"http://127.0.0.1:{env['PORT']}"
    stripe_sim.add_webhook_endpoint(f"{url}/hooks/stripe-events")
    try:
        yield url
    finally:
        process.stop()


@pytest.fixture
async def shop(shop_url: str) -> AsyncIterator[GraphQLShopAdapter]:
    adapter = GraphQLShopAdapter(shop_url, ADMIN, timeout_s=10.0)
    try:
        yield adapter
    finally:
        await adapter.aclose()


def sku() -> str:
    return "gql-" + uuid.uuid4().hex[:8]


async def test_products_come_back_in_contract_shape(shop: GraphQLShopAdapter) -> None:
    assert (await shop.health()).status == 200
    mug = sku()
    put = await shop.put_product(mug, "Mug", 1250, 3)
    assert put == Reply(
        200, {"sku": mug, "name": "Mug", "price_cents": 1250, "available": 3, "stock": 3}
    )
    got = await shop.get_product(mug)
    assert got == Reply(200, {"sku": mug, "name": "Mug", "price_cents": 1250, "available": 3})
    assert (await shop.get_product(sku())).status == 404
    assert (await shop.put_product(mug, "Mug", 0, 3)).status == 422


async def test_a_wrong_admin_token_is_401(shop_url: str) -> None:
    intruder = GraphQLShopAdapter(shop_url, "not-the-token")
    try:
        assert (await intruder.put_product(sku(), "x", 100, 1)).status == 401
        assert (await intruder.orders()).status == 401
    finally:
        await intruder.aclose()


async def test_cart_errors_map_to_the_contracts_statuses(shop: GraphQLShopAdapter) -> None:
    mug = sku()
    await shop.put_product(mug, "Mug", 1250, 1)
    created = await shop.create_cart("alice")
    assert created.status == 201
    cart_id = str(created.field("cart_id"))

    item = await shop.set_item(cart_id, "alice", mug, 2)
    assert item == Reply(
        200,
        {
            "cart_id": cart_id,
            "user_id": "alice",
            "items": [{"sku": mug, "quantity": 2, "unit_price_cents": 1250}],
            "total_cents": 2500,
        },
    )
    assert (await shop.set_item(cart_id, "mallory", mug, 1)).status == 403
    assert (await shop.set_item(cart_id, "alice", sku(), 1)).status == 404
    assert (await shop.set_item(str(uuid.uuid4()), "alice", mug, 1)).status == 404
    assert (await shop.set_item(cart_id, "alice", mug, -1)).status == 422

    # Two units wanted, one in stock: the contract's out-of-stock answer, sku included.
    refused = await shop.checkout(cart_id, "alice", CONTACT)
    assert refused == Reply(409, {"error": "out_of_stock", "sku": mug})


async def test_checkout_pay_and_order(
    shop: GraphQLShopAdapter, stripe_sim: StripeSimulator
) -> None:
    mug = sku()
    await shop.put_product(mug, "Mug", 1250, 5)
    cart_id = str((await shop.create_cart("bob")).field("cart_id"))
    await shop.set_item(cart_id, "bob", mug, 2)

    first = await shop.checkout(cart_id, "bob", CONTACT, idempotency_key="k-1")
    assert first.status == 201
    assert first.field("amount_total") == 2500
    session_id = first.field("checkout_session_id")
    again = await shop.checkout(cart_id, "bob", CONTACT, idempotency_key="k-2")
    assert again.field("checkout_session_id") == session_id  # one session per unchanged cart
    assert (await shop.set_item(cart_id, "bob", mug, 1)).status == 409  # locked

    stripe_sim.pay(str(session_id))
    stripe_sim.wait_for_deliveries(20)
    orders = await shop.orders()
    assert orders.status == 200
    [order] = [o for o in orders.body if o["cart_id"] == cart_id]
    assert order == {
        "order_id": order["order_id"],
        "cart_id": cart_id,
        "user_id": "bob",
        "checkout_session_id": session_id,
        "status": "fulfilled",
        "amount_total": 2500,
        "items": [{"sku": mug, "quantity": 2, "unit_price_cents": 1250}],
    }


async def test_webhooks_go_to_their_own_path(
    shop: GraphQLShopAdapter, stripe_sim: StripeSimulator
) -> None:
    assert shop.webhook_url.endswith("/hooks/stripe-events")
    cart_id = str(uuid.uuid4())  # a session this service never created
    session = {
        "id": "cs_test_unknown",
        "object": "checkout.session",
        "status": "expired",
        "client_reference_id": cart_id,
    }
    event = json.dumps(
        {
            "id": "evt_" + secrets.token_hex(8),
            "object": "event",
            "type": "checkout.session.expired",
            "created": int(time.time()),
            "data": {
                "object": {
                    **session,
                    "payment_status": "unpaid",
                    "metadata": {"cart_id": cart_id, "user_id": "nobody"},
                }
            },
        }
    ).encode()
    forged = await shop.deliver_webhook(event, sign(event, "whsec_wrong", int(time.time())))
    assert forged.status == 400
    valid = sign(event, stripe_sim.webhook_secret, int(time.time()))
    assert (await shop.deliver_webhook(event, valid)).ok  # an unknown session: 2xx, no change


async def test_requests_that_are_not_graphql_get_400(shop: GraphQLShopAdapter) -> None:
    headers = {"Content-Type": "application/json"}
    assert (await shop.raw("POST", "/graphql", b"{not json", headers)).status == 400
    unknown = b'{"query": "mutation { dropTables { ok } }"}'
    assert (await shop.raw("POST", "/graphql", unknown, headers)).status == 200  # GraphQL error


def test_unknown_error_codes_mean_outcome_unknown() -> None:
    # The workload counts 4xx and 503 as "nothing happened": a code the adapter does not know
    # must not claim that.
    assert error_reply({"message": "boom", "extensions": {"code": "INTERNAL"}}).status == 500
    assert error_reply({"message": "no code"}).status == 500
    assert error_reply({"extensions": {"code": "UNAVAILABLE"}}).status == 503


def test_the_harness_runs_scenarios_through_the_adapter(tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = run_cli(
        "--target",
        "tests/fixtures/graphql_shop/target.toml",
        "--scenario",
        "happy-path",
        "--scenario",
        "duplicate-checkout-10",
        "--scenario",
        "forged-webhooks",
        "--out",
        str(out),
        cwd=REPO,
    )
    assert run.returncode == 0, run.output
    found = summary(out)
    assert found["target"] == "graphql-shop"
    assert found["passed"] is True
    scenarios = by_scenario(found)
    assert set(scenarios) == {"happy-path", "duplicate-checkout-10", "forged-webhooks"}
    outcomes = {
        name: {v["invariant"]: v["outcome"] for v in result["verdicts"]}
        for name, result in scenarios.items()
    }
    for name, result in scenarios.items():
        assert result["error"] is None, name
        assert "fail" not in outcomes[name].values(), (name, outcomes[name])
    # Each scenario exercised what it is about (not merely "nothing to judge").
    assert outcomes["happy-path"]["exactly-once-order"] == "pass"
    assert outcomes["happy-path"]["conservation"] == "pass"
    assert outcomes["duplicate-checkout-10"]["one-session-per-cart"] == "pass"
    assert outcomes["forged-webhooks"]["authentic-webhooks-only"] == "pass"
    # The traffic really went through GraphQL and the webhook path of the fixture.
    log = (out / "happy-path" / "target.log").read_text()
    assert "POST /graphql" in log
    assert "POST /hooks/stripe-events" in log
