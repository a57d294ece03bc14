"""junit.xml: the structure CI systems read, with the right counts and messages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.checkers import Evidence, Outcome
from harness.report.junit import junit_xml
from harness.runner.results import SuiteResult
from tests.report.builders import EVIL, mixed_suite, scenario, verdict


def _parse(suite: SuiteResult) -> ET.Element:
    return ET.fromstring(junit_xml(suite).encode())  # noqa: S314 - our own output


def test_one_testsuite_with_a_testcase_per_scenario_and_invariant(tmp_path: Path) -> None:
    root = _parse(mixed_suite(tmp_path))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    # 2 (passing) + 3 (failing) + 1 "run" error for the broken scenario
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("checkout-chaos.happy-path", "conservation"),
        ("checkout-chaos.happy-path", "no-oversell"),
        ("checkout-chaos.double-order", "exactly-once-order"),
        ("checkout-chaos.double-order", "conservation"),
        ("checkout-chaos.double-order", "authentic-webhooks-only"),
        ("checkout-chaos.broken-run", "run"),
    ]
    for element in (root, suite):
        assert element.get("tests") == "6"
        assert element.get("failures") == "1"
        assert element.get("skipped") == "1"
        assert element.get("errors") == "1"
    # The declared counts agree with the elements (CI tools use either).
    assert len(suite.findall("testcase/failure")) == 1
    assert len(suite.findall("testcase/skipped")) == 1
    assert len(suite.findall("testcase/error")) == 1
    assert all(float(c.get("time", "x")) >= 0 for c in cases)
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"target": "reference", "seed": "3"}


def test_failure_carries_summary_evidence_and_reproduce_command(tmp_path: Path) -> None:
    suite = _parse(mixed_suite(tmp_path)).find("testsuite")
    assert suite is not None
    failure = suite.find("testcase[@name='exactly-once-order']/failure")
    assert failure is not None
    assert failure.get("message") == "2 orders for session cs_1"
    body = failure.text or ""
    assert "order ord_1: first order for cs_1" in body
    assert "order ord_2: second order for cs_1" in body
    assert f"op 17: {EVIL}" in body  # escaped in the file, intact once parsed
    assert "reproduce: checkout-chaos run --scenario double-order --seed 3" in body


def test_skipped_and_error_messages(tmp_path: Path) -> None:
    suite = _parse(mixed_suite(tmp_path)).find("testsuite")
    assert suite is not None
    skipped = suite.find("testcase[@name='authentic-webhooks-only']/skipped")
    assert skipped is not None
    assert "no tampered delivery" in (skipped.get("message") or "")
    error = suite.find("testcase[@name='run']/error")
    assert error is not None
    assert error.get("message") == "ServiceStartError: the target never answered"
    assert "--scenario broken-run" in (error.text or "")


def test_control_characters_from_the_target_do_not_break_the_xml(tmp_path: Path) -> None:
    nasty = "log line with \x00 NUL, \x1b[31m ANSI and \x07 bell"
    bad = scenario(
        "nasty",
        tmp_path,
        [verdict("no-pii-in-logs", Outcome.FAIL, nasty, Evidence("log", "3", nasty))],
    )
    suite = SuiteResult("reference", 3, tmp_path, [bad])
    root = _parse(suite)  # would raise on an invalid character
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert "ANSI" in (failure.get("message") or "")


def test_an_empty_suite_is_still_valid(tmp_path: Path) -> None:
    root = _parse(SuiteResult("reference", 1, tmp_path))
    assert root.get("tests") == "0"
    assert len(root.findall("testsuite")) == 1
