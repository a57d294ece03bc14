"""Reports: JSON, JUnit XML and a self-contained HTML page with plots, per run."""

from harness.report.writer import write_reports

__all__ = ["write_reports"]
