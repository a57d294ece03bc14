"""Scenarios: declarative files (TOML) naming products, workload steps, faults and invariants.

The library lives in the top-level ``scenarios/`` folder; ``load_library`` reads and validates it.
"""

from harness.scenario.library import ScenarioError, load_library, load_scenario, select
from harness.scenario.model import ProductConfig, Scenario, StripeConfig

__all__ = [
    "ProductConfig",
    "Scenario",
    "ScenarioError",
    "StripeConfig",
    "load_library",
    "load_scenario",
    "select",
]
