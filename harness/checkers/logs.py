"""no-pii-in-logs: the e-mails, names and addresses sent at checkout never reach the target's logs.

Every value a checkout sent is a canary. It is searched as sent and in the encodings a log line
may carry it in (JSON-escaped, ASCII-escaped, URL/form-encoded), case-insensitively. Evidence
never repeats a canary: each occurrence is masked to its first two characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from harness.checkers.model import Evidence, FinalState, Verdict
from harness.checkers.support import judged, not_exercised, plural
from harness.history import History, OpType

NO_PII_IN_LOGS = "no-pii-in-logs"

PII_FIELDS = ("email", "name", "address")
MIN_CANARY_LENGTH = 6  # shorter values ("Bo", "Paris") match ordinary text too often
EXCERPT_CHARS = 200
MASK = "…"


@dataclass(frozen=True)
class Canary:
    field: str  # email, name or address (address.<key> for a structured address)
    value: str
    op_index: int  # the first checkout invoke that sent it

    @property
    def masked(self) -> str:
        return mask(self.value)


def mask(text: str) -> str:
    return text[:2] + MASK


def canaries(history: History) -> list[Canary]:
    """The PII values sent by ``checkout`` invocations, each once, long enough to be telling."""
    found: dict[str, Canary] = {}
    for op in history:
        if op.f != "checkout" or op.type is not OpType.INVOKE:
            continue
        for field in PII_FIELDS:
            raw = op.value.get(field)
            values: list[tuple[str, object]] = (
                [(f"{field}.{k}", v) for k, v in raw.items()]
                if isinstance(raw, dict)
                else [(field, raw)]
            )
            for name, value in values:
                if isinstance(value, str) and len(value.strip()) >= MIN_CANARY_LENGTH:
                    found.setdefault(value.strip(), Canary(name, value.strip(), op.index))
    return list(found.values())


def encodings(value: str) -> set[str]:
    """How ``value`` may be spelled inside a log line."""
    return {
        value,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value, ensure_ascii=True)[1:-1],
        quote(value, safe=""),
        quote_plus(value),
    }


def check_no_pii_in_logs(history: History, state: FinalState) -> Verdict:
    """No canary from any checkout appears in ``FinalState.target_log``."""
    sent = canaries(history)
    if not sent:
        return not_exercised(NO_PII_IN_LOGS, "No checkout sent a PII canary.")
    if not state.target_log.strip():
        return not_exercised(
            NO_PII_IN_LOGS,
            f"No target log was captured to scan for {plural(len(sent), 'canary', 'canaries')}.",
        )
    by_spelling: dict[str, Canary] = {}
    spellings: set[str] = set()
    for canary in sent:
        for spelling in encodings(canary.value):
            spellings.add(spelling)
            by_spelling.setdefault(spelling.casefold(), canary)
    pattern = trie_pattern(spellings)
    lines = state.target_log.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline ending the last line does not start another
    violations: list[Evidence] = []
    leaked: set[str] = set()
    leaking_lines = 0
    for number, line in enumerate(lines, start=1):
        hits: dict[str, tuple[Canary, int]] = {}  # canary value -> (canary, position in masked)
        masked_line: list[str] = []
        cursor = length = 0
        for match in pattern.finditer(line):
            owner = by_spelling.get(match.group(0).casefold()) or _owner(match.group(0), sent)
            masked_line.append(line[cursor : match.start()])
            length += match.start() - cursor
            if owner is not None:
                hits.setdefault(owner.value, (owner, length))
            masked_line.append(mask(match.group(0)))
            length += len(masked_line[-1])
            cursor = match.end()
        if not hits:
            continue
        masked_line.append(line[cursor:])
        text = "".join(masked_line).rstrip("\r")
        leaking_lines += 1
        for canary, position in hits.values():
            leaked.add(canary.value)
            violations.append(
                Evidence(
                    "log",
                    str(number),
                    f"{canary.field} canary {canary.masked} ({len(canary.value)} chars, sent by "
                    f"op {canary.op_index}): {_excerpt(text, position)}",
                )
            )
    counts = f"{plural(len(sent), 'canary', 'canaries')} in {plural(len(lines), 'log line')}"
    return judged(
        NO_PII_IN_LOGS,
        violations,
        f"None of {counts} leaked.",
        f"{len(leaked)} of {counts} leaked, on {plural(leaking_lines, 'line')}.",
    )


def trie_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive regex matching any of ``words``, longest first.

    A flat alternation makes the regex engine try every word at every position (minutes on a
    real log with a few thousand canaries); a trie makes each position cost one walk down it.
    """
    end = ""  # a key no character can be: marks the end of a word
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word.lower():
            node = node.setdefault(char, {})
        node[end] = {}

    def build(node: dict[str, Any]) -> str:
        parts: list[str] = []
        # Follow single-child chains iteratively: long canaries must not deepen the recursion.
        while len(node) == 1 and end not in node:
            (char, node), *_ = node.items()
            parts.append(re.escape(char))
        branches = [re.escape(c) + build(child) for c, child in sorted(node.items()) if c != end]
        if branches:
            body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
            # Greedy optional when a word ends here: a longer word containing it matches whole.
            parts.append(f"(?:{body})?" if end in node else body)
        return "".join(parts)

    return re.compile(build(root), re.IGNORECASE)


def _owner(text: str, sent: list[Canary]) -> Canary | None:
    """The canary a case-insensitive match belongs to, when case folding changed its spelling."""
    for canary in sent:
        if any(re.fullmatch(re.escape(s), text, re.IGNORECASE) for s in encodings(canary.value)):
            return canary
    return None


def _excerpt(text: str, position: int) -> str:
    if len(text) <= EXCERPT_CHARS:
        return text
    start = max(0, min(position - EXCERPT_CHARS // 2, len(text) - EXCERPT_CHARS))
    head = "…" if start > 0 else ""
    tail = "…" if start + EXCERPT_CHARS < len(text) else ""
    return f"{head}{text[start : start + EXCERPT_CHARS]}{tail}"
