"""The zoo's members as targets the runner can start: ``python -m reference_impl.zoo <name>``."""

from __future__ import annotations

from dataclasses import dataclass

from harness.target.config import TargetConfig
from reference_impl.zoo import BUGS, BY_NAME, CONTROL

# Bugs no scenario can catch yet, and why: harness gaps, not zoo problems. The selftest still
# fails on them (a bug that escapes is a failure); this only explains the failure. Empty since
# the request-log checks and the price-tampering client (retry-without-key, refund-twice and
# client-price used to escape).
KNOWN_GAPS: dict[str, str] = {}


# Members whose bug makes scenarios wait out their bounds (a retry storm, orders that never come):
# lanes take these first so that no lane is left running one alone at the end.
SLOW: frozenset[str] = frozenset({"missing-metadata-500", "redis-loses-paid-order"})


@dataclass(frozen=True)
class Member:
    name: str
    summary: str
    breaks: tuple[str, ...] = ()  # the invariants a detection must flag (Bug.breaks)

    @property
    def is_control(self) -> bool:
        return self.name == CONTROL

    @property
    def known_gap(self) -> str | None:
        return KNOWN_GAPS.get(self.name)

    def target(self) -> TargetConfig:
        return TargetConfig(
            name=f"zoo:{self.name}", command=["{python}", "-m", "reference_impl.zoo", self.name]
        )


def members(names: list[str] | None = None) -> list[Member]:
    """The members named (the control always among them), or the whole zoo, in zoo order."""
    unknown = [n for n in names or [] if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown zoo member(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    wanted = set(names or BY_NAME) | {CONTROL}
    return [Member(bug.name, bug.summary, bug.breaks) for bug in BUGS if bug.name in wanted]
