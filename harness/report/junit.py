"""JUnit XML for CI (GitHub Actions, GitLab, Jenkins): a testcase per (scenario, invariant).

Layout follows the de-facto schema those tools read: ``<testsuites>`` around one ``<testsuite>``;
``<failure>`` for a violated invariant, ``<skipped>`` for one the run did not exercise, and an
``<error>`` testcase named ``run`` for a scenario whose run broke.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from harness.checkers import Outcome, Verdict
from harness.runner.results import ScenarioResult, SuiteResult

# XML 1.0 forbids most control characters; target data may contain them and CI parsers would
# reject the whole file.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def evidence_text(verdict: Verdict) -> str:
    return "\n".join(f"{e.kind} {e.ref}: {e.detail}" for e in verdict.evidence)


def _failure_body(result: ScenarioResult, verdict: Verdict) -> str:
    lines = [verdict.summary, "", "evidence:", evidence_text(verdict) or "(none)"]
    if result.reproduce:
        lines += ["", f"reproduce: {result.reproduce}"]
    return _clean("\n".join(lines))


def _testcases(suite: ET.Element, result: ScenarioResult) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    classname = f"checkout-chaos.{result.scenario}"
    cases = len(result.verdicts) + (result.error is not None)
    # The scenario's wall time is shared among its testcases so CI totals add up to the run.
    share = result.duration_s / cases if cases else 0.0
    for verdict in result.verdicts:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": _clean(classname),
                "name": _clean(verdict.invariant),
                "time": f"{share:.3f}",
            },
        )
        counts["tests"] += 1
        if verdict.outcome is Outcome.FAIL:
            counts["failures"] += 1
            failure = ET.SubElement(
                case, "failure", {"message": _clean(verdict.summary), "type": "InvariantViolated"}
            )
            failure.text = _failure_body(result, verdict)
        elif verdict.outcome is Outcome.NOT_EXERCISED:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", {"message": _clean(f"not exercised: {verdict.summary}")})
        else:
            ET.SubElement(case, "system-out").text = _clean(verdict.summary)
    if result.error is not None:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": _clean(classname), "name": "run", "time": f"{share:.3f}"},
        )
        counts["tests"] += 1
        counts["errors"] += 1
        error = ET.SubElement(
            case, "error", {"message": _clean(result.error), "type": "ScenarioRunError"}
        )
        body = [result.error]
        if result.reproduce:
            body += ["", f"reproduce: {result.reproduce}"]
        error.text = _clean("\n".join(body))
    return counts


def junit_xml(suite: SuiteResult, timestamp: datetime | None = None) -> str:
    """The suite as a JUnit XML document (text, with an XML declaration)."""
    root = ET.Element("testsuites", {"name": "checkout-chaos"})
    testsuite = ET.SubElement(
        root, "testsuite", {"name": _clean(f"checkout-chaos ({suite.target})")}
    )
    if timestamp is not None:
        testsuite.set("timestamp", timestamp.replace(microsecond=0).isoformat())
    properties = ET.SubElement(testsuite, "properties")
    for name, value in (("target", suite.target), ("seed", str(suite.seed))):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in suite.scenarios:
        for key, n in _testcases(testsuite, result).items():
            totals[key] += n
    duration = sum(r.duration_s for r in suite.scenarios)
    for element in (root, testsuite):
        for key, n in totals.items():
            element.set(key, str(n))
        element.set("time", f"{duration:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
