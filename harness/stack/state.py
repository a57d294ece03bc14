"""The record of a detached stack, so ``stack status`` and ``stack down`` work from another shell."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

from pydantic import BaseModel

from harness.settings import Settings
from harness.stack.process import pid_running, signal_group
from harness.stack.stack import Stack


class DetachedStack(BaseModel):
    backend: str
    workdir: str
    log_dir: str
    pids: dict[str, int]
    urls: dict[str, str]
    proxied: dict[str, str]


def state_path(settings: Settings) -> Path:
    return settings.cache_dir / "detached-stack.json"


def record(settings: Settings, stack: Stack) -> Path:
    state = DetachedStack(
        backend=stack.backend,
        workdir=str(stack.log_dir.parent),
        log_dir=str(stack.log_dir),
        pids={name: s.pid for name, s in stack.services.items() if s.pid is not None},
        urls={name: s.url for name, s in stack.services.items()},
        proxied=stack.proxied,
    )
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(state.model_dump_json(indent=2))
    return path


def load(settings: Settings) -> DetachedStack | None:
    path = state_path(settings)
    if not path.is_file():
        return None
    return DetachedStack.model_validate(json.loads(path.read_text()))


def stop(settings: Settings, grace_s: float = 5.0) -> list[str]:
    """Stop a detached stack; returns the names of the services that were still running."""
    state = load(settings)
    if state is None:
        return []
    running = [name for name, pid in state.pids.items() if pid_running(pid)]
    for name in running:
        signal_group(state.pids[name], signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(pid_running(state.pids[n]) for n in running):
        time.sleep(0.05)  # waiting for processes we do not parent: no wait() is possible
    for name in running:
        signal_group(state.pids[name], signal.SIGKILL)
    shutil.rmtree(state.workdir, ignore_errors=True)
    state_path(settings).unlink(missing_ok=True)
    return running
