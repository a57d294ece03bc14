"""The runner: stack -> target -> faults + workload -> quiescence -> checkers -> results.

``run_suite`` brings the stack up once and runs each scenario against a fresh target (fresh
database, flushed Redis, fresh Stripe simulator); ``run_scenario`` is one such run.
"""

from harness.runner.results import ScenarioResult, SuiteResult
from harness.runner.scenario_run import RunOptions, run_scenario
from harness.runner.suite import run_suite

__all__ = ["RunOptions", "ScenarioResult", "SuiteResult", "run_scenario", "run_suite"]
