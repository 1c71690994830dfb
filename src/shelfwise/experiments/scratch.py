"""A throwaway engine for an experiment: the caller's settings with storage in a scratch directory."""

from __future__ import annotations

from pathlib import Path

from shelfwise.settings import Settings


def scratch_settings(settings: Settings, directory: Path) -> Settings:
    """`settings` with storage pointed at a throwaway directory, so an experiment never touches the real
    store or online state."""
    return settings.model_copy(
        update={"data_dir": directory, "database_url": None, "online_url": "memory://"}
    )
