"""Scriptable faults: what goes wrong on the payment side, and what happens to webhooks.

A scenario arms rules; each rule hits the next ``times`` matching requests or events and is then
used up, so a scenario is deterministic. API rules match a method and a path pattern (``fnmatch``,
e.g. ``/v1/checkout/sessions`` or ``/v1/*``); webhook rules match an event type (or any).
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Literal

ApiFaultKind = Literal[
    "error_500", "rate_limit_429", "ambiguous_drop", "ambiguous_timeout", "slow", "hold"
]
WebhookFaultKind = Literal["duplicate", "delay", "drop", "reorder", "tamper", "stale"]

MAX_DELAY_S = 120.0
MAX_HOLD_S = 60.0
MAX_COPIES = 50


def _check_times(times: int) -> None:
    if not 1 <= times <= 10_000:
        raise ValueError("times must be between 1 and 10000")


def _check_delay(delay_s: float) -> None:
    if not 0 <= delay_s <= MAX_DELAY_S:
        raise ValueError(f"a delay must be between 0 and {MAX_DELAY_S} s")


class Gate:
    """Holds matching requests until released: lets a test act while a request is in flight."""

    def __init__(self, timeout_s: float = MAX_HOLD_S) -> None:
        self.timeout_s = min(timeout_s, MAX_HOLD_S)
        self._arrived = threading.Semaphore(0)
        self._released = threading.Event()
        self.arrivals = 0

    def note_arrival(self) -> None:
        self.arrivals += 1
        self._arrived.release()

    def wait_arrived(self, timeout_s: float = 10.0) -> None:
        """Block until one more held request has arrived; raises TimeoutError."""
        if not self._arrived.acquire(timeout=timeout_s):
            raise TimeoutError("no request reached the gate in time")

    def release(self) -> None:
        self._released.set()

    def wait_released(self) -> bool:
        """Called by the server (in a worker thread): True when released, False on time-out."""
        return self._released.wait(self.timeout_s)


@dataclass
class ApiFault:
    kind: ApiFaultKind
    method: str | None
    path: str
    remaining: int
    delay_s: float = 0.0
    gate: Gate | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and fnmatch.fnmatchcase(
            path, self.path
        )


@dataclass
class WebhookFault:
    kind: WebhookFaultKind
    event_type: str | None
    remaining: int
    copies: int = 1
    delay_s: float = 0.0
    drops: int = 0
    age_s: int = 0

    def matches(self, event_type: str) -> bool:
        return self.event_type is None or fnmatch.fnmatchcase(event_type, self.event_type)


@dataclass(frozen=True)
class WebhookPlan:
    """What the armed rules do to one event."""

    copies: int = 1
    delay_s: float = 0.0
    drops: int = 0
    tamper: bool = False
    stale_age_s: int = 0
    reorder_batch: int = 0
    applied: tuple[str, ...] = field(default_factory=tuple)


# Request phases: "pre" faults strike before idempotency and validation, "exec" ones when
# the request executes (Stripe stores a 500 for the key; an ambiguous success stores the 200).
PRE_KINDS = frozenset({"rate_limit_429", "slow", "hold"})
EXEC_KINDS = frozenset({"error_500", "ambiguous_drop", "ambiguous_timeout"})


class Faults:
    """The armed rules. Thread-safe: the test arms them while the server consumes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._api: list[ApiFault] = []
        self._webhooks: list[WebhookFault] = []

    # -- payment side ---------------------------------------------------------------------

    def _arm(self, fault: ApiFault) -> None:
        _check_times(fault.remaining)
        with self._lock:
            self._api.append(fault)

    def fail(
        self,
        status: Literal[500, 429] = 500,
        *,
        method: str | None = "POST",
        path: str = "/v1/checkout/sessions",
        times: int = 1,
    ) -> None:
        """Answer 500 ``api_error`` (stored for the idempotency key, nothing created) or 429."""
        kind: ApiFaultKind = "error_500" if status == 500 else "rate_limit_429"
        if status not in (500, 429):
            raise ValueError("status must be 500 or 429")
        self._arm(ApiFault(kind, method, path, times))

    def ambiguous(
        self,
        *,
        mode: Literal["drop", "timeout"] = "drop",
        delay_s: float = 30.0,
        method: str | None = "POST",
        path: str = "/v1/checkout/sessions",
        times: int = 1,
    ) -> None:
        """The request succeeds and is stored, but the client never gets the answer.

        ``drop`` resets the connection; ``timeout`` holds the answer for ``delay_s`` (longer
        than the client waits) before sending it.
        """
        _check_delay(delay_s)
        kind: ApiFaultKind = "ambiguous_drop" if mode == "drop" else "ambiguous_timeout"
        self._arm(ApiFault(kind, method, path, times, delay_s=delay_s))

    def slow(
        self,
        delay_s: float,
        *,
        method: str | None = None,
        path: str = "/v1/*",
        times: int = 1,
    ) -> None:
        """Delay matching requests by ``delay_s`` before they execute."""
        _check_delay(delay_s)
        self._arm(ApiFault("slow", method, path, times, delay_s=delay_s))

    def hold(
        self,
        *,
        method: str | None = "POST",
        path: str = "/v1/checkout/sessions",
        times: int = 1,
        timeout_s: float = MAX_HOLD_S,
    ) -> Gate:
        """Keep matching requests in flight (idempotency key taken) until ``Gate.release``."""
        gate = Gate(timeout_s)
        self._arm(ApiFault("hold", method, path, times, gate=gate))
        return gate

    def take_api(self, phase: Literal["pre", "exec"], method: str, path: str) -> ApiFault | None:
        kinds = PRE_KINDS if phase == "pre" else EXEC_KINDS
        with self._lock:
            for fault in self._api:
                if fault.kind in kinds and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._api.remove(fault)
                    return fault
        return None

    # -- webhooks -------------------------------------------------------------------------

    def _arm_webhook(self, fault: WebhookFault) -> None:
        _check_times(fault.remaining)
        with self._lock:
            self._webhooks.append(fault)

    def duplicate_webhooks(
        self, copies: int = 2, *, event_type: str | None = None, times: int = 1
    ) -> None:
        """Deliver each matching event ``copies`` times (each copy retried on its own)."""
        if not 2 <= copies <= MAX_COPIES:
            raise ValueError(f"copies must be between 2 and {MAX_COPIES}")
        self._arm_webhook(WebhookFault("duplicate", event_type, times, copies=copies))

    def delay_webhooks(
        self, delay_s: float, *, event_type: str | None = None, times: int = 1
    ) -> None:
        """Hold each matching event ``delay_s`` before its first attempt; later ones overtake it."""
        _check_delay(delay_s)
        self._arm_webhook(WebhookFault("delay", event_type, times, delay_s=delay_s))

    def drop_webhooks(
        self, drops: int = 1, *, event_type: str | None = None, times: int = 1
    ) -> None:
        """Lose the first ``drops`` attempts of each matching event; the retries redeliver it."""
        if not 1 <= drops <= 20:
            raise ValueError("drops must be between 1 and 20")
        self._arm_webhook(WebhookFault("drop", event_type, times, drops=drops))

    def reorder_webhooks(self, batch: int = 2) -> None:
        """Hold the next ``batch`` events and deliver them newest first."""
        if not 2 <= batch <= 100:
            raise ValueError("batch must be between 2 and 100")
        self._arm_webhook(WebhookFault("reorder", None, batch, copies=batch))

    def tamper_webhooks(self, *, event_type: str | None = None, times: int = 1) -> None:
        """Also send a copy whose body was altered after signing (the signature no longer fits)."""
        self._arm_webhook(WebhookFault("tamper", event_type, times))

    def stale_webhooks(
        self, age_s: int = 600, *, event_type: str | None = None, times: int = 1
    ) -> None:
        """Also send a correctly signed copy whose timestamp is ``age_s`` old (negative: future)."""
        if abs(age_s) <= 300:
            raise ValueError("a stale timestamp must be more than 300 s away (Stripe's tolerance)")
        self._arm_webhook(WebhookFault("stale", event_type, times, age_s=age_s))

    def take_webhook_plan(self, event_type: str) -> WebhookPlan:
        copies, delay_s, drops, tamper, stale, reorder = 1, 0.0, 0, False, 0, 0
        applied: list[str] = []
        with self._lock:
            for fault in list(self._webhooks):
                if not fault.matches(event_type):
                    continue
                if fault.kind == "reorder":
                    # The batch size is copies; remaining counts the events still to collect.
                    reorder = fault.copies
                elif fault.kind == "duplicate":
                    copies = max(copies, fault.copies)
                elif fault.kind == "delay":
                    delay_s = max(delay_s, fault.delay_s)
                elif fault.kind == "drop":
                    drops = max(drops, fault.drops)
                elif fault.kind == "tamper":
                    tamper = True
                elif fault.kind == "stale":
                    stale = fault.age_s
                applied.append(fault.kind)
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._webhooks.remove(fault)
        return WebhookPlan(copies, delay_s, drops, tamper, stale, reorder, tuple(applied))

    # -- both -----------------------------------------------------------------------------

    def clear(self) -> None:
        """Disarm every rule and release every held request."""
        with self._lock:
            for fault in self._api:
                if fault.gate is not None:
                    fault.gate.release()
            self._api.clear()
            self._webhooks.clear()

    def armed(self) -> list[str]:
        """A line per armed rule, for reports and debugging."""
        with self._lock:
            lines = [f"api {f.kind} {f.method or '*'} {f.path} x{f.remaining}" for f in self._api]
            lines += [
                f"webhook {f.kind} {f.event_type or '*'} x{f.remaining}" for f in self._webhooks
            ]
        return lines
