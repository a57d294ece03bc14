"""Loopback-only networking: free ports for the services and the guard on where traffic may go."""

from __future__ import annotations

import ipaddress
import random
import socket
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class HostNotAllowedError(ValueError):
    """A URL points somewhere other than loopback and the user did not allow that host."""


# Ports below the kernel's ephemeral range: bind(0) hands out ports from that range, and so does
# every outgoing connection's source port, which could take a port between our check and the
# service's own bind. Below it, only another explicit bind can collide.
_SERVICE_PORTS_SPAN = 12000
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def pick_port(host: str, candidates: Sequence[int], tries: int = 200) -> int | None:
    """A port among ``candidates`` that binds on ``host`` now and that this process has not
    handed out before (services started moments ago may not be listening yet)."""
    rng = random.SystemRandom()
    for _ in range(min(tries, len(candidates))):
        port = rng.choice(candidates)
        with _handed_out_lock:
            if port in _handed_out or not _bindable(host, port):
                continue
            _handed_out.add(port)
            return port
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A free port on ``host`` for a service to bind, outside the ephemeral range when possible."""
    low = _ephemeral_low()
    start = max(1024, low - _SERVICE_PORTS_SPAN)
    if low - start >= 1000:
        port = pick_port(host, range(start, low))
        if port is not None:
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a crowded machine
        sock.bind((host, 0))
        fallback: int = sock.getsockname()[1]
        return fallback


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
