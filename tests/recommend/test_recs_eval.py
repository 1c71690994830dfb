"""evaluate_recs end to end on generated interactions with structure the personalised models can find."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from rich.console import Console

from shelfwise.cli.render import render_recs_evaluation, render_recs_segments
from shelfwise.evaluation.protocols import leave_one_out
from shelfwise.evaluation.recs_eval import (
    ModelCandidates,
    build_interactions,
    default_models,
    evaluate_recs,
)
from shelfwise.evaluation.segments import segment_masks
from shelfwise.recommend.als import ALS, ALSConfig
from shelfwise.recommend.blend import SequentialBlend
from shelfwise.recommend.cooccurrence import CoOccurrence
from shelfwise.recommend.itemknn import ItemKNN
from shelfwise.recommend.kinds import RecommendationConfig
from shelfwise.recommend.popularity import Popularity

CLUSTERS, CLUSTER_SIZE = 20, 10


def clustered_frame(users: int = 300, per_user: int = 6, seed: int = 0) -> pl.DataFrame:
    """Each user interacts with random items of one taste cluster; item popularity is flat."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        cluster = rng.integers(CLUSTERS)
        picks = rng.choice(CLUSTER_SIZE, size=per_user, replace=False) + cluster * CLUSTER_SIZE
        rows += [{"user_id": f"u{u}", "item_id": f"i{p}", "position": k} for k, p in enumerate(picks)]
    return pl.DataFrame(rows)


def fast_models() -> dict[str, ModelCandidates]:
    return {
        "default": CoOccurrence(),
        "popularity": Popularity(),
        "item-knn": ItemKNN(),
        "als": ALS(ALSConfig(factors=16, iterations=10, num_threads=1)),
    }


def test_personalised_models_beat_popularity_on_structured_data() -> None:
    evaluation = evaluate_recs(clustered_frame(), models=fast_models())

    assert [row.name for row in evaluation.rows] == ["default", "popularity", "item-knn", "als"]
    assert evaluation.dataset.users == 300 and evaluation.dataset.evaluated_users == 300
    assert evaluation.dataset.items == CLUSTERS * CLUSTER_SIZE and evaluation.dataset.order == "position"
    popularity = evaluation.row("popularity")
    for name in ("default", "item-knn", "als"):
        row = evaluation.row(name)
        assert row.hr_at_10 > popularity.hr_at_10 + 0.3, name
        assert row.ndcg_at_10 > popularity.ndcg_at_10, name
        assert 0.0 <= row.ndcg_at_10 <= row.hr_at_10 <= 1.0
    assert evaluation.row("als").config["factors"] == 16


def test_default_models_run_end_to_end() -> None:
    # 360 interactions: below the engine's minimum for the transformer, so it serves co-occurrence.
    evaluation = evaluate_recs(clustered_frame(users=60))
    assert [row.name for row in evaluation.rows] == ["default", "popularity", "item-knn", "als"]
    assert [row.model for row in evaluation.rows] == ["co-occurrence", "popularity", "item-knn", "als"]
    assert all(row.candidates == 1 and row.fit_seconds >= 0 for row in evaluation.rows)


def test_the_default_is_what_the_engine_would_train() -> None:
    frame = clustered_frame(users=300)  # 1,200 training interactions (4 of 6 per user)
    train = leave_one_out(
        build_interactions(frame, None, user="user_id", item="item_id", order="position")[0]
    )
    assert set(default_models(train.train)) == {
        "sasrec",
        "co-occurrence",
        "default",
        "popularity",
        "item-knn",
        "als",
    }
    strict = RecommendationConfig(sequential_min_events=10_000)
    assert isinstance(default_models(train.train, strict)["default"], CoOccurrence)
    assert isinstance(default_models(train.train)["default"], SequentialBlend)
    # Without the transformer the co-occurrence row is not the engine's default and is not named so.
    assert list(default_models(train.train, sequential=False)) == [
        "co-occurrence",
        "popularity",
        "item-knn",
        "als",
    ]


def test_every_row_reports_long_tail_and_short_history_segments() -> None:
    frame = clustered_frame(users=150)
    evaluation = evaluate_recs(frame, models={"co": CoOccurrence(), "pop": Popularity()})
    split = leave_one_out(
        build_interactions(frame, None, user="user_id", item="item_id", order="position")[0]
    )
    masks = segment_masks(split)
    for row in evaluation.rows:
        by_name = {segment.segment: segment.metrics for segment in row.segments}
        assert set(by_name) == set(masks) - {"all"}
        for name, mask in masks.items():
            if name != "all":
                assert by_name[name].users == int(mask.sum())
        head = next(m for n, m in by_name.items() if n.startswith("head"))
        tail = next(m for n, m in by_name.items() if n.startswith("long-tail"))
        # The overall hit rate is the users-weighted mean of the head and long-tail hit rates.
        weighted = (head.hr_at_10 * head.users + tail.hr_at_10 * tail.users) / (head.users + tail.users)
        assert weighted == pytest.approx(row.hr_at_10)


def test_items_frame_sets_the_ranked_item_set() -> None:
    frame = clustered_frame(users=80)
    catalog = [f"i{p}" for p in range(CLUSTERS * CLUSTER_SIZE + 50)]  # 50 items nobody touched
    items = pl.DataFrame({"item_id": catalog})
    unknown = pl.DataFrame({"user_id": ["u0"], "item_id": ["not-in-catalog"], "position": [99]})
    evaluation = evaluate_recs(pl.concat([frame, unknown]), items, models={"popularity": Popularity()})
    stats = evaluation.dataset
    assert stats.items == len(catalog)
    assert stats.dropped_interactions == 1
    assert stats.items_without_interactions == stats.items - frame.get_column("item_id").n_unique()


def test_candidates_are_chosen_on_validation() -> None:
    evaluation = evaluate_recs(clustered_frame(users=120), models={"tuned": [Popularity(), ItemKNN()]})
    row = evaluation.row("tuned")
    assert row.candidates == 2
    assert row.model == "item-knn"
    with pytest.raises(ValueError, match="one scorer object twice"):
        scorer = Popularity()
        evaluate_recs(clustered_frame(users=20), models={"twice": [scorer, scorer]})


def test_refit_for_test_learns_from_validation_items() -> None:
    # Item "x" is only ever a validation target (first group) or a test target (second group), so only a
    # popularity refitted on training + validation interactions knows it.
    first = [
        {"user_id": f"a{u}", "item_id": i, "position": k} for u in range(10) for k, i in enumerate("pqxy")
    ]
    second = [
        {"user_id": f"b{u}", "item_id": i, "position": k} for u in range(10) for k, i in enumerate("pqrx")
    ]
    catalog = pl.DataFrame({"item_id": [*"pqrxy", *(f"filler{n}" for n in range(20))]})
    frame = pl.DataFrame(first + second)
    plain = evaluate_recs(frame, catalog, models={"pop": Popularity()}).row("pop")
    refitted = evaluate_recs(frame, catalog, models={"pop": Popularity()}, refit_for_test=True).row("pop")
    assert (plain.hr_at_10, refitted.hr_at_10) == (0.0, 0.5)
    assert refitted.refit_for_test and not plain.refit_for_test
    assert plain.valid_hr_at_10 == refitted.valid_hr_at_10


def test_timestamp_order_is_detected() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    hours = clustered_frame(users=50).get_column("position").to_list()
    frame = (
        clustered_frame(users=50)
        .drop("position")
        .with_columns(pl.Series("timestamp", [start + timedelta(hours=h) for h in hours]))
    )
    evaluation = evaluate_recs(frame, models={"default": CoOccurrence()})
    assert evaluation.dataset.order == "timestamp"
    assert evaluation.dataset.evaluated_users == 50


def test_bad_frames_fail_clearly() -> None:
    frame = clustered_frame(users=10)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['customer'\]"):
        evaluate_recs(frame, user="customer")
    with pytest.raises(ValueError, match="order column"):
        evaluate_recs(frame.drop("position"))
    short = pl.DataFrame({"user_id": ["u1", "u1"], "item_id": ["a", "b"], "position": [0, 1]})
    with pytest.raises(ValueError, match="no user has the 3 interactions"):
        evaluate_recs(short)


def test_render_has_a_row_per_model() -> None:
    evaluation = evaluate_recs(clustered_frame(users=40), models={"pop": Popularity(), "co": CoOccurrence()})
    table = render_recs_evaluation(evaluation)
    assert table.row_count == 2
    console = Console(width=140, record=True)
    console.print(table)
    text = console.export_text()
    assert "pop" in text and f"{evaluation.row('co').hr_at_10:.4f}" in text
    segments = render_recs_segments(evaluation)
    assert segments.row_count == 2
    console.print(segments)
    assert "long-tail targets" in console.export_text()
