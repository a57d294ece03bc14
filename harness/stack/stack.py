"""The stack: every real service a checkout target needs, up on loopback and down again.

``start_stack`` is a context manager. Inside it the services answer; on leaving it (normally, on
an exception, on Ctrl-C) every process is stopped and the data directories are removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from harness.settings import Settings
from harness.stack import binaries, containers, services
from harness.stack.network import check_url_allowed
from harness.stack.process import ManagedProcess, pid_running
from harness.stack.proxies import LINKS, ProxyServer, host_port, replace_host_port


@dataclass(frozen=True)
class Service:
    name: str
    url: str
    started_in_s: float
    pid: int | None = None  # None when the harness does not own the process


@dataclass
class Stack:
    backend: str
    services: dict[str, Service]
    proxied: dict[str, str]  # link name -> URL that goes through Toxiproxy
    toxiproxy: ProxyServer
    log_dir: Path
    processes: list[ManagedProcess] = field(default_factory=list, repr=False)
    # Non-loopback hosts the user allowed (settings.allowed_hosts): the stack's own services may
    # live there, so whatever talks to them (the Stripe simulator) may too.
    allowed_hosts: tuple[str, ...] = ()

    @property
    def postgres_url(self) -> str:
        return self.services["postgres"].url

    @property
    def redis_url(self) -> str:
        return self.services["redis"].url

    @property
    def stripe_mock_url(self) -> str:
        return self.services["stripe-mock"].url

    @property
    def toxiproxy_url(self) -> str:
        return self.services["toxiproxy"].url

    def target_env(self) -> dict[str, str]:
        """The part of the contract's environment that the stack provides (all through proxies)."""
        return {
            "DATABASE_URL": self.proxied["postgres"],
            "REDIS_URL": self.proxied["redis"],
            "STRIPE_API_BASE": self.proxied["stripe"],
        }


def _wait_ready(launch: services.Launch, timeout_s: float) -> tuple[str, float]:
    """Block until ``launch`` serves; returns its name and seconds from spawn to ready."""
    launch.process.wait_ready(launch.probe, timeout_s)
    return launch.name, time.monotonic() - launch.spawned_at


WORKDIR_PREFIX = "checkout-chaos-stack-"
OWNER_FILE = "owner.pid"


def _remove_abandoned_workdirs() -> None:
    """Delete data dirs left by a harness that was SIGKILLed (its services died with it).

    The owner file lists the harness pid, plus the service pids of a detached stack; a dir is
    abandoned once none of them runs.
    """
    for workdir in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            owners = [int(p) for p in (workdir / OWNER_FILE).read_text().split()]
        except (OSError, ValueError):
            continue  # not ours to judge
        if not any(pid_running(p) for p in owners):
            shutil.rmtree(workdir, ignore_errors=True)


def resolve_backend(settings: Settings) -> str:
    if settings.backend != "auto":
        return settings.backend
    try:
        binaries.locate_postgres(settings)
        binaries.locate_redis(settings)
        for program in binaries.GO_PROGRAMS:
            binaries.locate_go_program(settings, program)
    except binaries.BinaryMissingError:
        if shutil.which("go") is None and containers.docker_available():
            return "containers"
    return "embedded"


def _create_proxies(toxiproxy: ProxyServer, upstreams: dict[str, str]) -> dict[str, str]:
    proxied: dict[str, str] = {}
    for link in LINKS:
        url = upstreams[link]
        info = toxiproxy.create(link, host_port(url))
        proxied[link] = replace_host_port(url, info.listen)
    return proxied


@contextlib.contextmanager
def start_stack(
    settings: Settings,
    log_dir: Path | None = None,
    *,
    on_event: Callable[[str], None] = lambda _msg: None,
    detach: bool = False,
) -> Iterator[Stack]:
    """Bring the stack up; tear it down on exit unless ``detach`` (then ``stop_detached`` does)."""
    backend = resolve_backend(settings)
    if backend == "containers":
        with containers.start_containers(settings, on_event=on_event) as stack:
            yield stack
        return

    _remove_abandoned_workdirs()
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    workdir.chmod(0o711)  # PostgreSQL may run as nobody and must reach its data dir
    (workdir / OWNER_FILE).write_text(str(os.getpid()))
    logs = log_dir or workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[ManagedProcess] = []
    stack_exit = contextlib.ExitStack()
    foreign_proxies: list[str] = []  # proxies created on a Toxiproxy the user runs
    toxiproxy: ProxyServer | None = None
    try:
        launches: list[services.Launch] = []
        ext = settings.external
        pool = stack_exit.enter_context(ThreadPoolExecutor(max_workers=4))
        waits: list[Future[tuple[str, float]]] = []

        def launched(launch: services.Launch) -> None:
            # Spawned on this (main) thread; readiness is awaited in the pool meanwhile.
            processes.append(launch.process)
            launches.append(launch)
            waits.append(pool.submit(_wait_ready, launch, settings.startup_timeout_s))

        if backend == "external":
            for url in (ext.postgres_url, ext.redis_url, ext.stripe_mock_url, ext.toxiproxy_url):
                if url is not None:
                    check_url_allowed(url, settings.allowed_hosts)
            missing = [
                name
                for name, url in (
                    ("postgres_url", ext.postgres_url),
                    ("redis_url", ext.redis_url),
                    ("stripe_mock_url", ext.stripe_mock_url),
                )
                if url is None
            ]
            if missing:
                raise ValueError(
                    "backend 'external' needs external."
                    + ", external.".join(missing)
                    + " (set them in checkout-chaos.toml or CHECKOUT_CHAOS_EXTERNAL__<NAME>)"
                )
            if ext.toxiproxy_url is None:
                launched(services.launch_toxiproxy(settings, logs, die_with_parent=not detach))
        else:
            # The fast ones first, so they boot while initdb runs.
            launched(services.launch_redis(settings, workdir, logs, die_with_parent=not detach))
            launched(services.launch_toxiproxy(settings, logs, die_with_parent=not detach))
            launched(services.launch_stripe_mock(settings, logs, die_with_parent=not detach))
            on_event("initialising PostgreSQL")
            launched(services.launch_postgres(settings, workdir, logs, die_with_parent=not detach))
        on_event("waiting for " + ", ".join(launch.name for launch in launches))
        took = dict(w.result() for w in waits)
        by_name = {launch.name: launch for launch in launches}
        found: dict[str, Service] = {
            name: Service(name, launch.url, took[name], launch.process.pid)
            for name, launch in by_name.items()
        }
        if backend == "external":
            for name, url in (
                ("postgres", ext.postgres_url),
                ("redis", ext.redis_url),
                ("stripe-mock", ext.stripe_mock_url),
                ("toxiproxy", ext.toxiproxy_url),
            ):
                if url is not None:
                    found[name] = Service(name, url, 0.0)
        toxiproxy = ProxyServer(found["toxiproxy"].url)
        if found["toxiproxy"].pid is None:
            foreign_proxies = list(LINKS)
        proxied = _create_proxies(
            toxiproxy,
            {
                "postgres": found["postgres"].url,
                "redis": found["redis"].url,
                "stripe": found["stripe-mock"].url,
            },
        )
        stack = Stack(
            backend,
            found,
            proxied,
            toxiproxy,
            logs,
            processes,
            allowed_hosts=tuple(settings.allowed_hosts),
        )
        if detach:
            owners = " ".join(str(p.pid) for p in processes)
            (workdir / OWNER_FILE).write_text(owners)
        yield stack
    finally:
        for name in foreign_proxies:
            with contextlib.suppress(Exception):  # best effort: it may never have been created
                if toxiproxy is not None:
                    toxiproxy.delete(name)
        if not detach:
            for process in reversed(processes):
                process.stop()
        stack_exit.close()  # after the stops, so no readiness wait outlives its process
        if not detach:
            shutil.rmtree(workdir, ignore_errors=True)
