"""Target configuration: a TOML file naming how to start (or reach) the service under test.

A command target: the harness starts it per scenario with the contract's environment.

```toml
name = "reference"
command = ["{python}", "-m", "reference_impl"]   # {python}: the harness's own interpreter
cwd = "."                                         # relative to this file
adapter = "contract"                              # or "package.module:ClassName"
stripe_secret_key = "sk_test_checkoutchaos"

[env]                                             # extra environment
LOG_LEVEL = "info"
```

A running (URL) target: started by you; it reaches Stripe (and, optionally, its database and
Redis) through proxies the harness creates on fixed addresses, so those links can be faulted.

```toml
base_url = "http://127.0.0.1:8000"
admin_token = "the ADMIN_TOKEN it was started with"
webhook_secret = "whsec_the STRIPE_WEBHOOK_SECRET it was started with"
allowed_hosts = []                                # loopback only unless named here

[links.stripe]                                    # required: its STRIPE_API_BASE
listen = "127.0.0.1:12111"
[links.redis]                                     # optional: its REDIS_URL points here
listen = "127.0.0.1:16379"
upstream = "127.0.0.1:6379"                       # where the real Redis listens
```
"""

from __future__ import annotations

import importlib
import inspect
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.stack.network import check_url_allowed, is_loopback
from harness.target.adapter import ADAPTER_MEMBERS


class LinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listen: str = Field(pattern=r"^[\w.\-\[\]:]+:\d+$")
    upstream: str | None = Field(default=None, pattern=r"^[\w.\-\[\]:]+:\d+$")


class TargetConfig(BaseModel):
    # hide_input_in_errors: a refused value may be a secret (a live key, a token).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = "target"
    allowed_hosts: list[str] = Field(default_factory=list)  # before base_url: its check reads it
    command: list[str] | None = None
    base_url: str | None = None
    adapter: str = "contract"
    admin_token: str | None = None  # generated for command targets when absent
    webhook_secret: str | None = None  # generated for command targets when absent
    stripe_secret_key: str = "sk_test_checkoutchaos"  # noqa: S105 - a test-mode placeholder
    env: dict[str, str] = Field(default_factory=dict)
    links: dict[Literal["postgres", "redis", "stripe"], LinkConfig] = Field(default_factory=dict)
    startup_timeout_s: float = Field(default=30.0, gt=0, le=600)
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)
    cwd: Path | None = None

    @field_validator("stripe_secret_key")
    @classmethod
    def _test_keys_only(cls, value: str) -> str:
        if not value.startswith("sk_test_"):
            raise ValueError("only Stripe test keys (sk_test_...) are accepted")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("whsec_"):
            raise ValueError("a webhook secret starts with whsec_")
        return value

    @field_validator("base_url")
    @classmethod
    def _reachable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            if not value.startswith(("http://", "https://")):
                raise ValueError("must be an http:// or https:// URL")
            check_url_allowed(value, info.data.get("allowed_hosts", ()))
        return value

    @model_validator(mode="after")
    def _command_xor_url(self) -> TargetConfig:
        if (self.command is None) == (self.base_url is None):
            raise ValueError("give exactly one of 'command' (start it) or 'base_url' (running)")
        if self.command is not None and not self.command:
            raise ValueError("'command' is empty")
        # Refused rather than ignored: each of these would silently do nothing.
        if self.command is not None and self.links:
            raise ValueError(
                "'links' are for a running target (base_url); the harness links a command target"
            )
        if self.base_url is not None and (self.env or self.cwd is not None):
            raise ValueError("'env' and 'cwd' apply to a command target, not a running base_url")
        if self.base_url is not None:
            if self.admin_token is None or self.webhook_secret is None:
                raise ValueError(
                    "a running target (base_url) needs 'admin_token' and 'webhook_secret': the "
                    "ones it was started with"
                )
            if "stripe" not in self.links:
                raise ValueError(
                    "a running target (base_url) needs links.stripe.listen = 'host:port', the "
                    "fixed address it uses as STRIPE_API_BASE"
                )
        for name, link in self.links.items():
            listen_host = link.listen.rsplit(":", 1)[0].strip("[]")
            if not is_loopback(listen_host):
                # Toxiproxy would expose the simulator (and its admin routes) to the network.
                raise ValueError(
                    f"links.{name}.listen must be a loopback address, not {listen_host!r}"
                )
            if link.upstream is not None:
                check_url_allowed(f"tcp://{link.upstream}", self.allowed_hosts)
            if name != "stripe" and link.upstream is None:
                raise ValueError(f"links.{name} needs 'upstream' (where the real {name} listens)")
        return self

    @property
    def starts_process(self) -> bool:
        return self.command is not None

    def argv(self) -> list[str]:
        if self.command is None:
            raise ValueError("not a command target")
        return [sys.executable if part == "{python}" else part for part in self.command]

    @classmethod
    def load(cls, path: Path) -> TargetConfig:
        try:
            raw: dict[str, Any] = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"target file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"target file {path} is not valid TOML: {exc}") from None
        config = cls.model_validate(raw)
        if config.cwd is not None and not config.cwd.is_absolute():
            config = config.model_copy(update={"cwd": (path.parent / config.cwd).resolve()})
        # Now, not once the stack is up: a wrong adapter is a mistake in this file.
        try:
            load_adapter(config.adapter, search_dir=path.parent.resolve())
        except ValueError as exc:
            raise ValueError(f"{path}: adapter: {exc}") from None
        return config


REFERENCE = TargetConfig(name="reference", command=["{python}", "-m", "reference_impl"])


def load_adapter(spec: str, search_dir: Path | None = None) -> type[Any]:
    """``"contract"`` or ``"package.module:ClassName"`` -> the adapter class, checked against
    ``TargetAdapter`` and the constructor the runner calls. ``search_dir`` (the target file's
    directory) is added to the import path, so an adapter may sit next to its target file."""
    if spec == "contract":
        from harness.target.client import ContractClient

        return ContractClient
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"adapter {spec!r} must be 'contract' or 'package.module:ClassName'")
    if search_dir is not None and str(search_dir) not in sys.path:
        sys.path.append(str(search_dir))  # appended: never shadows an installed module
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"adapter module {module_name!r} cannot be imported: {exc}") from None
    adapter = getattr(module, class_name, None)
    if not isinstance(adapter, type):
        raise ValueError(f"adapter {spec!r}: {module_name} has no class {class_name}")
    missing = [name for name in ADAPTER_MEMBERS if not hasattr(adapter, name)]
    if missing:
        raise ValueError(
            f"adapter {spec!r} does not implement TargetAdapter: missing {', '.join(missing)}"
        )
    try:
        # The runner's call: cls(base_url, admin_token, timeout_s=..., allowed_hosts=...).
        inspect.signature(adapter).bind(
            "http://127.0.0.1:1", "token", timeout_s=1.0, allowed_hosts=()
        )
    except TypeError as exc:
        raise ValueError(
            f"adapter {spec!r}: the constructor must accept (base_url, admin_token, *, "
            f"timeout_s, allowed_hosts): {exc}"
        ) from None
    return adapter
