"""One settings object for every surface: environment (`SHELFWISE_*`), a TOML file, CLI flags.

Defaults need nothing running: a SQLite file under `./shelfwise-data/` and in-process online state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_ENV = "SHELFWISE_CONFIG"
DEFAULT_CONFIG_FILE = "shelfwise.toml"


def _config_file() -> Path:
    return Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))


class Settings(BaseSettings):
    """Everything the engine and its surfaces can be told, with defaults that need nothing running."""

    model_config = SettingsConfigDict(env_prefix="SHELFWISE_", extra="ignore")

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
    trending_half_life_days: float = Field(default=7.0, gt=0)
    artifacts_to_keep: int = Field(default=5, ge=1)
    admin_api_key: str | None = Field(
        default=None,
        min_length=8,
        description="Key for the admin pages and write endpoints; unset disables the admin pages.",
    )
    public_api_key: str | None = Field(
        default=None,
        min_length=8,
        description="Key the read endpoints and event posting require; unset leaves them open.",
    )

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shelfwise.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

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
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced, skipping None (an unset CLI flag)."""
        values = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=values)
