"""The ``containers`` backend: the same four services as Docker containers, via testcontainers.

Chosen when a Docker engine answers and the embedded binaries cannot be had. All containers share
one Docker network; Toxiproxy reaches the others by their network alias, and publishes the three
proxy ports it listens on, so the target still connects to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from harness.settings import Settings
from harness.stack import binaries

if TYPE_CHECKING:  # pragma: no cover
    from harness.stack.stack import Stack

POSTGRES_IMAGE = "postgres:16-alpine"
REDIS_IMAGE = "redis:7-alpine"
TOXIPROXY_IMAGE = f"ghcr.io/shopify/toxiproxy:{binaries.TOXIPROXY_VERSION.lstrip('v')}"
STRIPE_MOCK_IMAGE = f"stripe/stripe-mock:{binaries.STRIPE_MOCK_VERSION}"
# Inside the Toxiproxy container each link listens on a fixed port, published on loopback.
PROXY_PORTS = {"postgres": 15432, "redis": 16379, "stripe": 12111}


class ContainersUnavailableError(RuntimeError):
    """No Docker engine, or the testcontainers extra is not installed."""


def docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=2)
        client.ping()
    except Exception:  # no socket, permission denied, engine down: all mean "not available"
        return False
    return True


@contextlib.contextmanager
def start_containers(
    settings: Settings, on_event: Callable[[str], None] = lambda _msg: None
) -> Iterator[Stack]:  # pragma: no cover - needs a Docker engine, which CI lacks
    from harness.stack.proxies import ProxyServer
    from harness.stack.stack import Service, Stack

    try:
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.network import Network
    except ImportError as exc:
        raise ContainersUnavailableError(
            "backend 'containers' needs the extra: uv sync --extra containers"
        ) from exc
    if not docker_available():
        raise ContainersUnavailableError("backend 'containers' needs a Docker engine that answers")

    started: dict[str, float] = {}
    with contextlib.ExitStack() as stack_exit:
        network: Any = stack_exit.enter_context(Network())

        def run(name: str, container: Any, port: int) -> tuple[Any, str]:
            began = time.monotonic()
            container.with_network(network).with_network_aliases(name)
            container.with_bind_ports(port, None)
            on_event(f"starting container {name}")
            stack_exit.enter_context(container)
            started[name] = time.monotonic() - began
            return container, f"127.0.0.1:{container.get_exposed_port(port)}"

        _, pg = run(
            "postgres",
            DockerContainer(POSTGRES_IMAGE).with_env("POSTGRES_HOST_AUTH_METHOD", "trust"),
            5432,
        )
        _, rd = run("redis", DockerContainer(REDIS_IMAGE), 6379)
        _, sm = run("stripe-mock", DockerContainer(STRIPE_MOCK_IMAGE), 12111)
        toxi = DockerContainer(TOXIPROXY_IMAGE)
        for port in PROXY_PORTS.values():
            toxi.with_bind_ports(port, None)
        toxi_container, tp = run("toxiproxy", toxi, 8474)
        toxiproxy = ProxyServer(f"http://{tp}")
        upstreams = {
            "postgres": "postgres:5432",
            "redis": "redis:6379",
            "stripe": "stripe-mock:12111",
        }
        proxied: dict[str, str] = {}
        schemes = {
            "postgres": "postgresql://postgres@{}/postgres",
            "redis": "redis://{}/0",
            "stripe": "http://{}",
        }
        for link, upstream in upstreams.items():
            toxiproxy.create(link, upstream, listen=f"0.0.0.0:{PROXY_PORTS[link]}")
            published = toxi_container.get_exposed_port(PROXY_PORTS[link])
            proxied[link] = schemes[link].format(f"127.0.0.1:{published}")
        found = {
            "postgres": Service("postgres", schemes["postgres"].format(pg), started["postgres"]),
            "redis": Service("redis", schemes["redis"].format(rd), started["redis"]),
            "stripe-mock": Service("stripe-mock", f"http://{sm}", started["stripe-mock"]),
            "toxiproxy": Service("toxiproxy", f"http://{tp}", started["toxiproxy"]),
        }
        yield Stack(
            "containers",
            found,
            proxied,
            toxiproxy,
            settings.cache_dir / "container-logs",
            allowed_hosts=tuple(settings.allowed_hosts),
        )
