"""The user profile's model term: the recommendation models' view of a history joins the shares."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from shelfwise.domain import Event, EventType, Product
from shelfwise.recommend.kinds import RecommendationConfig, RecommendationModels
from shelfwise.search.personal import BRAND_WEIGHT, CATEGORY_WEIGHT, UserProfile, build_profile

PRODUCTS = [
    Product(product_id="a", title="Oak chair", brand="Nordwood", category="Furniture > Chairs"),
    Product(product_id="b", title="Pine table", brand="Nordwood", category="Furniture > Tables"),
    Product(product_id="c", title="Desk lamp", brand="Glow", category="Lighting > Lamps"),
    Product(product_id="d", title="Floor lamp", brand="Glow", category="Lighting > Lamps"),
]
BY_ID = {p.product_id: p for p in PRODUCTS}


def test_the_model_term_adds_to_the_shares_and_says_how_much_it_weighed() -> None:
    events = [Event(user_id="u", event_type=EventType.VIEW, product_id="a")]
    shares = build_profile("u", events, BY_ID.get)
    # The model term is off by default (measured no gain); weighted here to test what it does when on.
    profile = replace(
        build_profile("u", events, BY_ID.get, model_scores={"c": 1.0, "b": 0.5}), model_weight=0.5
    )
    assert profile.parts(BY_ID["b"]) == pytest.approx(
        {"category": CATEGORY_WEIGHT, "brand": BRAND_WEIGHT, "model": 0.5 * profile.model_weight}
    )
    assert profile.affinity(BY_ID["c"]) == pytest.approx(profile.model_weight)
    assert shares.affinity(BY_ID["c"]) == 0.0 and shares.reasons(BY_ID["c"]) == []
    assert profile.reasons(BY_ID["c"]) == ["fits what you looked at lately (100% of this boost)"]
    share = 0.5 * profile.model_weight / (CATEGORY_WEIGHT + BRAND_WEIGHT + 0.5 * profile.model_weight)
    assert profile.reasons(BY_ID["b"])[-1] == f"fits what you looked at lately ({share:.0%} of this boost)"
    off = replace(profile, model_weight=0.0)
    assert off.affinity(BY_ID["b"]) == pytest.approx(shares.affinity(BY_ID["b"]))
    assert "model" not in off.parts(BY_ID["c"])


def test_a_profile_with_only_model_scores_is_not_empty() -> None:
    assert UserProfile("u").empty
    assert not UserProfile("u", model_scores={"a": 1.0}).empty


def test_history_affinity_ranks_what_follows_the_history_first() -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    rows = []
    for n in range(20):  # shoppers look at a chair, then the table; lamps go together
        first, second = ("a", "b") if n % 2 else ("c", "d")
        for step, product in enumerate((first, second)):
            rows.append(
                {
                    "user_id": f"u{n}",
                    "session_id": f"s{n}",
                    "event_type": "view",
                    "product_id": product,
                    "query": None,
                    "timestamp": start + timedelta(hours=n, minutes=step),
                }
            )
    models = RecommendationModels(RecommendationConfig(sequential_enabled=False))
    models.fit(PRODUCTS, pl.DataFrame(rows))
    history = [Event(user_id="x", event_type=EventType.VIEW, product_id="a")]
    scores = models.history_affinity(history, top=4)
    assert max(scores, key=lambda p: scores[p]) == "b"
    assert scores["b"] == 1.0 and all(0 < v < 1 for p, v in scores.items() if p != "b")
    assert models.history_affinity([]) == {}
    search_only = [Event(user_id="x", event_type=EventType.SEARCH, query="lamp")]
    assert models.history_affinity(search_only) == {}
