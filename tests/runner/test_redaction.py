"""Secrets never reach a report: verdicts, histories and errors are redacted before writing."""

from __future__ import annotations

from harness.checkers import Evidence, Outcome, Verdict
from harness.history import History, OpType
from harness.runner.target_setup import Secrets
from harness.target import TargetConfig

CONFIG = TargetConfig(
    name="t",
    command=["{python}", "-m", "x"],
    admin_token="admin-0123456789abcdef",
    webhook_secret="whsec_0123456789abcdef",
    env={"SHOP_DSN": "postgresql://shop:hunter2hunter2@127.0.0.1/shop", "MODE": "dev"},
)
KEYS = Secrets.for_target(CONFIG)


def test_known_secrets_and_env_values_are_redacted() -> None:
    text = (
        "auth=Bearer admin-0123456789abcdef sig=whsec_0123456789abcdef "
        "key=sk_test_checkoutchaos dsn=postgresql://shop:hunter2hunter2@127.0.0.1/shop mode=dev"
    )
    clean = KEYS.redact(text)
    for secret in ("admin-0123", "whsec_0123", "sk_test_check", "hunter2"):
        assert secret not in clean
    assert "mode=dev" in clean  # a short value is no secret worth garbling the text for
    assert clean.count("[REDACTED]") == 4


def test_verdict_evidence_is_redacted() -> None:
    verdict = Verdict(
        "no-pii-in-logs",
        Outcome.FAIL,
        "leak near admin-0123456789abcdef",
        (Evidence("log", "12", "line with whsec_0123456789abcdef in it"),),
    )
    clean = KEYS.redact_verdict(verdict)
    assert "admin-0123" not in clean.summary
    assert clean.evidence[0].detail == "line with [REDACTED] in it"
    assert clean.outcome is Outcome.FAIL


def test_history_values_are_redacted_and_untouched_ops_kept() -> None:
    history = History()
    invoke = history.invoke("w1", "bad_request", {"route": "/carts"})
    history.complete(invoke, OpType.FAIL, {"status": 500, "body": "env: sk_test_checkoutchaos"})
    clean = KEYS.redact_history(history)
    assert clean.ops[0] is history.ops[0]
    assert clean.ops[1].value == {"status": 500, "body": "env: [REDACTED]"}
    assert clean.ops[1].index == 1
