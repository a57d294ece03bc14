"""``GraphQLShopAdapter``: an example adapter for a checkout service with a GraphQL-style API.

Copy this file when your service's API does not look like the contract's routes. The harness
only ever calls the ``TargetAdapter`` methods, and reads the contract's statuses and field names
from the ``Reply`` each one returns; everything in between is yours to translate.

The API this adapter speaks (served in this repository by ``tests/fixtures/graphql_shop``):

- ``POST /graphql`` with ``{"query": ..., "variables": ..., "operationName": ...}`` for every
  operation; the admin token travels as ``Authorization: Bearer``.
- Success: HTTP 200 ``{"data": {"<field>": ...}}`` with camelCase fields.
- Failure: HTTP 200 ``{"errors": [{"message", "extensions": {"code": ...}}]}``; the code is mapped
  back to the contract's HTTP status (``STATUS_BY_CODE``). An HTTP status other than 200 (503
  while starting, a 500 from a crashing server) is passed through unchanged.
- ``GET /health`` as in the contract, and Stripe webhooks at ``POST /hooks/stripe-events``.

No GraphQL library is used, deliberately: the adapter sends a few fixed query strings with
variables as plain JSON, which is all a GraphQL server needs; there is no schema to introspect or
validate client-side. If your operations are built dynamically, a client library earns its place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.target.adapter import Reply, TargetAdapter
from harness.target.client import target_http_client, to_reply

WEBHOOK_PATH = "/hooks/stripe-events"


@dataclass(frozen=True)
class Operation:
    name: str  # sent as operationName
    field: str  # the root field whose value is the answer
    query: str


UPSERT_PRODUCT = Operation(
    "UpsertProduct",
    "upsertProduct",
    """
mutation UpsertProduct($sku: String!, $name: String!, $priceCents: Int!, $stock: Int!) {
  upsertProduct(sku: $sku, name: $name, priceCents: $priceCents, stock: $stock) {
    sku name priceCents available stock
  }
}""",
)

PRODUCT = Operation(
    "Product",
    "product",
    """
query Product($sku: String!) {
  product(sku: $sku) { sku name priceCents available }
}""",
)

CREATE_CART = Operation(
    "CreateCart",
    "createCart",
    """
mutation CreateCart($userId: String!) {
  createCart(userId: $userId) { id }
}""",
)

SET_ITEM = Operation(
    "SetItem",
    "setItem",
    """
mutation SetItem($cartId: ID!, $userId: String!, $sku: String!, $quantity: Int!) {
  setItem(cartId: $cartId, userId: $userId, sku: $sku, quantity: $quantity) {
    id userId totalCents items { sku quantity unitPriceCents }
  }
}""",
)

CHECKOUT = Operation(
    "Checkout",
    "checkout",
    """
mutation Checkout($cartId: ID!, $userId: String!, $contact: ContactInput!, $idempotencyKey: String) {
  checkout(cartId: $cartId, userId: $userId, contact: $contact, idempotencyKey: $idempotencyKey) {
    sessionId url amountTotal
  }
}""",
)

ORDERS = Operation(
    "Orders",
    "orders",
    """
query Orders {
  orders {
    id cartId userId sessionId status amountTotal items { sku quantity unitPriceCents }
  }
}""",
)

# extensions.code -> the contract's status. The workload treats 4xx and 503 as "nothing happened"
# and any other 5xx as "outcome unknown", so an unlisted code maps to 500: never claim more
# certainty than the service gave.
STATUS_BY_CODE: dict[str, int] = {
    "BAD_INPUT": 422,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "OUT_OF_STOCK": 409,
    "PAYMENT_PROVIDER_ERROR": 502,
    "UNAVAILABLE": 503,
}
UNKNOWN_ERROR_STATUS = 500

Shape = Callable[[Any], Any]


def _items(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"sku": i["sku"], "quantity": i["quantity"], "unit_price_cents": i["unitPriceCents"]}
        for i in raw
    ]


def _product(raw: dict[str, Any]) -> dict[str, Any]:
    out = {
        "sku": raw["sku"],
        "name": raw["name"],
        "price_cents": raw["priceCents"],
        "available": raw["available"],
    }
    if "stock" in raw:
        out["stock"] = raw["stock"]
    return out


def _cart(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "cart_id": raw["id"],
        "user_id": raw["userId"],
        "items": _items(raw["items"]),
        "total_cents": raw["totalCents"],
    }


def _session(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "checkout_session_id": raw["sessionId"],
        "url": raw["url"],
        "amount_total": raw["amountTotal"],
    }


def _orders(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "order_id": o["id"],
            "cart_id": o["cartId"],
            "user_id": o["userId"],
            "checkout_session_id": o["sessionId"],
            "status": o["status"],
            "amount_total": o["amountTotal"],
            "items": _items(o["items"]),
        }
        for o in raw
    ]


def error_reply(error: Any) -> Reply:
    """One GraphQL error -> the contract's status and error body."""
    extensions = error.get("extensions") if isinstance(error, dict) else None
    code = str((extensions or {}).get("code", "INTERNAL_SERVER_ERROR"))
    status = STATUS_BY_CODE.get(code, UNKNOWN_ERROR_STATUS)
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    if code == "OUT_OF_STOCK":
        # The contract's body for this case: {"error": "out_of_stock", "sku"}.
        return Reply(status, {"error": "out_of_stock", "sku": (extensions or {}).get("sku")})
    return Reply(status, {"error": code.lower(), "message": message})


class GraphQLShopAdapter:
    """``TargetAdapter`` for the GraphQL-style shop API described in this module's docstring."""

    def __init__(
        self,
        base_url: str,
        admin_token: str,
        *,
        timeout_s: float = 10.0,
        allowed_hosts: tuple[str, ...] = (),
        max_connections: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._admin = {"Authorization": f"Bearer {admin_token}"}
        # Loopback (or allowed hosts) only, no proxy from the environment: as the default adapter.
        self._http = target_http_client(self.base_url, timeout_s, allowed_hosts, max_connections)

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PATH}"

    async def _operation(
        self,
        operation: Operation,
        variables: dict[str, Any],
        shape: Shape,
        *,
        success_status: int = 200,
        admin: bool = False,
    ) -> Reply:
        """Send one operation; map its root field through ``shape``, or its first error."""
        response = await self._http.post(
            "/graphql",
            json={
                "query": operation.query,
                "variables": variables,
                "operationName": operation.name,
            },
            headers=self._admin if admin else None,
        )
        if response.status_code != 200:
            return await to_reply(response)  # not a GraphQL answer: starting, crashing, refusing
        reply = await to_reply(response)
        body = reply.body
        if not isinstance(body, dict):
            return Reply(UNKNOWN_ERROR_STATUS, {"error": "not_graphql", "body": str(body)[:300]})
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return error_reply(errors[0])
        data = body.get("data")
        value = data.get(operation.field) if isinstance(data, dict) else None
        if value is None:
            # GraphQL answers a missing object with null and no error.
            return Reply(404, {"error": "not_found"})
        try:
            return Reply(success_status, shape(value))
        except (KeyError, TypeError) as exc:
            # A success the adapter cannot read: the outcome is unknown, not a failure.
            return Reply(UNKNOWN_ERROR_STATUS, {"error": "unreadable_data", "detail": repr(exc)})

    async def health(self) -> Reply:
        return await to_reply(await self._http.get("/health"))

    async def put_product(self, sku: str, name: str, price_cents: int, stock: int) -> Reply:
        variables = {"sku": sku, "name": name, "priceCents": price_cents, "stock": stock}
        return await self._operation(UPSERT_PRODUCT, variables, _product, admin=True)

    async def get_product(self, sku: str) -> Reply:
        return await self._operation(PRODUCT, {"sku": sku}, _product)

    async def create_cart(self, user_id: str) -> Reply:
        return await self._operation(
            CREATE_CART,
            {"userId": user_id},
            lambda raw: {"cart_id": raw["id"]},
            success_status=201,
        )

    async def set_item(self, cart_id: str, user_id: str, sku: str, quantity: int) -> Reply:
        variables = {"cartId": cart_id, "userId": user_id, "sku": sku, "quantity": quantity}
        return await self._operation(SET_ITEM, variables, _cart)

    async def checkout(
        self,
        cart_id: str,
        user_id: str,
        contact: dict[str, Any],
        idempotency_key: str | None = None,
    ) -> Reply:
        variables = {
            "cartId": cart_id,
            "userId": user_id,
            "contact": contact,
            "idempotencyKey": idempotency_key,
        }
        return await self._operation(CHECKOUT, variables, _session, success_status=201)

    async def orders(self) -> Reply:
        return await self._operation(ORDERS, {}, _orders, admin=True)

    async def deliver_webhook(self, payload: bytes, signature: str) -> Reply:
        # Webhooks are plain HTTP, exactly as Stripe sends them: only the path differs.
        return await to_reply(
            await self._http.post(
                WEBHOOK_PATH,
                content=payload,
                headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
            )
        )

    async def raw(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        # Sent as is. The bad-input scenario aims contract-shaped garbage at contract paths, which
        # this API does not have (404); a team would write malformed GraphQL cases of its own.
        return await to_reply(await self._http.request(method, path, content=body, headers=headers))

    async def aclose(self) -> None:
        await self._http.aclose()


if TYPE_CHECKING:
    # mypy proves, at no runtime cost, that the class implements the protocol.
    _implements: type[TargetAdapter] = GraphQLShopAdapter
