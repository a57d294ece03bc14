"""The declarative form of a fault, as scenarios write it (validated by pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LinkFaultKind = Literal[
    "down", "latency", "timeout", "reset_peer", "bandwidth", "slicer", "limit_data"
]
ProcessFaultKind = Literal["kill_restart", "pause"]
PaymentFaultKind = Literal[
    "stripe_500",
    "stripe_429",
    "stripe_ambiguous",
    "stripe_slow",
    "webhook_duplicate",
    "webhook_delay",
    "webhook_drop",
    "webhook_reorder",
    "webhook_tamper",
    "webhook_stale",
    "webhook_future",
]
DataFaultKind = Literal["redis_flush"]
FaultKind = LinkFaultKind | ProcessFaultKind | PaymentFaultKind | DataFaultKind

LINK_KINDS: frozenset[str] = frozenset(LinkFaultKind.__args__)  # type: ignore[attr-defined]
PROCESS_KINDS: frozenset[str] = frozenset(ProcessFaultKind.__args__)  # type: ignore[attr-defined]
PAYMENT_KINDS: frozenset[str] = frozenset(PaymentFaultKind.__args__)  # type: ignore[attr-defined]


# Toxiproxy's attributes per toxic, with defaults that make each one bite.
TOXIC_DEFAULTS: dict[str, dict[str, int | float]] = {
    "latency": {"latency": 1000, "jitter": 0},
    "timeout": {"timeout": 0},  # 0: hold the data and never answer, until healed
    "reset_peer": {"timeout": 0},  # TCP RST at once
    "bandwidth": {"rate": 1},  # KB/s
    "slicer": {"average_size": 1, "size_variation": 0, "delay": 1000},  # bytes, bytes, µs
    "limit_data": {"bytes": 0},  # close after this many bytes
}


class Schedule(BaseModel):
    """When a fault starts, and when it is healed.

    Start: ``at_phase`` (the workload announces phases such as "checkout" or "pay"), else
    ``at_step`` (the Nth operation invoked), else ``at_s`` seconds into the workload.
    Stop: ``until_phase``, else after ``duration_s``, else at the end of the workload.
    ``period_s`` with ``count`` repeats the start/stop cycle.
    """

    model_config = ConfigDict(extra="forbid")

    at_phase: str | None = None
    at_step: int | None = Field(default=None, ge=0, le=1_000_000)
    at_s: float = Field(default=0.0, ge=0, le=3600)
    duration_s: float | None = Field(default=None, gt=0, le=3600)
    until_phase: str | None = None
    period_s: float | None = Field(default=None, gt=0, le=3600)
    count: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _periodic_needs_duration(self) -> Schedule:
        if self.count > 1 and (self.period_s is None or self.duration_s is None):
            raise ValueError("a repeated fault needs period_s and duration_s")
        if (
            self.period_s is not None
            and self.duration_s is not None
            and self.duration_s >= self.period_s
        ):
            raise ValueError("duration_s must be shorter than period_s")
        return self


class FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    link: Literal["postgres", "redis", "stripe"] | None = None
    name: str | None = None
    # Toxic attributes (latency, jitter, timeout, rate, average_size, bytes, ...) or fault options
    # (times, copies, delay_s, drops, batch, age_s, status_path, mode).
    params: dict[str, float | int | str] = Field(default_factory=dict)
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(default=1.0, ge=0, le=1)
    schedule: Schedule = Field(default_factory=Schedule)

    @model_validator(mode="after")
    def _link_faults_name_a_link(self) -> FaultSpec:
        if self.kind in LINK_KINDS and self.link is None:
            raise ValueError(f"fault kind {self.kind!r} needs 'link' (postgres, redis or stripe)")
        if self.kind in TOXIC_DEFAULTS:
            allowed = TOXIC_DEFAULTS[self.kind]
            unknown = [key for key in self.params if key not in allowed]
            if unknown:
                raise ValueError(
                    f"toxic {self.kind} has no attribute {unknown[0]!r} (has: {', '.join(allowed)})"
                )
        return self

    @property
    def label(self) -> str:
        return self.name or (f"{self.link}-{self.kind}" if self.link else self.kind)
