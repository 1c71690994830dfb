"""Customer segments fitted by training: described, queried, used to filter trending, stable across
retraining, and gone with a deleted user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from sample_shop import catalog_rows, event_rows
from shelfwise.customer_segments.segments import CustomerSegments, CustomerSegmentsConfig
from shelfwise.domain import Product
from shelfwise.domain.errors import InvalidRequestError, NotFoundError
from shelfwise.engine import Engine
from shelfwise.io.forgetting import Subject
from shelfwise.io.frames import EVENT_FRAME_SCHEMA
from shelfwise.recommend.kinds import RecommendationConfig
from shelfwise.recommend.sequential import SequentialConfig
from shelfwise.search.config import SearchConfig
from shelfwise.settings import Settings
from shelfwise.training.trainer import TrainingConfig

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    shop = Engine(Settings(data_dir=tmp_path_factory.mktemp("segments") / "data"))
    shop.ingest_products(catalog_rows())
    shop.ingest_events(event_rows(NOW))
    shop.train()
    return shop


def test_every_known_user_is_in_one_behavioural_segment_described_in_words(engine: Engine) -> None:
    segments = engine.segments()
    behavioural = [s for s in segments if s.kind == "rfm"]
    members = [engine.segment_members(s.segment_id) for s in behavioural]
    assert sum(len(m) for m in members) == len(set().union(*members)) == 40
    assert sum(s.size for s in behavioural) == 40
    browsers = engine.segment("rfm-browsers")
    assert browsers.purchases_per_member == 0 and browsers.expected_purchases_per_member is None
    assert engine.segment_members("rfm-browsers") == {f"u{i}" for i in range(1, 40, 2)}  # odd users never buy
    for segment in segments:
        assert segment.top_categories and segment.price_band in {"budget", "mid-range", "premium"}
        assert f"{segment.size:,} shopper" in segment.description
        assert segment.top_categories[0] in segment.description


def test_a_user_s_segments_and_an_unknown_one(engine: Engine) -> None:
    [segment] = engine.user_segments("u1")
    assert segment.segment_id == "rfm-browsers"
    with pytest.raises(NotFoundError, match="nobody"):
        engine.user_segments("nobody")
    with pytest.raises(NotFoundError, match="no customer segment 'cluster-99'"):
        engine.segment_members("cluster-99")


def test_trending_within_a_segment_lists_what_its_members_engage_with(engine: Engine) -> None:
    buyers = engine.segment_members("rfm-browsers")
    seen = {
        row["product_id"] for row in event_rows(NOW) if row.get("user_id") in buyers and row.get("product_id")
    }
    items = engine.recommend("trending", segment="rfm-browsers", n=5).items
    assert items and {item.product.product_id for item in items} <= seen
    assert "rfm-browsers" in items[0].explanation.reasons[0].detail
    with pytest.raises(InvalidRequestError, match="trending only"):
        engine.recommend("for-you", user_id="u1", segment="rfm-browsers")
    with pytest.raises(NotFoundError):
        engine.recommend("trending", segment="no-such-segment")


def _events(users: list[str]) -> pl.DataFrame:
    rows = [
        {
            "user_id": user,
            "session_id": None,
            "event_type": "purchase" if i % 3 == 0 else "view",
            "product_id": f"p{i % 4}",
            "query": None,
            "timestamp": (NOW - timedelta(days=i)).replace(tzinfo=None),
            "quantity": 1,
            "price": 10.0 + i,
            "request_id": None,
            "event_id": None,
        }
        for user in users
        for i in range(3)
    ]
    return pl.DataFrame(rows, schema=EVENT_FRAME_SCHEMA)


def test_cluster_ids_stay_when_their_members_barely_moved_and_new_ones_get_new_numbers() -> None:
    users = [f"u{i}" for i in range(60)]
    products = [
        Product(product_id=f"p{i}", title=f"thing {i}", category="Home", price=5.0 + i) for i in range(4)
    ]
    rng = np.random.default_rng(0)
    centres = np.array([[10.0, 0], [0, 10.0], [-10.0, -10.0]])
    group = np.arange(60) % 3
    vectors = centres[group] + rng.normal(0, 0.5, (60, 2))
    config = CustomerSegmentsConfig(clusters=3, min_cluster_members=5)
    first = CustomerSegments(config).fit(_events(users), products, (users, vectors))
    before = first.clusters()
    assert sorted(len(m) for m in before.values()) == [20, 20, 20]
    # The same groups, a few shoppers moved, rows in another order: every id is kept.
    moved = group.copy()
    moved[:3] = (moved[:3] + 1) % 3
    order = rng.permutation(60)
    second = CustomerSegments(config).fit(
        _events(users),
        products,
        ([users[i] for i in order], (centres[moved] + rng.normal(0, 0.5, (60, 2)))[order]),
        previous=first,
    )
    after = second.clusters()
    assert set(after) == set(before)
    for segment_id, members in before.items():
        assert len(members & after[segment_id]) >= 17
    # One group split in two, another gone into it: the unmatched cluster gets a number never used.
    split = np.where(group == 0, np.where(np.arange(60) % 2 == 0, 0, 3), 1)
    shifted = np.array([[10.0, 0], [0, 10.0], [0, 0], [-20.0, 20.0]])[split] + rng.normal(0, 0.5, (60, 2))
    third = CustomerSegments(config).fit(_events(users), products, (users, shifted), previous=second)
    kept = set(third.clusters()) & set(after)
    assert kept and set(third.clusters()) - set(after) <= {"cluster-4", "cluster-5"}


def test_a_saved_component_reads_back_and_forgets_a_user(tmp_path: Path) -> None:
    users = [f"u{i}" for i in range(30)]
    products = [Product(product_id=f"p{i}", title=f"thing {i}", category="Toys", price=5.0) for i in range(4)]
    fitted = CustomerSegments().fit(_events(users), products)
    loaded = CustomerSegments.load(fitted.save(tmp_path / "segments"))
    assert [s.model_dump() for s in loaded.segments()] == [s.model_dump() for s in fitted.segments()]
    [segment_id] = loaded.of_user("u3")
    forgotten = loaded.forget(Subject(frozenset({"u3"}), frozenset(), _events(["u3"])))
    assert forgotten.removed == 1 and forgotten.retrain == ["customer-segments"]
    assert loaded.of_user("u3") == [] and "u3" not in loaded.members(segment_id)
    assert sum(s.size for s in loaded.segments()) == 29


TINY = SequentialConfig(hidden=16, layers=1, dropout=0.1, learning_rate=5e-3, max_epochs=2, max_length=8)


@pytest.mark.slow
def test_with_a_transformer_shoppers_are_clustered_and_cluster_ids_survive_a_retrain(tmp_path: Path) -> None:
    recommend = RecommendationConfig(sequential=TINY, sequential_min_events=50, sequential_min_actors=10)
    training = TrainingConfig(
        search=SearchConfig(semantic=False),
        recommend=recommend,
        segments=CustomerSegmentsConfig(clusters=3, min_cluster_members=5),
    )
    with Engine(Settings(data_dir=tmp_path / "data", training=training)) as shop:
        shop.ingest_products(catalog_rows())
        shop.ingest_events(event_rows(NOW))
        shop.train()
        clusters = [s for s in shop.segments() if s.kind == "cluster"]
        assert len(clusters) == 3 and sum(s.size for s in clusters) == 40
        assert all(len(shop.user_segments(f"u{i}")) == 2 for i in range(40))
        before = {s.segment_id: shop.segment_members(s.segment_id) for s in clusters}
        shop.train()  # the same events: the same shoppers group together, under the same ids
        after = {
            s.segment_id: shop.segment_members(s.segment_id) for s in shop.segments() if s.kind == "cluster"
        }
    kept = [
        sid
        for sid in after
        if sid in before and len(after[sid] & before[sid]) / len(after[sid] | before[sid]) >= 0.5
    ]
    moved = [sid for sid in after if sid not in kept]
    assert set(moved) <= {"cluster-4", "cluster-5", "cluster-6"}  # a new id only where the overlap fell
    assert kept, (before, after)


def test_a_shop_without_events_or_purchases_still_segments_what_it_can() -> None:
    products = [Product(product_id="p0", title="thing", price=3.0)]
    nothing = _events([])
    assert CustomerSegments().fit(nothing, products).segments() == []
    views = _events(["u1"]).filter(pl.col("event_type") == "view")
    [browsers] = CustomerSegments().fit(views, products).segments()
    assert browsers.segment_id == "rfm-browsers" and browsers.expected_purchases_per_member is None
