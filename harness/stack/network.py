"""Loopback-only networking: free ports for the services and the guard on where traffic may go."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class HostNotAllowedError(ValueError):
    """A URL points somewhere other than loopback and the user did not allow that host."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out on ``host``; free again when this returns."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url_allowed(url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Refuse a URL whose host is neither loopback nor explicitly allowed by the user."""
    host = urlsplit(url).hostname
    if host is None:
        raise HostNotAllowedError(f"{url!r} has no host")
    if is_loopback(host) or host.lower() in {h.lower() for h in allowed_hosts}:
        return
    raise HostNotAllowedError(
        f"{url!r} is not on loopback; add {host!r} to allowed_hosts to send traffic there"
    )
