"""Faults on the network links a target uses, injected as Toxiproxy toxics."""

from __future__ import annotations

from collections.abc import Callable

from harness.faults.model import TOXIC_DEFAULTS, FaultSpec
from harness.stack.proxies import ProxyServer


def inject_link_fault(toxiproxy: ProxyServer, spec: FaultSpec) -> Callable[[], None]:
    """Start the fault now; returns the function that heals it."""
    link = spec.link
    if link is None:
        raise ValueError(f"{spec.kind} needs a link")
    if spec.kind == "down":
        toxiproxy.set_enabled(link, False)
        return lambda: toxiproxy.set_enabled(link, True)
    attributes = dict(TOXIC_DEFAULTS[spec.kind])  # FaultSpec checked the names
    for key, value in spec.params.items():
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
