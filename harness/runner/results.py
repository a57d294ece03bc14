"""What a run produced: verdicts per scenario, with the files written for it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.checkers import Outcome, Verdict
from harness.history import History


@dataclass
class ScenarioResult:
    scenario: str
    title: str
    seed: int
    verdicts: list[Verdict]
    history: History
    duration_s: float
    out_dir: Path
    error: str | None = None  # the run itself broke (not an invariant): also a failure
    reproduce: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def violated(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.outcome is Outcome.FAIL]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.violated

    def summary(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "seed": self.seed,
            "passed": self.passed,
            "error": self.error,
            "duration_s": round(self.duration_s, 3),
            "operations": len(self.history),
            "reproduce": self.reproduce,
            "notes": self.notes,
            "verdicts": [
                {
                    **asdict(v),
                    "outcome": v.outcome.value,
                    "evidence": [asdict(e) for e in v.evidence],
                }
                for v in self.verdicts
            ],
        }

    def write(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.history.write_jsonl(self.out_dir / "history.jsonl")
        (self.out_dir / "result.json").write_text(json.dumps(self.summary(), indent=2))


@dataclass
class SuiteResult:
    target: str
    seed: int
    out_dir: Path
    scenarios: list[ScenarioResult] = field(default_factory=list)
    stack_start_s: float = 0.0

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.scenarios)
