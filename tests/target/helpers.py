"""Running ``checkout-chaos`` as a user does (a subprocess) and starting services for targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.stack.process import ManagedProcess

REPO = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_S = 600.0
STARTUP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, cwd: Path = REPO) -> CliRun:
    """``checkout-chaos run ARGS`` in a subprocess, exactly as typed at a shell."""
    env = {k: v for k, v in os.environ.items() if k != "CHECKOUT_CHAOS_CONFIG"}
    env["COLUMNS"] = "200"  # one line per message: assertions need not know rich's wrapping
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def summary(out_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((out_dir / "summary.json").read_text())
    return loaded


def by_scenario(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["scenario"]: s for s in found["scenarios"]}


def start_module(
    name: str, module: str, env: dict[str, str], log_path: Path, *, wait_healthy: bool = True
) -> ManagedProcess:
    """``python -m MODULE`` from the repository root with ``env`` added; optionally wait until
    ``/health`` answers 200 (readiness polling with a deadline)."""
    process = ManagedProcess(
        name, [sys.executable, "-m", module], log_path, env={**os.environ, **env}, cwd=REPO
    )
    process.start()
    if not wait_healthy:
        return process
    url = f"http://127.0.0.1:{env['PORT']}/health"

    def healthy() -> bool:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200

    try:
        process.wait_ready(healthy, STARTUP_TIMEOUT_S)
    except Exception:
        process.stop()
        raise
    return process
