"""Shrinking: the algorithm on a pure stand-in for a run, then for real against a zoo member."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from harness.checkers import Outcome, Verdict
from harness.history import History
from harness.runner.results import ScenarioResult
from harness.runner.shrink import candidates, shrink, size, to_toml
from harness.scenario import Scenario, load_library, load_scenario

LIBRARY = load_library()


def fake_run(fails_when: int) -> tuple[list[Scenario], object]:
    """A stand-in run: violates exactly-once-order while buyers >= ``fails_when``."""
    seen: list[Scenario] = []

    def run(scenario: Scenario) -> ScenarioResult:
        seen.append(scenario)
        buyers = scenario.workload[0].params.get("buyers", 1)
        outcome = Outcome.FAIL if buyers >= fails_when else Outcome.PASS
        verdict = Verdict("exactly-once-order", outcome, "x")
        return ScenarioResult(scenario.name, scenario.title, 1, [verdict], History(), 0.1, Path())

    return seen, run


def test_shrinking_finds_the_smallest_failing_count_and_drops_irrelevant_parts() -> None:
    original = LIBRARY["webhook-storm"].model_copy(deep=True)
    original.workload[0].params["buyers"] = 40
    seen, run = fake_run(fails_when=5)
    result = shrink(original, run, "exactly-once-order")  # type: ignore[arg-type]
    assert result.minimal.workload[0].params["buyers"] == 5
    assert result.minimal.faults == []  # the fault did not matter to this failure
    assert result.minimal.workload[0].params.get("redeliver", 0) <= 1
    assert size(result.minimal) < size(original)
    assert result.runs == len(seen)
    assert result.steps  # every kept simplification is named


def test_a_run_that_stops_failing_is_never_kept() -> None:
    original = LIBRARY["last-unit-race"]
    seen, run = fake_run(fails_when=1000)  # nothing smaller fails (nor the original)
    result = shrink(original, run, "exactly-once-order")  # type: ignore[arg-type]
    assert result.minimal == original
    assert result.steps == []
    assert result.runs == len(seen) > 0


def test_shrinking_is_bounded_in_runs() -> None:
    original = LIBRARY["duplicate-checkout-50"]
    seen, run = fake_run(fails_when=1)  # everything fails: it could go on for a while
    result = shrink(original, run, "exactly-once-order", max_runs=3)  # type: ignore[arg-type]
    assert result.runs == 3 == len(seen)


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_every_scenario_survives_a_round_trip_through_toml(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(to_toml(LIBRARY[name]))
    assert load_scenario(path) == LIBRARY[name]


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_every_candidate_is_valid_and_smaller(name: str) -> None:
    scenario = LIBRARY[name]
    for what, candidate in candidates(scenario):
        assert isinstance(candidate, Scenario), what
        assert size(candidate) < size(scenario), what


def test_shrinking_a_real_bug_down_to_one_buyer(tmp_path: Path) -> None:
    # pii-in-logs leaks on every checkout, so every run fails the same way: a deterministic bug,
    # and a deterministic shrink. The storm and the fault have nothing to do with it.
    target = tmp_path / "zoo.toml"
    target.write_text(
        'name = "zoo-pii-in-logs"\n'
        'command = ["{python}", "-m", "reference_impl.zoo", "pii-in-logs"]\n'
    )
    out = tmp_path / "shrink"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "shrink",
            "-s",
            "webhook-storm",
            "--seed",
            "3",
            "--target",
            str(target),
            "--out",
            str(out),
            "--max-runs",
            "20",
        ],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr  # it still fails: exit 1
    assert "violates no-pii-in-logs" in result.stdout
    minimal = tomllib.loads((out / "minimal" / "webhook-storm.toml").read_text())
    assert "faults" not in minimal
    params = minimal["workload"][0]["params"]
    assert params["buyers"] == 1
    assert params.get("redeliver", 0) <= 1
    assert "checkout-chaos run --scenario webhook-storm --seed 3" in result.stdout
