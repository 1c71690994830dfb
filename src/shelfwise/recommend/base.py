"""The contract every recommender model meets, so that evaluation and the engine treat them alike."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, Self, TypeVar, runtime_checkable

import numpy as np
from pydantic import BaseModel

from shelfwise.recommend.interactions import Interactions


@runtime_checkable
class ItemScorer(Protocol):
    """Scores every item for a user given the user's history (item indices, oldest first)."""

    name: str

    def fit(self, data: Interactions) -> Self: ...

    def score(self, history: np.ndarray) -> np.ndarray:
        """float32 scores of shape (n_items,); higher is better. History items are not masked here."""
        ...


def score_batch(scorer: ItemScorer, histories: Sequence[np.ndarray]) -> np.ndarray:
    """Scores for many users at once; models with a faster batched path expose `score_batch` themselves."""
    batched = getattr(scorer, "score_batch", None)
    if batched is not None:
        result: np.ndarray = batched(histories)
        return result
    return np.stack([scorer.score(history) for history in histories])


ConfigT = TypeVar("ConfigT", bound=BaseModel)

MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"


def save_model(directory: Path, name: str, config: BaseModel, arrays: Mapping[str, np.ndarray]) -> None:
    """Writes a trained model as `model.json` (its name and config) and `arrays.npz` (what it learned)."""
    directory.mkdir(parents=True, exist_ok=True)
    header = {"model": name, "config": config.model_dump(mode="json")}
    (directory / MODEL_FILE).write_text(json.dumps(header, indent=2) + "\n", encoding="utf-8")
    np.savez(directory / ARRAYS_FILE, allow_pickle=False, **dict(arrays))


def load_model(
    directory: Path, name: str, config_type: type[ConfigT]
) -> tuple[ConfigT, dict[str, np.ndarray]]:
    """Reads what `save_model` wrote, refusing a directory that holds a different kind of model."""
    header_path, arrays_path = directory / MODEL_FILE, directory / ARRAYS_FILE
    for path in (header_path, arrays_path):
        if not path.is_file():
            raise FileNotFoundError(f"no saved model at {directory}: {path.name} is missing")
    header = json.loads(header_path.read_text(encoding="utf-8"))
    if header.get("model") != name:
        raise ValueError(f"{directory} holds a {header.get('model')!r} model, not {name!r}")
    config = config_type.model_validate(header.get("config", {}))
    with np.load(arrays_path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    return config, arrays
