"""The zoo's members as targets the runner can start: ``python -m reference_impl.zoo <name>``."""

from __future__ import annotations

from dataclasses import dataclass

from harness.target.config import TargetConfig
from reference_impl.zoo import BUGS, BY_NAME, CONTROL


@dataclass(frozen=True)
class Member:
    name: str
    summary: str

    @property
    def is_control(self) -> bool:
        return self.name == CONTROL

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
    return [Member(bug.name, bug.summary) for bug in BUGS if bug.name in wanted]
