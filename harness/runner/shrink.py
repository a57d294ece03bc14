"""Shrinking a failing scenario to a minimal reproduction, as Hypothesis shrinks an example.

Given a scenario that violates an invariant against a target, try smaller variants one change at
a time (drop a fault, drop a workload step, halve or decrement a count, halve a stock) and keep
each variant that still violates the same invariant with the same seed. Stop when no single
change keeps the failure, or after ``max_runs`` runs. The result is the smallest scenario found,
written as a TOML file that ``checkout-chaos run --scenarios-dir`` accepts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.runner.results import ScenarioResult
from harness.scenario import Scenario

# Workload parameters that scale a run: smaller is simpler.
COUNTS = (
    "buyers",
    "checkouts_per_cart",
    "redeliver",
    "concurrency",
    "sessions",
    "copies",
    "rounds",
)
RunFn = Callable[[Scenario], ScenarioResult]


def size(scenario: Scenario) -> int:
    """How big a scenario is: what shrinking drives down."""
    total = len(scenario.faults) * 10 + len(scenario.workload) * 10
    for step in scenario.workload:
        total += sum(int(step.params[k]) for k in COUNTS if isinstance(step.params.get(k), int))
    return total + sum(min(p.stock, 100) for p in scenario.products)


def _with(scenario: Scenario, **changes: Any) -> Scenario | None:
    """The scenario with ``changes``, or None when that is no valid scenario (e.g. a fault would
    wait for a phase that only the dropped workload step announced)."""
    try:
        return Scenario.model_validate({**scenario.model_dump(), **changes})
    except ValidationError:
        return None


def candidates(scenario: Scenario) -> Iterator[tuple[str, Scenario]]:
    """Every valid one-step simplification, boldest first."""
    for what, candidate in _simplifications(scenario):
        if candidate is not None:
            yield what, candidate


def _simplifications(scenario: Scenario) -> Iterator[tuple[str, Scenario | None]]:
    """Dropping beats halving beats decrementing."""
    dumped = scenario.model_dump()
    for i, fault in enumerate(scenario.faults):
        faults = [f for j, f in enumerate(dumped["faults"]) if j != i]
        yield f"drop fault {fault.label}", _with(scenario, faults=faults)
    if len(scenario.workload) > 1:
        for i, step in enumerate(scenario.workload):
            workload = [w for j, w in enumerate(dumped["workload"]) if j != i]
            yield f"drop workload step {i} ({step.kind})", _with(scenario, workload=workload)
    for i, step in enumerate(scenario.workload):
        for key in COUNTS:
            value = step.params.get(key)
            if not isinstance(value, int) or value <= 1:
                continue
            for smaller in dict.fromkeys((max(1, value // 2), value - 1)):
                workload = [dict(w) for w in dumped["workload"]]
                workload[i] = {**workload[i], "params": {**workload[i]["params"], key: smaller}}
                yield (
                    f"workload step {i}: {key} {value} -> {smaller}",
                    _with(scenario, workload=workload),
                )
    for i, product in enumerate(scenario.products):
        if product.stock > 1:
            products = [dict(p) for p in dumped["products"]]
            products[i]["stock"] = max(1, product.stock // 2)
            yield (
                f"{product.sku}: stock {product.stock} -> {products[i]['stock']}",
                _with(scenario, products=products),
            )


@dataclass
class ShrinkResult:
    original: Scenario
    minimal: Scenario
    invariant: str
    runs: int
    steps: list[str] = field(default_factory=list)  # the simplifications that were kept
    last_failure: ScenarioResult | None = None


def still_fails(result: ScenarioResult, invariant: str) -> bool:
    return result.error is None and any(v.invariant == invariant for v in result.violated)


def shrink(
    scenario: Scenario,
    run: RunFn,
    invariant: str,
    *,
    max_runs: int = 40,
    on_step: Callable[[str, bool], None] = lambda _what, _kept: None,
) -> ShrinkResult:
    """Greedy shrinking: take the first simplification that keeps ``invariant`` violated."""
    result = ShrinkResult(scenario, scenario, invariant, runs=0)
    improved = True
    while improved and result.runs < max_runs:
        improved = False
        for what, candidate in candidates(result.minimal):
            if size(candidate) >= size(result.minimal):
                continue
            if result.runs >= max_runs:
                break
            outcome = run(candidate)
            result.runs += 1
            kept = still_fails(outcome, invariant)
            on_step(what, kept)
            if kept:
                result.minimal, result.last_failure = candidate, outcome
                result.steps.append(what)
                improved = True
                break
    return result


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def to_toml(scenario: Scenario) -> str:
    """The scenario as a file of the library's format (defaults left out)."""
    data = scenario.model_dump(exclude_defaults=True, exclude_none=True)
    lines = [
        f"{k} = {_toml_value(v)}"
        for k, v in data.items()
        if k not in ("products", "workload", "faults", "stripe")
    ]
    if "stripe" in data:
        lines += ["", "[stripe]", *(f"{k} = {_toml_value(v)}" for k, v in data["stripe"].items())]
    for table in ("products", "workload", "faults"):
        for row in data.get(table, []):
            lines += ["", f"[[{table}]]", *(f"{k} = {_toml_value(v)}" for k, v in row.items())]
    return "\n".join(lines) + "\n"


def write_minimal(result: ShrinkResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.minimal.name}.toml"
    header = (
        f"# Shrunk from {result.original.name} in {result.runs} runs; still violates "
        f"{result.invariant}.\n# Kept: {'; '.join(result.steps) or 'nothing (already minimal)'}\n"
    )
    path.write_text(header + to_toml(result.minimal))
    return path
