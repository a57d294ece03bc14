"""A target the harness starts itself: with the contract's environment, and so crashable."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from harness.stack.process import ManagedProcess, ServiceStartError, signal_group

# What a target inherits from the harness's environment: enough to run a program, nothing more
# (contract 1: a target reads only what it is given). No credentials, no proxy settings.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER")


def base_env() -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
    # Loopback traffic never goes through a proxy, whatever the target's HTTP client assumes.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    return env


class ProcessFaultUnavailableError(RuntimeError):
    """A process fault was asked of a target the harness did not start."""


class TargetProcess:
    """Start, crash, restart, pause and resume the service under test. Logs accumulate across
    restarts in one file, which the no-pii-in-logs checker reads."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        startup_timeout_s: float = 30.0,
    ) -> None:
        self._argv = argv
        self._env = env
        self._cwd = cwd
        self.log_path = log_path
        self._startup_timeout_s = startup_timeout_s
        self._process: ManagedProcess | None = None
        self.base_url = f"http://127.0.0.1:{env['PORT']}"
        self.restarts = 0

    def start(self) -> float:
        """Start and wait until ``/health`` answers 200; returns the seconds it took."""
        began = time.monotonic()
        self._process = ManagedProcess(
            "target", self._argv, self.log_path, env={**base_env(), **self._env}, cwd=self._cwd
        )
        self._process.start()

        def healthy() -> bool:
            return (
                httpx.get(f"{self.base_url}/health", timeout=2, trust_env=False).status_code == 200
            )

        try:
            self._process.wait_ready(healthy, self._startup_timeout_s)
        except ServiceStartError:
            self._process.stop()
            raise
        return time.monotonic() - began

    def _require(self) -> ManagedProcess:
        if self._process is None or not self._process.alive():
            raise ProcessFaultUnavailableError("the target is not running")
        return self._process

    def kill(self) -> None:
        """SIGKILL: no drain, no cleanup: what a crash or an OOM kill does.

        The whole process group: a target started through a wrapper (``sh -c``, ``uv run``) must
        lose its real server, not just the wrapper."""
        process = self._require()
        signal_group(process.pid, signal.SIGKILL)
        if process.popen is not None:
            process.popen.wait(timeout=10)

    def restart(self) -> float:
        self.restarts += 1
        return self.start()

    def restart_if_down(self) -> None:
        """Heal a crash: start the target again unless it runs."""
        if not self.running:
            self.restart()

    def pause(self) -> None:
        signal_group(self._require().pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None and self._process.alive():
            signal_group(self._process.pid, signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.alive()

    def stop(self) -> None:
        """SIGTERM (the service drains), SIGKILL after the grace period."""
        if self._process is not None:
            self.resume()  # a stopped process cannot handle SIGTERM
            self._process.stop(grace_s=10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
