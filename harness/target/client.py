"""``ContractClient``: the default adapter, speaking the contract's routes over async httpx."""

from __future__ import annotations

from typing import Any

import httpx

from harness.stack.network import check_url_allowed
from harness.target.adapter import Reply


def target_http_client(
    base_url: str, timeout_s: float, allowed_hosts: tuple[str, ...], max_connections: int
) -> httpx.AsyncClient:
    """The HTTP client every adapter uses: only to hosts the harness may reach, never through a
    proxy from the environment, and with bounded concurrency."""
    check_url_allowed(base_url, allowed_hosts)
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout_s,
        trust_env=False,
        limits=httpx.Limits(max_connections=max_connections),
    )


async def to_reply(response: httpx.Response) -> Reply:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Reply(response.status_code, body)


class ContractClient:
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
        self._http = target_http_client(self.base_url, timeout_s, allowed_hosts, max_connections)

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/stripe"

    async def _call(self, method: str, path: str, **kwargs: Any) -> Reply:
        return await to_reply(await self._http.request(method, path, **kwargs))

    async def health(self) -> Reply:
        return await self._call("GET", "/health")

    async def put_product(self, sku: str, name: str, price_cents: int, stock: int) -> Reply:
        body = {"name": name, "price_cents": price_cents, "stock": stock}
        return await self._call("PUT", f"/admin/products/{sku}", json=body, headers=self._admin)

    async def get_product(self, sku: str) -> Reply:
        return await self._call("GET", f"/products/{sku}")

    async def create_cart(self, user_id: str) -> Reply:
        return await self._call("POST", "/carts", json={"user_id": user_id})

    async def set_item(self, cart_id: str, user_id: str, sku: str, quantity: int) -> Reply:
        return await self._call(
            "PUT",
            f"/carts/{cart_id}/items/{sku}",
            json={"quantity": quantity},
            headers={"X-User-Id": user_id},
        )

    async def checkout(
        self,
        cart_id: str,
        user_id: str,
        contact: dict[str, Any],
        idempotency_key: str | None = None,
    ) -> Reply:
        headers = {"X-User-Id": user_id}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self._call("POST", f"/carts/{cart_id}/checkout", json=contact, headers=headers)

    async def orders(self) -> Reply:
        return await self._call("GET", "/admin/orders", headers=self._admin)

    async def deliver_webhook(self, payload: bytes, signature: str) -> Reply:
        return await self._call(
            "POST",
            "/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )

    async def raw(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        return await self._call(method, path, content=body, headers=headers)

    async def aclose(self) -> None:
        await self._http.aclose()
