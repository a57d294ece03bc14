"""Waiting on an observable condition, with a deadline (never a bare sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    condition: Callable[[], Any], timeout_s: float = 15.0, interval_s: float = 0.05
) -> Any:
    """Poll an observable condition until it holds (returns its truthy value) or the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval_s)  # polling interval with a deadline, not synchronisation
    raise AssertionError(f"condition not met within {timeout_s}s (last value: {last!r})")
