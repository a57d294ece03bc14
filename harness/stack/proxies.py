"""Toxiproxy proxies in front of every link a target uses, driven with toxiproxy-python.

toxiproxy-python keeps its server address in a class attribute, so one process talks to one
Toxiproxy server at a time; ``ProxyServer`` points it at ours. What the library lacks from the v2
API (changing a proxy's upstream) goes straight to the HTTP API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.proxy import Proxy

# The links a target uses, named as the contract's environment names them.
LINKS = ("postgres", "redis", "stripe")


@dataclass(frozen=True)
class ProxyInfo:
    name: str
    listen: str  # host:port the target connects to
    upstream: str  # host:port of the real service


def _bypass_env_proxies() -> None:
    """toxiproxy-python calls through ``requests``, which honours HTTP(S)_PROXY: loopback
    traffic must never take that detour."""
    for name in ("NO_PROXY", "no_proxy"):
        current = [h for h in os.environ.get(name, "").split(",") if h]
        missing = [h for h in ("127.0.0.1", "localhost", "::1") if h not in current]
        if missing:
            os.environ[name] = ",".join(current + missing)


class ProxyServer:
    """A typed handle on one Toxiproxy server."""

    def __init__(self, api_url: str) -> None:
        parts = urlsplit(api_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"Toxiproxy API URL needs a host and a port: {api_url!r}")
        self.api_url = api_url.rstrip("/")
        self._host, self._port = parts.hostname, parts.port
        self._server = Toxiproxy()
        _bypass_env_proxies()

    def _bind(self) -> None:
        # toxiproxy-python's APIConsumer is global: re-point it before every call.
        APIConsumer.host, APIConsumer.port = self._host, self._port

    def version(self) -> str:
        self._bind()
        raw: Any = self._server.version()
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return text.strip()

    def create(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> ProxyInfo:
        self._bind()
        proxy = self._server.create(upstream=upstream, name=name, listen=listen, enabled=True)
        return ProxyInfo(proxy.name, proxy.listen, proxy.upstream)

    def proxy(self, name: str) -> Proxy:
        """The toxiproxy-python object, for enabling, disabling and adding toxics."""
        self._bind()
        found = self._server.get_proxy(name)
        if found is None:
            raise KeyError(f"no Toxiproxy proxy named {name!r}")
        return found

    def set_enabled(self, name: str, enabled: bool) -> None:
        proxy = self.proxy(name)
        self._bind()
        if enabled:
            proxy.enable()
        else:
            proxy.disable()

    def add_toxic(
        self,
        name: str,
        toxic_type: str,
        attributes: dict[str, int | float],
        stream: str = "downstream",
        toxic_name: str | None = None,
        toxicity: float = 1.0,
    ) -> str:
        toxic_name = toxic_name or f"{toxic_type}_{stream}"
        proxy = self.proxy(name)
        self._bind()
        proxy.add_toxic(
            type=toxic_type,
            stream=stream,
            name=toxic_name,
            toxicity=toxicity,
            attributes=attributes,
        )
        return toxic_name

    def remove_toxic(self, name: str, toxic_name: str) -> None:
        proxy = self.proxy(name)
        self._bind()
        proxy.destroy_toxic(toxic_name)

    def set_upstream(self, name: str, upstream: str) -> None:
        # Not in toxiproxy-python: POST /proxies/{name} updates fields in place (v2 API).
        response = httpx.post(
            f"{self.api_url}/proxies/{name}",
            json={"upstream": upstream},
            timeout=5,
            trust_env=False,
        )
        response.raise_for_status()

    def delete(self, name: str) -> None:
        self.proxy(name).destroy()

    def reset(self) -> None:
        """Heal everything: every proxy enabled, every toxic removed."""
        self._bind()
        self._server.reset()

    def list(self) -> dict[str, ProxyInfo]:
        self._bind()
        return {
            name: ProxyInfo(p.name, p.listen, p.upstream)
            for name, p in self._server.proxies().items()
        }


def host_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"URL needs an explicit host and port: {url!r}")
    return f"{parts.hostname}:{parts.port}"


def replace_host_port(url: str, listen: str) -> str:
    """``url`` with its host:port swapped for the proxy's listen address."""
    parts = urlsplit(url)
    netloc = listen if parts.username is None else f"{parts.netloc.rsplit('@', 1)[0]}@{listen}"
    return parts._replace(netloc=netloc).geturl()
