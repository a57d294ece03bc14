"""A child process the stack owns: started in its own process group, logs captured, always reaped.

Teardown is layered so that no run leaves an orphan behind:

1. ``ManagedProcess.stop`` sends SIGTERM to the whole process group, then SIGKILL after a grace period.
2. Children started from the main thread get ``PR_SET_PDEATHSIG``: if the harness itself is
   SIGKILLed, the kernel kills them too (the flag is tied to the spawning *thread*, hence main only).
3. Detached stacks record their pids in a state file that ``checkout-chaos stack down`` reads.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class ServiceStartError(RuntimeError):
    """A service did not come up; the message carries the tail of its log."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def drop_privileges(uid: int, gid: int) -> Callable[[], None]:
    def preexec() -> None:  # pragma: no cover - runs in the forked child
        os.setgid(gid)
        os.setuid(uid)

    return preexec


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    run_as: tuple[int, int] | None = None  # (uid, gid), for servers that refuse to run as root
    die_with_parent: bool = True
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        hooks: list[Callable[[], None]] = []
        # Privileges first: the kernel clears the parent-death signal when credentials change.
        if self.run_as is not None:
            hooks.append(drop_privileges(*self.run_as))
        if self.die_with_parent and threading.current_thread() is threading.main_thread():
            hooks.append(_die_with_parent)

        def preexec() -> None:  # pragma: no cover - runs in the forked child
            for hook in hooks:
                hook()

        try:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env) if self.env is not None else None,
                cwd=self.cwd,
                start_new_session=True,  # own process group: stop() signals the whole tree
                preexec_fn=preexec if hooks else None,
            )
        except OSError as exc:
            raise ServiceStartError(f"{self.name}: cannot execute {self.argv[0]}: {exc}") from exc
        finally:
            log.close()

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def wait_ready(
        self, probe: Callable[[], bool], timeout_s: float, interval_s: float = 0.05
    ) -> None:
        """Poll ``probe`` until it returns True; fail fast if the process exits meanwhile."""
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.popen.returncode if self.popen else None
                raise ServiceStartError(
                    f"{self.name} exited with code {code} while starting.\n{self.log_tail()}"
                )
            try:
                if probe():
                    return
            except Exception as exc:  # not ready yet: the probe's errors are expected until it is
                last_error = exc
            time.sleep(interval_s)  # readiness polling with a deadline, not synchronisation
        raise ServiceStartError(
            f"{self.name} was not ready after {timeout_s:.0f}s (last probe error: {last_error}).\n"
            f"{self.log_tail()}"
        )

    def stop(self, grace_s: float = 5.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        signal_group(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            signal_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=grace_s)
        # The leader is gone; make sure nothing it forked into its group survives it.
        signal_group(self.popen.pid, signal.SIGKILL)


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def pid_running(pid: int) -> bool:
    """True while a process with this pid exists (ours or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
