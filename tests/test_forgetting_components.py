"""Each component forgets a shopper itself (`Component.forget`): where its state allows, what it holds
afterwards is what fitting without the shopper gives; where it does not, it asks for a retrain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from sample_shop import catalog_rows, event_rows
from shelfwise.domain import Product
from shelfwise.io.forgetting import Subject
from shelfwise.io.frames import EVENT_FRAME_SCHEMA
from shelfwise.recommend.kinds import RecommendationModels
from shelfwise.search.memory import RememberedQuery, SearchMemory
from shelfwise.search.ranker import LearnedRanker
from shelfwise.search.suggest import Suggester


def _events(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows as the store's events frame, oldest first."""
    frame = pl.DataFrame(
        [{name: row.get(name) for name in EVENT_FRAME_SCHEMA if name != "timestamp"} for row in rows],
        schema={name: kind for name, kind in EVENT_FRAME_SCHEMA.items() if name != "timestamp"},
    )
    stamps = pl.Series("timestamp", [str(row["timestamp"]) for row in rows]).str.to_datetime(time_zone="UTC")
    frame = frame.with_columns(stamps.dt.replace_time_zone(None).dt.cast_time_unit("us"))
    return (
        frame.with_columns(pl.col("quantity").fill_null(1)).select(list(EVENT_FRAME_SCHEMA)).sort("timestamp")
    )


def _subject(frame: pl.DataFrame, user: str) -> tuple[Subject, pl.DataFrame]:
    """(the subject of `user` with their events, everyone else's events)."""
    theirs = pl.col("user_id") == user
    subject = Subject(frozenset({user}), frozenset(), frame.filter(theirs))
    return subject, frame.filter(~theirs)


def _products() -> list[Product]:
    return [Product.model_validate({**row, "category": row["category"]}) for row in catalog_rows()]


def test_the_recommendation_counts_lose_exactly_the_shoppers_part() -> None:
    events = _events(event_rows())
    subject, others = _subject(events, "u3")  # not the latest shopper: trending's clock stays
    models = RecommendationModels().fit(_products(), events)
    assert models.sequential is None  # the sample shop is below the transformer's minimums

    forgotten = models.forget(subject)
    without = RecommendationModels().fit(_products(), others)

    assert forgotten.complete and forgotten.removed > 0
    for name in ("cooccurrence", "copurchase"):
        kept, fresh = getattr(models, name).table, getattr(without, name).table
        assert np.allclose(kept.matrix.toarray(), fresh.matrix.toarray(), atol=1e-6), name
        assert np.allclose(kept.prior, fresh.prior, atol=1e-6), name
    for name in ("trending", "event_counts"):
        assert np.allclose(getattr(models, name).item_scores, getattr(without, name).item_scores, atol=1e-5)


def test_the_counts_survive_a_save_and_an_older_save_asks_for_a_retrain(tmp_path: Path) -> None:
    events = _events(event_rows())
    subject, _ = _subject(events, "u3")
    models = RecommendationModels().fit(_products(), events)
    models.save(tmp_path / "models")
    assert RecommendationModels.load(tmp_path / "models").forget(subject).complete

    older = RecommendationModels().fit(_products(), events)
    older.cooccurrence._counts = None  # as saved before the counts were kept
    older.save(tmp_path / "older")
    assert RecommendationModels.load(tmp_path / "older").forget(subject).retrain == ["co-occurrence"]


def test_autocomplete_and_the_search_memory_drop_what_the_shopper_typed() -> None:
    now = "2026-11-01T00:00:00+00:00"
    rows = [
        {"user_id": user, "event_type": "search", "query": query, "timestamp": now}
        for user, query in [
            ("a", "Door Bell"),
            ("a", "door bell"),
            ("b", "door bell"),
            ("a", "quixotic lamp"),
        ]
    ]
    events = _events(rows)
    subject, others = _subject(events, "a")
    suggester = Suggester().fit(["Door Chime"], events.get_column("query").to_list())
    assert suggester.forget(subject).removed == 3
    assert suggester.state() == Suggester().fit(["Door Chime"], others.get_column("query").to_list()).state()

    remembered = [
        RememberedQuery("door bell", ["door", "bell"], np.array([1.0, 0.0], np.float32), {0: 3.0}),
        RememberedQuery("quixotic lamp", ["quixot", "lamp"], np.array([0.0, 1.0], np.float32), {1: 3.0}),
        RememberedQuery("garden hose", ["garden", "hose"], np.array([0.6, 0.8], np.float32), {2: 2.0}),
    ]
    memory = SearchMemory().fit(remembered, n_products=3)
    assert memory.forget(subject).removed == 2  # b's "door bell" goes with a's, until the next training
    alone = SearchMemory().fit(remembered[2:], n_products=3)
    assert memory.keys == ["garden hose"] and memory.word_ids == alone.word_ids
    assert np.array_equal(memory.led_to.toarray(), alone.led_to.toarray())
    assert memory.vectors is not None and np.array_equal(memory.vectors, remembered[2].vector[None, :])


@pytest.mark.parametrize("searched", [True, False])
def test_a_learned_ranker_asks_for_a_retrain_only_when_the_shopper_searched(searched: bool) -> None:
    ranker = LearnedRanker()
    ranker.meta = {"source": "events"}
    kind = "search" if searched else "view"
    row = {"user_id": "a", "event_type": kind, "query": "lamp" if searched else None, "product_id": "p1"}
    subject, _ = _subject(_events([{**row, "timestamp": "2026-11-01T00:00:00+00:00"}]), "a")
    assert ranker.forget(subject).retrain == (["search_ranker"] if searched else [])
