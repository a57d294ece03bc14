"""The scenario file format, validated by pydantic so that a typo names its field."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.faults.model import FaultSpec
from harness.workload.registry import PHASES, WorkloadStep

INVARIANTS = (
    "conservation",
    "no-oversell",
    "exactly-once-order",
    "one-session-per-cart",
    "refund-exactly-once",
    "amount-integrity",
    "authentic-webhooks-only",
    "no-pii-in-logs",
    "convergence",
    "no-server-errors-on-bad-input",
)


class ProductConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    name: str | None = None
    price_cents: int = Field(gt=0, le=99_999_999)
    stock: int = Field(ge=0, le=1_000_000)


class StripeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Stripe's retry schedule (1 min, 5 min, 15 min, ...) times this factor.
    retry_time_factor: float = Field(default=0.01, gt=0, le=1)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,60}$")
    title: str
    description: str = ""
    suites: list[str] = Field(default_factory=lambda: ["default"])
    invariants: list[str] = Field(default_factory=lambda: list(INVARIANTS))
    products: list[ProductConfig] = Field(min_length=1)
    workload: list[WorkloadStep] = Field(min_length=1)
    faults: list[FaultSpec] = Field(default_factory=list)
    stripe: StripeConfig = Field(default_factory=StripeConfig)
    time_limit_s: float = Field(default=90.0, gt=0, le=1800)
    convergence_bound_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("invariants")
    @classmethod
    def _known_invariants(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in INVARIANTS]
        if unknown:
            raise ValueError(f"unknown invariants {unknown} (known: {', '.join(INVARIANTS)})")
        return value

    @model_validator(mode="after")
    def _phases_exist(self) -> Scenario:
        # A fault waiting for a phase no workload announces would silently never start.
        order = [phase for step in self.workload for phase in PHASES[step.kind]]
        known = set(order)
        for i, fault in enumerate(self.faults):
            start, stop = fault.schedule.at_phase, fault.schedule.until_phase
            if start in known and stop in known and order.index(stop) <= order.index(start):
                # The workload would wait at `stop` for a fault that only starts at `start`.
                raise ValueError(
                    f"faults[{i}].schedule: until_phase {stop!r} does not come after "
                    f"at_phase {start!r} (order: {', '.join(dict.fromkeys(order))})"
                )
            for field in ("at_phase", "until_phase"):
                phase = getattr(fault.schedule, field)
                if phase is not None and phase not in known:
                    raise ValueError(
                        f"faults[{i}].schedule.{field}: no workload here announces {phase!r} "
                        f"(announced: {', '.join(sorted(known))})"
                    )
        return self

    @field_validator("products")
    @classmethod
    def _unique_skus(cls, value: list[ProductConfig]) -> list[ProductConfig]:
        skus = [p.sku for p in value]
        if len(set(skus)) != len(skus):
            raise ValueError("sku values must be unique")
        return value
