"""The shop and the admin pages in a real browser: Debian's chromium driven by Playwright, against a
real uvicorn server over a small generated shop. Screenshots of the main pages go to test-output/web/.

Without chromium the tests skip with the reason, except in CI (CI=true), where they fail: the CI
script installs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from served_app import served
from shelfwise.app import create_app
from shelfwise.domain import Filters
from shelfwise.engine import Engine
from shelfwise.io.demo import generate_demo_shop
from shelfwise.search.config import SearchConfig
from shelfwise.settings import SecurityConfig, Settings
from shelfwise.training.trainer import TrainingConfig

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ADMIN_KEY = "browser-admin-key"
PUBLIC_KEY = "browser-server-key"  # set, so that the API's reads are guarded and the pages use their session
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FAST = TrainingConfig(search=SearchConfig(semantic=False))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _browser_or_reason() -> tuple[str | None, str | None]:
    executable = shutil.which("chromium")
    if executable is None:
        return None, "chromium is not installed (apt-get install -y chromium; .ci/run does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None, "the playwright package is not installed (pip install -e '.[dev]')"
    return executable, None


@pytest.fixture(scope="module")
def chromium() -> str:
    executable, reason = _browser_or_reason()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason or "no browser")
    return executable


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[tuple[str, Engine]]:
    """A trained demo shop served by uvicorn on a free port, in a thread of this process."""
    demo = generate_demo_shop(n_products=200, n_users=40, days=14)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("browser-shop"),
        admin_api_key=ADMIN_KEY,
        public_api_key=PUBLIC_KEY,
        security=SecurityConfig(demo_mode=True),
    )
    engine = Engine(settings)
    engine.ingest_products(demo.products)
    engine.ingest_events(demo.events)
    # A few broken rows, so that the quarantine has something to show.
    engine.ingest_products([{"product_id": "broken-1", "title": "Mystery box", "price": "-5"}])
    engine.ingest_events([{"user_id": "u1", "event_type": "teleport", "timestamp": "2026-05-30T10:00:00Z"}])
    engine.train(FAST)
    app = create_app(engine)
    app.state.web.training.config = FAST
    with served(app) as base:
        yield base, engine
    engine.close()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page whose console must show no Content-Security-Policy violation by the end of the test."""
    context = browser.new_context(viewport=DESKTOP)
    opened = context.new_page()
    messages: list[str] = []
    opened.on("console", lambda message: messages.append(message.text))
    yield opened
    context.close()
    violations = [text for text in messages if "Content Security Policy" in text]
    assert not violations, violations


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _shelf_ids(page: Any, kind: str) -> list[str]:
    cards = page.locator(f'[data-shelf="{kind}"] article.card')
    return [cards.nth(i).get_attribute("data-product") for i in range(cards.count())]


def test_search_with_autocomplete_then_open_a_product(page: Any, shop: tuple[str, Engine]) -> None:
    base, engine = shop
    page.goto(base + "/")
    _shot(page, "home-guest")
    typed = engine.products(limit=1)[0].title.split()[0][:5].lower()
    page.fill("#search-input", typed)
    page.wait_for_selector("#suggestions li")
    assert typed in page.locator("#suggestions li").first.inner_text().lower()
    page.fill("#search-input", "fryng pan")  # misspelt on purpose
    page.press("#search-input", "Enter")
    page.wait_for_url("**/search?q=fryng+pan")
    hits = page.locator(".hit article.card")
    assert hits.count() > 0
    title = hits.first.locator(".card-title").inner_text()
    assert "pan" in title.lower()
    assert "frying pan" in page.locator("[data-corrected]").inner_text()
    why = page.locator(".hit details.why").first
    why.locator("summary").click()
    assert why.locator("li").first.is_visible()
    _shot(page, "search-results")

    session = page.locator('meta[name="shelfwise-session"]').get_attribute("content")
    hits.first.locator("a.card-link").click()
    page.wait_for_selector("article.product")
    assert page.locator("article.product h1").inner_text() == title
    _shot(page, "product")
    # The click is posted by the page's script as it navigates; the view by the product page itself.
    kinds: list[str] = []
    for _ in range(100):
        kinds = [e.event_type.value for e in engine.store.history(session_id=session)]
        if "click" in kinds:
            break
        page.wait_for_timeout(100)
    assert kinds[0] == "search" and {"click", "view"} <= set(kinds)


def test_add_to_cart_changes_bought_together_and_for_you(page: Any, shop: tuple[str, Engine]) -> None:
    base, engine = shop
    page.goto(base + "/")
    assert page.locator('[data-shelf="for-you-empty"]').count() == 1  # a new guest has no picks yet
    trending = _shelf_ids(page, "trending")

    phones = engine.search("", filters=Filters(category="Electronics > Phones"), page_size=1)
    target = phones.hits[0].product
    page.goto(f"{base}/product/{target.product_id}")
    page.click("form.buy button[type=submit]")
    page.wait_for_url("**/cart?added=*")
    assert page.locator("[data-cart-count]").inner_text() == "1"
    together = _shelf_ids(page, "bought-together")
    assert together and target.product_id not in together
    assert page.locator('[data-shelf="bought-together"] .reason').first.inner_text()
    _shot(page, "cart")

    page.goto(base + "/")
    for_you = _shelf_ids(page, "for-you")
    assert for_you and for_you != trending[: len(for_you)]
    reasons = page.locator('[data-shelf="for-you"] .reason').all_inner_texts()
    assert any(target.title in reason or "you" in reason.lower() for reason in reasons)
    _shot(page, "home-after-cart")

    page.goto(base + "/cart")
    page.click("text=Place order")
    page.wait_for_selector("text=Thank you for your order")
    assert page.locator("[data-cart-count]").inner_text() == "0"


def test_a_brand_facet_narrows_the_results(page: Any, shop: tuple[str, Engine]) -> None:
    base, _ = shop
    page.goto(base + "/search?q=pan")
    total_before = int(page.locator("[data-total]").get_attribute("data-total"))
    facet = page.locator('a[data-facet="brand"]').first
    brand = facet.inner_text().split("\n")[0].replace("☐", "").strip()
    brand = facet.evaluate("a => a.childNodes[1].textContent").strip() or brand
    facet.click()
    page.wait_for_url("**brand=*")
    total_after = int(page.locator("[data-total]").get_attribute("data-total"))
    assert 0 < total_after < total_before
    brands = page.locator(".hit article.card").evaluate_all("cards => cards.map(c => c.dataset.brand)")
    assert brands and set(brands) == {brand}
    assert page.locator('a[data-facet="brand"][aria-pressed="true"]').count() == 1
    _shot(page, "search-facet")


def test_switching_user_changes_the_picks(page: Any, shop: tuple[str, Engine]) -> None:
    base, _ = shop
    picks: dict[str, list[str]] = {}
    seen: dict[str, list[str]] = {}
    for user in ("bob", "erin"):
        page.goto(base + "/")
        with page.expect_navigation():
            page.select_option("#user-switch", user)
        assert f"Hello, {user.capitalize()}" in page.locator(".hero h1").inner_text()
        assert page.locator("#user-switch").input_value() == user
        picks[user] = _shelf_ids(page, "for-you")
        seen[user] = page.locator('[data-shelf="recently-viewed"] article.card').evaluate_all(
            "cards => cards.map(c => c.dataset.category)"
        )
        _shot(page, f"home-{user}")
    assert picks["bob"] and picks["erin"] and picks["bob"] != picks["erin"]
    # Their own histories come back with them (the demo's bob shops electronics, erin beauty).
    assert sum(c.startswith("Electronics") for c in seen["bob"]) > len(seen["bob"]) / 2
    assert sum(c.startswith("Beauty") for c in seen["erin"]) > len(seen["erin"]) / 2

    with page.expect_navigation():
        page.select_option("#user-switch", "")
    assert page.locator('[data-shelf="for-you-empty"]').count() == 1  # a fresh anonymous session


def test_admin_login_quality_events_and_retrain(page: Any, shop: tuple[str, Engine]) -> None:
    base, engine = shop
    page.goto(base + "/admin/quality")
    assert "/admin/login?next=" in page.url
    page.fill("#key", "wrong-key-123")
    page.click("form button[type=submit]")
    assert "not an admin API key" in page.locator("#key-error").inner_text()
    _shot(page, "admin-login-error")
    page.fill("#key", ADMIN_KEY)
    page.click("form button[type=submit]")
    page.wait_for_url("**/admin/quality")
    report = page.locator("[data-quality-report]")
    assert report.is_visible()
    assert page.locator("[data-quality-report] svg.chart").count() >= 2
    assert "unlocked" in report.inner_text()
    rows = page.locator("[data-quarantine] tbody tr")
    assert rows.count() == 2
    _shot(page, "admin-quality")
    page.select_option("#q-check", "event.unknown_event_type")
    page.click("[data-quarantine] form.filters button")
    assert rows.count() == 1
    rows.first.locator("text=Inspect").click()
    assert "teleport" in page.locator("pre.raw").inner_text()

    page.goto(base + "/admin/events")
    assert page.locator("[data-top-queries] tbody tr").count() > 0
    _shot(page, "admin-events")

    page.goto(base + "/admin/models")
    before = engine.current_version()
    page.click("text=Retrain now")
    page.wait_for_selector("[data-training][data-state=done]", timeout=60_000)
    page.wait_for_load_state()
    assert engine.current_version() != before
    page.wait_for_selector(f"text=Roll back to {before}")
    _shot(page, "admin-models")


def test_pages_fit_a_phone(browser: Any, shop: tuple[str, Engine]) -> None:
    base, _ = shop
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    phone = context.new_page()
    try:
        for path, name in (("/", "phone-home"), ("/search?q=yoga+mat", "phone-search")):
            phone.goto(base + path)
            overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at phone width"
            images = phone.locator("main img").evaluate_all(
                "imgs => imgs.filter(i => !i.hasAttribute('alt')).length"
            )
            assert images == 0
            _shot(phone, name)
    finally:
        context.close()


def _log_in(page: Any, base: str) -> None:
    page.goto(base + "/admin/login")
    page.fill("#key", ADMIN_KEY)
    page.click("form button[type=submit]")
    page.wait_for_url("**/admin")


def test_a_pin_rule_puts_its_product_first(page: Any, shop: tuple[str, Engine]) -> None:
    base, engine = shop
    _log_in(page, base)
    page.goto(base + "/admin/rules")
    top = engine.search("frying pan", page_size=5).hits
    outsider = engine.search("yoga mat", page_size=1).hits[0].product
    assert outsider.product_id not in {h.product.product_id for h in top}

    page.select_option("#r-action", "pin")
    page.fill("#r-query", "frying pan")
    page.click("[data-save]")  # a pin without products: the error shows at the field
    error = page.locator('[data-error="product_ids"]')
    error.wait_for(state="visible")
    assert "product" in error.inner_text().lower()

    page.fill("#r-products", outsider.product_id)
    page.fill("#r-note", "Summer yoga promotion")
    page.click("[data-save]")
    page.wait_for_selector(f"[data-rules-table] tr[data-rule] >> text={outsider.product_id}")
    page.wait_for_selector(f"[data-preview] li >> text={outsider.title}")
    assert outsider.title in page.locator("[data-preview] li").first.inner_text()
    _shot(page, "admin-rules")

    page.goto(base + "/search?q=frying+pan")
    first = page.locator(".hit article.card").first
    assert first.get_attribute("data-product") == outsider.product_id
    assert first.locator(".ribbon.featured").is_visible()
    _shot(page, "search-pinned")

    page.goto(base + "/admin/rules")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-rules-table] tr[data-rule] >> text=Delete")
    page.wait_for_selector("[data-rules-table] >> text=No rules yet.")
    assert engine.search("frying pan", page_size=1).hits[0].product.product_id != outsider.product_id


def test_admin_segments_page_shows_sizes_descriptions_and_plots(page: Any, shop: tuple[str, Engine]) -> None:
    base, engine = shop
    page.goto(base + "/admin/segments")
    if "/admin/login" in page.url:
        page.fill("#key", ADMIN_KEY)
        page.click("form button[type=submit]")
        page.wait_for_url("**/admin/segments")
    segments = engine.segments()
    rows = page.locator("[data-segments] tbody tr")
    assert rows.count() == len(segments) > 0
    first = segments[0]
    row = page.locator(f'[data-segment="{first.segment_id}"]')
    assert first.name in row.inner_text() and f"{first.size:,}" in row.inner_text()
    assert page.locator("[data-segment-sizes] svg.chart").is_visible()
    assert page.locator("[data-segment-sizes] svg.chart rect").count() == len(segments)
    assert page.locator('nav.admin-nav a[aria-current="page"]').inner_text() == "Segments"
    _shot(page, "admin-segments")
