"""Workloads: seeded generators of operations, run with real and bounded concurrency.

Every operation goes through ``Operations.perform``, which records it in the history as
invoke -> ok | fail | info. A workload is an async function ``(WorkloadContext, params)``; the
scenario file names it and gives its parameters.
"""

from harness.workload.context import WorkloadContext
from harness.workload.registry import WORKLOADS, WorkloadStep, run_workload

__all__ = ["WORKLOADS", "WorkloadContext", "WorkloadStep", "run_workload"]
