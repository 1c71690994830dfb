"""The shared LightGBM component: the parameters each caller's settings stand for, groups only for ranking
objectives, explanations that add up to the score, and persistence as a text model beside a manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.learning_to_rank import ModelFiles, RankingGroup, TreeRanker, TreeRankerConfig
from shelfwise.recommend.rerank import RerankConfig
from shelfwise.search.ranker import RankerConfig

FEATURES = ("signal", "noise_a", "noise_b")


def groups(count: int, seed: int) -> list[RankingGroup]:
    """Labels follow the first feature; the others are noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        features = rng.normal(size=(12, len(FEATURES))).astype(np.float32)
        labels = np.clip(np.round(features[:, 0] * 1.5), 0, 3).astype(np.int32)
        out.append(RankingGroup(features, labels))
    return out


def test_the_callers_settings_give_the_lightgbm_parameters_they_always_did() -> None:
    assert RankerConfig().trees().params() == {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [100],
        "num_leaves": 15,
        "max_depth": 5,
        "learning_rate": 0.1,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.7,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambdarank_truncation_level": 100,
        "num_threads": 1,
        "seed": 7,
        "verbosity": -1,
    }
    assert RankerConfig().trees().num_boost_round == 100
    assert RerankConfig().trees().params() == {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 100,
        "num_threads": 2,
        "seed": 7,
        "deterministic": True,
        "verbosity": -1,
    }
    assert RerankConfig().trees().num_boost_round == 1000
    with pytest.raises(ValueError, match="extra"):
        TreeRankerConfig.model_validate({"objective": "lambdarank", "num_trees": 5})


def test_only_ranking_objectives_learn_within_groups() -> None:
    train = groups(5, 1)
    ranking = TreeRanker(TreeRankerConfig(), FEATURES).dataset(train).construct()
    binary = TreeRanker(TreeRankerConfig(objective="binary"), FEATURES).dataset(train).construct()
    assert list(np.diff(ranking.get_field("group"))) == [12] * 5
    assert binary.get_field("group") is None


def test_fit_stops_early_predicts_explains_and_round_trips(tmp_path: Path) -> None:
    config = TreeRankerConfig(num_boost_round=300, early_stopping_rounds=5, min_data_in_leaf=5, ndcg_at=5)
    model = TreeRanker(config, FEATURES)
    best = model.fit(groups(60, 1), groups(20, 2))
    assert 1 <= best < 300 and model.booster.best_iteration == best
    test = np.vstack([g.features for g in groups(5, 3)])
    scores = model.predict(test, best)
    assert scores.dtype == np.float32 and np.corrcoef(scores, test[:, 0])[0, 1] > 0.8
    for method in ("path", "shap"):
        contributions = model.contributions(test, method, best)
        assert contributions.shape == (len(test), len(FEATURES) + 1)
        np.testing.assert_allclose(contributions.sum(axis=1), scores, rtol=1e-4, atol=1e-4)
    files = ModelFiles(model="trees.txt", manifest="trees.json")
    model.save(tmp_path, files, {"best": best})
    loaded, manifest = TreeRanker.load(tmp_path, files, config, FEATURES)
    assert manifest == {"best": best}
    np.testing.assert_array_equal(loaded.predict(test, best), scores)
    assert model.predict(test[:0]).shape == (0,)
    (tmp_path / "trees.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"trees\.json is missing"):
        TreeRanker.read(tmp_path, files)
    with pytest.raises(RuntimeError, match="not fitted"):
        TreeRanker(config, FEATURES).predict(test)
