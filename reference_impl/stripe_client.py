"""Stripe over plain httpx: form-encoded, timeouts, bounded retries under one Idempotency-Key.

Contract 6.10: an ambiguous failure (timeout, reset, lost or garbled reply) may have created the
object, so it is retried with the *same* key and Stripe hands back what it made. A 5xx is stored and
replayed by Stripe for that key, so retrying it is pointless: ``StripeServerError`` tells the caller
it may move to a new key. A 4xx is our mistake: ``StripeRejected``.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx
from pydantic import SecretStr, ValidationError

from reference_impl.errors import DependencyDown, StripeRejected
from reference_impl.logging import get_logger
from reference_impl.models import StripeRefund, StripeSession, StripeSessionConfig

log = get_logger("stripe")
_M = TypeVar("_M", StripeSession, StripeRefund)

# 409 is Stripe's "a request with this key is still in flight": wait and ask again, same key.
_RETRY_SAME_KEY = {409, 429}


class StripeServerError(DependencyDown):
    """Stripe answered 5xx; it stored that answer for the key, so only a new key can succeed."""

    def __init__(self, status: int) -> None:
        super().__init__("stripe", f"HTTP {status}")
        self.status = status


class StripeClient:
    def __init__(
        self,
        api_base: str,
        secret_key: SecretStr,
        *,
        attempts: int = 3,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._attempts = attempts
        self._http = httpx.AsyncClient(
            base_url=api_base,
            timeout=timeout or httpx.Timeout(5.0, connect=2.0),
            headers={"Authorization": f"Bearer {secret_key.get_secret_value()}"},
            trust_env=False,  # loopback only: never pick up a proxy from the environment
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def create_checkout_session(
        self, config: StripeSessionConfig, idempotency_key: str
    ) -> StripeSession:
        body = await self._request(
            "POST", "/v1/checkout/sessions", config.to_form(), idempotency_key
        )
        return self._parse(StripeSession, body)

    async def create_refund(self, payment_intent: str, idempotency_key: str) -> StripeRefund:
        body = await self._request(
            "POST", "/v1/refunds", [("payment_intent", payment_intent)], idempotency_key
        )
        return self._parse(StripeRefund, body)

    async def retrieve_session(self, session_id: str) -> StripeSession:
        body = await self._request("GET", f"/v1/checkout/sessions/{quote(session_id, safe='')}")
        return self._parse(StripeSession, body)

    @staticmethod
    def _parse(model: type[_M], body: dict[str, Any]) -> _M:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            # A 2xx we cannot read: treat like a lost reply (the caller retries the same key).
            raise DependencyDown("stripe", "unreadable response") from exc

    async def _request(
        self,
        method: str,
        path: str,
        form: list[tuple[str, str]] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        content = urlencode(form or [])
        last_problem = "no attempt made"
        for attempt in range(self._attempts):
            if attempt:
                # Exponential backoff with jitter, bounded: 0.2 s, 0.4 s, ... (at most 2 s).
                await asyncio.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random()))
            try:
                if method == "GET":
                    response = await self._http.get(path)
                else:
                    response = await self._http.request(
                        method, path, content=content, headers=headers
                    )
            except httpx.HTTPError as exc:
                last_problem = type(exc).__name__
                log.warning("stripe.retry", path=path, attempt=attempt + 1, problem=last_problem)
                continue
            status = response.status_code
            if status in _RETRY_SAME_KEY:
                last_problem = f"HTTP {status}"
                continue
            if status >= 500:
                log.warning("stripe.server_error", path=path, status=status)
                raise StripeServerError(status)
            if status >= 400:
                raise StripeRejected(status, _error_code(response))
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                last_problem = "garbled reply"
                continue
            if not isinstance(body, dict):
                last_problem = "garbled reply"
                continue
            return body
        raise DependencyDown("stripe", last_problem)


def _error_code(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error", {})
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return None
    code = error.get("code") or error.get("type") if isinstance(error, dict) else None
    return str(code) if code else None
