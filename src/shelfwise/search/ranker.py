"""A LightGBM lambdarank re-ranker over the fused candidates, trained from graded judgements or events.

Judgements (query, product, gain) train it directly. Events train it from what shoppers did after a search
(click 1, add to cart 2, purchase 3) with the position each product had, so LightGBM's position-bias
correction (unbiased lambdarank) can discount clicks that the top slots get anyway.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import lightgbm as lgb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.search.features import FEATURE_NAMES

_MODEL_FILE = "ranker.txt"
_META_FILE = "ranker_meta.json"


class RankerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    rerank_depth: int = Field(default=800, ge=1, description="Candidates the ranker re-orders per query.")
    # Small trees on a random 70% of the features, to generalise to queries the ranker never saw. A
    # slower rate would double the trees, which every query pays for in scoring and in explanations.
    num_leaves: int = Field(default=15, ge=2)
    # TreeSHAP explanations (`explanation="shap"`) cost time in the square of tree depth.
    max_depth: int = Field(default=5, ge=-1, description="-1: no limit (leaf-wise growth only).")
    learning_rate: float = Field(default=0.1, gt=0)
    feature_fraction: float = Field(default=0.7, gt=0, le=1)
    # Every query scores its whole pool (about 500 candidates on Home Depot) with every tree: 100 trees
    # take 1 ms there. Early stopping alone lands anywhere from 65 to 228 trees with the seed, for the
    # same validation quality (`bench/search_validation.py`; BENCHMARKS.md, Home Depot relevance); the
    # budget makes the cost predictable.
    num_boost_round: int = Field(
        default=100, ge=1, description="Trees at most, in the early-stopped model and in the refit."
    )
    early_stopping_rounds: int = Field(default=40, ge=1)
    stopping_depth: int = Field(
        default=100, ge=1, description="Early stopping watches NDCG at this depth on the validation queries."
    )
    refit: bool = Field(
        default=True,
        description="After early stopping, train again on training and validation queries together for "
        "as many rounds (scaled by the larger data), so no labelled query is left unused.",
    )
    min_data_in_leaf: int = Field(default=50, ge=1)
    objective: Literal["lambdarank", "rank_xendcg"] = Field(
        default="lambdarank", description="LightGBM ranking objective."
    )
    truncation_level: int = Field(
        default=100,
        ge=1,
        description="Lambdarank learns the order of pairs within this many top positions: the depth early "
        "stopping watches, and the first page of 100 that recall is counted on.",
    )
    min_queries: int = Field(default=30, ge=1, description="Fewer labelled queries than this: no ranker.")
    max_training_queries: int = Field(default=600, ge=1, description="Event-labelled queries used, at most.")
    seed: int = 7
    explanation: Literal["path", "shap"] = Field(
        default="path",
        description="How each hit's score is split among the features. `path`: the change in a tree's "
        "expected output at every split on the row's path (Saabas; XGBoost's approx_contribs), read from "
        "a table per leaf. `shap`: exact TreeSHAP, about 6 times slower (a 10-hit Home Depot page with "
        "the 100-tree ranker: 1.47 ms against 0.24; `bench/search_stages.py --explanation shap`).",
    )


@dataclass
class RankingGroup:
    """The candidates of one training query: features, integer labels and the rank each was shown at."""

    features: np.ndarray
    labels: np.ndarray
    positions: np.ndarray | None = None


def _stack(groups: Sequence[RankingGroup], with_positions: bool) -> lgb.Dataset:
    features = np.vstack([g.features for g in groups])
    labels = np.concatenate([g.labels for g in groups])
    positions = None
    if with_positions:
        positions = np.concatenate(
            [g.positions if g.positions is not None else np.arange(len(g.labels)) for g in groups]
        )
    return lgb.Dataset(
        features,
        label=labels,
        group=[len(g.labels) for g in groups],
        feature_name=list(FEATURE_NAMES),
        position=positions,
        free_raw_data=False,
    )


class LearnedRanker:
    def __init__(self, config: RankerConfig | None = None) -> None:
        self.config = config or RankerConfig()
        self._booster: lgb.Booster | None = None
        self._path_table: np.ndarray | None = None
        self.meta: dict[str, Any] = {}

    @property
    def fitted(self) -> bool:
        return self._booster is not None

    def fit(
        self,
        train: Sequence[RankingGroup],
        validation: Sequence[RankingGroup] = (),
        source: str = "judgements",
    ) -> Self:
        useful = [g for g in train if len(g.labels) > 1 and g.labels.max() > 0]
        if len(useful) < self.config.min_queries:
            raise ValueError(
                f"{len(useful)} labelled queries with a relevant candidate; the ranker needs "
                f"at least {self.config.min_queries}"
            )
        with_positions = source == "events"
        params: dict[str, Any] = {
            "objective": self.config.objective,
            "metric": "ndcg",
            "eval_at": [self.config.stopping_depth],
            "num_leaves": self.config.num_leaves,
            "max_depth": self.config.max_depth,
            "learning_rate": self.config.learning_rate,
            "min_data_in_leaf": self.config.min_data_in_leaf,
            "feature_fraction": self.config.feature_fraction,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambdarank_truncation_level": self.config.truncation_level,
            "num_threads": 1,  # OpenMP spin-waits: on a busy 2-core machine 2 threads ran ~50x slower
            "seed": self.config.seed,
            "verbosity": -1,
        }
        train_set = _stack(useful, with_positions)
        valid = [g for g in validation if len(g.labels) > 1 and g.labels.max() > 0]
        callbacks: list[Callable[..., Any]] = []
        valid_sets: list[lgb.Dataset] = []
        if valid:
            valid_sets = [_stack(valid, with_positions)]
            callbacks.append(lgb.early_stopping(self.config.early_stopping_rounds, verbose=False))
        self._path_table = None
        self._booster = lgb.train(
            params, train_set, self.config.num_boost_round, valid_sets=valid_sets, callbacks=callbacks
        )
        stopped_at = int(self._booster.best_iteration or self._booster.current_iteration())
        refitted = self.config.refit and bool(valid)
        if refitted:
            scaled = round(stopped_at * (len(useful) + len(valid)) / len(useful))
            rounds = max(1, min(scaled, self.config.num_boost_round))
            self._booster = lgb.train(params, _stack([*useful, *valid], with_positions), rounds)
        self.meta = {
            "source": source,
            "train_queries": len(useful) + (len(valid) if refitted else 0),
            "validation_queries": len(valid),
            "early_stopping_iteration": stopped_at,
            "refitted_on_validation": refitted,
            "best_iteration": int(self._booster.current_iteration()) if refitted else stopped_at,
            "features": list(FEATURE_NAMES),
        }
        return self

    @property
    def booster(self) -> lgb.Booster:
        if self._booster is None:
            raise RuntimeError("the ranker is not fitted: call fit(groups) or load(directory) first")
        return self._booster

    def predict(self, features: np.ndarray) -> np.ndarray:
        iteration = self.meta.get("best_iteration") or None
        return np.asarray(
            self.booster.predict(features, num_iteration=iteration, num_threads=1), dtype=np.float32
        )

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Per-feature contributions per row (`RankerConfig.explanation`), summing to the score; the last
        column is the bias."""
        iteration = self.meta.get("best_iteration") or None
        if self.config.explanation == "shap":
            return np.asarray(
                self.booster.predict(features, num_iteration=iteration, pred_contrib=True, num_threads=1)
            )
        if self._path_table is None:
            self._path_table = path_contribution_table(self.booster, iteration)
        leaves = np.asarray(
            self.booster.predict(features, num_iteration=iteration, pred_leaf=True, num_threads=1),
            dtype=np.int64,
        ).reshape(len(features), -1)
        trees = np.arange(leaves.shape[1])
        return np.asarray(self._path_table[trees, leaves].sum(axis=1), dtype=np.float64)

    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(path / _MODEL_FILE))
        (path / _META_FILE).write_text(
            json.dumps({"config": self.config.model_dump(), **self.meta}, indent=2), encoding="utf-8"
        )
        return path

    @classmethod
    def load(cls, directory: str | Path) -> LearnedRanker:
        path = Path(directory)
        if not (path / _MODEL_FILE).is_file():
            raise FileNotFoundError(f"no ranker in {path}: {_MODEL_FILE} is missing")
        meta = json.loads((path / _META_FILE).read_text(encoding="utf-8"))
        config = RankerConfig.model_validate(meta.pop("config"))
        if meta.get("features") != list(FEATURE_NAMES):
            raise ValueError(f"{path}: the ranker was trained on other features than this version computes")
        ranker = cls(config)
        ranker._booster = lgb.Booster(model_file=str(path / _MODEL_FILE))
        ranker.meta = meta
        return ranker


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
