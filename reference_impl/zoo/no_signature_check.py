"""Webhooks are trusted as they come: ``Stripe-Signature`` is never verified."""

from __future__ import annotations

from reference_impl import app
from reference_impl.zoo.patching import Patcher


def _trust_everything(
    payload: bytes, header: str | None, secret: str, tolerance_s: int, now: float | None = None
) -> None:
    return None  # the bug: no HMAC, no timestamp, no header even


def apply(patcher: Patcher) -> None:
    patcher.set(app, "verify_signature", _trust_everything)
