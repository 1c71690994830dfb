"""Forgetting shoppers in every kept trained version.

Each component of a version removes what the shoppers contributed where its state allows that exactly
(`Component.forget`: autocomplete's query counts, the search memory's remembered queries, the products'
popularity) and the version is rewritten in place. Where a part cannot (weights a model learned: the
search ranker, the sequential transformer, the item-item tables, which keep normalised and pruned scores
rather than counts), the version still holds an influence of the shoppers, though no id nor text of theirs:
a kept version that is not served is then removed, and the served one is marked for a retrain, which the
engine runs in the background (shelfwise.engine.Engine.forget_user).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from shelfwise.io.components import ComponentFormatError
from shelfwise.io.forgetting import Forgotten, Subject
from shelfwise.training.artifacts import ArtifactRegistry
from shelfwise.training.trainer import RECOMMEND_DIR, SEARCH_DIR, SEGMENTS_DIR, load_bundle, load_segments

UNREADABLE = "unreadable"  # a version this shelfwise cannot load, so cannot clean
FINETUNED_ENCODER = "encoder_finetune"  # an encoder fine-tuned on the shop's searches


class VersionCleaning(BaseModel):
    """What a deletion did to one kept version: entries removed in place, the parts that could not remove
    the shoppers, and so the outcome: cleaned in place, removed, or to be replaced by a retrain."""

    version: str
    removed: int = 0
    retrain: list[str] = Field(default_factory=list, description="Parts that cannot remove a shopper.")
    outcome: Literal["cleaned", "removed", "retrain"]


def forget_in_versions(registry: ArtifactRegistry, subject: Subject) -> list[VersionCleaning]:
    """Remove the subject from every kept version (see the module docstring); the served version's entry
    says "retrain" when only a new training can finish the job. Without events of theirs in the store
    there is nothing to do: models learn from stored events alone."""
    if subject.events.is_empty():
        return []
    current = registry.current_version()
    cleanings = []
    for version in registry.versions():
        forgotten = _forget_in_version(registry, version, subject)
        outcome: Literal["cleaned", "removed", "retrain"] = "cleaned"
        if not forgotten.complete:
            outcome = "retrain" if version == current else "removed"
            if outcome == "removed":
                registry.remove(version)
        cleanings.append(
            VersionCleaning(
                version=version,
                removed=forgotten.removed,
                retrain=sorted(set(forgotten.retrain)),
                outcome=outcome,
            )
        )
    for leftover in registry.leftovers():
        shutil.rmtree(leftover, ignore_errors=True)  # half-written bundles hold data too
    return cleanings


def _forget_in_version(registry: ArtifactRegistry, version: str, subject: Subject) -> Forgotten:
    try:
        search, recommender, manifest = load_bundle(registry, version)
    except (ComponentFormatError, OSError, ValueError):
        return Forgotten(retrain=[UNREADABLE])
    segments = load_segments(registry, version)
    forgotten = search.forget(subject).add([recommender.forget(subject)])
    if segments is not None:
        forgotten.add([segments.forget(subject)])
    elif (registry.path(version) / SEGMENTS_DIR).is_dir():
        forgotten.retrain.append(UNREADABLE)  # memberships it may hold cannot be removed in place
    if manifest.components.get(SEARCH_DIR, {}).get(FINETUNED_ENCODER):
        forgotten.retrain.append(FINETUNED_ENCODER)
    if forgotten.removed:
        manifest.notes.append(
            f"{datetime.now(UTC).isoformat(timespec='seconds')}: deleted shoppers removed from this version "
            f"({forgotten.removed} entries)"
        )

        def write(directory: Path) -> None:
            for name in (SEARCH_DIR, RECOMMEND_DIR):
                shutil.rmtree(directory / name)  # no part left over that the new save would not list
            search.save(directory / SEARCH_DIR)
            recommender.save(directory / RECOMMEND_DIR)
            if segments is not None:
                shutil.rmtree(directory / SEGMENTS_DIR)
                segments.save(directory / SEGMENTS_DIR)
            (directory / ArtifactRegistry.MANIFEST).write_text(manifest.model_dump_json(indent=2))

        registry.rewrite(version, write)
    return forgotten
