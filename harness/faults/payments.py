"""Payment-side faults, armed on the Stripe simulator (see ``harness.stripe.faults``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.faults.model import FaultSpec
from harness.stripe import StripeSimulator


def _int(spec: FaultSpec, key: str, default: int) -> int:
    return int(spec.params.get(key, default))


def _float(spec: FaultSpec, key: str, default: float) -> float:
    return float(spec.params.get(key, default))


def _event_type(spec: FaultSpec) -> str | None:
    value = spec.params.get("event_type")
    return str(value) if value is not None else None


def inject_payment_fault(sim: StripeSimulator, spec: FaultSpec) -> Callable[[], None]:
    """Arm the fault now; returns the function that disarms it."""
    faults = sim.faults
    path = str(spec.params.get("path", "/v1/checkout/sessions"))
    times = _int(spec, "times", 1)
    kind = spec.kind
    event_type = _event_type(spec)
    if kind in ("stripe_500", "stripe_429"):
        faults.fail(500 if kind == "stripe_500" else 429, path=path, times=times)
    elif kind == "stripe_ambiguous":
        mode: Any = str(spec.params.get("mode", "drop"))
        faults.ambiguous(mode=mode, delay_s=_float(spec, "delay_s", 30.0), path=path, times=times)
    elif kind == "stripe_slow":
        faults.slow(_float(spec, "delay_s", 2.0), path=path, times=times)
    elif kind == "webhook_duplicate":
        faults.duplicate_webhooks(_int(spec, "copies", 3), event_type=event_type, times=times)
    elif kind == "webhook_delay":
        faults.delay_webhooks(_float(spec, "delay_s", 1.0), event_type=event_type, times=times)
    elif kind == "webhook_drop":
        faults.drop_webhooks(_int(spec, "drops", 1), event_type=event_type, times=times)
    elif kind == "webhook_reorder":
        faults.reorder_webhooks(_int(spec, "batch", 2))
    elif kind == "webhook_tamper":
        faults.tamper_webhooks(event_type=event_type, times=times)
    elif kind in ("webhook_stale", "webhook_future"):
        age = _int(spec, "age_s", 600)
        faults.stale_webhooks(
            age if kind == "webhook_stale" else -age, event_type=event_type, times=times
        )
    else:
        raise ValueError(f"not a payment fault: {kind}")

    def heal() -> None:
        faults.clear()
        sim.release_held_webhooks()

    return heal
