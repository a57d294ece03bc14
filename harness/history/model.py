"""Operations and the history that records them, with a JSONL form for reports and replays.

The operation vocabulary (``f``) and the ``value`` each phase carries:

| f | invoke value | ok / fail value |
| --- | --- | --- |
| ``set_stock`` | sku, name, price_cents, stock | the product answered |
| ``create_cart`` | user_id | cart_id |
| ``set_item`` | cart_id, user_id, sku, quantity | the cart answered / status, error |
| ``checkout`` | cart_id, user_id, email, name, address, idempotency_key? | checkout_session_id, url, amount_total / status, error, sku? |
| ``pay`` | checkout_session_id, outcome (paid, async_succeeded, async_failed) | {} |
| ``expire`` | checkout_session_id | {} |
| ``deliver_webhook`` | event_type, checkout_session_id, tamper (None, forged, bad_signature, stale, future, wrong_secret) | status |
| ``bad_request`` | method, route, description | status |
| ``get_product`` | sku | the product answered (available, ...) |
| ``start_fault`` / ``stop_fault`` | name, kind, params (process ``nemesis``) | {} |
| ``observe_orders`` | {} (process ``observer``) | orders |

Every ``fail`` and ``info`` may carry ``status`` (HTTP) and ``error`` (a reason).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

FAULT_PROCESS = "nemesis"
OBSERVER_PROCESS = "observer"


class OpType(StrEnum):
    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"  # definitely did not happen
    INFO = "info"  # may or may not have happened


@dataclass(frozen=True)
class Op:
    index: int
    process: str  # a worker ("w3"), "nemesis", "observer" or "customer"
    type: OpType
    f: str
    value: dict[str, Any]
    time_s: float  # seconds since the history began (monotonic clock)

    @property
    def status(self) -> int | None:
        status = self.value.get("status")
        return status if isinstance(status, int) else None

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "type": self.type.value}, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, line: str) -> Op:
        raw = json.loads(line)
        return cls(
            index=int(raw["index"]),
            process=str(raw["process"]),
            type=OpType(raw["type"]),
            f=str(raw["f"]),
            value=dict(raw["value"]),
            time_s=float(raw["time_s"]),
        )


@dataclass(frozen=True)
class Pair:
    """An invocation and its completion (``None`` if the run ended before it completed)."""

    invoke: Op
    completion: Op | None

    @property
    def outcome(self) -> OpType:
        return self.completion.type if self.completion is not None else OpType.INFO


@dataclass
class History:
    """Append-only and thread-safe; workers record while checkers read a finished copy."""

    ops: list[Op] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _t0: float = field(default_factory=time.monotonic, repr=False, compare=False)

    def record(self, process: str, type: OpType, f: str, value: dict[str, Any]) -> Op:
        with self._lock:
            op = Op(len(self.ops), process, type, f, dict(value), time.monotonic() - self._t0)
            self.ops.append(op)
            return op

    def invoke(self, process: str, f: str, value: dict[str, Any]) -> Op:
        return self.record(process, OpType.INVOKE, f, value)

    def complete(self, invoke: Op, type: OpType, value: dict[str, Any]) -> Op:
        if type is OpType.INVOKE:
            raise ValueError("a completion is ok, fail or info")
        return self.record(invoke.process, type, invoke.f, value)

    def __iter__(self) -> Iterator[Op]:
        return iter(list(self.ops))

    def __len__(self) -> int:
        return len(self.ops)

    def pairs(self, f: str | None = None) -> list[Pair]:
        """Invocations matched with their completions (each process runs one op at a time)."""
        open_by_process: dict[str, Op] = {}
        pairs: dict[int, Pair] = {}
        for op in self:
            if op.type is OpType.INVOKE:
                open_by_process[op.process] = op
                pairs[op.index] = Pair(op, None)
            elif (invoke := open_by_process.pop(op.process, None)) is not None:
                pairs[invoke.index] = Pair(invoke, op)
        return [p for p in pairs.values() if f is None or p.invoke.f == f]

    def completions(self, f: str, type: OpType | None = None) -> list[Op]:
        return [
            op
            for op in self
            if op.f == f and op.type is not OpType.INVOKE and (type is None or op.type is type)
        ]

    def write_jsonl(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            for op in self:
                out.write(op.to_json() + "\n")

    @classmethod
    def from_ops(cls, ops: Iterable[Op]) -> History:
        return cls(ops=list(ops))

    @classmethod
    def read_jsonl(cls, path: Path) -> History:
        with path.open() as lines:
            return cls.from_ops(Op.from_json(line) for line in lines if line.strip())
