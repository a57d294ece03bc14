"""Reports: JSON, JUnit XML and a self-contained HTML page with plots, per run (the selftest's
page, ``selftest.html``, is drawn by ``harness.report.selftest``)."""

from harness.report.writer import write_reports

__all__ = ["write_reports"]
