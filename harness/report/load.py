"""Rebuild a SuiteResult from a run's folder, so reports can be re-rendered offline.

``python -m harness.report reports/<time>`` rewrites that run's reports from its saved files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.checkers import Evidence, Outcome, Verdict
from harness.history import History
from harness.runner.results import ScenarioResult, SuiteResult


def _verdict(raw: dict[str, Any]) -> Verdict:
    return Verdict(
        invariant=str(raw["invariant"]),
        outcome=Outcome(raw["outcome"]),
        summary=str(raw["summary"]),
        evidence=tuple(
            Evidence(str(e["kind"]), str(e["ref"]), str(e["detail"])) for e in raw["evidence"]
        ),
    )


def load_scenario(folder: Path) -> ScenarioResult:
    raw = json.loads((folder / "result.json").read_text())
    history_file = folder / "history.jsonl"
    return ScenarioResult(
        scenario=str(raw["scenario"]),
        title=str(raw["title"]),
        seed=int(raw["seed"]),
        verdicts=[_verdict(v) for v in raw["verdicts"]],
        history=History.read_jsonl(history_file) if history_file.is_file() else History(),
        duration_s=float(raw["duration_s"]),
        out_dir=folder,
        error=raw.get("error"),
        reproduce=str(raw.get("reproduce", "")),
        notes=[str(n) for n in raw.get("notes", [])],
    )


def load_suite(out_dir: Path) -> SuiteResult:
    summary = json.loads((out_dir / "summary.json").read_text())
    return SuiteResult(
        target=str(summary["target"]),
        seed=int(summary["seed"]),
        out_dir=out_dir,
        scenarios=[load_scenario(out_dir / s["scenario"]) for s in summary["scenarios"]],
        stack_start_s=float(summary.get("stack_start_s", 0.0)),
    )
