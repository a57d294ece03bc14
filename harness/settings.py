"""Configuration: environment variables ``CHECKOUT_CHAOS_*`` over a TOML file over defaults.

The TOML file is ``checkout-chaos.toml`` in the working directory, or the path in
``CHECKOUT_CHAOS_CONFIG``. Nested tables map to nested fields, and so do environment variables
with a double underscore (``CHECKOUT_CHAOS_EXTERNAL__REDIS_URL``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Backend = Literal["auto", "embedded", "containers", "external"]


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "checkout-chaos"


def config_file() -> Path:
    return Path(os.environ.get("CHECKOUT_CHAOS_CONFIG", "checkout-chaos.toml"))


class ExternalServices(BaseModel):
    """Services the user runs; the harness only creates Toxiproxy proxies in front of them."""

    model_config = ConfigDict(extra="forbid")

    postgres_url: str | None = None
    redis_url: str | None = None
    toxiproxy_url: str | None = None
    stripe_mock_url: str | None = None


class BinaryOverrides(BaseModel):
    """Explicit paths win over PATH, wheels and the cache."""

    model_config = ConfigDict(extra="forbid")

    postgres_bin_dir: Path | None = None
    redis_server: Path | None = None
    toxiproxy_server: Path | None = None
    stripe_mock: Path | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHECKOUT_CHAOS_", env_nested_delimiter="__", extra="forbid"
    )

    backend: Backend = "auto"
    cache_dir: Path = Field(default_factory=default_cache_dir)
    startup_timeout_s: float = Field(default=60.0, gt=0)
    allowed_hosts: list[str] = Field(default_factory=list)
    external: ExternalServices = Field(default_factory=ExternalServices)
    binaries: BinaryOverrides = Field(default_factory=BinaryOverrides)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The CHECKOUT_CHAOS_CONFIG variable names the file, so it is not itself a setting.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)
