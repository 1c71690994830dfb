"""The recommendation kinds with the transformer: for-you, buy-again, new-arrivals, the category cap."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shelfwise.domain import Event, EventType, InvalidRequestError, Product, RecommendationKind
from shelfwise.io.components import ComponentFormatError
from shelfwise.recommend.blend import BlendConfig
from shelfwise.recommend.diversity import cap_per_category, catalog_coverage, intra_list_diversity
from shelfwise.recommend.kinds import (
    DIVERSIFIED_KINDS,
    KINDS,
    RecommendationConfig,
    RecommendationModels,
    RecommendRequest,
)
from shelfwise.recommend.rerank import RerankConfig
from shelfwise.recommend.sequential import SequentialConfig

pytestmark = [pytest.mark.slow]

NOW = datetime.now(UTC)
CATEGORIES = ["Phones", "Cases", "Pans", "Spatulas"]
TINY = SequentialConfig(
    hidden=16,
    layers=1,
    dropout=0.1,
    learning_rate=5e-3,
    max_epochs=15,
    patience=15,
    batch_size=64,
    max_length=8,
)


def products(n: int = 40, fresh: int = 4) -> list[Product]:
    """`n` products over four categories; the last `fresh` were created most recently."""
    created = [NOW - timedelta(days=100 - i) for i in range(n)]
    return [
        Product(product_id=f"p{i}", title=f"Product {i}", category=CATEGORIES[i % 4], created_at=created[i])
        for i in range(n)
    ]


def event(user: int, kind: str, product: int, moment: datetime) -> dict[str, object]:
    return {
        "user_id": f"u{user}",
        "session_id": f"s{user}",
        "event_type": kind,
        "product_id": f"p{product}",
        "timestamp": moment,
    }


def event_frame(users: int = 120, seed: int = 0) -> pl.DataFrame:
    """Journeys 'A then A + 1' over products 0..29; product 0 (a consumable) is rebought every ~10 days."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        start = NOW - timedelta(days=60, hours=user)
        first = int(rng.integers(15)) * 2
        for step, product in enumerate([int(rng.integers(30)), first, first + 1]):
            rows.append(event(user, "view", product, start + timedelta(minutes=step)))
        if user % 3 == 0:
            rows.append(event(user, "purchase", 0, start - timedelta(days=30)))
            rows.append(event(user, "purchase", 0, start - timedelta(days=20)))
        if user % 2:
            rows.append(event(user, "purchase", 20, start - timedelta(days=40)))
    return pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(pl.Datetime("us")))


def resolver(catalog: list[Product]):  # type: ignore[no-untyped-def]
    by_id = {p.product_id: p for p in catalog}
    return by_id.get


@pytest.fixture(scope="module")
def fitted() -> RecommendationModels:
    config = RecommendationConfig(sequential=TINY, sequential_min_events=100, sequential_min_actors=20)
    return RecommendationModels(config).fit(products(), event_frame())


def history(user: str, *items: tuple[str, int, datetime]) -> list[Event]:
    return [
        Event(user_id=user, event_type=EventType(kind), product_id=f"p{p}", timestamp=moment)
        for kind, p, moment in items
    ]


def test_every_kind_has_one_handler_and_the_capped_pages_are_the_browsing_ones() -> None:
    assert set(KINDS) == set(RecommendationKind)
    assert all(handler.kind is kind for kind, handler in KINDS.items())
    assert {
        RecommendationKind.FOR_YOU,
        RecommendationKind.TRENDING,
        RecommendationKind.NEW_ARRIVALS,
    } == DIVERSIFIED_KINDS


def test_for_you_uses_the_transformer_and_follows_the_latest_item(fitted: RecommendationModels) -> None:
    assert fitted.sequential is not None
    catalog = products()
    request = RecommendRequest(RecommendationKind.FOR_YOU, history("x", ("view", 8, NOW)), n=3)
    first = fitted.recommend(request, resolver(catalog))
    assert first and first[0].product.product_id == "p9"
    # Real time: one more event changes the very next response, with no refit.
    request.history += history("x", ("view", 14, NOW))
    second = fitted.recommend(request, resolver(catalog))
    assert second[0].product.product_id == "p15"
    assert all(r.explanation.reasons for r in second)


def test_the_transformer_round_trips_and_small_data_falls_back(
    fitted: RecommendationModels, tmp_path: Path
) -> None:
    fitted.save(tmp_path / "recommend")
    loaded = RecommendationModels.load(tmp_path / "recommend")
    assert loaded.sequential is not None
    history_items = np.array([3, 8])
    assert fitted.sequential is not None
    np.testing.assert_allclose(
        loaded.sequential.score(history_items), fitted.sequential.score(history_items), rtol=1e-5
    )
    small = RecommendationModels(RecommendationConfig(sequential=TINY)).fit(products(), event_frame(users=10))
    assert small.sequential is None  # below the default minimums: co-occurrence serves for-you
    request = RecommendRequest(RecommendationKind.FOR_YOU, history("x", ("view", 8, NOW)), n=3)
    assert small.recommend(request, resolver(products()))


def test_the_engine_trains_its_reranker_on_held_out_next_items_and_reloads_it(tmp_path: Path) -> None:
    blend = BlendConfig(min_validation_cases=10, rerank=RerankConfig(min_cases=10, min_data_in_leaf=5))
    config = RecommendationConfig(
        sequential=TINY, blend=blend, sequential_min_events=100, sequential_min_actors=20
    )
    models = RecommendationModels(config).fit(products(), event_frame(users=200))
    assert models.sequential is not None
    ndcg = models.sequential.validation_ndcg
    gain = ndcg["held-out part, re-ranked"] - ndcg["held-out part, linear"]
    assert (models.sequential.reranker is not None) == (
        gain > 2 * ndcg["held-out part, standard error of the gain"]
    )
    models.save(tmp_path / "recommend")
    loaded = RecommendationModels.load(tmp_path / "recommend")
    assert loaded.sequential is not None
    assert (loaded.sequential.reranker is None) == (models.sequential.reranker is None)
    history_items = np.array([3, 8])
    np.testing.assert_allclose(
        loaded.sequential.score(history_items), models.sequential.score(history_items), rtol=1e-5
    )


def test_the_bundle_is_one_component_whose_parts_reload_to_the_same_pages(
    fitted: RecommendationModels, tmp_path: Path
) -> None:
    saved = fitted.save(tmp_path / "recommend")
    manifest = json.loads((saved / "component.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "recommendation-models"
    assert manifest["parts"] == [
        "cooccurrence", "copurchase", "trending", "event_counts", "repurchase", "sequential"
    ]  # fmt: skip
    # The blend reads the same co-occurrence model as for-you and similar: saved once, shared on load.
    assert not (saved / "sequential" / "cooccurrence").exists()
    loaded = RecommendationModels.load(saved)
    assert loaded.sequential is not None and loaded.sequential.cooccurrence is loaded.cooccurrence
    catalog = products()
    for kind in RecommendationKind:
        for events in ([], history("x", ("view", 8, NOW), ("purchase", 0, NOW - timedelta(days=9)))):
            request = RecommendRequest(kind, events, product_id="p6", n=6)
            if kind is RecommendationKind.SIMILAR_LOOKING:  # no pictures here: it says so, saved or not
                for models in (fitted, loaded):
                    with pytest.raises(InvalidRequestError, match="needs product images"):
                        models.recommend(request, resolver(catalog))
                continue
            expected, found = (m.recommend(request, resolver(catalog)) for m in (fitted, loaded))
            if kind is RecommendationKind.BUY_AGAIN:  # its scores move with the clock between the two calls
                expected, found = ([r.product.product_id for r in page] for page in (expected, found))
            assert found == expected, kind
    # Nothing saved needs pickle to be read back.
    for arrays in saved.rglob("*.npz"):
        with np.load(arrays, allow_pickle=False) as stored:
            assert stored.files
    assert not [p for p in saved.rglob("*") if p.suffix in {".pkl", ".pickle", ".pt", ".npy"}]


def test_a_bundle_saved_before_the_component_format_or_missing_a_part_is_refused_by_name(
    fitted: RecommendationModels, tmp_path: Path
) -> None:
    old = tmp_path / "old" / "recommend"
    (old / "cooccurrence").mkdir(parents=True)
    (old / "config.json").write_text("{}")
    (old / "cooccurrence" / "model.json").write_text('{"model": "co-occurrence"}')
    with pytest.raises(
        ComponentFormatError, match=re.escape(f"{old}: component.json is missing") + ".*older"
    ):
        RecommendationModels.load(old)
    saved = fitted.save(tmp_path / "recommend")
    shutil.rmtree(saved / "copurchase")
    with pytest.raises(ComponentFormatError, match="copurchase: the directory does not exist"):
        RecommendationModels.load(saved)


def test_buy_again_offers_consumables_when_due(fitted: RecommendationModels) -> None:
    assert fitted.repurchase.interval_days[0] == pytest.approx(10.0)
    assert np.isnan(fitted.repurchase.interval_days[20])  # bought once per shopper: not a consumable
    bought = history("x", ("purchase", 0, NOW - timedelta(days=9)), ("purchase", 20, NOW - timedelta(days=9)))
    items = fitted.recommend(
        RecommendRequest(RecommendationKind.BUY_AGAIN, bought, n=5), resolver(products())
    )
    assert [r.product.product_id for r in items] == ["p0"]
    assert "every 10 days" in items[0].explanation.reasons[0].detail
    just_bought = history("x", ("purchase", 0, NOW - timedelta(days=1)))
    later = fitted.recommend(
        RecommendRequest(RecommendationKind.BUY_AGAIN, just_bought), resolver(products())
    )
    assert later[0].score < items[0].score


def test_new_arrivals_expose_products_without_events(fitted: RecommendationModels) -> None:
    catalog = products()
    anonymous = fitted.recommend(RecommendRequest(RecommendationKind.NEW_ARRIVALS, n=4), resolver(catalog))
    ids = [r.product.product_id for r in anonymous]
    # Products 30..39 have no events; the newest (highest created_at) come first.
    assert ids == ["p39", "p38", "p37", "p36"]
    personal = fitted.recommend(
        RecommendRequest(RecommendationKind.NEW_ARRIVALS, history("x", ("view", 8, NOW)), n=10),
        resolver(catalog),
    )
    assert {r.product.product_id for r in personal} <= {f"p{i}" for i in range(30, 40)}


def test_pages_are_capped_per_category(fitted: RecommendationModels) -> None:
    catalog = products()
    page = fitted.recommend(RecommendRequest(RecommendationKind.TRENDING, n=8), resolver(catalog))
    categories = [r.product.category for r in page]
    assert len(page) == 8 and max(categories.count(c) for c in set(categories)) <= 4
    assert intra_list_diversity(categories) > 0.5


def test_diversity_helpers() -> None:
    ranked = ["a1", "a2", "a3", "b1", "a4", "c1"]
    assert cap_per_category(ranked, lambda x: x[0], 2, 4) == ["a1", "a2", "b1", "c1"]
    assert cap_per_category(ranked, lambda x: x[0], 1, 5) == ["a1", "b1", "c1", "a2", "a3"]
    assert cap_per_category(ranked, lambda x: x[0], None, 3) == ["a1", "a2", "a3"]
    assert intra_list_diversity(["x", "x"]) == 0.0 and intra_list_diversity(["x", "y", "z"]) == 1.0
    assert catalog_coverage([["a", "b"], ["b", "c"]], 6) == 0.5
    with pytest.raises(ValueError, match="catalog_size"):
        catalog_coverage([], 0)
