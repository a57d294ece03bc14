"""Rebuild a SuiteResult from a run's folder, so reports can be re-rendered offline.

``checkout-chaos report reports/<time>`` (or ``python -m harness.report``) rewrites that run's
reports from its saved files.
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


class RunFolderError(ValueError):
    """The folder is not a readable checkout-chaos run (what is wrong, and with which file)."""


def load_suite(out_dir: Path) -> SuiteResult:
    summary_file = out_dir / "summary.json"
    if not summary_file.is_file():
        raise RunFolderError(
            f"{out_dir} has no summary.json: give a run folder such as reports/<time>"
        )
    current = summary_file
    try:
        summary = json.loads(summary_file.read_text())
        scenarios = []
        for entry in summary["scenarios"]:
            current = out_dir / str(entry["scenario"]) / "result.json"
            scenarios.append(load_scenario(current.parent))
        return SuiteResult(
            target=str(summary["target"]),
            seed=int(summary["seed"]),
            out_dir=out_dir,
            scenarios=scenarios,
            stack_start_s=float(summary.get("stack_start_s", 0.0)),
        )
    except OSError as exc:
        raise RunFolderError(f"{current}: cannot read it ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{current}: not JSON ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise RunFolderError(f"{current}: not a checkout-chaos result (bad field {exc})") from None
