"""The contract every recommender model meets, so that evaluation and the engine treat them alike."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, Self, TypeVar, runtime_checkable

import numpy as np
from pydantic import BaseModel

from shelfwise.metrics import target_ranks
from shelfwise.recommend.interactions import Interactions


@runtime_checkable
class ItemScorer(Protocol):
    """Scores every item for a user given the user's history (item indices, oldest first)."""

    name: str

    def fit(self, data: Interactions) -> Self: ...

    def score(self, history: np.ndarray) -> np.ndarray:
        """float32 scores of shape (n_items,); higher is better. History items are not masked here."""
        ...


def _check_scores(scores: np.ndarray, expected_rows: int, scorer: ItemScorer) -> None:
    if scores.ndim != 2 or scores.shape[0] != expected_rows:
        raise ValueError(
            f"scorer {scorer.name!r} returned scores of shape {scores.shape}, not ({expected_rows}, n_items)"
        )
    if np.isnan(scores).any():
        raise ValueError(f"scorer {scorer.name!r} returned NaN scores; ranks would be meaningless")


def rank_targets(
    scorer: ItemScorer,
    histories: Sequence[np.ndarray],
    targets: np.ndarray,
    *,
    exclude_history: bool = True,
    batch: int = 1024,
) -> np.ndarray:
    """0-based rank of each target among all items, pessimistic on ties (`shelfwise.metrics.target_ranks`).

    With `exclude_history` the history's items are left out of the ranking, except the target itself when
    it is one of them (`evaluation.protocols` states why); models validate with this ranking too."""
    targets = np.asarray(targets, dtype=np.int64)
    if len(histories) != len(targets):
        raise ValueError(
            f"{len(histories)} histories but {len(targets)} targets: need one target per history"
        )
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    ranks = np.empty(len(targets), dtype=np.int64)
    for start in range(0, len(targets), batch):
        chunk = slice(start, start + batch)
        ranks[chunk] = _rank_chunk(scorer, histories[chunk], targets[chunk], exclude_history)
    return ranks


def _rank_chunk(
    scorer: ItemScorer, histories: Sequence[np.ndarray], targets: np.ndarray, exclude_history: bool
) -> np.ndarray:
    # target_ranks masks the history in a copy, never in an array the model may keep.
    scores = np.asarray(score_batch(scorer, histories), dtype=np.float32)
    _check_scores(scores, len(targets), scorer)
    return target_ranks(scores, targets, histories if exclude_history else None)


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
