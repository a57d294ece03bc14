"""What every HTML page of the reports shares: the escaping Jinja environment, links to run files.

Templates are rendered with autoescape on: everything that came from a target or a scenario is
escaped; the only markup marked safe is the SVG matplotlib produced (which escapes the text it
draws). Pages share one stylesheet, ``templates/report.css``, inlined by each template.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2

# What a scenario's run leaves in its folder, in the order a reader wants them.
RUN_FILES = ("history.jsonl", "result.json", "target.log")


@dataclass(frozen=True)
class File:
    name: str
    href: str


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in the template fails tests, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )


def run_files(folder: Path, base: Path | None) -> list[File]:
    """The run files that exist in ``folder``, linked relative to ``base`` (the page's folder)."""
    if base is None:
        return []
    found = []
    for name in RUN_FILES:
        path = folder / name
        if path.is_file():
            # Quoted: a name with '#', '?' or a space would otherwise link somewhere else.
            found.append(File(name, quote(Path(os.path.relpath(path, base)).as_posix())))
    return found
