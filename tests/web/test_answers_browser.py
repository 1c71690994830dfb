"""The help box and the admin's answers page in a real browser (chromium through Playwright), against a
uvicorn server over a small demo shop that has imported an FAQ. Screenshots go to test-output/web/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_web_browser import ADMIN_KEY, FAST, PUBLIC_KEY, _shot, browser, chromium, page

from served_app import served
from shelfwise.app import create_app
from shelfwise.engine import Engine
from shelfwise.io.demo import generate_demo_shop
from shelfwise.settings import SecurityConfig, Settings

pytestmark = [pytest.mark.slow, pytest.mark.browser]
__all__ = ["browser", "chromium", "page"]  # the fixtures, shared with the shop's browser tests

FAQ = [
    {"question": "How long does delivery take?", "answer": "Orders arrive within 3 to 5 working days."},
    {"question": "Can I return an item?", "answer": "Yes, returns are free within 30 days of delivery."},
    {"question": "Do you ship abroad?", "answer": "We ship to 30 countries across Europe."},
    {"question": "Which payment methods do you take?", "answer": "Cards, PayPal and bank transfer."},
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[tuple[str, Engine]]:
    demo = generate_demo_shop(n_products=120, n_users=20, days=7)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("answers-shop"),
        admin_api_key=ADMIN_KEY,
        public_api_key=PUBLIC_KEY,
        security=SecurityConfig(demo_mode=True),
    )
    engine = Engine(settings)
    engine.ingest_products(demo.products)
    engine.ingest_events(demo.events)
    product = demo.products[0]["product_id"]
    engine.answers.import_pairs(
        [
            *FAQ,
            {"question": "Is it dishwasher safe?", "answer": "Yes, top rack only.", "product_id": product},
            {"question": "送货要多久?", "answer": "Three to five days."},
        ],
        from_request=False,
    )
    engine.train(FAST)
    app = create_app(engine)
    with served(app) as base:
        yield base, engine
    engine.close()


def test_the_help_box_answers_with_reasons_and_passes_on_what_it_cannot(
    page: Any, shop: tuple[str, Engine]
) -> None:
    base, engine = shop
    product = engine.products(limit=1)[0]
    page.goto(f"{base}/product/{product.product_id}")
    page.fill("#product-question", "can this go in the dishwasher")
    page.click("[data-product-help] button[type=submit]")
    page.wait_for_url("**/help?*")
    first = page.locator("[data-answers] li.answer").first
    assert "top rack" in first.locator(".answer-text").inner_text()
    first.locator("summary").click()
    assert first.locator(".why li").first.is_visible()
    _shot(page, "help-answered")

    page.fill("#help-q", "qzxv wubbly frandle")
    page.click(".help-form button[type=submit]")
    page.wait_for_selector("[data-unanswered]")
    assert engine.answers.unanswered(1)[0].question == "qzxv wubbly frandle"
    _shot(page, "help-unanswered")


def test_the_admin_sees_the_unanswered_questions_and_their_plot(page: Any, shop: tuple[str, Engine]) -> None:
    base, engine = shop
    engine.answers.book.log_unanswered("do you sell gift cards", None, None, "s-gift")
    page.goto(base + "/admin/answers")
    page.fill("#key", ADMIN_KEY)
    page.click("form button[type=submit]")
    page.wait_for_url("**/admin/answers")
    assert page.locator("[data-pairs]").inner_text() == "6"
    assert "do you sell gift cards" in page.locator("[data-unanswered-list] tbody").inner_text()
    assert page.locator("svg.chart").count() == 2
    assert "送货要多久" in page.locator("[data-flagged] tbody").inner_text()
    assert "qa.language_mismatch" in page.locator("[data-flagged]").inner_text()
    _shot(page, "admin-answers")
