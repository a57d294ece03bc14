"""Structured JSON logs through one redacting wrapper.

Every line the process writes (ours, uvicorn's, any library's) goes through ``RedactingJsonFormatter``:
values under PII keys are replaced, e-mail addresses are masked wherever they appear, and the exact
names/addresses/e-mails customers sent recently are scrubbed from any text (exception messages
included), because a free-text name cannot be recognised by pattern alone.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# Keys whose values are personal data wherever they appear (ours and Stripe's event payloads).
_PII_KEYS = frozenset(
    {
        "email",
        "customer_email",
        "name",
        "address",
        "shipping",
        "shipping_details",
        "customer_details",
        "billing_details",
        "phone",
        "contact",
    }
)
_EMAIL = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+")
_MIN_SCRUB_LEN = 3  # shorter values would blank out ordinary words


class _PiiRegistry:
    """The most recent PII values customers sent, scrubbed verbatim from every log line."""

    def __init__(self, capacity: int = 4096) -> None:
        self._values: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def remember(self, values: Iterable[str]) -> None:
        with self._lock:
            added = False
            for value in values:
                value = value.strip().lower()
                if len(value) < _MIN_SCRUB_LEN:
                    continue
                added = added or value not in self._values
                self._values[value] = None
                self._values.move_to_end(value)
            if not added:
                return  # nothing new: keep the compiled pattern
            while len(self._values) > self._capacity:
                self._values.popitem(last=False)
            # Longest first so a value containing another is replaced whole.
            ordered = sorted(self._values, key=len, reverse=True)
            # Case-insensitive: a name logged upper-cased ("ADA LOVELACE") is the same person.
            self._pattern = (
                re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE)
                if ordered
                else None
            )

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        return _EMAIL.sub(REDACTED, text)


_registry = _PiiRegistry()


def remember_pii(*values: str | Mapping[str, str]) -> None:
    """Register personal data a request carried, before anything could log it."""
    flat: list[str] = []
    for value in values:
        if isinstance(value, str):
            flat.append(value)
        else:
            flat.extend(value.values())
    _registry.remember(flat)


def redact(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower() in _PII_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return _registry.scrub(value)
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _registry.scrub(str(value))


class RedactingJsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                entry[str(key)] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(redact(entry), default=str, ensure_ascii=False)


class Log:
    """The one logging entry point: ``log.info("checkout.created", cart_id=..., amount=...)``."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _emit(self, level: int, event: str, exc: bool, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, exc_info=exc, extra={"fields": fields})

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, False, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, False, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, False, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, False, fields)

    def exception(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, True, fields)


def get_logger(name: str) -> Log:
    return Log(f"reference_impl.{name}")


def configure(level: int = logging.INFO) -> None:
    """Route every logger in the process through the redacting JSON formatter on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(RedactingJsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "psycopg"):
        lib = logging.getLogger(name)
        lib.handlers[:] = []
        lib.propagate = True
    # Request lines carry no PII, but httpx would log every Stripe URL at INFO: keep it quieter.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
