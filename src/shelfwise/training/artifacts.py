"""Versioned artifact bundles: one directory per trained version, a manifest, and an atomic CURRENT pointer.

A version is written into a hidden staging directory and renamed into place only when complete, and the
CURRENT pointer is replaced with os.replace, so a reader never sees half a bundle. Older versions stay
for rollback until `keep` newer ones exist; a pruned version is renamed aside before it is deleted, so a
crash while deleting leaves no half version either.

A staging directory is locked (an OS file lock beside it, which the OS releases when its process dies,
even by kill -9) for as long as it is written. Opening a registry removes the staging directories no live
process holds: what a killed trainer left, never what a trainer in another process is writing.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from pydantic import BaseModel, Field, field_validator

_LIBRARIES = ("shelfwise", "numpy", "scipy", "polars", "bm25s", "implicit", "torch", "sqlalchemy")
STAGING_PREFIX = ".staging-"
_TRASH_PREFIX = ".trash-"
_LOCK_SUFFIX = ".lock"


def _lock_of(folder: Path) -> FileLock:
    return FileLock(folder.with_name(folder.name + _LOCK_SUFFIX))


@contextmanager
def staging_folder(path: Path) -> Iterator[Path]:
    """An empty folder at `path` (a hidden `.staging-*` name) to write into, locked while the block runs
    and removed when it ends unless it was renamed into place. A crash leaves it to `remove_stale`."""
    lock = _lock_of(path)
    with lock:
        try:
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            Path(lock.lock_file).unlink(missing_ok=True)


def remove_stale(folder: Path) -> list[Path]:
    """Remove the staging folders under `folder` that no live process holds, and versions left half
    deleted; the paths removed. A folder whose lock is held is being written and is left alone."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.iterdir()):
        if path.name.startswith(_TRASH_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        elif path.name.startswith(STAGING_PREFIX) and not path.name.endswith(_LOCK_SUFFIX):
            lock = _lock_of(path)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue  # a live trainer is writing it
            try:
                shutil.rmtree(path, ignore_errors=True)
                Path(lock.lock_file).unlink(missing_ok=True)
                removed.append(path)
            finally:
                lock.release()
    return removed


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

    @field_validator("first_event", "last_event", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # The store keeps naive UTC; a manifest says so, as RFC 3339 (and the API's schema) requires.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


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
        remove_stale(root)

    @staticmethod
    def new_version_id() -> str:
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")

    @contextmanager
    def staging(self, version: str) -> Iterator[Path]:
        """The locked staging folder of a version being trained (see `staging_folder`); `commit` moves it
        into place, and it is removed if the block ends without a commit."""
        with staging_folder(self.root / f"{STAGING_PREFIX}{version}") as path:
            yield path

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
                trash = self.root / f"{_TRASH_PREFIX}{version}-{os.getpid()}"
                try:
                    self.path(version).rename(trash)
                except OSError:
                    continue  # pruned by another process meanwhile
                shutil.rmtree(trash, ignore_errors=True)
