"""Idempotency keys as Stripe documents them.

Per API key, the first result of a request that started executing is stored, whatever its status
(500s included), and replayed for the same key with ``Idempotent-Replayed: true``. The same key
with other parameters is a 400 ``idempotency_error``; a key whose first request is still running
is a 409 ``idempotency_key_in_use``. A request rejected before executing (validation, rate limit)
stores nothing and leaves the key free.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from harness.stripe.objects import mask_key

MAX_KEY_LENGTH = 255


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    canonical = json.dumps([method, path, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    request_id: str


@dataclass
class IdempotencyRecord:
    """What happened to one key (per API key); the ledger hands out copies."""

    key: str
    account: str  # a masked API key: records never hold a secret
    method: str
    path: str
    fingerprint: str
    first_seen: float
    response: StoredResponse | None = None  # None while the first request is in flight
    replays: int = 0
    mismatches: int = 0
    conflicts: int = 0
    history: list[str] = field(default_factory=list)  # "stored", "replayed", ... in order

    @property
    def in_flight(self) -> bool:
        return self.response is None


@dataclass(frozen=True)
class Started:
    """This request owns the key: run it, then ``finish`` or ``release``."""

    slot: tuple[str, str]


@dataclass(frozen=True)
class Replay:
    response: StoredResponse


@dataclass(frozen=True)
class Mismatch:
    key: str


@dataclass(frozen=True)
class InUse:
    key: str


Decision = Started | Replay | Mismatch | InUse


class IdempotencyStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], IdempotencyRecord] = {}

    def begin(
        self, api_key: str, key: str, method: str, path: str, params: dict[str, Any]
    ) -> Decision:
        # Scoped by a digest of the API key: the store never keeps the secret itself.
        slot = (hashlib.sha256(api_key.encode()).hexdigest(), key)
        account = mask_key(api_key)
        params_print = fingerprint(method, path, params)
        with self._lock:
            record = self._records.get(slot)
            if record is None:
                self._records[slot] = IdempotencyRecord(
                    key, account, method, path, params_print, time.time(), history=["started"]
                )
                return Started(slot)
            if record.fingerprint != params_print:
                record.mismatches += 1
                record.history.append("mismatch")
                return Mismatch(key)
            if record.response is None:
                record.conflicts += 1
                record.history.append("in_use")
                return InUse(key)
            record.replays += 1
            record.history.append("replayed")
            return Replay(record.response)

    def finish(self, started: Started, response: StoredResponse) -> None:
        with self._lock:
            record = self._records[started.slot]
            record.response = response
            record.history.append(f"stored {response.status}")

    def release(self, started: Started) -> None:
        """The request was rejected before executing: forget the key, as Stripe does."""
        with self._lock:
            self._records.pop(started.slot, None)

    def records(self, key: str | None = None) -> list[IdempotencyRecord]:
        with self._lock:
            found = [
                IdempotencyRecord(
                    r.key,
                    r.account,
                    r.method,
                    r.path,
                    r.fingerprint,
                    r.first_seen,
                    r.response,
                    r.replays,
                    r.mismatches,
                    r.conflicts,
                    list(r.history),
                )
                for r in self._records.values()
                if key is None or r.key == key
            ]
        return sorted(found, key=lambda r: r.first_seen)
