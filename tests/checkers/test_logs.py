"""no-pii-in-logs: checkout PII never reaches the target's logs, and verdicts never repeat it."""

from __future__ import annotations

import json
import time
from urllib.parse import quote_plus

from hypothesis import given
from hypothesis import strategies as st

from harness.checkers import Outcome, Verdict, check_no_pii_in_logs
from harness.checkers.logs import trie_pattern
from tests.checkers.builders import ADDRESS, EMAIL, NAME, HistoryBuilder, state


def one_checkout(
    email: str = EMAIL, name: str = NAME, address: str | dict[str, str] = ADDRESS
) -> HistoryBuilder:
    h = HistoryBuilder()
    h.checkout_invoke("c1", email=email, name=name, address=address)
    return h


def assert_no_pii(verdict: Verdict, *values: str) -> None:
    text = repr(verdict)
    for value in values:
        assert value not in text
        assert value.lower() not in text.lower()


def run(log: str, h: HistoryBuilder | None = None) -> Verdict:
    return check_no_pii_in_logs((h or one_checkout()).build(), state(log=log))


def test_a_redacted_log_passes() -> None:
    log = "\n".join(
        [
            '{"event":"checkout","email":"[redacted]","name":"[redacted]"}',
            '{"event":"paid","cart_id":"c1"}',
        ]
    )
    verdict = run(log)
    assert verdict.outcome is Outcome.PASS
    assert verdict.summary == "None of 3 canaries in 2 log lines leaked."


def test_an_email_in_clear_fails_with_the_line_number_and_a_masked_line() -> None:
    log = f'{{"event":"start"}}\n{{"event":"checkout","email":"{EMAIL}","cart_id":"c1"}}\n'
    verdict = run(log)
    assert verdict.outcome is Outcome.FAIL
    [evidence] = verdict.evidence
    assert (evidence.kind, evidence.ref) == ("log", "2")
    assert evidence.detail.startswith(f"email canary ca… ({len(EMAIL)} chars, sent by op 0)")
    assert '"email":"ca…","cart_id":"c1"' in evidence.detail
    assert_no_pii(verdict, EMAIL)


def test_a_name_with_accents_and_quotes_is_found_json_escaped() -> None:
    name = 'Zoë "Z" Øster'
    h = one_checkout(name=name)
    for ensure_ascii in (False, True):
        log = json.dumps({"event": "checkout", "customer": name}, ensure_ascii=ensure_ascii)
        assert name not in log  # only the escaped spelling is there
        verdict = run(log, h)
        assert verdict.outcome is Outcome.FAIL, log
        assert verdict.evidence[0].detail.startswith("name canary Zo…")
        assert_no_pii(verdict, name, json.dumps(name)[1:-1])


def test_each_value_of_a_structured_address_is_a_canary() -> None:
    address = {"line1": "77 Sparrow Street", "city": "Gotham", "zip": "12345"}  # zip: too short
    h = one_checkout(address=address)
    verdict = check_no_pii_in_logs(h.build(), state(log="shipping to Gotham, 12345\n"))
    assert verdict.outcome is Outcome.FAIL
    assert [e.detail.split(" (")[0] for e in verdict.evidence] == ["address.city canary Go…"]
    assert "None of" in run("zip 12345 only", h).summary  # short values are not canaries


def test_a_url_encoded_email_in_a_logged_stripe_request_fails() -> None:
    log = f"POST /v1/checkout/sessions body=mode=payment&customer_email={quote_plus(EMAIL)}"
    verdict = run(log)
    assert verdict.outcome is Outcome.FAIL
    assert_no_pii(verdict, EMAIL, quote_plus(EMAIL))


def test_a_form_encoded_name_fails() -> None:
    verdict = run(f"stripe request: metadata[buyer]={quote_plus(NAME)}&mode=payment")
    assert "+" in quote_plus(NAME)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence[0].detail.startswith("name canary Al…")
    assert_no_pii(verdict, NAME, quote_plus(NAME))


def test_matching_ignores_case() -> None:
    verdict = run(f"user {NAME.upper()} checked out")
    assert verdict.outcome is Outcome.FAIL
    assert_no_pii(verdict, NAME)


def test_every_canary_on_a_line_is_masked_and_reported() -> None:
    verdict = run(f"{NAME} <{EMAIL}> ships to {ADDRESS}\nok\n{EMAIL}")
    assert verdict.outcome is Outcome.FAIL
    assert [(e.ref, e.detail.split(" canary")[0]) for e in verdict.evidence] == [
        ("1", "name"),
        ("1", "email"),
        ("1", "address"),
        ("3", "email"),
    ]
    assert verdict.summary == "3 of 3 canaries in 3 log lines leaked, on 2 lines."
    assert_no_pii(verdict, NAME, EMAIL, ADDRESS)


def test_long_lines_are_cut_around_the_leak_without_echoing_it() -> None:
    log = "x" * 5000 + EMAIL + "y" * 5000
    verdict = run(log)
    detail = verdict.evidence[0].detail
    assert "ca…" in detail
    assert len(detail) < 400
    assert_no_pii(verdict, EMAIL)


def test_short_values_are_not_canaries() -> None:
    h = one_checkout(email="a@b.c", name="Bo", address="Paris")
    assert check_no_pii_in_logs(h.build(), state(log="Bo went to Paris")).outcome is (
        Outcome.NOT_EXERCISED
    )


def test_an_empty_log_is_not_evidence_of_privacy() -> None:
    verdict = run("")
    assert verdict.outcome is Outcome.NOT_EXERCISED
    assert "No target log was captured" in verdict.summary


def test_no_checkout_means_no_canary() -> None:
    verdict = check_no_pii_in_logs(HistoryBuilder().build(), state(log=f"{EMAIL}\n"))
    assert verdict.outcome is Outcome.NOT_EXERCISED


@given(
    words=st.lists(st.text(alphabet='abcAB"é.@ ', min_size=1, max_size=8), min_size=1, max_size=8),
    text=st.text(alphabet='abcAB"é.@ x', max_size=60),
)
def test_the_trie_pattern_finds_a_word_wherever_a_plain_search_does(
    words: list[str], text: str
) -> None:
    pattern = trie_pattern(words)
    plain = any(w.lower() in text.lower() for w in words)
    assert (pattern.search(text) is not None) is plain
    for match in pattern.finditer(text):
        assert match.group(0).lower() in {w.lower() for w in words}


def test_the_trie_pattern_prefers_the_longest_word() -> None:
    assert trie_pattern(["Canary", "Canary Lane"]).findall("at canary lane 1") == ["canary lane"]


def test_thousands_of_canaries_scan_a_large_log_quickly() -> None:
    h = HistoryBuilder()
    for i in range(1000):
        h.checkout_invoke(f"c{i}", email=f"user{i}@canary.test", name=f"Canary Person {i:04d}")
    log = "\n".join(f'{{"event":"request","path":"/carts/c{i}/checkout"}}' for i in range(20000))
    started = time.perf_counter()
    verdict = check_no_pii_in_logs(h.build(), state(log=log + "\nCANARY PERSON 0042"))
    assert time.perf_counter() - started < 20  # a flat alternation took minutes
    assert verdict.outcome is Outcome.FAIL
    assert [e.ref for e in verdict.evidence] == ["20001"]
