"""One settings tree for every surface and every component: defaults < TOML file < environment < flags.

Defaults need nothing running: a SQLite file under `./shelfwise-data/` and in-process online state. Every
component's config hangs off this tree (`quality`, `training.search`, `training.recommend`, …), so a shop
tunes anything in one place:

    # shelfwise.toml (or the file named by $SHELFWISE_CONFIG, or `--config FILE`)
    data_dir = "/srv/shop"
    [quality]
    min_title_words = 3
    [training.recommend.trending]
    half_life_days = 3.0

and the same from the environment, nested with `__`: `SHELFWISE_QUALITY__MIN_TITLE_WORDS=3`. A key that
names no setting is an error that names it, in the file and in the environment alike. This module is the
one place that reads the environment; library code takes its settings as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shelfwise.quality.config import QualityConfig
from shelfwise.threads import ThreadsConfig
from shelfwise.training.trainer import TrainingConfig

ENV_PREFIX = "SHELFWISE_"
CONFIG_FILE_ENV = f"{ENV_PREFIX}CONFIG"
DEFAULT_CONFIG_FILE = "shelfwise.toml"
EMBEDDINGS_DIR = "embeddings"  # under the data directory: kept across versions so unchanged texts are reused
# Variables with the prefix that configure something other than the engine (the test suite's servers).
FOREIGN_ENV = (f"{ENV_PREFIX}TEST_POSTGRES", f"{ENV_PREFIX}TEST_REDIS")

_config_file_override: ContextVar[Path | None] = ContextVar("shelfwise_config_file", default=None)


class SecurityConfig(BaseModel):
    """Browser sessions, proxies and rate limits (the keys themselves: `shelfwise keys`, docs/security.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    demo_mode: bool = Field(
        default=False,
        description="Let the storefront's user switcher shop as any user (set by `shelfwise demo`); "
        "otherwise a browser is only ever its own anonymous session.",
    )
    session_secret: str | None = Field(
        default=None,
        min_length=32,
        description="Signs the browser sessions; default a random one kept in data_dir/session-secret. "
        "Set the same one on every server behind a load balancer.",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="Addresses of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are believed "
        "(for https cookies and per-address limits).",
    )
    api_rate_per_second: float = Field(
        default=20.0, ge=0, description="Requests per second per API key or session; 0 switches it off."
    )
    api_burst: int = Field(default=100, ge=1, description="Requests a key may make at once before the rate.")
    login_attempts: int = Field(
        default=5, ge=1, description="Admin log-in attempts per client address per login_window_seconds."
    )
    login_window_seconds: float = Field(default=300.0, gt=0)
    admin_session_hours: float = Field(default=12.0, gt=0, description="How long an admin log-in lasts.")


class Settings(BaseSettings):
    """Everything the engine and its surfaces can be told, with defaults that need nothing running."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Field(default=Path("shelfwise-data"), description="Where the store and artifacts live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; default a SQLite file in data_dir. "
        "postgresql+psycopg://... for PostgreSQL.",
    )
    online_url: str = Field(
        default="memory://",
        description="Online state (recent events per user): memory:// in-process, or redis://host:port/db.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_request_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest accepted request body."
    )
    recent_events_per_user: int = Field(default=200, ge=1, le=10_000)
    artifacts_to_keep: int = Field(default=5, ge=1)
    admin_api_key: str | None = Field(
        default=None,
        min_length=8,
        description="Bootstrap admin key (scope admin): the admin pages, every write, quality, quarantine, "
        "stats and the keys API. Unset (and no stored admin key) disables the admin pages.",
    )
    public_api_key: str | None = Field(
        default=None,
        min_length=8,
        description="Bootstrap server key (scope server): every read but the admin-only ones, and event "
        "posting for any user. Never put it in a browser. Unset (and no stored reading key) leaves reads "
        "open.",
    )
    embedding_cache: Path | None = Field(
        default=None,
        description="Where product embeddings are cached by text; default data_dir/embeddings. Share one "
        "folder between data directories to encode a catalog once.",
    )
    onnx_cache: Path | None = Field(
        default=None,
        description="Where the ONNX copies of the text encoder are exported; default "
        "$XDG_CACHE_HOME/shelfwise-onnx, else ~/.cache/shelfwise-onnx.",
    )
    shared_data: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("shared_data", f"{ENV_PREFIX}DATA", f"{ENV_PREFIX}SHARED_DATA"),
        description="The folder of public data sets for benchmarks and data tests ($SHELFWISE_DATA); "
        "default ../shared/data beside the repository.",
    )
    security: SecurityConfig = Field(
        default_factory=SecurityConfig, description="Browser sessions, proxies and rate limits."
    )
    quality: QualityConfig = Field(
        default_factory=QualityConfig, description="The quality gate's thresholds."
    )
    training: TrainingConfig = Field(
        default_factory=TrainingConfig, description="What `train` fits: search, recommendations, fine-tuning."
    )
    threads: ThreadsConfig = Field(
        default_factory=ThreadsConfig,
        description="Math-library threads when serving and training, and the HTTP server's request threads.",
    )

    @field_validator("data_dir", "embedding_cache", "onnx_cache", "shared_data", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shelfwise.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def embedding_cache_dir(self) -> Path:
        return self.embedding_cache or self.data_dir / EMBEDDINGS_DIR

    @property
    def onnx_cache_dir(self) -> Path:
        if self.onnx_cache is not None:
            return self.onnx_cache
        base = os.environ.get("XDG_CACHE_HOME")
        return (Path(base) if base else Path.home() / ".cache") / "shelfwise-onnx"

    @classmethod
    def load(cls, config_file: Path | None = None, **flags: Any) -> Settings:
        """Settings from every source: `flags` (nested dicts for nested settings; None means "not given")
        over the environment over `config_file` (default $SHELFWISE_CONFIG, else ./shelfwise.toml) over
        the defaults."""
        if config_file is not None and not config_file.is_file():
            raise ValueError(f"config file {config_file} does not exist")
        with _reading(config_file):
            return cls(**_given(flags))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments (CLI flags) > environment > TOML file > defaults.
        _check_environment(settings_cls)
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given top-level fields replaced, skipping None (an unset CLI flag); checked
        like any other source."""
        values = {**self.model_dump(exclude_unset=False), **_given(overrides)}
        return type(self).model_validate(values)


def _config_file() -> Path:
    return _config_file_override.get() or Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))


@contextmanager
def _reading(config_file: Path | None) -> Iterator[None]:
    token = _config_file_override.set(config_file)
    try:
        yield
    finally:
        _config_file_override.reset(token)


def _given(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values actually given: None (an unset flag) dropped, at every depth."""
    given: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            nested = _given(value)
            if nested:
                given[key] = nested
        elif value is not None:
            given[key] = value
    return given


def _check_environment(settings_cls: type[BaseSettings]) -> None:
    """A SHELFWISE_ variable that names no setting is a typo to report, not a value to ignore."""
    known = {f"{ENV_PREFIX}{name}".upper() for name in settings_cls.model_fields}
    known |= {CONFIG_FILE_ENV, f"{ENV_PREFIX}DATA", f"{ENV_PREFIX}SHARED_DATA", *FOREIGN_ENV}
    unknown = sorted(
        name
        for name in os.environ
        if name.upper().startswith(ENV_PREFIX) and name.upper().split("__")[0] not in known
    )
    if unknown:
        raise ValueError(
            f"unknown setting in the environment: {', '.join(unknown)}; "
            f"settings are {', '.join(sorted(settings_cls.model_fields))} (nested with __)"
        )
