"""Settings sources, the loopback guard, and `stack doctor` naming what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.settings import Settings
from harness.stack import binaries
from harness.stack.network import HostNotAllowedError, check_url_allowed
from harness.stack.proxies import replace_host_port

CLI = [sys.executable, "-m", "harness"]


def test_toml_file_is_read_and_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "chaos.toml"
    config.write_text(
        'backend = "external"\nstartup_timeout_s = 12\n'
        '[external]\nredis_url = "redis://127.0.0.1:7000/0"\n'
    )
    monkeypatch.setenv("CHECKOUT_CHAOS_CONFIG", str(config))
    monkeypatch.setenv("CHECKOUT_CHAOS_STARTUP_TIMEOUT_S", "7.5")
    settings = Settings()
    assert settings.backend == "external"
    assert settings.external.redis_url == "redis://127.0.0.1:7000/0"
    assert settings.startup_timeout_s == 7.5


def test_cli_names_the_bad_field(tmp_path: Path) -> None:
    env = {**os.environ, "CHECKOUT_CHAOS_BACKEND": "kubernetes"}
    result = subprocess.run(
        [*CLI, "stack", "status"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "configuration error: backend" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1",
        "redis://localhost:6379",
        "http://[::1]:80",
        "postgresql://u@127.9.9.9/x",
    ],
)
def test_loopback_urls_are_allowed(url: str) -> None:
    check_url_allowed(url)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:80", "https://api.stripe.com", "http://example.org"]
)
def test_other_hosts_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(HostNotAllowedError, match="allowed_hosts"):
        check_url_allowed(url)
    host = url.split("//")[1].split(":")[0]
    check_url_allowed(url, allowed_hosts=[host])


def test_replace_host_port_keeps_credentials_and_path() -> None:
    url = "postgresql://postgres:pw@127.0.0.1:5432/shop?sslmode=disable"
    assert (
        replace_host_port(url, "127.0.0.1:9999")
        == "postgresql://postgres:pw@127.0.0.1:9999/shop?sslmode=disable"
    )


def test_external_backend_refuses_a_non_loopback_service(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        **os.environ,
        "CHECKOUT_CHAOS_BACKEND": "external",
        "CHECKOUT_CHAOS_EXTERNAL__POSTGRES_URL": "postgresql://postgres@10.1.2.3:5432/postgres",
        "CHECKOUT_CHAOS_EXTERNAL__REDIS_URL": "redis://127.0.0.1:1/0",
        "CHECKOUT_CHAOS_EXTERNAL__STRIPE_MOCK_URL": "http://127.0.0.1:2",
    }
    result = subprocess.run(
        [*CLI, "stack", "up", "--check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "10.1.2.3" in result.stderr
    assert "allowed_hosts" in result.stderr


def test_doctor_reports_a_missing_binary_and_how_to_get_it(tmp_path: Path) -> None:
    # An empty cache and a PATH without the Go programs: toxiproxy-server cannot be found.
    env = {
        **os.environ,
        "CHECKOUT_CHAOS_CACHE_DIR": str(tmp_path / "empty-cache"),
        "PATH": os.pathsep.join(
            p
            for p in os.environ["PATH"].split(os.pathsep)
            if not (Path(p) / "toxiproxy-server").exists()
            and not (Path(p) / "stripe-mock").exists()
        ),
        "COLUMNS": "250",
    }
    result = subprocess.run(
        [*CLI, "stack", "doctor"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    out = " ".join(result.stdout.split())
    assert "missing │ toxiproxy-server" in out
    assert binaries.TOXIPROXY.install_command() in out or "checkout-chaos stack install" in out
    assert "ok │ postgres" in out


def test_doctor_is_happy_when_everything_is_found() -> None:
    result = subprocess.run(
        [*CLI, "stack", "doctor"],
        env={**os.environ, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert "missing │ toxiproxy" not in result.stdout
