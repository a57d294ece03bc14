"""``python -m harness.report RUN_DIR``: re-render a saved run's reports (e.g. after an upgrade)."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.report.load import load_suite
from harness.report.writer import write_reports


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m harness.report RUN_DIR", file=sys.stderr)
        return 2
    print(write_reports(load_suite(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
