"""A running (URL) target, set up as the README tells a user to: the service is started by someone
else, and the harness puts Toxiproxy links at the fixed addresses it was given.

Here the test plays the user. It starts ``python -m reference_impl`` itself, before the harness,
with ``DATABASE_URL``, ``REDIS_URL`` and ``STRIPE_API_BASE`` at fixed loopback ports that nothing
listens on yet. The target file's ``[links.postgres]``, ``[links.redis]`` and ``[links.stripe]``
make the harness create proxies there (to the test session's PostgreSQL and Redis; to its own
Stripe simulator). The service retries its dependencies until the links appear; the harness waits
for ``/health`` before it drives, and can then fault every link, the database's included.
"""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from harness.stack.network import free_port
from harness.stack.proxies import host_port, replace_host_port
from harness.stack.stack import Stack
from tests.target.helpers import by_scenario, run_cli, start_module, summary


@dataclass(frozen=True)
class RunningService:
    target_file: Path
    database_url: str  # direct, for assertions
    log_path: Path


def target_toml(
    *, base_url: str, admin: str, whsec: str, links: dict[str, tuple[str, str | None]]
) -> str:
    lines = [
        'name = "reference-at-url"',
        f'base_url = "{base_url}"',
        f'admin_token = "{admin}"',
        f'webhook_secret = "{whsec}"',
        "startup_timeout_s = 60",
    ]
    for link, (listen, upstream) in links.items():
        lines += ["", f"[links.{link}]", f'listen = "{listen}"']
        if upstream is not None:
            lines.append(f'upstream = "{upstream}"')
    return "\n".join(lines) + "\n"


@pytest.fixture
def running_service(stack: Stack, tmp_path: Path) -> Iterator[RunningService]:
    database = f"url_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    listen = {link: f"127.0.0.1:{free_port()}" for link in ("postgres", "redis", "stripe")}
    database_url = stack.postgres_url.rsplit("/", 1)[0] + f"/{database}"
    admin = "admin-" + secrets.token_hex(16)
    whsec = "whsec_" + secrets.token_hex(24)
    port = free_port()
    env = {
        "PORT": str(port),
        "DATABASE_URL": replace_host_port(database_url, listen["postgres"]),
        "REDIS_URL": replace_host_port(stack.redis_url, listen["redis"]),
        "STRIPE_API_BASE": f"http://{listen['stripe']}",
        "STRIPE_SECRET_KEY": "sk_test_urltarget",
        "STRIPE_WEBHOOK_SECRET": whsec,
        "ADMIN_TOKEN": admin,
    }
    # Not healthy yet: its links appear when the harness runs.
    process = start_module(
        "reference-at-url", "reference_impl", env, tmp_path / "service.log", wait_healthy=False
    )
    target = tmp_path / "target.toml"
    target.write_text(
        target_toml(
            base_url=f"http://127.0.0.1:{port}",
            admin=admin,
            whsec=whsec,
            links={
                "stripe": (listen["stripe"], None),
                "redis": (listen["redis"], host_port(stack.redis_url)),
                "postgres": (listen["postgres"], host_port(stack.postgres_url)),
            },
        )
    )
    try:
        yield RunningService(target, database_url, tmp_path / "service.log")
    finally:
        process.stop()
        with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_scenarios_and_link_faults_run_against_a_running_service(
    running_service: RunningService, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    run = run_cli(
        "--target",
        str(running_service.target_file),
        "--scenario",
        "happy-path",
        "--scenario",
        "duplicate-checkout-10",
        "--scenario",
        "redis-outage-after-payment",
        "--scenario",
        "postgres-outage-fulfilment",
        "--out",
        str(out),
    )
    assert run.returncode == 0, run.output
    found = summary(out)
    assert found["passed"] is True
    scenarios = by_scenario(found)
    faulted = ("redis-outage-after-payment", "postgres-outage-fulfilment")
    for name in ("happy-path", "duplicate-checkout-10", *faulted):
        assert scenarios[name]["passed"] is True, scenarios[name]
        assert any("process faults unavailable" in n for n in scenarios[name]["notes"])
    # The outages were injected on the fixed-address links.
    for name in faulted:
        assert scenarios[name]["faults"], scenarios[name]
    # The orders are in the service's own database: the traffic went through its links.
    with psycopg.connect(running_service.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
    assert row is not None
    assert row[0] == 3 + 1 + 3 + 3  # happy-path, duplicate-checkout-10 (one cart), two outages


def test_a_process_fault_is_reported_unavailable_for_a_running_service(
    running_service: RunningService, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    run = run_cli(
        "--target",
        str(running_service.target_file),
        "--scenario",
        "target-crash-fulfilment",
        "--out",
        str(out),
    )
    assert run.returncode == 1, run.output
    assert "Traceback" not in run.output
    assert "process faults need a target the harness starts" in run.output
    [result] = summary(out)["scenarios"]
    assert result["scenario"] == "target-crash-fulfilment"
    assert result["passed"] is False
    assert result["error"].startswith("FaultUnavailableError: ")
    assert "not a running URL" in result["error"]


def test_a_link_address_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        target = tmp_path / "target.toml"
        target.write_text(
            target_toml(
                base_url="http://127.0.0.1:1",
                admin="admin-token-123",
                whsec="whsec_x",
                links={"stripe": (busy, None)},
            )
        )
        run = run_cli("--target", str(target), "--scenario", "happy-path", "--out", str(tmp_path))
    assert run.returncode == 1, run.output
    assert f"links.stripe: Toxiproxy cannot listen on {busy}" in run.output
    assert "Traceback" not in run.output
