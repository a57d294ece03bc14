"""``summary.json``: the run for machines (what the CLI printed, plus counts and fault windows)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from harness.checkers import Outcome
from harness.report.data import fault_windows, op_counts
from harness.runner.results import SuiteResult


def summary_dict(suite: SuiteResult, generated_at: datetime | None = None) -> dict[str, Any]:
    failed = [s for s in suite.scenarios if not s.passed]
    verdicts = [v for s in suite.scenarios for v in s.verdicts]
    return {
        "target": suite.target,
        "seed": suite.seed,
        "passed": suite.passed,
        "generated_at": generated_at.isoformat(timespec="seconds") if generated_at else None,
        "stack_start_s": round(suite.stack_start_s, 3),
        "counts": {
            "scenarios": len(suite.scenarios),
            "scenarios_passed": len(suite.scenarios) - len(failed),
            "scenarios_failed": len(failed),
            "scenarios_errored": sum(1 for s in suite.scenarios if s.error is not None),
            "verdicts": {o.value: sum(1 for v in verdicts if v.outcome is o) for o in Outcome},
        },
        "scenarios": [
            {
                **s.summary(),
                "op_counts": op_counts(s.history),
                "faults": [asdict(w) for w in fault_windows(s.history)],
            }
            for s in suite.scenarios
        ],
    }


def summary_json(suite: SuiteResult, generated_at: datetime | None = None) -> str:
    return json.dumps(summary_dict(suite, generated_at), indent=2, default=str) + "\n"
