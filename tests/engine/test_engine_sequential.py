"""The engine with the sequential transformer trained: anonymous sessions, real time, the new kinds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sample_shop import catalog_rows, event_rows
from shelfwise.domain import Event, EventType, RecommendationKind
from shelfwise.engine import Engine
from shelfwise.recommend.kinds import RecommendationConfig
from shelfwise.recommend.sequential import SequentialConfig
from shelfwise.search.config import SearchConfig
from shelfwise.training.trainer import TrainingConfig

pytestmark = [pytest.mark.slow]

TINY = SequentialConfig(hidden=16, layers=1, dropout=0.1, learning_rate=5e-3, max_epochs=10, max_length=8)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(tmp_path / "data") as opened:
        opened.ingest_products(catalog_rows())
        opened.ingest_events(event_rows())
        config = TrainingConfig(
            search=SearchConfig(semantic=False),
            recommend=RecommendationConfig(
                sequential=TINY, sequential_min_events=50, sequential_min_actors=10
            ),
        )
        opened.train(config)
        yield opened


def test_the_transformer_is_trained_into_the_bundle(engine: Engine) -> None:
    assert engine.manifest is not None and engine.manifest.metrics["sequential_trained"] == 1.0
    assert (engine.registry.path(engine.manifest.version) / "recommend" / "sequential").is_dir()


def test_an_anonymous_session_gets_recommendations_that_follow_its_events(engine: Engine) -> None:
    before = engine.recommend(RecommendationKind.FOR_YOU, session_id="anon-1", n=3)
    assert before.items and before.items[0].explanation.reasons[0].signal == "trending"
    engine.record(Event(session_id="anon-1", event_type=EventType.VIEW, product_id="p8"))
    after = engine.recommend(RecommendationKind.FOR_YOU, session_id="anon-1", n=3)
    assert after.items[0].product.product_id == "p9"  # the case follows the phone
    assert [i.product.product_id for i in after.items] != [i.product.product_id for i in before.items]


def test_buy_again_and_new_arrivals_are_served(engine: Engine) -> None:
    now = datetime.now(UTC)
    for days in (40, 30, 20):
        engine.record(
            Event(
                user_id="u1",
                event_type=EventType.PURCHASE,
                product_id="p10",
                timestamp=now - timedelta(days=days),
            )
        )
    # Repurchase intervals are learned at training time.
    engine.train(
        TrainingConfig(
            search=SearchConfig(semantic=False),
            recommend=RecommendationConfig(
                sequential=TINY,
                sequential_min_events=50,
                sequential_min_actors=10,
                repurchase={"min_repeat_buyers": 1},
            ),
        )
    )
    again = engine.recommend(RecommendationKind.BUY_AGAIN, user_id="u1")
    assert [item.product.product_id for item in again.items] == ["p10"]
    assert "every 10 days" in again.items[0].explanation.reasons[0].detail
    fresh = engine.recommend(RecommendationKind.NEW_ARRIVALS, n=5)
    assert fresh.items and all(i.explanation.reasons[0].signal == "new-arrival" for i in fresh.items)
