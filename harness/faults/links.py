"""Faults on the network links a target uses, injected as Toxiproxy toxics."""

from __future__ import annotations

from collections.abc import Callable

from harness.faults.model import FaultSpec
from harness.stack.proxies import ProxyServer

# Toxiproxy's attributes per toxic, with defaults that make each one bite.
TOXIC_DEFAULTS: dict[str, dict[str, int | float]] = {
    "latency": {"latency": 1000, "jitter": 0},
    "timeout": {"timeout": 0},  # 0: hold the data and never answer, until healed
    "reset_peer": {"timeout": 0},  # TCP RST at once
    "bandwidth": {"rate": 1},  # KB/s
    "slicer": {"average_size": 1, "size_variation": 0, "delay": 1000},  # bytes, bytes, µs
    "limit_data": {"bytes": 0},  # close after this many bytes
}


def inject_link_fault(toxiproxy: ProxyServer, spec: FaultSpec) -> Callable[[], None]:
    """Start the fault now; returns the function that heals it."""
    link = spec.link
    if link is None:
        raise ValueError(f"{spec.kind} needs a link")
    if spec.kind == "down":
        toxiproxy.set_enabled(link, False)
        return lambda: toxiproxy.set_enabled(link, True)
    attributes = dict(TOXIC_DEFAULTS[spec.kind])
    for key, value in spec.params.items():
        if key not in attributes:
            raise ValueError(
                f"toxic {spec.kind} has no attribute {key!r} (has: {', '.join(attributes)})"
            )
        attributes[key] = float(value) if isinstance(value, float) else int(value)
    toxic = toxiproxy.add_toxic(
        link,
        spec.kind,
        attributes,
        stream=spec.stream,
        toxic_name=f"chaos-{spec.label}",
        toxicity=spec.toxicity,
    )
    return lambda: toxiproxy.remove_toxic(link, toxic)
