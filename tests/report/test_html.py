"""index.html: self-contained, escaped, with the matrix, the evidence and the plots."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

from harness.checkers import CHECKERS
from harness.report import write_reports
from harness.report.html import render_html
from harness.report.load import load_suite
from harness.runner.results import SuiteResult
from tests.report.builders import EVIL, mixed_suite


def _write(tmp_path: Path) -> tuple[SuiteResult, str]:
    suite = mixed_suite(tmp_path)
    for s in suite.scenarios:
        s.write()  # history.jsonl and result.json, as the runner leaves them
    page = write_reports(suite)
    assert page == tmp_path / "index.html"
    return suite, page.read_text()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[SuiteResult, str]:
    """Written once: the tests below only read it (plotting is the slow part)."""
    return _write(tmp_path_factory.mktemp("run"))


def _matrix(html: str) -> str:
    match = re.search(r'<table class="matrix">.*?</table>', html, re.S)
    assert match is not None
    return match.group(0)


def test_all_three_reports_are_written(written: tuple[SuiteResult, str]) -> None:
    suite, _ = written
    assert {p.name for p in suite.out_dir.iterdir() if p.is_file()} == {
        "index.html",
        "junit.xml",
        "summary.json",
    }
    summary = json.loads((suite.out_dir / "summary.json").read_text())
    assert summary["passed"] is False
    assert summary["counts"]["scenarios_failed"] == 2
    assert summary["counts"]["verdicts"] == {"pass": 3, "fail": 1, "not-exercised": 1}
    assert [s["scenario"] for s in summary["scenarios"]] == [
        "happy-path",
        "double-order",
        "broken-run",
    ]
    assert summary["scenarios"][0]["faults"][0]["name"] == "redis-down"
    assert summary["scenarios"][1]["verdicts"][0]["evidence"][0]["ref"] == "ord_1"


def test_matrix_has_a_cell_per_scenario_and_invariant(written: tuple[SuiteResult, str]) -> None:
    _, html = written
    matrix = _matrix(html)
    cells = re.findall(r'<td class="c ([a-z-]+)"', matrix)
    # per scenario: its overall result, then one cell per contract invariant
    assert len(cells) == 3 * (1 + len(CHECKERS))
    rows = [cells[i : i + 1 + len(CHECKERS)] for i in range(0, len(cells), 1 + len(CHECKERS))]
    order = list(CHECKERS)
    happy, double, broken = rows
    assert happy[0] == "pass"
    assert happy[1 + order.index("conservation")] == "pass"
    assert happy[1 + order.index("convergence")] == "not-checked"
    assert double[0] == "fail"
    assert double[1 + order.index("exactly-once-order")] == "fail"
    assert double[1 + order.index("authentic-webhooks-only")] == "not-exercised"
    assert broken == ["error"] * (1 + len(CHECKERS))
    assert ">FAIL<" in matrix
    assert ">not exercised<" in matrix


def test_header_counts_and_reproduce_commands(written: tuple[SuiteResult, str]) -> None:
    _, html = written
    assert "target <strong>reference</strong>" in html
    assert "seed <strong>3</strong>" in html
    assert (
        "<strong>1</strong> passed, <strong>1</strong> failed, <strong>1</strong> errored" in html
    )
    header = html[: html.index('<table class="matrix">')]
    assert "checkout-chaos run --scenario double-order --seed 3" in header
    assert "checkout-chaos run --scenario broken-run --seed 3" in header
    assert "--scenario happy-path" not in header  # only failures need reproducing


def test_sections_show_evidence_notes_errors_and_op_counts(
    written: tuple[SuiteResult, str],
) -> None:
    _, html = written
    for text in (
        "the double-order scenario",
        "2 orders for session cs_1",
        "first order for cs_1",
        "second order for cs_1",
        "<code>ord_2</code>",
        "fresh target per scenario",
        "ServiceStartError: the target never answered",
        "the run broke before the checkers ran",
        "postgres-down",
    ):
        assert text in html
    # happy-path's checkout row: 1 ok, 1 fail, 1 info, none pending
    assert re.search(
        r"<code>checkout</code></td><td class=\"num\">1</td><td class=\"num\">1</td>"
        r"<td class=\"num\">1</td><td class=\"num\">0</td>",
        html,
    )
    assert 'href="double-order/history.jsonl"' in html  # relative, beside the page


def test_plots_are_inline_svg(written: tuple[SuiteResult, str]) -> None:
    _, html = written
    # timeline + latency for each scenario, convergence for the two with observer polls
    assert html.count("<svg") == 3 * 2 + 2
    assert "<img" not in html


def test_self_contained_no_scripts_no_network(written: tuple[SuiteResult, str]) -> None:
    _, html = written
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"\bsrc=", html)


def test_target_data_is_escaped(written: tuple[SuiteResult, str]) -> None:
    _, html = written
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html


def test_everything_from_the_target_is_escaped_everywhere(tmp_path: Path) -> None:
    suite = mixed_suite(tmp_path)
    suite.target = EVIL
    s = suite.scenarios[1]
    s.title, s.notes, s.error, s.reproduce = EVIL, [EVIL], EVIL, EVIL
    html = render_html(suite)
    assert "<script" not in html
    assert html.count("&lt;script&gt;") >= 6


def test_an_empty_suite_renders(tmp_path: Path) -> None:
    html = render_html(SuiteResult("reference", 1, tmp_path))
    assert "No scenario ran." in html
    assert "<svg" not in html


def test_template_is_packaged_with_the_code() -> None:
    template = resources.files("harness.report").joinpath("templates/report.html.j2")
    assert template.is_file()
    assert "<!DOCTYPE html>" in template.read_text()


def test_a_saved_run_rerenders_the_same_summary(tmp_path: Path) -> None:
    suite, _ = _write(tmp_path)
    before = json.loads((suite.out_dir / "summary.json").read_text())
    loaded = load_suite(suite.out_dir)
    write_reports(loaded)
    after = json.loads((suite.out_dir / "summary.json").read_text())
    for d in (before, after):
        d.pop("generated_at")
    assert after == before


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "summary.json").unlink(), "has no summary.json"),
        (lambda d: (d / "summary.json").write_text("{"), "summary.json: not JSON"),
        (lambda d: (d / "summary.json").write_text("{}"), "summary.json: not a checkout-chaos"),
        (lambda d: next(d.glob("*/result.json")).unlink(), "result.json: cannot read it"),
    ],
)
def test_the_report_command_names_what_is_wrong_with_a_run_folder(
    tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    suite, _ = _write(tmp_path)
    damage(suite.out_dir)
    done = subprocess.run(
        [sys.executable, "-m", "harness", "report", str(suite.out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_the_report_command_redraws_a_saved_run(tmp_path: Path) -> None:
    suite, _ = _write(tmp_path)
    (suite.out_dir / "index.html").unlink()
    done = subprocess.run(
        [sys.executable, "-m", "harness", "report", str(suite.out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (suite.out_dir / "index.html").is_file()
    assert "index.html" in done.stdout
