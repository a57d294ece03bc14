"""Stripe's form encoding, both ways: ``line_items[0][price_data][unit_amount]=1500`` <-> nesting.

Stripe encodes nested parameters with brackets: ``a[b]=1`` is a hash, ``a[]=x`` appends to an
array and ``a[0][b]=1`` indexes one. Every value stays a string, as it arrives; the handlers
interpret them. Decoding is bounded (pairs, depth, array size) because the input is untrusted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

MAX_PAIRS = 1_000
MAX_DEPTH = 8
MAX_INDEX = 1_000
# Hashes under these names keep digit keys as keys (metadata[0]=x is a key "0", not an array).
HASH_ONLY = frozenset({"metadata"})

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")

Form = dict[str, Any]


class FormError(ValueError):
    """The body or query is not valid Stripe form encoding; ``param`` names the culprit."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class _Append:
    """Marks a node built from ``name[]`` segments: its keys are insertion positions."""


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if match is None:
        raise FormError(f"Invalid parameter name: {key!r}", key)
    segments = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if len(segments) > MAX_DEPTH:
        raise FormError(f"Parameter {key!r} is nested deeper than {MAX_DEPTH}", key)
    return segments


def _insert(root: dict[str, Any], key: str, value: str, appended: dict[int, int]) -> None:
    segments = _split_key(key)
    node = root
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment == "":
            # "a[]": the next free position of this node; later segments nest inside it.
            count = appended.get(id(node), 0)
            if count >= MAX_INDEX:
                raise FormError(f"Too many values for {key!r}", key)
            appended[id(node)] = count + 1
            segment = f"\x00{count}"
        elif segment.isdigit() and int(segment) >= MAX_INDEX:
            raise FormError(f"Index too large in {key!r}", key)
        existing = node.get(segment)
        if last:
            if existing is not None:
                raise FormError(f"Parameter {key!r} is given more than once", key)
            node[segment] = value
            return
        if existing is None:
            existing = node[segment] = {}
        if not isinstance(existing, dict):
            raise FormError(f"Parameter {key!r} mixes a value and a hash", key)
        node = existing


def _finish(node: Any, name: str | None) -> Any:
    """Turn hashes whose keys are all indexes into arrays, ordered by index."""
    if not isinstance(node, dict):
        return node
    finished = {k: _finish(v, k) for k, v in node.items()}
    if name in HASH_ONLY or not finished:
        return {k.lstrip("\x00"): v for k, v in finished.items()}
    keys = list(finished)
    if all(k.startswith("\x00") for k in keys):
        return [finished[k] for k in sorted(keys, key=lambda k: int(k[1:]))]
    if all(k.isdigit() for k in keys):
        return [finished[k] for k in sorted(keys, key=int)]
    if any(k.startswith("\x00") for k in keys):
        raise FormError(f"Parameter {name!r} mixes an array and a hash", name)
    return finished


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> Form:
    """Nest decoded ``(key, value)`` pairs."""
    root: dict[str, Any] = {}
    appended: dict[int, int] = {}
    for count, (key, value) in enumerate(pairs):
        if count >= MAX_PAIRS:
            raise FormError(f"More than {MAX_PAIRS} parameters")
        _insert(root, key, value, appended)
    finished: Form = {k: _finish(v, k) for k, v in root.items()}
    return finished


def decode(text: str | bytes) -> Form:
    """Nest an ``application/x-www-form-urlencoded`` body or a query string."""
    raw = text.decode("utf-8", errors="strict") if isinstance(text, bytes) else text
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise FormError(f"Malformed form encoding: {exc}") from exc
    return decode_pairs(pairs)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]", inner, out)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            _flatten(f"{prefix}[{index}]", inner, out)
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif value is not None:
        out.append((prefix, str(value)))


def encode_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The inverse of ``decode_pairs`` (arrays indexed, booleans as ``true``/``false``)."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten(key, value, out)
    return out


def encode(params: Mapping[str, Any]) -> str:
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in encode_pairs(params))
