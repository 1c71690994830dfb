"""The engine end to end: ingest with quarantine, train, search, every recommendation kind, real time."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from sample_shop import catalog_rows, event_rows
from shelfwise.domain import Event, EventType, Filters, RecommendationKind
from shelfwise.domain.errors import InvalidRequestError, NotFoundError, NotTrainedError
from shelfwise.domain.search import SearchResult
from shelfwise.engine import Engine
from shelfwise.settings import Settings


def _trained(data_dir: Path) -> Engine:
    engine = Engine.open(data_dir)
    engine.ingest_products(catalog_rows())
    engine.ingest_events(event_rows())
    engine.train()
    return engine


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One trained engine for the tests that only read (search, recommend, errors): none may write."""
    with _trained(tmp_path_factory.mktemp("engine") / "data") as engine:
        yield engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A trained engine of the test's own, for the tests that write (events, products, users)."""
    with _trained(tmp_path / "data") as opened:
        yield opened


def _write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_open_by_url_uses_that_database(tmp_path: Path, postgres_url: str) -> None:
    with Engine.open(postgres_url, settings=None) as engine:
        assert engine.store.dialect == "postgresql"


def test_bad_rows_are_quarantined_and_good_ones_kept(tmp_path: Path) -> None:
    rows = [
        *catalog_rows(),
        {"product_id": "", "title": "No id"},
        {"product_id": "x", "title": "T", "price": "abc"},
    ]
    path = _write_csv(tmp_path / "catalog.csv", rows)
    with Engine.open(tmp_path / "data") as engine:
        report = engine.ingest_products(path)
        count = engine.store.count_products()
        kept = engine.store.quarantined(source="products")

    assert (report.accepted, report.quarantined, report.total) == (10, 2, 12)
    lines = sorted(row.line for row in report.quarantined_rows)
    assert lines == [12, 13]  # header is line 1
    assert count == 10
    assert any("price" in reason for row in kept for reason in row.reasons)
    assert all(row.file == str(path) for row in kept)


def test_search_finds_by_title_with_filters_and_facets(shared: Engine) -> None:
    result = shared.search("sofa")
    assert [hit.product.product_id for hit in result.hits][:2] in (["p3", "p4"], ["p4", "p3"])
    assert result.total == 2
    assert all(hit.explanation.reasons for hit in result.hits)

    cheap = shared.search("table", filters=Filters(price_max=300))
    assert [hit.product.product_id for hit in cheap.hits] == ["p2"]
    brand_counts = {facet.value: facet.count for facet in shared.search("table").facets["brand"]}
    assert brand_counts == {"Woodcraft": 2}


def test_inverted_price_range_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="price_min"):
        Filters(price_min=100, price_max=10)


def test_new_products_are_searchable_without_retraining(engine: Engine) -> None:
    engine.ingest_products([{"product_id": "p11", "title": "Bamboo chopping board"}])
    assert [hit.product.product_id for hit in engine.search("chopping board").hits] == ["p11"]
    engine.delete_product("p11")
    assert engine.search("chopping board").hits == []


def test_for_you_follows_the_users_history(engine: Engine) -> None:
    engine.record(Event(user_id="newcomer", event_type=EventType.VIEW, product_id="p8"))
    recs = engine.recommend("for-you", user_id="newcomer", n=3)
    ids = [item.product.product_id for item in recs.items]
    assert ids[0] in {"p9", "p10"}
    assert "p8" not in ids
    assert "Smartphone X" in recs.items[0].explanation.summary()


def test_an_event_changes_the_very_next_response(engine: Engine) -> None:
    engine.record(Event(user_id="rt", event_type=EventType.VIEW, product_id="p5"))
    before = [i.product.product_id for i in engine.recommend("for-you", user_id="rt", n=2).items]
    engine.record(Event(user_id="rt", event_type=EventType.VIEW, product_id="p8"))
    after = [i.product.product_id for i in engine.recommend("for-you", user_id="rt", n=2).items]
    assert before != after
    assert after[0] in {"p9", "p10"}
    recent = [i.product.product_id for i in engine.recommend("recently-viewed", user_id="rt").items]
    assert recent == ["p8", "p5"]


def test_bought_products_are_not_recommended_back(engine: Engine) -> None:
    engine.record(Event(user_id="buyer", event_type=EventType.VIEW, product_id="p8"))
    engine.record(Event(user_id="buyer", event_type=EventType.PURCHASE, product_id="p9"))
    for kind in ("for-you", "trending"):
        ids = [i.product.product_id for i in engine.recommend(kind, user_id="buyer", n=10).items]
        assert "p9" not in ids, kind


def test_unknown_user_gets_trending_with_a_reason(shared: Engine) -> None:
    recs = shared.recommend(RecommendationKind.FOR_YOU, user_id="stranger", n=5)
    assert len(recs.items) == 5
    assert "no history" in recs.items[0].explanation.summary()


def test_similar_and_bought_together(shared: Engine) -> None:
    similar = [i.product.product_id for i in shared.recommend("similar", product_id="p8", n=2).items]
    assert set(similar) <= {"p9", "p10"} and similar
    together = shared.recommend("bought-together", product_id="p8", n=3)
    assert together.items[0].product.product_id == "p9"
    assert together.items[0].explanation.reasons[0].signal == "co-purchase"


def test_similar_falls_back_to_text_for_items_without_events(engine: Engine) -> None:
    engine.ingest_products(
        [{"product_id": "p12", "title": "Green velvet armchair", "category": "Furniture > Sofas"}]
    )
    recs = engine.recommend("similar", product_id="p12", n=3)
    assert recs.items[0].product.product_id == "p3"
    assert recs.items[0].explanation.reasons[0].signal == "text-similarity"


def test_trending_respects_category_filters(shared: Engine) -> None:
    recs = shared.recommend("trending", n=10, filters=Filters(category="Kitchen"))
    assert recs.items
    assert all((i.product.category or "").startswith("Kitchen") for i in recs.items)


def test_request_errors(shared: Engine, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        shared.recommend("similar", product_id="nope")
    with pytest.raises(InvalidRequestError, match="between 1 and 200"):
        shared.recommend("trending", n=500)
    with pytest.raises(InvalidRequestError, match="unknown recommendation kind"):
        shared.recommend("everything")
    with pytest.raises(InvalidRequestError, match="product_id"):
        shared.recommend("similar")
    with Engine.open(tmp_path / "empty") as untrained, pytest.raises(NotTrainedError):
        untrained.recommend("trending")


def test_a_reopened_engine_serves_the_trained_version(shared: Engine) -> None:
    version = shared.manifest.version if shared.manifest else None
    with Engine(shared.settings) as reopened:
        assert reopened.manifest is not None and reopened.manifest.version == version
        assert reopened.search("sofa").total == 2


def test_forget_user_everywhere(engine: Engine) -> None:
    engine.record(Event(user_id="gone", event_type=EventType.VIEW, product_id="p1"))
    assert engine.recommend("recently-viewed", user_id="gone").items
    assert engine.forget_user("gone").removed["events"] == 1
    assert engine.recommend("recently-viewed", user_id="gone").items == []


# --- real-time events go through the quality gate, as POST /v1/events does --------------------------------


@pytest.fixture
def catalog_only(tmp_path: Path) -> Iterator[Engine]:
    """An untrained engine with the sample catalog: recording needs no model."""
    with Engine.open(tmp_path / "data") as opened:
        opened.ingest_products(catalog_rows())
        yield opened


def test_an_event_for_a_product_not_yet_in_the_catalog_waits_unjoined_and_joins_when_it_arrives(
    catalog_only: Engine,
) -> None:
    early = Event(user_id="early", event_type=EventType.VIEW, product_id="p404")

    assert catalog_only.record(early) == early  # stored, not refused nor quarantined
    report = catalog_only.ingest_events([{**early.model_dump(mode="json"), "event_type": "click"}])

    assert (report.accepted, report.unjoined, report.quarantined) == (1, 1, 0)
    assert catalog_only.count_events() == 2
    assert catalog_only.count_quarantined() == 0
    assert catalog_only.history(user_id="early") == []  # out of the real-time features
    assert catalog_only.events_frame().filter(pl.col("product_id") == "p404").height == 0

    catalog_only.ingest_products([{"product_id": "p404", "title": "Late arrival", "price": 5}])

    assert [e.product_id for e in catalog_only.history(user_id="early")] == ["p404", "p404"]
    assert catalog_only.events_frame().filter(pl.col("product_id") == "p404").height == 2


def test_events_of_a_product_that_failed_the_gate_in_the_same_import_are_kept(tmp_path: Path) -> None:
    broken = {"product_id": "p99", "title": "Broken", "price": "abc"}
    with Engine.open(tmp_path / "data") as engine:
        assert engine.ingest_products([*catalog_rows(), broken]).quarantined == 1
        views = [
            {"user_id": "fan", "event_type": "view", "product_id": "p99", "timestamp": f"2026-10-0{day}"}
            for day in range(1, 4)
        ]
        report = engine.ingest_events(event_rows() + views)
        assert (report.quarantined, report.unjoined) == (0, 3)
        waiting = engine.train()
        assert waiting.data.events == len(event_rows())
        assert waiting.components["quality"]["excluded_events"]["event.unknown_product"] == 3
        quality = engine.quality_report()
        assert quality is not None and quality.checks["event.unknown_product"] == 3

        engine.ingest_products([{**broken, "price": 12}])  # fixed and sent again

        manifest = engine.train()
    assert manifest.data.events == len(event_rows()) + 3  # training now sees them


def test_importing_the_same_events_twice_stores_them_once(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "data") as engine:
        engine.ingest_products(catalog_rows())
        columns = ("user_id", "session_id", "event_type", "product_id", "query", "timestamp")
        path = _write_csv(tmp_path / "events.csv", [{c: row.get(c) for c in columns} for row in event_rows()])
        first = engine.ingest_events(path)
        again = engine.ingest_events(path)

        assert (first.duplicates, again.duplicates) == (0, len(event_rows()))
        assert again.accepted == first.accepted
        assert engine.count_events() == len(event_rows())


def test_a_retried_live_event_is_counted_once(catalog_only: Engine) -> None:
    sent = Event(user_id="shopper", event_type=EventType.VIEW, product_id="p3", event_id="tab-1:42")
    catalog_only.history(user_id="shopper")  # the online state holds the shopper's history

    catalog_only.record(sent)
    catalog_only.record(sent.model_copy(update={"timestamp": sent.timestamp + timedelta(seconds=2)}))
    report = catalog_only.ingest_events([sent.model_dump(mode="json")])

    assert report.duplicates == 1
    assert catalog_only.count_events() == 1
    assert [e.product_id for e in catalog_only.history(user_id="shopper")] == ["p3"]


def test_record_refuses_an_event_from_the_future_naming_the_reason(catalog_only: Engine) -> None:
    late = Event(
        user_id="traveller",
        event_type=EventType.VIEW,
        product_id="p1",
        timestamp=datetime.now(UTC) + timedelta(days=30),
    )

    with pytest.raises(InvalidRequestError, match="future"):
        catalog_only.record(late)

    assert catalog_only.count_events() == 0
    assert catalog_only.count_quarantined("events") == 1


def test_record_stores_a_good_event_and_it_shapes_the_very_next_request(catalog_only: Engine) -> None:
    event = Event(user_id="shopper", event_type=EventType.VIEW, product_id="p3", price=899.0)
    stored = catalog_only.record(event)

    assert stored == event
    assert catalog_only.count_events() == 1
    assert [event.product_id for event in catalog_only.history(user_id="shopper")] == ["p3"]
    assert catalog_only.count_quarantined() == 0


def test_bot_traffic_recorded_live_is_stored_but_left_out_of_training(tmp_path: Path) -> None:
    """As with ingest_events: a bot is a judgement over many events, so each is stored, and training
    (which re-runs the checks over everything stored) leaves the bot's events out."""
    settings = Settings(data_dir=tmp_path / "data", quality={"bot_max_events_per_minute": 10})
    with Engine(settings) as engine:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows())
        start = datetime.now(UTC) - timedelta(hours=1)
        for second in range(20):
            moment = start + timedelta(seconds=2 * second)
            engine.record(
                Event(user_id="crawler", event_type=EventType.VIEW, product_id="p7", timestamp=moment)
            )
        assert engine.count_events() == len(event_rows()) + 20

        manifest = engine.train()

    assert manifest.components["quality"]["excluded_events"]["event.bot"] == 20
    assert manifest.data.events == len(event_rows())


def test_searches_during_an_ingest_all_succeed_and_then_find_the_new_product(engine: Engine) -> None:
    known = {row["product_id"] for row in catalog_rows()} | {"p11"}
    ingested = threading.Event()
    results: list[SearchResult] = []
    errors: list[BaseException] = []

    def search_until_ingested() -> None:
        try:
            while not ingested.is_set():
                for query in ("sofa", "table", "chopping board", ""):
                    results.append(engine.search(query, page_size=5))
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def ingest() -> None:
        try:
            engine.ingest_products([{"product_id": "p11", "title": "Bamboo chopping board", "price": 15}])
            later = datetime(2026, 11, 2, tzinfo=UTC)
            engine.ingest_events([{**row, "user_id": f"late-{row['user_id']}"} for row in event_rows(later)])
            engine.record(Event(user_id="late-shopper", event_type=EventType.VIEW, product_id="p11"))
        except BaseException as error:
            errors.append(error)
        finally:
            ingested.set()

    searchers = [threading.Thread(target=search_until_ingested) for _ in range(3)]
    for thread in searchers:
        thread.start()
    writer = threading.Thread(target=ingest)
    writer.start()
    for thread in (writer, *searchers):
        thread.join(timeout=120)

    assert not errors, errors
    assert results
    for result in results:
        ids = [hit.product.product_id for hit in result.hits]
        assert len(ids) == len(set(ids)) and set(ids) <= known
        assert result.total >= len(ids)
    assert engine.count_events() == 2 * len(event_rows()) + 1
    assert engine.search("chopping board").hits[0].product.product_id == "p11"
