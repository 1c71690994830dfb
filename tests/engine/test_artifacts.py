"""Versioned bundles: atomic activation, rollback, pruning."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shelfwise.training.artifacts import ArtifactRegistry, DataWindow, Manifest


def _commit(registry: ArtifactRegistry, version: str, activate: bool = True) -> None:
    staging = registry.staging(version)
    (staging / "model.bin").write_text(version)
    manifest = Manifest(
        version=version, created_at=datetime.now(UTC), data=DataWindow(products=1, events=0, users=0)
    )
    registry.commit(staging, manifest, activate=activate)


def test_commit_activates_and_records_libraries(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    assert registry.current_version() is None
    _commit(registry, "v1")
    assert registry.current_version() == "v1"
    assert (registry.path("v1") / "model.bin").read_text() == "v1"
    assert "numpy" in registry.manifest("v1").libraries
    assert not list(tmp_path.glob(".staging-*"))


def test_rollback_to_an_older_version(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    _commit(registry, "v1")
    _commit(registry, "v2")
    registry.activate("v1")
    assert registry.current_version() == "v1"
    with pytest.raises(KeyError, match="v9"):
        registry.activate("v9")


def test_old_versions_are_pruned_but_never_the_current_one(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path, keep=2)
    _commit(registry, "v1")
    _commit(registry, "v2", activate=False)
    _commit(registry, "v3", activate=False)
    _commit(registry, "v4", activate=False)
    assert registry.current_version() == "v1"
    assert registry.versions() == ["v1", "v3", "v4"]
