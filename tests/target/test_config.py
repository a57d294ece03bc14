"""Target files: every mistake is refused up front, naming the field, and the CLI says so
without a traceback (exit 2). Adapters are checked when the file is loaded."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.target import ContractClient, TargetConfig, load_adapter
from harness.target.adapter import ADAPTER_MEMBERS, TargetAdapter
from harness.target.examples.graphql import GraphQLShopAdapter
from tests.target.helpers import REPO, run_cli

URL_TARGET = {
    "base_url": "http://127.0.0.1:8000",
    "admin_token": "admin-token-123",
    "webhook_secret": "whsec_abc",
    "links": {"stripe": {"listen": "127.0.0.1:12111"}},
}


def errors_of(raw: Mapping[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        TargetConfig.model_validate(raw)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in caught.value.errors()]


def test_a_live_key_is_refused_by_field_and_never_echoed() -> None:
    raw = {"command": ["x"], "stripe_secret_key": "sk_live_supersecret"}
    assert errors_of(raw) == [
        ("stripe_secret_key", "Value error, only Stripe test keys (sk_test_...) are accepted")
    ]
    with pytest.raises(ValidationError) as caught:
        TargetConfig.model_validate(raw)
    assert "sk_live_supersecret" not in str(caught.value)


def test_command_and_base_url_together_are_refused() -> None:
    [(_, message)] = errors_of({**URL_TARGET, "command": ["x"]})
    assert "exactly one of 'command'" in message
    assert "'base_url'" in message


def test_neither_command_nor_base_url_is_refused() -> None:
    [(_, message)] = errors_of({})
    assert "exactly one of 'command'" in message


def test_a_non_loopback_base_url_is_refused_unless_allowed() -> None:
    remote = {**URL_TARGET, "base_url": "http://shop.example.com:8000"}
    [(field, message)] = errors_of(remote)
    assert field == "base_url"
    assert "add 'shop.example.com' to allowed_hosts" in message
    allowed = TargetConfig.model_validate({**remote, "allowed_hosts": ["shop.example.com"]})
    assert allowed.base_url == "http://shop.example.com:8000"


def test_a_base_url_must_be_http() -> None:
    [(field, message)] = errors_of({**URL_TARGET, "base_url": "127.0.0.1:8000"})
    assert field == "base_url"
    assert "http://" in message


def test_a_url_target_needs_links_stripe_and_its_secrets() -> None:
    [(_, message)] = errors_of({**URL_TARGET, "links": {}})
    assert "links.stripe.listen" in message
    [(_, message)] = errors_of({**URL_TARGET, "admin_token": None})
    assert "'admin_token' and 'webhook_secret'" in message


def test_a_data_link_needs_its_upstream() -> None:
    links = {"stripe": {"listen": "127.0.0.1:1"}, "redis": {"listen": "127.0.0.1:2"}}
    [(_, message)] = errors_of({**URL_TARGET, "links": links})
    assert "links.redis needs 'upstream'" in message


def test_unknown_fields_and_links_are_refused() -> None:
    assert errors_of({"command": ["x"], "comand": ["y"]})[0][0] == "comand"
    links = {"stripe": {"listen": "127.0.0.1:1"}, "kafka": {"listen": "127.0.0.1:2"}}
    assert errors_of({**URL_TARGET, "links": links})[0][0] == "links.kafka.[key]"


def test_the_fixture_target_file_loads_with_cwd_at_the_repository_root() -> None:
    config = TargetConfig.load(REPO / "tests/fixtures/graphql_shop/target.toml")
    assert config.cwd == REPO
    assert config.starts_process
    assert load_adapter(config.adapter) is GraphQLShopAdapter


# --- adapters -------------------------------------------------------------------------------


def test_adapter_members_are_the_protocols() -> None:
    members = {n for n in vars(TargetAdapter) if not n.startswith("_")}
    assert set(ADAPTER_MEMBERS) == members


def test_contract_is_the_default_adapter() -> None:
    assert load_adapter("contract") is ContractClient
    assert load_adapter("harness.target.client:ContractClient") is ContractClient


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("graphql", "must be 'contract' or 'package.module:ClassName'"),
        ("harness.target.examples.graphql:", "must be 'contract' or 'package.module:ClassName'"),
        ("no_such_pkg.adapter:Adapter", "'no_such_pkg.adapter' cannot be imported"),
        (
            "harness.target.examples.graphql:Nope",
            "harness.target.examples.graphql has no class Nope",
        ),
        ("harness.target.client:to_reply", "has no class to_reply"),
        ("harness.target.adapter:Reply", "does not implement TargetAdapter: missing health"),
    ],
)
def test_load_adapter_errors_say_what_is_wrong(spec: str, expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_adapter(spec)


def test_an_adapter_whose_constructor_does_not_fit_is_refused(tmp_path: Path) -> None:
    module = f"adapter_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from harness.target.client import ContractClient\n"
        "class Narrow(ContractClient):\n"
        "    def __init__(self, base_url: str) -> None:\n"
        "        super().__init__(base_url, 'token')\n"
    )
    with pytest.raises(ValueError, match=r"constructor must accept \(base_url, admin_token"):
        load_adapter(f"{module}:Narrow", search_dir=tmp_path)


def test_an_adapter_next_to_its_target_file_is_found(tmp_path: Path) -> None:
    module = f"adapter_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from harness.target.examples.graphql import GraphQLShopAdapter as Mine\n"
    )
    target = tmp_path / "target.toml"
    target.write_text(f'command = ["x"]\nadapter = "{module}:Mine"\n')
    config = TargetConfig.load(target)
    assert load_adapter(config.adapter) is GraphQLShopAdapter


# --- the CLI --------------------------------------------------------------------------------

BAD_FILES = {
    "live-key": ('command = ["x"]\nstripe_secret_key = "sk_live_abc"\n', "stripe_secret_key:"),
    "both": (
        'command = ["x"]\nbase_url = "http://127.0.0.1:1"\n',
        "exactly one of 'command' (start it) or 'base_url'",
    ),
    "remote": (
        'base_url = "http://shop.example.com"\nadmin_token = "t"\nwebhook_secret = "whsec_x"\n'
        '[links.stripe]\nlisten = "127.0.0.1:5"\n',
        "base_url: Value error, 'http://shop.example.com' is not on loopback",
    ),
    "no-stripe-link": (
        'base_url = "http://127.0.0.1:1"\nadmin_token = "t"\nwebhook_secret = "whsec_x"\n',
        "needs links.stripe.listen = 'host:port'",
    ),
    "bad-adapter": (
        'command = ["x"]\nadapter = "no_such_pkg:Adapter"\n',
        "adapter: adapter module 'no_such_pkg' cannot be imported",
    ),
    "not-toml": ("command = [", "is not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_the_cli_prints_config_errors_without_a_traceback(case: str, tmp_path: Path) -> None:
    text, expected = BAD_FILES[case]
    target = tmp_path / f"{case}.toml"
    target.write_text(text)
    run = run_cli("--target", str(target), "--scenario", "happy-path", cwd=tmp_path)
    assert run.returncode == 2, run.output
    assert expected in run.output
    assert "Traceback" not in run.output
    assert "sk_live_abc" not in run.output
    assert not (tmp_path / "reports").exists()  # refused before anything ran


def test_the_cli_reports_a_missing_target_file(tmp_path: Path) -> None:
    run = run_cli("--target", str(tmp_path / "nope.toml"), "--scenario", "happy-path")
    assert run.returncode == 2
    assert "does not exist" in run.output
    assert "Traceback" not in run.output


def test_settings_for_the_other_kind_of_target_are_refused_not_ignored() -> None:
    links = {"stripe": {"listen": "127.0.0.1:1"}}
    [(_, message)] = errors_of({"command": ["x"], "links": links})
    assert "'links' are for a running target" in message
    [(_, message)] = errors_of({**URL_TARGET, "env": {"A": "b"}})
    assert "'env' and 'cwd' apply to a command target" in message
    [(_, message)] = errors_of({**URL_TARGET, "cwd": "."})
    assert "'env' and 'cwd' apply to a command target" in message


def test_a_link_listens_on_loopback_only() -> None:
    links = {"stripe": {"listen": "0.0.0.0:12111"}}
    [(_, message)] = errors_of({**URL_TARGET, "links": links})
    assert "links.stripe.listen must be a loopback address" in message


def test_a_link_upstream_off_loopback_needs_allowed_hosts() -> None:
    links = {
        "stripe": {"listen": "127.0.0.1:1"},
        "redis": {"listen": "127.0.0.1:2", "upstream": "db.internal:6379"},
    }
    [(_, message)] = errors_of({**URL_TARGET, "links": links})
    assert "allowed_hosts" in message
    allowed = TargetConfig.model_validate(
        {**URL_TARGET, "links": links, "allowed_hosts": ["db.internal"]}
    )
    assert allowed.links["redis"].upstream == "db.internal:6379"
