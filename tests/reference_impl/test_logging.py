"""The reference's redacting log formatter, in-process: what a log line can and cannot carry."""

from __future__ import annotations

import json
import logging

import pytest

from reference_impl.logging import REDACTED, RedactingJsonFormatter, _PiiRegistry, remember_pii


def _line(message: str, *, exc: BaseException | None = None, **fields: object) -> dict[str, object]:
    record = logging.LogRecord("reference_impl.test", logging.INFO, __file__, 1, message, (), None)
    record.fields = fields
    if exc is not None:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    parsed: dict[str, object] = json.loads(RedactingJsonFormatter().format(record))
    return parsed


def test_values_under_pii_keys_are_replaced_at_any_depth() -> None:
    line = _line(
        "event.received",
        session={"customer_details": {"email": "x@y.z"}, "shipping": "1 Road"},
        name="Someone",
        cart_id="c1",
    )
    assert line["session"] == {"customer_details": REDACTED, "shipping": REDACTED}
    assert line["name"] == REDACTED
    assert line["cart_id"] == "c1"


def test_email_addresses_are_masked_in_free_text() -> None:
    line = _line("mail to first.last+tag@example.co.uk failed")
    assert line["event"] == f"mail to {REDACTED} failed"


def test_remembered_values_are_scrubbed_whatever_their_case() -> None:
    remember_pii("Grace Canary-Hopper", {"line1": "77 Canary Wharf Lane"})
    line = _line(
        "lookup GRACE CANARY-HOPPER at 77 canary wharf lane",
        exc=ValueError("no such user grace canary-hopper"),
    )
    assert "canary" not in json.dumps(line).lower()
    assert line["event"] == f"lookup {REDACTED} at {REDACTED}"


@pytest.mark.parametrize("value", ["", "  ", "Al"])
def test_values_too_short_to_be_told_from_words_are_not_registered(value: str) -> None:
    registry = _PiiRegistry()
    registry.remember([value])
    assert registry.scrub("Al walks") == "Al walks"


def test_the_registry_keeps_the_most_recent_values_and_replaces_longest_first() -> None:
    registry = _PiiRegistry(capacity=2)
    registry.remember(["Old Name", "Ann Lee", "Ann Lee-Smith"])
    assert registry.scrub("Old Name") == "Old Name"  # evicted
    assert registry.scrub("to Ann Lee-Smith and ann lee") == f"to {REDACTED} and {REDACTED}"
