"""`checkout-chaos load`: real Locust against the reference, then the invariants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.runner.load_run import read_stats


def test_load_run_drives_real_traffic_and_checks_the_invariants(tmp_path: Path) -> None:
    out = tmp_path / "load"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "load",
            "--seed",
            "4",
            "--users",
            "6",
            "--duration",
            "6",
            "--iterations",
            "3",
            "--stock",
            "5",
            "--out",
            str(out),
        ],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    stats = read_stats(out / "locust")
    assert stats.requests > 0
    assert stats.failures == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 4  # the users' choices can be replayed
    assert "seed 4" in result.stdout
    verdicts = {v["invariant"]: v["outcome"] for v in summary["scenarios"][0]["verdicts"]}
    assert set(verdicts) == {
        "conservation",
        "no-oversell",
        "exactly-once-order",
        "refund-exactly-once",
        "amount-integrity",
        "convergence",
    }
    assert "fail" not in verdicts.values()
    assert verdicts["exactly-once-order"] == "pass"  # some sessions were paid, so it was judged
    assert (out / "locust.html").is_file()


def test_read_stats_takes_the_aggregated_row(tmp_path: Path) -> None:
    (tmp_path / "x_stats.csv").write_text(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
        "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,"
        "66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
        "POST,/carts,10,1,5,6,1,9,40,2.0,0.1,5,6,7,7,8,9,9,9,9,9,9\n"
        ",Aggregated,30,2,12,14,1,80,40,6.5,0.2,12,15,18,20,30,45,60,70,80,80,80\n"
    )
    stats = read_stats(tmp_path / "x")
    assert (stats.requests, stats.failures, stats.median_ms, stats.p95_ms, stats.rps) == (
        30,
        2,
        12.0,
        45.0,
        6.5,
    )


def test_read_stats_refuses_a_file_without_totals(tmp_path: Path) -> None:
    (tmp_path / "x_stats.csv").write_text("Type,Name,Request Count\nPOST,/carts,10\n")
    with pytest.raises(ValueError, match="no aggregated"):
        read_stats(tmp_path / "x")
