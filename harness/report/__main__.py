"""``python -m harness.report RUN_DIR``: re-render a saved run's reports (e.g. after an upgrade).

The same as ``checkout-chaos report RUN_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.report.load import RunFolderError, load_suite
from harness.report.writer import write_reports

USAGE = "usage: python -m harness.report RUN_DIR  (a run folder, e.g. reports/20261127-101500)"


def main(argv: list[str]) -> int:
    if argv in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        print(write_reports(load_suite(Path(argv[0]))))
    except RunFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
