"""A tiny monkeypatcher that remembers what it replaced, so tests can undo a member's bug."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class Patcher:
    def __init__(self) -> None:
        self._undo: list[tuple[object, str, Any]] = []

    def set(self, owner: object, attribute: str, value: Any) -> None:
        """Replace ``owner.attribute`` (a module global, a class method) with ``value``."""
        previous = getattr(owner, attribute, _MISSING)
        if previous is _MISSING:
            raise AttributeError(f"{owner!r} has no {attribute!r} to patch")
        self._undo.append((owner, attribute, previous))
        setattr(owner, attribute, value)

    def undo(self) -> None:
        while self._undo:
            owner, attribute, previous = self._undo.pop()
            setattr(owner, attribute, previous)
