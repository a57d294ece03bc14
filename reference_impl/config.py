"""The service's whole world comes from the environment (contract section 1); nothing else is read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator


class ConfigError(Exception):
    """The environment cannot start this service; the message says what to fix (never a secret)."""


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    port: Annotated[int, Field(ge=1, le=65535)]
    database_url: SecretStr  # may carry a password
    redis_url: SecretStr
    stripe_api_base: str
    stripe_secret_key: SecretStr
    stripe_webhook_secret: SecretStr
    admin_token: SecretStr
    # Tunables with safe defaults; the contract's env does not set them.
    # Stripe wants expires_at 30 min to 24 h ahead *when it receives the call*: keep a margin.
    session_lifetime_s: int = 3600
    reservation_grace_s: int = (
        3600  # a reservation outlives its session so late events still find it
    )
    lock_timeout_s: float = 30.0  # an idempotency lock older than this belongs to a dead request
    webhook_tolerance_s: int = 300
    drain_timeout_s: int = 10

    @field_validator("stripe_secret_key")
    @classmethod
    def _test_key_only(cls, value: SecretStr) -> SecretStr:
        # A harness must never move real money: anything but a test key stops start-up.
        if not value.get_secret_value().startswith("sk_test_"):
            raise ValueError("STRIPE_SECRET_KEY must be a test key (sk_test_…); refusing to start")
        return value

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("STRIPE_WEBHOOK_SECRET must not be empty")
        return value

    @field_validator("admin_token")
    @classmethod
    def _admin_token(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise ValueError("ADMIN_TOKEN must be at least 8 characters")
        return value

    @field_validator("stripe_api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("STRIPE_API_BASE must be an http(s) URL")
        return value.rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        names = (
            "PORT",
            "DATABASE_URL",
            "REDIS_URL",
            "STRIPE_API_BASE",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "ADMIN_TOKEN",
        )
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise ConfigError("missing environment variables: " + ", ".join(missing))
        try:
            return cls.model_validate({name.lower(): env[name] for name in names})
        except ValidationError as exc:
            # Report the variable and the rule, never the value (it may be a secret).
            reasons = [
                f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)
            ]
            raise ConfigError("; ".join(reasons)) from None
