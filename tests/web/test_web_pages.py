"""The web pages over HTTP (no browser): API keys, events recorded by the pages, cart cookies,
admin actions, analytics and the drawn pictures."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from browser_session import admin_login, browser_session, csrf_token, page_meta
from shelfwise.app import create_app
from shelfwise.domain import QuarantinedRow
from shelfwise.engine import Engine
from shelfwise.io.demo import CATEGORIES, DEMO_USERS, generate_demo_shop
from shelfwise.search.config import SearchConfig
from shelfwise.search.spelling import SpellingConfig
from shelfwise.settings import SecurityConfig, Settings
from shelfwise.training.trainer import TrainingConfig
from shelfwise.web.analytics import summarise_events
from shelfwise.web.demo_users import shopper_choices
from shelfwise.web.images import category_svg
from shelfwise.web.quarantine_view import reason_check
from shelfwise.web.shopper import format_cart, parse_cart
from shelfwise.web.storefront import price_bounds

ADMIN_KEY = "admin-key-for-tests"
PUBLIC_KEY = "public-key-for-tests"
# BM25 only: the text encoder's download-free model still takes seconds to embed a catalog.
FAST = TrainingConfig(search=SearchConfig(semantic=False))
DEMO = SecurityConfig(demo_mode=True)


def _shop_engine(directory: Path, **keys: str) -> Engine:
    shop = generate_demo_shop(n_products=200, n_users=40, days=14)
    engine = Engine(Settings(data_dir=directory, security=DEMO, **keys))
    engine.ingest_products(shop.products)
    engine.ingest_events(shop.events)
    engine.train(FAST)
    return engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = _shop_engine(tmp_path_factory.mktemp("web-pages"), admin_api_key=ADMIN_KEY)
    yield engine
    engine.close()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    test_client = TestClient(create_app(engine))
    yield test_client
    test_client.close()


def _events(engine: Engine, session_id: str, kind: str) -> pl.DataFrame:
    frame = engine.events_frame()
    return frame.filter((pl.col("session_id") == session_id) & (pl.col("event_type") == kind))


def test_pages_record_searches_views_carts_and_purchases(client: TestClient, engine: Engine) -> None:
    assert client.get("/").status_code == 200
    session = browser_session(client)
    product = engine.products(limit=1)[0]

    assert client.get("/search", params={"q": "frying pan"}).status_code == 200
    assert _events(engine, session, "search").get_column("query").to_list() == ["frying pan"]

    page = client.get(f"/product/{product.product_id}")
    assert page.status_code == 200 and product.title in page.text
    assert _events(engine, session, "view").get_column("product_id").to_list() == [product.product_id]

    cart = client.post(
        "/cart/add",
        data={"product_id": product.product_id, "quantity": "2", "csrf_token": csrf_token(client)},
    )
    assert cart.status_code == 200 and "Added" in cart.text
    assert parse_cart(client.cookies["sw_cart"]) == {product.product_id: 2}

    done = client.post("/cart/checkout", data={"csrf_token": csrf_token(client)})
    assert "Thank you for your order" in done.text
    purchases = _events(engine, session, "purchase")
    assert purchases.get_column("quantity").to_list() == [2]
    assert "sw_cart" not in client.cookies


def test_refining_a_search_is_not_recorded_as_another_search(client: TestClient, engine: Engine) -> None:
    session = browser_session(client)
    client.get("/search", params={"q": "pan"})
    client.get("/search", params={"q": "pan", "price": "10-25"})
    client.get("/search", params={"q": "pan", "page": "2"})
    assert _events(engine, session, "search").height == 1


def test_unknown_product_is_a_page_not_json(client: TestClient) -> None:
    response = client.get("/product/no-such-product")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "no-such-product" in response.text


def test_switching_user_starts_a_new_session_and_empties_the_cart(client: TestClient, engine: Engine) -> None:
    product = engine.products(limit=1)[0]
    client.post("/cart/add", data={"product_id": product.product_id, "csrf_token": csrf_token(client)})
    before = browser_session(client)
    response = client.post(
        "/shopper",
        data={"user_id": "alice", "next": "https://elsewhere.example/", "csrf_token": csrf_token(client)},
    )
    assert response.url.path == "/"  # never redirected off the site
    assert page_meta(response.text, "shelfwise-user") == "alice"
    assert browser_session(client) != before
    assert "sw_cart" not in client.cookies
    assert "Hello, Alice" in client.get("/").text


def test_api_writes_need_the_admin_key_when_one_is_set(client: TestClient) -> None:
    refused = client.post("/v1/products", json=[{"product_id": "x1", "title": "A test product"}])
    assert refused.status_code == 401
    assert "admin scope" in refused.json()["error"]["message"]
    allowed = client.post(
        "/v1/products",
        json=[{"product_id": "x1", "title": "A test product"}],
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert allowed.status_code == 200
    assert client.get("/v1/search", params={"q": "pan"}).status_code == 200  # reads stay open
    event = {"session_id": "s-1", "event_type": "view", "product_id": "x1"}
    assert client.post("/v1/events", json=event).status_code == 200  # shoppers' events too


def test_public_key_guards_reads_and_events_but_not_admin_writes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_api_key=ADMIN_KEY, public_api_key=PUBLIC_KEY)
    with Engine(settings) as engine, TestClient(create_app(engine)) as client:
        assert client.get("/v1/search", params={"q": "x"}).status_code == 401
        assert (
            client.get("/v1/search", params={"q": "x"}, headers={"X-API-Key": PUBLIC_KEY}).status_code == 200
        )
        bearer = {"Authorization": f"Bearer {PUBLIC_KEY}"}
        assert client.get("/v1/rules", headers=bearer).status_code == 200
        assert client.post("/v1/train", headers={"X-API-Key": PUBLIC_KEY}).status_code == 403
        assert client.get("/healthz").status_code == 200
        home = client.get("/")
        assert home.status_code == 200  # the storefront pages themselves are public
        assert PUBLIC_KEY not in home.text and ADMIN_KEY not in home.text  # and hold no key


def test_admin_is_switched_off_without_a_key(tmp_path: Path) -> None:
    with Engine(Settings(data_dir=tmp_path)) as engine, TestClient(create_app(engine)) as client:
        response = client.get("/admin")
        assert response.status_code == 403
        assert "SHELFWISE_ADMIN_API_KEY" in response.text
        assert client.post("/admin/models/train").status_code == 403


def test_admin_login_shows_the_error_at_the_field_and_guards_writes(client: TestClient) -> None:
    first = client.get("/admin/models", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/admin/login")
    assert client.post("/admin/models/train").status_code == 401

    wrong = admin_login(client, "not-the-key", next="/admin/models")
    assert wrong.status_code == 401
    assert 'id="key-error"' in wrong.text and "not an admin API key" in wrong.text

    right = admin_login(client, ADMIN_KEY, next="/admin/models")
    assert right.status_code == 200 and "Trained versions" in right.text
    for page in ("/admin", "/admin/quality", "/admin/events", "/admin/rules", "/admin/keys"):
        assert client.get(page).status_code == 200, page


def test_admin_retrains_and_rolls_back(client: TestClient, engine: Engine) -> None:
    admin_login(client, ADMIN_KEY)
    first = engine.current_version()
    training = client.app.state.web.training  # type: ignore[attr-defined]
    training.config = FAST
    started = client.post(
        "/admin/models/train", headers={"accept": "application/json"}, data={"csrf_token": csrf_token(client)}
    )
    assert started.status_code == 202
    training.wait()
    status = client.get("/admin/models/train/status").json()
    assert status["state"] == "done", status
    assert engine.current_version() == status["version"] != first

    page = client.get("/admin/models")
    assert f"Roll back to {first}" in page.text
    assert [m.version for m in engine.model_versions()] == [status["version"], first]  # newest first
    client.post("/admin/models/activate", data={"version": first, "csrf_token": csrf_token(client)})
    assert engine.current_version() == first
    missing = client.post(
        "/admin/models/activate", data={"version": "nope", "csrf_token": csrf_token(client)}
    )
    assert "Could not activate" in missing.text


def test_quarantine_lists_filters_and_retries_rows(client: TestClient, engine: Engine) -> None:
    admin_login(client, ADMIN_KEY)
    engine.ingest_events(
        [{"user_id": "q1", "event_type": "teleport", "product_id": "P00001", "timestamp": "2026-05-20"}]
    )
    # Held by an older shelfwise, which quarantined events of products not yet in the catalog.
    held = {"user_id": "q1", "event_type": "view", "product_id": "later-product", "timestamp": "2026-05-20"}
    reason = "event.unknown_product: product_id 'later-product' is not in the catalog"
    engine.store.add_quarantined(
        [QuarantinedRow(source="events", file="old.csv", line=2, raw=held, reasons=[reason])]
    )
    listing = client.get("/admin/quality", params={"source": "events"})
    assert "later-product" not in listing.text or "Inspect" in listing.text
    unknown_type = client.get(
        "/admin/quality", params={"source": "events", "check": "event.unknown_event_type"}
    )
    assert unknown_type.text.count("Inspect</a>") == 1

    engine.ingest_products([{"product_id": "later-product", "title": "A later product"}])
    result = client.post("/admin/quality/retry", data={"source": "events", "csrf_token": csrf_token(client)})
    assert "1 passed the checks" in result.text
    assert engine.count_quarantined("events") == 1


def test_category_pictures_are_valid_svg_for_every_demo_category(client: TestClient) -> None:
    for spec in CATEGORIES:
        root = ElementTree.fromstring(category_svg(spec.slug))
        assert root.tag.endswith("svg") and root.get("aria-label")
    response = client.get(f"/static/demo/{CATEGORIES[0].slug}.svg")
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/static/demo/..%2Fsecret.svg").status_code == 404


def test_the_search_box_completes_from_the_api(client: TestClient, engine: Engine) -> None:
    script = client.get("/assets/shop.js").text
    assert 'fetch("/v1/suggest?' in script  # the one autocomplete endpoint
    typed = engine.products(limit=1)[0].title[:4]
    suggestions = client.get("/v1/suggest", params={"q": typed, "n": 8}).json()
    assert suggestions and all(
        isinstance(s, str) and s.lower().startswith(typed.lower()) for s in suggestions
    )


def test_the_user_switcher_offers_the_demo_shoppers_present(client: TestClient, engine: Engine) -> None:
    page = client.get("/").text
    present = engine.known_users([user.user_id for user in DEMO_USERS])
    assert present and present <= {user.user_id for user in DEMO_USERS}
    for user in DEMO_USERS:
        assert (f'<option value="{user.user_id}"' in page) == (user.user_id in present)


def test_the_user_switcher_falls_back_to_the_most_active_users(tmp_path: Path) -> None:
    engine = Engine(Settings(data_dir=tmp_path))
    try:
        engine.ingest_products([{"product_id": "p1", "title": "A lamp"}])
        engine.ingest_events(
            [
                {"user_id": user, "event_type": "view", "product_id": "p1", "timestamp": f"2026-05-0{day}"}
                for user, days in (("busy", 3), ("quiet", 2))
                for day in range(1, days + 1)
            ]
        )
        assert engine.most_active_users(5) == [("busy", 3), ("quiet", 2)]
        assert [(c.user_id, c.description) for c in shopper_choices(engine)] == [
            ("busy", "3 events"),
            ("quiet", "2 events"),
        ]
    finally:
        engine.close()


def test_event_summary_counts_click_through_and_zero_result_queries() -> None:
    start = datetime(2026, 5, 1, 12)
    rows = [
        ("s1", "search", None, "oak table", 0),
        ("s1", "click", "p1", None, 1),
        ("s2", "search", None, "oak table", 0),
        ("s2", "search", None, "unicorn", 5),
        ("s3", "view", "p1", None, 0),
        ("s3", "purchase", "p1", None, 3),
        ("s4", "search", None, "oak table", 0),
        ("s4", "click", "p1", None, 90),  # too late to count as a click-through
    ]
    frame = pl.DataFrame(
        {
            "user_id": [None] * len(rows),
            "session_id": [r[0] for r in rows],
            "event_type": [r[1] for r in rows],
            "product_id": [r[2] for r in rows],
            "query": [r[3] for r in rows],
            "timestamp": [start + timedelta(minutes=r[4]) for r in rows],
        }
    )
    summary = summarise_events(frame, count_results=lambda q: 0 if q == "unicorn" else 3)
    top = {q.query: q for q in summary.top_queries}
    assert (top["oak table"].searches, top["oak table"].clicked) == (3, 1)
    assert [q.query for q in summary.zero_result_queries] == ["unicorn"]
    assert dict(summary.funnel)["purchase"] == 1 and dict(summary.funnel)["search"] == 3


def test_cart_cookie_round_trip_and_price_bands() -> None:
    cart = {"P1": 2, "a:b": 1}
    assert parse_cart(format_cart(cart)) == cart
    assert parse_cart("P1:x,<script>:1,P2:500") == {"P2": 99}
    assert price_bounds("25-50") == (25.0, 49.99)
    assert price_bounds("1000+") == (1000.0, None)
    assert price_bounds("cheap") == (None, None)


def test_reasons_map_to_their_checks() -> None:
    assert (
        reason_check("events", "event_type: 'teleport' is not one of view, click")
        == "event.unknown_event_type"
    )
    assert reason_check("products", "title: missing") == "product.missing_required"
    assert (
        reason_check("products", "duplicate product_id 'p1': superseded by line 3") == "product.duplicate_id"
    )


def test_a_corrected_search_says_what_it_searched_instead(client: TestClient, engine: Engine) -> None:
    typed = "fryng pan"
    corrected = engine.search(typed).corrected_query
    assert corrected == "frying pan"  # the demo shop's titles teach the speller "frying"
    page = client.get("/search", params={"q": typed}).text
    assert (
        "data-corrected" in page
        and f'Showing results for <a href="/search?q=frying%20pan">{corrected}</a>' in page
    )
    assert "data-corrected" not in client.get("/search", params={"q": corrected}).text


# Real words the demo shop's catalog lacks: each says what the shopper wants, so it is searched as typed.
REAL_WORDS_THE_SHOP_LACKS = [
    "oak chair",
    "wool sofa",
    "gold ring",
    "silk dress",
    "leather boots",
    "glass vase",
    "teddy beer",
]
# Typos of the demo shop's own words: each is corrected.
TYPOS = {
    "fryng pan": "frying pan",
    "shampo": "shampoo",
    "conditoner": "conditioner",
    "wireles headphnes": "wireless headphones",
}


@pytest.mark.parametrize("query", REAL_WORDS_THE_SHOP_LACKS)
def test_a_real_word_the_catalog_lacks_is_searched_as_typed(engine: Engine, query: str) -> None:
    result = engine.search(query)
    assert result.corrected_query is None
    if result.did_you_mean is not None:  # offered only when the query as typed found little
        assert result.total < SpellingConfig().suggest_below_results


def test_oak_chair_finds_oak_furniture_not_hair_products(client: TestClient, engine: Engine) -> None:
    result = engine.search("oak chair")
    titles = [hit.product.title.lower() for hit in result.hits]
    assert titles and all("hair" not in title for title in titles)
    assert any("oak" in title for title in titles)
    page = client.get("/search", params={"q": "oak chair"}).text
    assert "data-corrected" not in page and "Showing results for" not in page


@pytest.mark.parametrize(("typed", "meant"), TYPOS.items())
def test_a_typo_of_a_catalog_word_is_corrected(engine: Engine, typed: str, meant: str) -> None:
    assert engine.search(typed).corrected_query == meant


def test_a_doubtful_fix_with_few_results_is_offered_as_did_you_mean(
    client: TestClient, engine: Engine
) -> None:
    result = engine.search("teddy beer")  # "beer" is a real word: searched as typed, it finds nothing
    assert result.corrected_query is None and result.total == 0
    assert result.did_you_mean == "teddy bear"
    page = client.get("/search", params={"q": "teddy beer"}).text
    assert 'Did you mean <a href="/search?q=teddy%20bear">teddy bear</a>?' in page
    assert "data-did-you-mean" not in client.get("/search", params={"q": "teddy bear"}).text


def test_the_models_page_lists_deletions_waiting_for_their_retrain(tmp_path: Path) -> None:
    with Engine(Settings(data_dir=tmp_path, admin_api_key=ADMIN_KEY)) as engine:
        record = engine.store.deletions.add("0" * 64, {"events": 3})
        engine.store.deletions.update(record.id, models_error="retrain failed: no products to train on")
        with TestClient(create_app(engine)) as client:
            admin_login(client, ADMIN_KEY)
            page = client.get("/admin/models").text
            assert "User deletions waiting for a retrain" in page and "no products to train on" in page
            engine.store.deletions.update(record.id, models_cleaned_at=datetime.now(UTC))
            assert "User deletions waiting" not in client.get("/admin/models").text


def test_admin_segments_page_lists_each_segment_with_its_words_and_plots(
    client: TestClient, engine: Engine
) -> None:
    admin_login(client, ADMIN_KEY)
    page = client.get("/admin/segments")
    assert page.status_code == 200
    segments = engine.segments()
    assert segments and page.text.count("data-segment=") == len(segments)
    for segment in segments:
        assert html.escape(segment.description) in page.text
    assert page.text.count('class="chart"') >= 2


def test_admin_segments_page_says_why_it_is_empty_before_training(tmp_path: Path) -> None:
    with (
        Engine(Settings(data_dir=tmp_path, admin_api_key=ADMIN_KEY)) as fresh,
        TestClient(create_app(fresh)) as client,
    ):
        admin_login(client, ADMIN_KEY)
        page = client.get("/admin/segments")
        assert page.status_code == 200 and "data-no-segments" in page.text and "train" in page.text


def test_the_answers_page_has_its_title_and_each_panel_once(client: TestClient) -> None:
    admin_login(client, ADMIN_KEY)
    page = client.get("/admin/answers").text
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and title.group(1).strip() == "Answers · Shelfwise admin"
    assert page.count("data-flagged") == 1 and page.count("data-unanswered-list") == 1
