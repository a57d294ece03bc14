"""The HMAC is checked but the signed timestamp is not: a replayed old event (or one signed far in
the future) is accepted."""

from __future__ import annotations

from reference_impl import app, webhooks
from reference_impl.zoo.patching import Patcher

_FOREVER_S = 10**12


def apply(patcher: Patcher) -> None:
    verify = webhooks.verify_signature  # what app calls

    def verify_ignoring_age(
        payload: bytes, header: str | None, secret: str, tolerance_s: int, now: float | None = None
    ) -> None:
        verify(payload, header, secret, _FOREVER_S, now)  # the bug: no replay window

    patcher.set(app, "verify_signature", verify_ignoring_age)
