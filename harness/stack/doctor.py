"""``checkout-chaos stack doctor``: what each backend needs, what is here, and how to get the rest."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from harness.settings import Settings
from harness.stack import binaries, containers


@dataclass(frozen=True)
class Finding:
    item: str
    ok: bool
    detail: str  # where it was found, or the command that gets it


def diagnose(settings: Settings) -> list[Finding]:
    findings = [
        Finding(
            "python >= 3.11",
            sys.version_info >= (3, 11),
            sys.version.split()[0] if sys.version_info >= (3, 11) else "install Python 3.11+",
        )
    ]
    lookups: list[tuple[str, Callable[[], binaries.Found]]] = [
        ("postgres", partial(binaries.locate_postgres, settings)),
        ("redis-server", partial(binaries.locate_redis, settings)),
        *[(p.name, partial(binaries.locate_go_program, settings, p)) for p in binaries.GO_PROGRAMS],
    ]
    for item, lookup in lookups:
        try:
            found = lookup()
        except binaries.BinaryMissingError as exc:
            findings.append(Finding(item, False, str(exc)))
        else:
            findings.append(Finding(item, True, f"{found.path} ({found.source})"))
    go = shutil.which("go")
    findings.append(
        Finding("go (builds the pinned Go programs)", go is not None, go or "install Go 1.22+")
    )
    docker = containers.docker_available()
    findings.append(
        Finding(
            "docker engine (only for backend 'containers')",
            docker,
            "answers" if docker else "not answering: backend 'containers' is unavailable",
        )
    )
    return findings


def embedded_ready(findings: list[Finding]) -> bool:
    needed = {"postgres", "redis-server", *(p.name for p in binaries.GO_PROGRAMS)}
    return all(f.ok for f in findings if f.item in needed)
