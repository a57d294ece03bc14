"""Ports for the services: free when handed out, never twice, outside the ephemeral range."""

from __future__ import annotations

import socket
from pathlib import Path

from harness.stack.network import free_port, pick_port


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(1024 <= p < low for p in ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))  # still free: nobody took it meanwhile


def test_a_port_in_use_or_handed_out_before_is_skipped() -> None:
    with socket.socket() as busy, socket.socket() as probe:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        probe.bind(("127.0.0.1", 0))
        spare = probe.getsockname()[1]
        probe.close()  # free again: the only candidate that binds
        assert pick_port("127.0.0.1", [taken, spare]) == spare
        # Handed out once: not again, even though nothing listens on it yet.
        assert pick_port("127.0.0.1", [taken, spare]) is None
