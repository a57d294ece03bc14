"""Teardown is guaranteed: on normal exit, on an exception, on Ctrl-C, and when the harness is killed."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from harness.settings import Settings
from harness.stack import binaries
from harness.stack.stack import start_stack

CLI = [sys.executable, "-m", "harness"]


def children_of(pid: int) -> set[int]:
    """Direct children of ``pid``, read from the process table."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we looked
            continue
        # Field 4 is the parent pid; the command name (field 2) may hold spaces, so split after ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: set[int], timeout_s: float = 60.0) -> set[int]:
    """Pids still running after ``timeout_s`` (processes we do not parent cannot be wait()ed)."""
    deadline = time.monotonic() + timeout_s
    alive = {p for p in pids if running(p)}
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = {p for p in alive if running(p)}
    return alive


def read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float = 60.0) -> str:
    """Lines of ``proc``'s output up to the one holding ``marker``.

    A reader thread feeds a queue: select() on a buffered text pipe can miss lines that Python
    already read into its buffer.
    """
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: IO[str]) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} never printed; output so far:\n{''.join(seen)}")


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a CLI run with its own cache dir, reusing the binaries already found."""
    settings = Settings()
    return {
        **os.environ,
        "CHECKOUT_CHAOS_CACHE_DIR": str(tmp_path / "cache"),
        "CHECKOUT_CHAOS_BINARIES__TOXIPROXY_SERVER": str(
            binaries.locate_go_program(settings, binaries.TOXIPROXY).path
        ),
        "CHECKOUT_CHAOS_BINARIES__STRIPE_MOCK": str(
            binaries.locate_go_program(settings, binaries.STRIPE_MOCK).path
        ),
        "COLUMNS": "200",
    }


def test_leaving_the_context_stops_every_process_and_removes_the_data() -> None:
    with start_stack(Settings()) as stack:
        pids = {s.pid for s in stack.services.values() if s.pid is not None}
        workdir = stack.log_dir.parent
        assert len(pids) == 4
        assert all(running(p) for p in pids)
        assert (workdir / "pgdata").is_dir()
    assert not any(running(p) for p in pids)
    assert not workdir.exists()


def test_an_exception_inside_the_context_still_tears_down() -> None:
    pids: set[int] = set()

    def fail_inside() -> None:
        with start_stack(Settings()) as stack:
            pids.update(s.pid for s in stack.services.values() if s.pid is not None)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    assert len(pids) == 4
    assert not any(running(p) for p in pids)


@contextlib.contextmanager
def stack_up_in_foreground(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], set[int]]]:
    """`checkout-chaos stack up` running, with the pids of its four services; always reaped."""
    proc = subprocess.Popen(
        [*CLI, "stack", "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        read_until(proc, "press Ctrl-C")
        services = children_of(proc.pid)
        assert len(services) == 4
        yield proc, services
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_on_stack_up_tears_down(
    isolated_env: dict[str, str], sig: signal.Signals
) -> None:
    with stack_up_in_foreground(isolated_env) as (proc, services):
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 130
        assert wait_gone(services) == set()


def test_services_die_with_a_killed_harness(isolated_env: dict[str, str]) -> None:
    with stack_up_in_foreground(isolated_env) as (proc, services):
        proc.kill()  # SIGKILL: no Python teardown runs; PR_SET_PDEATHSIG must do the job
        proc.wait()
        assert wait_gone(services) == set()


def test_detached_stack_reports_status_and_goes_down(isolated_env: dict[str, str]) -> None:
    up = subprocess.run(
        [*CLI, "stack", "up", "--detach"],
        env=isolated_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    state = Path(isolated_env["CHECKOUT_CHAOS_CACHE_DIR"]) / "detached-stack.json"
    pids = set(json.loads(state.read_text())["pids"].values())
    assert len(pids) == 4
    assert all(running(p) for p in pids)
    status = subprocess.run(
        [*CLI, "stack", "status"], env=isolated_env, capture_output=True, text=True, check=True
    )
    assert status.stdout.count("up ") == 4
    assert "link postgres: postgresql://" in status.stdout
    again = subprocess.run(
        [*CLI, "stack", "up", "--detach"],
        env=isolated_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 1
    assert "stack down" in again.stderr
    down = subprocess.run(
        [*CLI, "stack", "down"], env=isolated_env, capture_output=True, text=True, check=True
    )
    assert "stopped:" in down.stdout
    assert wait_gone(pids) == set()
    assert not state.exists()
