"""Write a suite's reports (placeholder: summary JSON; HTML and JUnit follow)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.runner.results import SuiteResult


def write_reports(suite: SuiteResult) -> Path:
    suite.out_dir.mkdir(parents=True, exist_ok=True)
    path = suite.out_dir / "summary.json"
    path.write_text(
        json.dumps(
            {
                "target": suite.target,
                "seed": suite.seed,
                "passed": suite.passed,
                "scenarios": [s.summary() for s in suite.scenarios],
            },
            indent=2,
        )
    )
    return path
