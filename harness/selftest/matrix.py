"""The detection matrix: bug x scenario, each cell the invariants that scenario found violated.

A bug counts as detected only where a scenario flags an invariant the bug is known to break
(``Bug.breaks``): a bug that trips some unrelated invariant was caught by luck, and the day that
luck runs out the harness would miss it without anyone noticing.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

# Short codes keep an 18-column matrix readable, on screen and in selftest.html; a legend under
# each spells them out.
CODES = {
    "conservation": "CON",
    "no-oversell": "OVR",
    "exactly-once-order": "ORD",
    "one-session-per-cart": "SES",
    "refund-exactly-once": "REF",
    "amount-integrity": "AMT",
    "authentic-webhooks-only": "SIG",
    "no-pii-in-logs": "PII",
    "convergence": "CNV",
    "no-server-errors-on-bad-input": "5XX",
}

TITLE = "Bug zoo: does the harness catch the bugs it exists for?"

# What one cell says about its member: a detection (``counted``), violations of only invariants
# the bug is not known to break (``collateral``), a run that broke (``broken``), any violation of
# the control (``alarm``), or nothing (``clean``). The terminal and the HTML report both draw this.
CellKind = Literal["clean", "counted", "collateral", "broken", "alarm"]


def short_codes(invariants: Iterable[str]) -> str:
    return "/".join(CODES.get(v, v) for v in invariants)


@dataclass(frozen=True)
class Cell:
    """One scenario's run against one member."""

    scenario: str
    violated: tuple[str, ...]
    error: str | None  # the run broke (not an invariant): neither a detection nor a pass
    duration_s: float
    finished_at_s: float  # seconds since the start of this member's run


@dataclass
class MemberRun:
    member: str
    summary: str
    is_control: bool
    cells: list[Cell] = field(default_factory=list)
    duration_s: float = 0.0
    lane: int = 0
    known_gap: str | None = None  # why no scenario catches this bug yet, when that is known
    expected: tuple[str, ...] = ()  # the invariants this bug breaks; empty: any violation counts

    def hits(self, cell: Cell) -> tuple[str, ...]:
        """The violations in ``cell`` that count: for the control every one is a false alarm."""
        if self.is_control or not self.expected:
            return cell.violated
        return tuple(v for v in cell.violated if v in self.expected)

    def kind(self, cell: Cell) -> CellKind:
        """A broken run first: its violations, if any, come from a run that did not finish."""
        if cell.error is not None:
            return "broken"
        if not cell.violated:
            return "clean"
        if self.is_control:
            return "alarm"
        return "counted" if self.hits(cell) else "collateral"

    @property
    def detected(self) -> bool:
        return any(self.hits(c) for c in self.cells)

    @property
    def errors(self) -> list[Cell]:
        return [c for c in self.cells if c.error is not None]

    @property
    def first_detection_s(self) -> float | None:
        """Seconds from the start of the member's run until the first flagging scenario ended."""
        times = [c.finished_at_s for c in self.cells if self.hits(c)]
        return min(times) if times else None

    @property
    def catching(self) -> list[Cell]:
        return [c for c in self.cells if self.hits(c)]

    @property
    def off_target(self) -> list[Cell]:
        """Cells that flagged only invariants this bug is not known to break."""
        return [c for c in self.cells if c.violated and not self.hits(c)]

    @property
    def escape_note(self) -> str | None:
        """Why an undetected bug escaped, when that is known (None for the control or a catch)."""
        if self.is_control or self.detected:
            return None
        if self.known_gap:
            return f"known gap: {self.known_gap}"
        if self.off_target:
            flagged = ", ".join(f"{c.scenario}: {short_codes(c.violated)}" for c in self.off_target)
            return (
                f"tripped only invariants it does not break ({flagged}); "
                f"a detection must flag {short_codes(self.expected)}"
            )
        return None

    @property
    def ok(self) -> bool:
        """The control: clean and unbroken. A bug: caught by at least one scenario."""
        if self.is_control:
            return not self.detected and not self.errors
        return self.detected


@dataclass
class Matrix:
    scenarios: list[str]
    runs: list[MemberRun]
    seed: int
    lanes: int
    total_s: float = 0.0

    @property
    def control(self) -> MemberRun | None:
        return next((r for r in self.runs if r.is_control), None)

    @property
    def bugs(self) -> list[MemberRun]:
        return [r for r in self.runs if not r.is_control]

    @property
    def undetected(self) -> list[str]:
        return [r.member for r in self.bugs if not r.detected]

    @property
    def median_first_detection_s(self) -> float | None:
        times = [t for r in self.bugs if (t := r.first_detection_s) is not None]
        return statistics.median(times) if times else None

    @property
    def control_clean(self) -> bool:
        control = self.control
        return control is None or control.ok

    @property
    def passed(self) -> bool:
        return not self.undetected and self.control_clean

    @property
    def headline(self) -> str:
        median = self.median_first_detection_s
        caught = len(self.bugs) - len(self.undetected)
        return (
            f"{caught} of {len(self.bugs)} bugs detected; control "
            f"{'clean' if self.control_clean else 'raised false alarms'}; median time to "
            f"first detection {'n/a' if median is None else f'{median:.1f} s'}"
        )

    def cell(self, member: str, scenario: str) -> Cell | None:
        run = next((r for r in self.runs if r.member == member), None)
        if run is None:
            return None
        return next((c for c in run.cells if c.scenario == scenario), None)

    def to_json(self) -> dict[str, Any]:
        median = self.median_first_detection_s
        return {
            "seed": self.seed,
            "lanes": self.lanes,
            "total_s": round(self.total_s, 1),
            "scenarios": self.scenarios,
            "passed": self.passed,
            "control_clean": self.control_clean,
            "undetected": self.undetected,
            "median_first_detection_s": None if median is None else round(median, 1),
            "members": [
                {
                    "member": r.member,
                    "summary": r.summary,
                    "control": r.is_control,
                    "detected": r.detected,
                    "expected": list(r.expected),
                    "known_gap": r.known_gap,
                    "first_detection_s": (
                        None if r.first_detection_s is None else round(r.first_detection_s, 1)
                    ),
                    "duration_s": round(r.duration_s, 1),
                    "cells": [
                        {**asdict(c), "violated": list(c.violated), "counted": list(r.hits(c))}
                        | {"duration_s": round(c.duration_s, 2)}
                        | {"finished_at_s": round(c.finished_at_s, 2)}
                        for c in r.cells
                    ],
                }
                for r in self.runs
            ],
            "report_section": self.report_section(),
        }

    def report_section(self) -> dict[str, Any]:
        """What the HTML report can show without knowing the matrix's internals."""
        control = self.control
        return {
            "title": TITLE,
            "headline": self.headline,
            "rows": [
                {
                    "member": r.member,
                    "summary": r.summary,
                    "expected": list(r.expected),
                    "caught_by": {c.scenario: list(r.hits(c)) for c in r.catching},
                    "also_flagged": {
                        c.scenario: [v for v in c.violated if v not in r.hits(c)]
                        for c in r.cells
                        if set(c.violated) - set(r.hits(c))
                    },
                    "known_gap": None if r.detected else r.known_gap,
                    "first_detection_s": (
                        None if r.first_detection_s is None else round(r.first_detection_s, 1)
                    ),
                }
                for r in self.runs
            ],
            "false_alarms": (
                {c.scenario: list(c.violated) for c in control.catching} if control else {}
            ),
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2))
