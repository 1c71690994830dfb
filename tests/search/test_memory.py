"""The search memory: features from what remembered searches led to, and leaving a query's own out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shelfwise.domain import Product
from shelfwise.evaluation.search_ablation import run_ablation
from shelfwise.search import SearchPipeline
from shelfwise.search.config import SearchConfig
from shelfwise.search.features import FEATURE_NAMES
from shelfwise.search.learning import train_ranker_from_judgements
from shelfwise.search.memory import MEMORY_FEATURES, RememberedQuery, SearchMemory
from shelfwise.search.ranker import RankerConfig
from shelfwise.search.spelling import SpellingConfig

SIMILARITY, OVERLAP, GAIN, QUERIES = range(len(MEMORY_FEATURES))


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def memory() -> SearchMemory:
    # Four products; "door bell" led to the chime (0) strongly and the button (1) weakly, "doorbell
    # button" led to the button, "garden hose" to the hose (3). Product 2 was never reached.
    remembered = [
        RememberedQuery("door bell", ["door", "bell"], unit(1, 0, 0), {0: 4.0, 1: 1.0}),
        RememberedQuery("doorbell button", ["doorbel", "button"], unit(1, 1, 0), {1: 4.0}),
        RememberedQuery("garden hose", ["garden", "hose"], unit(0, 0, 1), {3: 2.0}),
    ]
    return SearchMemory.of(remembered, n_products=4)


def test_candidates_get_the_nearest_remembered_query_that_led_to_them(memory: SearchMemory) -> None:
    features = memory.features(["door", "chime"], unit(1, 0, 0), np.array([0, 1, 2, 3]))
    assert features.shape == (4, len(MEMORY_FEATURES))
    # The chime: led to by "door bell" (cosine 1, one of two words shared, label 4 of 4).
    assert features[0, SIMILARITY] == pytest.approx(1.0)
    assert features[0, OVERLAP] == pytest.approx(1 / 3)
    assert features[0, GAIN] == pytest.approx(1.0)
    assert features[0, QUERIES] == pytest.approx(np.log1p(1))
    # The button: two remembered queries; the closer one sets the similarity, both add to the gain.
    assert features[1, SIMILARITY] == pytest.approx(1.0)
    assert features[1, GAIN] == pytest.approx(0.25 + 1.0 * (1 / np.sqrt(2)) ** 4, rel=1e-5)
    assert features[1, QUERIES] == pytest.approx(np.log1p(2))
    # Never reached, and reached only by an unrelated query (orthogonal: no similarity, no words).
    assert not features[2].any()
    assert features[3, SIMILARITY] == 0.0 and features[3, OVERLAP] == 0.0 and features[3, QUERIES] > 0


def test_leaving_a_query_out_removes_exactly_its_own_memory(memory: SearchMemory) -> None:
    positions = np.array([0, 1])
    features = memory.features(["door", "bell"], unit(1, 0, 0), positions, leave_out="door bell")
    assert not features[0].any()  # only "door bell" itself led to the chime
    assert features[1, QUERIES] == pytest.approx(np.log1p(1))
    assert features[1, SIMILARITY] == pytest.approx(1 / np.sqrt(2), rel=1e-5)
    unknown = memory.features(["door", "bell"], unit(1, 0, 0), positions, leave_out="never searched")
    assert np.array_equal(unknown, memory.features(["door", "bell"], unit(1, 0, 0), positions))


def test_without_vectors_the_words_still_count() -> None:
    memory = SearchMemory.of([RememberedQuery("door bell", ["door", "bell"], None, {0: 1.0})], n_products=2)
    features = memory.features(["door", "bell"], None, np.array([0, 1]))
    assert features[0, OVERLAP] == 1.0 and features[0, SIMILARITY] == 0.0 and not features[1].any()


def test_memory_round_trips_through_disk(memory: SearchMemory, tmp_path: Path) -> None:
    loaded = SearchMemory.load(memory.save(tmp_path / "memory"))
    positions = np.array([3, 1, 0])
    args = (["door", "hose"], unit(1, 0, 1))
    assert np.array_equal(loaded.features(*args, positions), memory.features(*args, positions))
    assert loaded.keys == memory.keys


def shop() -> list[Product]:
    titles = {
        "c1": "Wireless door chime kit",
        "c2": "Plug-in door chime",
        "b1": "Brass door knob",
        "h1": "Garden hose reel",
        "h2": "Expandable garden hose",
        "s1": "Rain shower head",
    }
    return [Product(product_id=pid, title=title) for pid, title in titles.items()]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> SearchPipeline:
    config = SearchConfig(
        spelling=SpellingConfig(min_frequency=1),
        ranker=RankerConfig(min_queries=3, num_boost_round=10, min_data_in_leaf=2),
    )
    pipeline = SearchPipeline(config).fit(shop(), embedding_cache=tmp_path_factory.mktemp("embeddings"))
    judged = {
        "door bell": {"c1": 2.0, "c2": 1.0},
        "wireless doorbell": {"c1": 2.0},
        "hose": {"h1": 2.0, "h2": 2.0},
        "shower": {"s1": 2.0},
    }
    train_ranker_from_judgements(pipeline, judged, validation_share=0.0)
    return pipeline


def memory_feature(pipeline: SearchPipeline, query: str, name: str, for_training: bool) -> dict[str, float]:
    mask = np.ones(len(pipeline.catalog), dtype=bool)
    if for_training:
        positions, features = pipeline.training_pool(query, mask)
    else:
        ranking = pipeline.rank(query, mask, 0)
        assert ranking.features is not None  # the fitted pipeline has a ranker, which reads them
        positions, features = ranking.positions, ranking.features
    column = FEATURE_NAMES.index(name)
    ids = pipeline.catalog.product_ids
    pairs = zip(positions, features[:, column], strict=True)
    return {ids[int(p)]: float(v) for p, v in pairs}


def test_training_pools_leave_the_query_out_and_serving_uses_all_of_it(fitted: SearchPipeline) -> None:
    assert fitted.memory is not None and len(fitted.memory) == 4
    served = memory_feature(fitted, "door bell", "memory_queries", for_training=False)
    trained = memory_feature(fitted, "door bell", "memory_queries", for_training=True)
    # "door bell" and "wireless doorbell" both led to c1; only "door bell" led to c2.
    assert served["c1"] == pytest.approx(np.log1p(2)) and served["c2"] == pytest.approx(np.log1p(1))
    assert trained["c1"] == pytest.approx(np.log1p(1)) and trained["c2"] == 0.0
    assert served["b1"] == trained["b1"] == 0.0


def test_the_memory_is_saved_with_the_pipeline_and_can_be_switched_off(
    fitted: SearchPipeline, tmp_path: Path
) -> None:
    loaded = SearchPipeline.load(fitted.save(tmp_path / "pipeline"))
    assert loaded.memory is not None and loaded.memory.keys == fitted.memory.keys  # type: ignore[union-attr]
    assert [h.product.product_id for h in loaded.search("door bell").hits] == [
        h.product.product_id for h in fitted.search("door bell").hits
    ]
    assert fitted.components["memory_queries"] == 4
    forgetful = SearchPipeline(SearchConfig(search_memory=False)).fit(shop(), embedding_cache=tmp_path / "e")
    forgetful.config = forgetful.config.model_copy(
        update={"ranker": RankerConfig(min_queries=3, num_boost_round=10, min_data_in_leaf=2)}
    )
    judged = {"door bell": {"c1": 2.0}, "hose": {"h1": 2.0}, "shower": {"s1": 2.0}}
    train_ranker_from_judgements(forgetful, judged, validation_share=0.0)
    assert forgetful.memory is None and forgetful.ranker is not None
    assert memory_feature(forgetful, "door bell", "memory_queries", for_training=False)["c1"] == 0.0


def test_recall_brings_what_close_remembered_queries_led_to(memory: SearchMemory) -> None:
    near_door_bell = unit(1, 0.2, 0)
    assert memory.recall(near_door_bell, neighbours=10, min_similarity=0.9).tolist() == [0, 1]
    assert memory.recall(near_door_bell, neighbours=10, min_similarity=0.5).tolist() == [0, 1]
    assert memory.recall(near_door_bell, neighbours=1, min_similarity=0.0).tolist() == [0, 1]
    assert memory.recall(unit(0, 0, 1), neighbours=10, min_similarity=0.9).tolist() == [3]
    # Its own memory left out, "door bell" still reaches the button through "doorbell button".
    assert memory.recall(unit(1, 0, 0), 10, 0.5, leave_out="door bell").tolist() == [1]
    assert memory.recall(None, 10, 0.0).tolist() == []


def test_the_ablation_trains_a_ranker_without_memory_beside_the_default(fitted: SearchPipeline) -> None:
    held_out = pl.DataFrame(
        [("doorbell", "c1", 2.0), ("garden hose", "h2", 2.0)],
        schema=["query", "product_id", "gain"],
        orient="row",
    )
    ranker = fitted.ranker
    judged = {
        "door bell": {"c1": 2.0, "c2": 1.0},
        "door chime": {"c1": 2.0},
        "hose": {"h1": 2.0},
        "hose reel": {"h1": 2.0},
        "shower": {"s1": 2.0},
    }
    rows = {row.name: row for row in run_ablation(fitted, held_out, trained_on=judged)}
    assert "+ learned ranker (LightGBM)" in rows and "+ search memory (the default)" in rows
    assert fitted.ranker is ranker and fitted.memory is not None  # the retrained twin is a copy
    # Without the training judgements, the ranker-without-memory row cannot be built and is left out.
    assert "+ learned ranker (LightGBM)" not in {row.name for row in run_ablation(fitted, held_out)}
