"""Versioned bundles: atomic activation, rollback, pruning."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shelfwise.training.artifacts import ArtifactRegistry, DataWindow, Manifest


def _commit(registry: ArtifactRegistry, version: str, activate: bool = True) -> None:
    with registry.staging(version) as staging:
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


def test_a_staging_folder_left_by_a_dead_trainer_is_removed_when_the_registry_opens(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    _commit(registry, "v1")
    left = tmp_path / ".staging-v2"  # what kill -9 during training leaves: no live process holds it
    (left / "search").mkdir(parents=True)
    (left / "search" / "half.bin").write_text("half")
    half_pruned = tmp_path / ".trash-v0-123"
    half_pruned.mkdir()

    reopened = ArtifactRegistry(tmp_path)

    assert not left.exists() and not half_pruned.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".staging", ".trash"))]
    assert reopened.versions() == ["v1"] and reopened.current_version() == "v1"


HOLD = """
import sys, time
from pathlib import Path
from shelfwise.training.artifacts import ArtifactRegistry
with ArtifactRegistry(Path(sys.argv[1])).staging("v2") as staging:
    (staging / "part.bin").write_text("writing")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_staging_folder_another_process_is_writing_is_left_alone(tmp_path: Path) -> None:
    trainer = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert trainer.stdout is not None and trainer.stdout.readline().strip() == "writing"
        ArtifactRegistry(tmp_path)
        assert (tmp_path / ".staging-v2" / "part.bin").exists()
    finally:
        trainer.kill()
        trainer.wait()
    ArtifactRegistry(tmp_path)  # its process is gone: now it is stale
    assert not (tmp_path / ".staging-v2").exists()


def test_a_training_that_fails_leaves_no_staging_folder(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    with pytest.raises(RuntimeError, match="fit failed"), registry.staging("v1") as staging:
        (staging / "part.bin").write_text("half")
        raise RuntimeError("fit failed")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]
    assert registry.versions() == []
