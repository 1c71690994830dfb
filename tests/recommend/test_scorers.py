"""Each recommender learns an obvious pattern from small generated data, and round-trips through save/load."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shelfwise.io.components import ComponentFormatError
from shelfwise.recommend.als import ALS, ALSConfig
from shelfwise.recommend.base import ItemScorer
from shelfwise.recommend.cooccurrence import CoOccurrence, CoOccurrenceConfig, CoPurchase, CoPurchaseConfig
from shelfwise.recommend.interactions import Interactions, Vocabulary
from shelfwise.recommend.itemknn import ItemKNN, ItemKNNConfig
from shelfwise.recommend.popularity import (
    Popularity,
    PopularityConfig,
    TrendingPopularity,
    TrendingPopularityConfig,
    top_positions,
)
from shelfwise.recommend.repurchase import RepurchaseConfig, RepurchaseIntervals

DAY = 86_400.0
N_ITEMS = 30


def interactions(
    sequences: Sequence[Sequence[int]],
    *,
    times: Sequence[Sequence[float]] | None = None,
    weights: Sequence[Sequence[float]] | None = None,
    sessions: Sequence[Sequence[int]] | None = None,
    n_items: int = N_ITEMS,
) -> Interactions:
    """Users u0, u1, ... with the given item sequences; items are named by their index."""
    rows = []
    for u, sequence in enumerate(sequences):
        for k, item in enumerate(sequence):
            rows.append(
                {
                    "user_id": f"u{u}",
                    "product_id": str(item),
                    "timestamp": float(k) if times is None else times[u][k],
                    "weight": 1.0 if weights is None else weights[u][k],
                    "session": 0 if sessions is None else sessions[u][k],
                }
            )
    frame = pl.DataFrame(rows)
    vocabulary = Vocabulary.of([str(i) for i in range(n_items)])
    return Interactions.from_frame(
        frame, weight="weight", session="session" if sessions is not None else None, items=vocabulary
    )


def paired_sequences(users: int = 300, seed: int = 0) -> list[list[int]]:
    """Each user visits three random pairs (2k, 2k+1): the even item is always followed by its partner."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(users):
        firsts = rng.choice(np.arange(0, N_ITEMS, 2), size=3, replace=False)
        sequences.append([int(item) for first in firsts for item in (first, first + 1)])
    return sequences


def best_other(scorer: ItemScorer, history: list[int]) -> int:
    scores = scorer.score(np.array(history))
    scores[history] = -np.inf
    return int(np.argmax(scores))


MODELS: dict[str, Callable[[], ItemScorer]] = {
    "co-occurrence": CoOccurrence,
    "item-knn": ItemKNN,
    "als": lambda: ALS(ALSConfig(factors=16, iterations=10, num_threads=1)),
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_partner_item_ranks_first_after_its_pair(make: Callable[[], ItemScorer]) -> None:
    model = make().fit(interactions(paired_sequences()))
    firsts = range(0, N_ITEMS, 2)
    assert [best_other(model, [first]) for first in firsts] == [first + 1 for first in firsts]


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_scores_are_float32_one_per_item_and_batch_matches(make: Callable[[], ItemScorer]) -> None:
    model = make().fit(interactions(paired_sequences(users=60)))
    histories = [np.array([0, 1, 4]), np.array([7]), np.array([], dtype=np.int32)]
    batch = model.score_batch(histories)  # type: ignore[attr-defined]
    assert batch.shape == (3, N_ITEMS) and batch.dtype == np.float32
    for row, history in zip(batch, histories, strict=True):
        np.testing.assert_allclose(row, model.score(history), rtol=1e-5, atol=1e-6)


SAVABLE: dict[str, Callable[[], ItemScorer]] = {
    **MODELS,
    "popularity": Popularity,
    "trending": lambda: TrendingPopularity(TrendingPopularityConfig(half_life_days=2.0)),
    "co-purchase": CoPurchase,
}


@pytest.mark.parametrize("make", SAVABLE.values(), ids=SAVABLE.keys())
def test_save_load_round_trip_gives_equal_scores(make: Callable[[], ItemScorer], tmp_path: Path) -> None:
    model = make().fit(interactions(paired_sequences(users=60)))
    model.save(tmp_path / "model")  # type: ignore[attr-defined]
    loaded = type(model).load(tmp_path / "model")  # type: ignore[attr-defined]
    assert loaded.config == model.config  # type: ignore[attr-defined]
    for history in ([0], [3, 8, 9], []):
        np.testing.assert_array_equal(loaded.score(np.array(history)), model.score(np.array(history)))


def test_loading_a_different_kind_of_model_is_refused(tmp_path: Path) -> None:
    Popularity().fit(interactions([[1, 2]])).save(tmp_path)
    with pytest.raises(ComponentFormatError, match="'popularity' component, not 'co-occurrence'"):
        CoOccurrence.load(tmp_path)
    # Trending extends popularity, but a saved one is still only the kind it was saved as.
    with pytest.raises(ComponentFormatError, match="'popularity' component, not 'trending'"):
        TrendingPopularity.load(tmp_path)
    with pytest.raises(ComponentFormatError, match=r"no saved component at .*missing"):
        Popularity.load(tmp_path / "missing")


def test_a_model_saved_before_the_component_format_is_refused_by_name(tmp_path: Path) -> None:
    old = tmp_path / "cooccurrence"
    old.mkdir()
    (old / "model.json").write_text('{"model": "co-occurrence", "config": {}}')
    with pytest.raises(ComponentFormatError, match=r"cooccurrence: component\.json is missing.*older"):
        CoOccurrence.load(old)


def test_repurchase_intervals_round_trip(tmp_path: Path) -> None:
    day = 86_400.0
    purchases = interactions(
        [[0, 0, 0, 5], [0, 0, 5], [5, 7, 7]],
        times=[[0.0, 10 * day, 20 * day, 21 * day], [0.0, 8 * day, 9 * day], [0.0, day, 6 * day]],
    )
    model = RepurchaseIntervals(RepurchaseConfig(min_repeat_buyers=2)).fit(purchases)
    assert model.interval_days[0] == pytest.approx(10.0)  # gaps 10, 10, 8: two shoppers rebought it
    assert np.isnan(model.interval_days[7])  # one shopper only
    loaded = RepurchaseIntervals.load(model.save(tmp_path / "repurchase"))
    assert loaded.config == model.config
    np.testing.assert_array_equal(loaded.interval_days, model.interval_days)
    last_bought = {0: 0.0, 5: 0.0, 7: 0.0}
    assert loaded.due(last_bought, 9 * day) == model.due(last_bought, 9 * day) != []


def test_unfitted_models_and_unknown_items_fail_clearly() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        CoOccurrence().score(np.array([1]))
    model = CoOccurrence().fit(interactions([[1, 2, 3]]))
    with pytest.raises(ValueError, match=f"item index {N_ITEMS}"):
        model.score(np.array([1, N_ITEMS]))


def test_cooccurrence_pairs_only_items_within_the_window() -> None:
    sequences = [[0, 10, 11, 12, 1]] * 3
    narrow = CoOccurrence(CoOccurrenceConfig(window=3)).fit(interactions(sequences))
    wide = CoOccurrence(CoOccurrenceConfig(window=4)).fit(interactions(sequences))
    assert 1 not in narrow.neighbours(0, 10)[0]
    assert 1 in wide.neighbours(0, 10)[0]


def test_cooccurrence_weights_nearer_pairs_more() -> None:
    model = CoOccurrence(CoOccurrenceConfig(backward_weight=0.0, alpha=0.0)).fit(
        interactions([[0, 1, 2, 3]] * 2)
    )
    items, scores = model.neighbours(0, 3)
    assert items.tolist() == [1, 2, 3]
    assert scores[0] > scores[1] > scores[2]


def test_cooccurrence_stays_within_sessions_when_told() -> None:
    data = interactions([[0, 1, 2, 3]] * 2, sessions=[[0, 0, 1, 1]] * 2)
    within = CoOccurrence(CoOccurrenceConfig(same_session=True)).fit(data)
    across = CoOccurrence(CoOccurrenceConfig(same_session=False)).fit(data)
    assert within.neighbours(1, 5)[0].tolist() == [0]
    assert set(across.neighbours(1, 5)[0].tolist()) == {0, 2, 3}


def test_cooccurrence_weights_the_last_history_item_most() -> None:
    model = CoOccurrence().fit(interactions([[0, 1], [2, 3]] * 5))
    assert best_other(model, [0, 2]) == 3
    assert best_other(model, [2, 0]) == 1


def test_cooccurrence_forward_pairs_outweigh_backward_ones() -> None:
    model = CoOccurrence(CoOccurrenceConfig(backward_weight=0.25)).fit(interactions([[0, 1]] * 4 + [[2, 0]]))
    items, _ = model.neighbours(0, 2)
    assert items.tolist() == [1, 2]


def test_cooccurrence_neighbours_are_capped_at_top_n() -> None:
    model = CoOccurrence(CoOccurrenceConfig(top_n=2, window=10)).fit(interactions([list(range(8))] * 2))
    row_lengths = np.diff(model.table.matrix.indptr)
    assert row_lengths.max() == 2


def test_popularity_counts_weights_and_ignores_history() -> None:
    data = interactions([[0, 1, 1], [1, 2]], weights=[[1, 1, 1], [1, 5]])
    weighted = Popularity().fit(data)
    counted = Popularity(PopularityConfig(use_weights=False)).fit(data)
    assert weighted.score(np.array([0])).tolist()[:3] == [1.0, 3.0, 5.0]
    assert counted.score(np.array([])).tolist()[:3] == [1.0, 3.0, 1.0]
    assert weighted.top(2).tolist() == [2, 1]
    assert counted.top(5).tolist() == [1, 0, 2]  # zero-scored items left out; ties by position


def test_top_keeps_to_the_mask() -> None:
    model = Popularity().fit(interactions([[0, 1, 1, 2, 2, 2]]))
    category = np.zeros(N_ITEMS, dtype=bool)
    category[[0, 1]] = True
    assert model.top(5, category).tolist() == [1, 0]
    with pytest.raises(ValueError, match="mask has shape"):
        top_positions(model.item_scores, 3, np.ones(3, dtype=bool))


def test_trending_prefers_recent_interactions() -> None:
    # Item 0: five interactions on day 0; item 1: two interactions on day 30.
    data = interactions([[0] * 5, [1, 1]], times=[[0.0, 1.0, 2.0, 3.0, 4.0], [30 * DAY, 30 * DAY]])
    assert Popularity().fit(data).top(1).tolist() == [0]
    assert TrendingPopularity(TrendingPopularityConfig(half_life_days=3.0)).fit(data).top(1).tolist() == [1]


def test_trending_halves_weight_every_half_life() -> None:
    data = interactions([[0], [1]], times=[[10 * DAY], [3 * DAY]])
    model = TrendingPopularity(TrendingPopularityConfig(half_life_days=7.0, use_weights=False)).fit(data)
    np.testing.assert_allclose(model.item_scores[:2], [1.0, 0.5], rtol=1e-6)


def test_copurchase_pairs_items_bought_within_the_window_both_ways() -> None:
    times = [[0.0, DAY], [5 * DAY, 6 * DAY], [0.0, 100 * DAY]]
    data = interactions([[0, 1], [1, 0], [0, 2]], times=times)
    model = CoPurchase(CoPurchaseConfig(window_days=30)).fit(data)
    assert model.neighbours(0, 5)[0].tolist() == [1]
    assert model.neighbours(1, 5)[0].tolist() == [0]
    assert model.neighbours(2, 5)[0].tolist() == []


def test_copurchase_counts_a_pair_once_per_user() -> None:
    # One user buys 0 and 1 three times over; two users buy 2 and 3 once each.
    times = [[float(k) for k in range(6)], [0.0, 1.0], [0.0, 1.0]]
    data = interactions([[0, 1, 0, 1, 0, 1], [2, 3], [3, 2]], times=times)
    model = CoPurchase(CoPurchaseConfig(min_support=2)).fit(data)
    assert model.neighbours(0, 5)[0].tolist() == []
    assert model.neighbours(2, 5)[0].tolist() == [3]


def test_item_knn_shrinkage_damps_rarely_seen_pairs() -> None:
    # 0 and 1 always go together but are rare; 0 and 2 overlap on many users.
    sequences = [[0, 1]] + [[0, 2]] * 8 + [[2]] * 8
    raw = ItemKNN(ItemKNNConfig(shrinkage=0.0)).fit(interactions(sequences))
    shrunk = ItemKNN(ItemKNNConfig(shrinkage=20.0)).fit(interactions(sequences))
    assert raw.neighbours(1, 1)[0].tolist() == [0]
    raw_scores, shrunk_scores = raw.neighbours(0, 2)[1], shrunk.neighbours(0, 2)[1]
    assert raw.neighbours(0, 2)[0].tolist() == [2, 1]
    assert shrunk_scores[1] / shrunk_scores[0] < raw_scores[1] / raw_scores[0]


def test_als_is_deterministic_for_a_random_state() -> None:
    data = interactions(paired_sequences(users=60))
    config = ALSConfig(factors=8, iterations=5, num_threads=1, random_state=7)
    first, second = ALS(config).fit(data), ALS(config).fit(data)
    np.testing.assert_array_equal(first.score(np.array([0, 3])), second.score(np.array([0, 3])))
