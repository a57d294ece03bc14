"""The scenario library: every file is valid, and every scenario passes against the reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.runner import RunOptions, run_scenario
from harness.scenario import ScenarioError, load_library, load_scenario, select
from harness.stack.stack import Stack
from harness.target.config import REFERENCE

LIBRARY = load_library()
CLI = [sys.executable, "-m", "harness"]

# What the harness-core issue asks the library to cover, by the scenario that covers it.
REQUIRED = {
    "duplicate-checkout-10",
    "duplicate-checkout-50",
    "webhook-storm",
    "out-of-order-events",
    "redis-outage-after-payment",
    "redis-latency-checkout",
    "postgres-outage-fulfilment",
    "stripe-timeout-after-charge",
    "stripe-error-storm",
    "mid-payment-stock-out",
    "last-unit-race",
    "target-crash-fulfilment",
    "forged-webhooks",
    "expiry-races-payment",
}


def test_the_library_covers_every_required_situation() -> None:
    assert set(LIBRARY) >= REQUIRED


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_scenario_passes_against_the_reference(name: str, stack: Stack, tmp_path: Path) -> None:
    scenario = LIBRARY[name]
    result = run_scenario(
        scenario,
        REFERENCE,
        stack,
        RunOptions(seed=1234, out_dir=tmp_path, reproduce=f"checkout-chaos run -s {name}"),
    )
    assert result.error is None, result.error
    assert [v.summary for v in result.violated] == []
    judged = {v.invariant for v in result.verdicts}
    assert judged == set(scenario.invariants)
    # The run left its evidence behind.
    assert (tmp_path / name / "history.jsonl").stat().st_size > 0
    assert (tmp_path / name / "result.json").is_file()
    # Faults that a scenario schedules really happened, and were healed.
    started = [op.value["name"] for op in result.history.completions("start_fault")]
    stopped = [op.value["name"] for op in result.history.completions("stop_fault")]
    assert len(started) == len(scenario.faults)
    # Each fault healed on its own, then everything once more at the end ("all").
    assert sorted(stopped) == sorted([*started, "all"] if scenario.faults else [])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


BASE = """
name = "x"
title = "t"
[[products]]
sku = "a"
price_cents = 100
stock = 1
[[workload]]
kind = "shoppers"
"""


def test_a_valid_minimal_scenario_loads(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, BASE))
    assert scenario.suites == ["default"]
    assert len(scenario.invariants) == 10


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[faults]]\nkind = "down"\n', "needs 'link'"),
        ('[[faults]]\nkind = "explode"\n', "faults.0.kind"),
        (
            '[[faults]]\nkind = "down"\nlink = "redis"\nschedule = { at_phase = "refund" }\n',
            "no workload here announces 'refund'",
        ),
        ('invariants = ["no-oversell", "telepathy"]\n', "telepathy"),
        ('[[workload]]\nkind = "teleport"\n', "unknown workload 'teleport'"),
        ('colour = "red"\n', "colour"),
    ],
)
def test_invalid_scenarios_name_file_and_field(tmp_path: Path, extra: str, message: str) -> None:
    # Top-level keys must come before the tables, so prepend them when they are plain keys.
    text = extra + BASE if not extra.startswith("[[") else BASE + extra
    with pytest.raises(ScenarioError, match=r"s\.toml") as info:
        load_scenario(_write(tmp_path, text))
    assert message in str(info.value)


def test_selecting_by_suite_and_name() -> None:
    smoke = select(LIBRARY, suite="smoke")
    assert {s.name for s in smoke} <= set(LIBRARY)
    assert smoke
    with pytest.raises(ScenarioError, match="unknown scenario"):
        select(LIBRARY, names=["no-such-thing"])
    with pytest.raises(ScenarioError, match="no scenario is in suite"):
        select(LIBRARY, suite="no-such-suite")


def test_cli_lists_scenarios_and_rejects_unknown_ones() -> None:
    env = {**os.environ, "COLUMNS": "200"}
    listed = subprocess.run(
        [*CLI, "run", "--list"], env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0
    assert "last-unit-race" in listed.stdout
    unknown = subprocess.run(
        [*CLI, "run", "--scenario", "nope"], env=env, capture_output=True, text=True, check=False
    )
    assert unknown.returncode == 2
    assert "unknown scenario(s) nope" in unknown.stderr
    assert "Traceback" not in unknown.stderr
