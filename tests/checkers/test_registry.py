"""The registry: contract ids, check_all on a correct run, selection, evidence capping, replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checkers import CHECKERS, Evidence, Outcome, check_all
from harness.checkers.support import EVIDENCE_CAP, make_verdict
from harness.history import History
from tests.checkers.builders import happy_run, state

CONTRACT_IDS = [
    "conservation",
    "no-oversell",
    "exactly-once-order",
    "one-session-per-cart",
    "refund-exactly-once",
    "amount-integrity",
    "authentic-webhooks-only",
    "no-pii-in-logs",
    "convergence",
    "no-server-errors-on-bad-input",
]


def test_registry_is_keyed_by_the_contract_ids_in_contract_order() -> None:
    assert list(CHECKERS) == CONTRACT_IDS


def test_a_correct_run_passes_every_invariant() -> None:
    history, final = happy_run()
    verdicts = check_all(history, final)
    assert [v.invariant for v in verdicts] == CONTRACT_IDS
    failing = {v.invariant: v.summary for v in verdicts if v.outcome is not Outcome.PASS}
    assert failing == {}
    assert all(v.evidence == () for v in verdicts)


def test_an_empty_run_exercises_nothing() -> None:
    verdicts = check_all(History(), state())
    assert {v.invariant: v.outcome for v in verdicts} == dict.fromkeys(
        CONTRACT_IDS, Outcome.NOT_EXERCISED
    )


def test_only_selects_checkers_in_contract_order() -> None:
    history, final = happy_run()
    verdicts = check_all(history, final, only=["convergence", "conservation"])
    assert [v.invariant for v in verdicts] == ["conservation", "convergence"]
    assert [v.invariant for v in check_all(history, final, only="convergence")] == ["convergence"]


def test_only_rejects_unknown_ids() -> None:
    history, final = happy_run()
    with pytest.raises(KeyError, match="no-such-thing"):
        check_all(history, final, only=["conservation", "no-such-thing"])


def test_verdicts_are_the_same_on_a_replayed_jsonl_history(tmp_path: Path) -> None:
    history, final = happy_run()
    history.write_jsonl(tmp_path / "history.jsonl")
    replayed = History.read_jsonl(tmp_path / "history.jsonl")
    assert check_all(replayed, final) == check_all(history, final)


def test_evidence_is_capped_and_says_how_much_was_left_out() -> None:
    evidence = [Evidence("op", str(i), "bad") for i in range(EVIDENCE_CAP + 7)]
    verdict = make_verdict("x", Outcome.FAIL, "27 bad things.", evidence)
    assert len(verdict.evidence) == EVIDENCE_CAP + 1
    assert verdict.evidence[:EVIDENCE_CAP] == tuple(evidence[:EVIDENCE_CAP])
    assert verdict.evidence[-1] == Evidence("truncated", "7", "7 more items not shown")
    assert verdict.summary == "27 bad things (7 more evidence items not shown)."
