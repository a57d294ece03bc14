"""Reading scenario files: one TOML file per scenario, errors that name file and field."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from harness.scenario.model import Scenario

DEFAULT_LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


class ScenarioError(ValueError):
    """A scenario file is unreadable or invalid; the message names the file and the field."""


def load_scenario(path: Path) -> Scenario:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ScenarioError(f"{path}: {problems}") from None


def load_library(folder: Path = DEFAULT_LIBRARY) -> dict[str, Scenario]:
    scenarios: dict[str, Scenario] = {}
    for path in sorted(folder.glob("*.toml")):
        scenario = load_scenario(path)
        if scenario.name in scenarios:
            raise ScenarioError(f"{path}: scenario name {scenario.name!r} is used twice")
        scenarios[scenario.name] = scenario
    return scenarios


def select(
    library: dict[str, Scenario], names: list[str] | None = None, suite: str | None = None
) -> list[Scenario]:
    """The scenarios named, or those of a suite (default: the ``default`` suite)."""
    if names:
        missing = [n for n in names if n not in library]
        if missing:
            raise ScenarioError(
                f"unknown scenario(s) {', '.join(missing)}; known: {', '.join(sorted(library))}"
            )
        return [library[n] for n in names]
    wanted = suite or "default"
    chosen = [s for s in library.values() if wanted in s.suites]
    if not chosen:
        suites = sorted({x for s in library.values() for x in s.suites})
        raise ScenarioError(f"no scenario is in suite {wanted!r}; suites: {', '.join(suites)}")
    return chosen
