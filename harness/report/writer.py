"""Write a suite's reports into its folder: summary.json, junit.xml and index.html."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from harness.report.html import render_html
from harness.report.junit import junit_xml
from harness.report.summary import summary_json
from harness.runner.results import SuiteResult


def write_reports(suite: SuiteResult, generated_at: datetime | None = None) -> Path:
    """Write every report; return the HTML page's path (what the CLI prints)."""
    generated_at = generated_at or datetime.now().astimezone()
    out = suite.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(summary_json(suite, generated_at), encoding="utf-8")
    (out / "junit.xml").write_text(junit_xml(suite, generated_at), encoding="utf-8")
    page = out / "index.html"
    page.write_text(render_html(suite, generated_at, base=out), encoding="utf-8")
    return page
