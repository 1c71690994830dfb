"""Versioned artifact bundles: one directory per trained version, a manifest, and an atomic CURRENT pointer.

A version is written into a hidden staging directory and renamed into place only when complete, and the
CURRENT pointer is replaced with os.replace, so a reader never sees half a bundle. Older versions stay
for rollback until `keep` newer ones exist.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

_LIBRARIES = ("shelfwise", "numpy", "scipy", "polars", "bm25s", "implicit", "torch", "sqlalchemy")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


class DataWindow(BaseModel):
    products: int
    events: int
    users: int
    first_event: datetime | None = None
    last_event: datetime | None = None


class Manifest(BaseModel):
    version: str
    created_at: datetime
    data: DataWindow
    components: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Config of each component."
    )
    metrics: dict[str, float] = Field(default_factory=dict)
    libraries: dict[str, str] = Field(default_factory=library_versions)
    forced: bool = Field(default=False, description="Trained with --force over failing quality checks.")
    notes: list[str] = Field(default_factory=list)


class ArtifactRegistry:
    MANIFEST = "manifest.json"
    CURRENT = "CURRENT"

    def __init__(self, root: Path, keep: int = 5) -> None:
        self.root = root
        self.keep = keep
        self.versions_dir = root / "versions"
        self.versions_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_version_id() -> str:
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")

    def staging(self, version: str) -> Path:
        path = self.root / f".staging-{version}"
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def commit(self, staging: Path, manifest: Manifest, activate: bool = True) -> Path:
        (staging / self.MANIFEST).write_text(manifest.model_dump_json(indent=2))
        final = self.versions_dir / manifest.version
        staging.rename(final)
        if activate:
            self.activate(manifest.version)
        self._prune()
        return final

    def activate(self, version: str) -> None:
        if not (self.versions_dir / version / self.MANIFEST).exists():
            raise KeyError(f"no trained version {version!r} in {self.versions_dir}")
        pointer = self.root / f".{self.CURRENT}.tmp"
        pointer.write_text(version)
        os.replace(pointer, self.root / self.CURRENT)

    def current_version(self) -> str | None:
        pointer = self.root / self.CURRENT
        if not pointer.exists():
            return None
        version = pointer.read_text().strip()
        return version if (self.versions_dir / version).exists() else None

    def path(self, version: str) -> Path:
        return self.versions_dir / version

    def manifest(self, version: str) -> Manifest:
        return Manifest.model_validate(json.loads((self.path(version) / self.MANIFEST).read_text()))

    def versions(self) -> list[str]:
        """Completed versions, oldest first (ids sort by time)."""
        return sorted(p.name for p in self.versions_dir.iterdir() if (p / self.MANIFEST).exists())

    def rewrite(self, version: str, write: Callable[[Path], None]) -> None:
        """Rewrite a kept version in place: `write` gets a copy of it to change, which then takes the
        version's place by rename, so a reader finds the old bundle or the new one, each whole."""
        staging = self.root / f".rewrite-{version}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(self.path(version), staging)
        write(staging)
        retired = self.root / f".retired-{version}"
        shutil.rmtree(retired, ignore_errors=True)
        self.path(version).rename(retired)
        staging.rename(self.path(version))
        shutil.rmtree(retired, ignore_errors=True)

    def remove(self, version: str) -> None:
        """Delete a kept version that is not current (KeyError for the current one: it is being served)."""
        if version == self.current_version():
            raise KeyError(f"version {version!r} is current: activate another before removing it")
        shutil.rmtree(self.path(version), ignore_errors=True)

    def leftovers(self) -> list[Path]:
        """Staging directories of trainings or rewrites that stopped half-way (they hold what the version
        would have); none while one is in progress in this process."""
        return [path for path in self.root.iterdir() if path.is_dir() and path.name.startswith(".")]

    def _prune(self) -> None:
        current = self.current_version()
        for version in self.versions()[: -self.keep]:
            if version != current:
                shutil.rmtree(self.path(version), ignore_errors=True)
