"""The one LightGBM component: gradient-boosted trees that score candidates, for search and recommendation.

Search re-ranks its fused candidates with lambdarank over query groups (`search.ranker`); recommendation
re-ranks the "for you" candidates with a binary objective (`recommend.rerank`). Both train here with early
stopping on a validation split, predict with one thread, save LightGBM's own text model beside a JSON
manifest (no pickle), and split a score among the features: by the path from each tree's root to the
row's leaf (Saabas), read from a per-leaf table, or by exact TreeSHAP. Each caller keeps its features,
its labels and what it tells a person about them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import lightgbm as lgb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

RANKING_OBJECTIVES = frozenset({"lambdarank", "rank_xendcg"})


class TreeRankerConfig(BaseModel):
    """LightGBM's training parameters, as the callers' own configs set them. Optional ones left at None
    are not passed to LightGBM, so its defaults apply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    objective: Literal["lambdarank", "rank_xendcg", "binary"] = "lambdarank"
    num_boost_round: int = Field(default=100, ge=1, description="Trees at most.")
    early_stopping_rounds: int = Field(
        default=50, ge=1, description="Rounds without a better validation metric before training stops."
    )
    num_leaves: int = Field(default=31, ge=2)
    max_depth: int | None = Field(default=None, ge=-1, description="-1: no limit; None: LightGBM's default.")
    learning_rate: float = Field(default=0.1, gt=0)
    min_data_in_leaf: int = Field(default=20, ge=1)
    feature_fraction: float | None = Field(default=None, gt=0, le=1)
    bagging_fraction: float | None = Field(default=None, gt=0, le=1)
    bagging_freq: int | None = Field(default=None, ge=0)
    ndcg_at: int | None = Field(
        default=None,
        ge=1,
        description="Early stopping watches NDCG at this depth; None: the objective's metric.",
    )
    truncation_level: int | None = Field(
        default=None, ge=1, description="Lambdarank learns the order of pairs within this many top positions."
    )
    threads: int = Field(default=1, ge=1, description="LightGBM threads while training.")
    seed: int = 7
    deterministic: bool | None = None

    @property
    def ranks_groups(self) -> bool:
        """Whether the objective learns within query groups (a binary one scores each row alone)."""
        return self.objective in RANKING_OBJECTIVES

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": self.objective,
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "num_threads": self.threads,
            "seed": self.seed,
            "verbosity": -1,
        }
        if self.ndcg_at is not None:
            params |= {"metric": "ndcg", "eval_at": [self.ndcg_at]}
        optional = {
            "max_depth": self.max_depth,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": self.bagging_freq,
            "lambdarank_truncation_level": self.truncation_level,
            "deterministic": self.deterministic,
        }
        return params | {name: value for name, value in optional.items() if value is not None}


@dataclass
class RankingGroup:
    """The candidates of one query (or one shopper's history): features, integer labels and, for
    position-debiased lambdarank, the rank each was shown at."""

    features: np.ndarray
    labels: np.ndarray
    positions: np.ndarray | None = None


@dataclass(frozen=True)
class ModelFiles:
    """The names a saved model takes in its directory: LightGBM's text model and the JSON manifest."""

    model: str
    manifest: str


class TreeRanker:
    """One LightGBM booster over named features: fit, predict, explain, save and load."""

    def __init__(self, config: TreeRankerConfig, feature_names: Sequence[str]) -> None:
        self.config = config
        self.feature_names = list(feature_names)
        self._booster: lgb.Booster | None = None
        self._path_table: np.ndarray | None = None
        self._path_table_iteration: int | None = None

    @property
    def fitted(self) -> bool:
        return self._booster is not None

    @property
    def booster(self) -> lgb.Booster:
        if self._booster is None:
            raise RuntimeError("the model is not fitted: call fit() or load() first")
        return self._booster

    @booster.setter
    def booster(self, booster: lgb.Booster) -> None:
        self._booster = booster
        self._path_table = None

    def dataset(self, groups: Sequence[RankingGroup], with_positions: bool = False) -> lgb.Dataset:
        """The groups stacked into one LightGBM dataset; query groups only for a ranking objective."""
        features = np.vstack([g.features for g in groups])
        labels = np.concatenate([g.labels for g in groups])
        positions = None
        if with_positions:
            positions = np.concatenate(
                [g.positions if g.positions is not None else np.arange(len(g.labels)) for g in groups]
            )
        group = [len(g.labels) for g in groups] if self.config.ranks_groups else None
        return lgb.Dataset(
            features,
            label=labels,
            group=group,
            feature_name=self.feature_names,
            position=positions,
            free_raw_data=False,
        )

    def fit(
        self,
        train: Sequence[RankingGroup],
        validation: Sequence[RankingGroup] = (),
        *,
        with_positions: bool = False,
        rounds: int | None = None,
    ) -> int:
        """Trains on `train`, early-stopping on `validation` when it holds any group; returns the best
        iteration (the last one without validation). `rounds` replaces the config's number of trees."""
        callbacks: list[Callable[..., Any]] = []
        valid_sets: list[lgb.Dataset] = []
        if validation:
            valid_sets = [self.dataset(validation, with_positions)]
            callbacks.append(lgb.early_stopping(self.config.early_stopping_rounds, verbose=False))
        self.booster = lgb.train(
            self.config.params(),
            self.dataset(train, with_positions),
            rounds if rounds is not None else self.config.num_boost_round,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        return int(self.booster.best_iteration or self.booster.current_iteration())

    def predict(self, features: np.ndarray, iteration: int | None = None) -> np.ndarray:
        """float32 scores of the rows. One query's candidates are a few hundred rows: a second thread
        costs more than it saves."""
        if not len(features):
            return np.zeros(0, dtype=np.float32)
        return np.asarray(
            self.booster.predict(features, num_iteration=iteration, num_threads=1), dtype=np.float32
        )

    def contributions(
        self, features: np.ndarray, method: Literal["path", "shap"] = "path", iteration: int | None = None
    ) -> np.ndarray:
        """Per-feature contributions per row, summing to the score; the last column is the bias.

        `path`: the change in a tree's expected output at every split on the row's path (Saabas; XGBoost's
        approx_contribs), read from a table per leaf. `shap`: LightGBM's exact TreeSHAP, slower."""
        if method == "shap":
            return np.asarray(
                self.booster.predict(features, num_iteration=iteration, pred_contrib=True, num_threads=1)
            )
        if self._path_table is None or self._path_table_iteration != iteration:
            self._path_table = path_contribution_table(self.booster, iteration)
            self._path_table_iteration = iteration
        leaves = np.asarray(
            self.booster.predict(features, num_iteration=iteration, pred_leaf=True, num_threads=1),
            dtype=np.int64,
        ).reshape(len(features), -1)
        trees = np.arange(leaves.shape[1])
        return np.asarray(self._path_table[trees, leaves].sum(axis=1), dtype=np.float64)

    def save(self, directory: Path, files: ModelFiles, manifest: Mapping[str, Any]) -> Path:
        """LightGBM's text model and `manifest` as JSON, under `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / files.model))
        text = json.dumps(dict(manifest), indent=2) + "\n"
        (directory / files.manifest).write_text(text, encoding="utf-8")
        return directory

    @classmethod
    def read(cls, directory: Path, files: ModelFiles) -> tuple[lgb.Booster, dict[str, Any]]:
        """The booster and the manifest `save` wrote; FileNotFoundError naming the missing file."""
        for name in (files.model, files.manifest):
            if not (directory / name).is_file():
                raise FileNotFoundError(f"no saved model at {directory}: {name} is missing")
        manifest: dict[str, Any] = json.loads((directory / files.manifest).read_text(encoding="utf-8"))
        return lgb.Booster(model_file=str(directory / files.model)), manifest

    @classmethod
    def load(
        cls, directory: Path, files: ModelFiles, config: TreeRankerConfig, feature_names: Sequence[str]
    ) -> tuple[Self, dict[str, Any]]:
        booster, manifest = cls.read(directory, files)
        model = cls(config, feature_names)
        model.booster = booster
        return model, manifest


def path_contribution_table(booster: lgb.Booster, iteration: int | None = None) -> np.ndarray:
    """(trees, leaves, features + 1): what each split on the path from a tree's root to each leaf adds
    to the tree's expected output, by the split's feature; the last column holds the root's expected
    output. A row's contributions are the sum of its leaves' rows and add up to its score. Expected
    outputs weigh leaves by their training rows, as LightGBM's TreeSHAP does, so the bias column is
    TreeSHAP's and a tree of one split gets its TreeSHAP values exactly."""
    trees = booster.dump_model(num_iteration=iteration)["tree_info"]
    width = booster.num_feature() + 1
    table = np.zeros((len(trees), max(t["num_leaves"] for t in trees), width), dtype=np.float64)
    for tree, info in enumerate(trees):
        root = info["tree_structure"]
        path = np.zeros(width)
        path[-1] = _expected_output(root)[0]
        _fill_paths(root, path, table[tree])
    return table


def _expected_output(node: dict[str, Any]) -> tuple[float, float]:
    """(mean output over the node's training rows, their count), cached on the node."""
    if "split_feature" not in node:
        return float(node["leaf_value"]), float(node.get("leaf_count", 1))
    if "_expected" not in node:
        left, left_rows = _expected_output(node["left_child"])
        right, right_rows = _expected_output(node["right_child"])
        rows = left_rows + right_rows
        node["_expected"] = ((left * left_rows + right * right_rows) / rows if rows else left, rows)
    expected: tuple[float, float] = node["_expected"]
    return expected


def _fill_paths(node: dict[str, Any], path: np.ndarray, leaves: np.ndarray) -> None:
    if "split_feature" not in node:
        leaves[node.get("leaf_index", 0)] = path
        return
    here = _expected_output(node)[0]
    for child in (node["left_child"], node["right_child"]):
        below = path.copy()
        below[node["split_feature"]] += _expected_output(child)[0] - here
        _fill_paths(child, below, leaves)
