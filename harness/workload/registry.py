"""Workloads by name, as scenario files refer to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.workload.attacks import webhook_attacks
from harness.workload.bad_input import bad_input
from harness.workload.context import WorkloadContext
from harness.workload.shoppers import shoppers

Workload = Callable[[WorkloadContext, dict[str, Any]], Awaitable[None]]

WORKLOADS: dict[str, Workload] = {
    "shoppers": shoppers,
    "webhook_attacks": webhook_attacks,
    "bad_input": bad_input,
}


# The phases each workload announces, in order: fault schedules may start and stop on them.
# ("edit-open", "edit-paid", "redeliver" and "late-events" only when the shoppers' parameters
# ask for those stages.)
PHASES: dict[str, tuple[str, ...]] = {
    "shoppers": (
        "carts",
        "checkout",
        "edit-open",
        "pay",
        "paid",
        "edit-paid",
        "redeliver",
        "late-events",
        "done",
    ),
    "webhook_attacks": ("attack-setup", "attack", "attack-done"),
    "bad_input": ("bad-input",),
}


class WorkloadStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)

    def model_post_init(self, _context: Any) -> None:
        if self.kind not in WORKLOADS:
            raise ValueError(f"unknown workload {self.kind!r} (known: {', '.join(WORKLOADS)})")


async def run_workload(ctx: WorkloadContext, steps: list[WorkloadStep]) -> None:
    for step in steps:
        await WORKLOADS[step.kind](ctx, step.params)
