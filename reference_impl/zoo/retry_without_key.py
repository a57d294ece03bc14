"""An ambiguous Stripe failure (timeout, reset, lost reply) is retried without the Idempotency-Key.

The first attempt may have created the object; the retry, unkeyed, creates another one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from reference_impl.errors import DependencyDown
from reference_impl.stripe_client import StripeClient, StripeServerError
from reference_impl.zoo.patching import Patcher

_ATTEMPTS = 3


def apply(patcher: Patcher) -> None:
    request = StripeClient._request

    async def request_retrying_unkeyed(
        self: StripeClient,
        method: str,
        path: str,
        form: list[tuple[str, str]] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        self._attempts = 1  # this wrapper does the retrying now
        for attempt in range(_ATTEMPTS):
            key = idempotency_key if attempt == 0 else None  # the bug: the key is dropped
            try:
                return await request(self, method, path, form, key)
            except StripeServerError:
                raise
            except DependencyDown:
                if attempt == _ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2)  # the reference's backoff, unjittered
        raise AssertionError("unreachable")

    patcher.set(StripeClient, "_request", request_retrying_unkeyed)
