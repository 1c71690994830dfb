"""The admin audiences page in a real browser (the shop and fixtures of test_web_browser.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

# The shop, browser and page fixtures are test_web_browser's, imported so that pytest finds them here.
from test_web_browser import ADMIN_KEY, _shot, browser, chromium, page, shop  # noqa: F401

from campaign_data import campaign_frame
from shelfwise.audiences.campaign_test import campaign_test
from shelfwise.engine import Engine
from shelfwise.evaluation.uplift_eval import evaluate_uplift, save_report

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _most_viewed(engine: Engine) -> str:
    views = engine.events_frame().filter(pl.col("event_type") == "view")
    return str(views.get_column("product_id").value_counts(sort=True).item(0, "product_id"))


def test_find_an_audience_see_its_reach_and_download_it(page: Any, shop: tuple[str, Engine]) -> None:  # noqa: F811
    base, engine = shop
    page.goto(base + "/admin/audiences")
    page.fill("#key", ADMIN_KEY)
    page.click("form button[type=submit]")
    page.wait_for_url("**/admin/audiences")
    product = _most_viewed(engine)
    page.fill("#a-product", product)
    page.fill("#a-size", "10")
    page.click("[data-audience-form] button[type=submit]")
    page.wait_for_selector("[data-audience]")
    assert int(page.locator("[data-members]").inner_text()) > 0
    assert page.locator("svg.chart polyline").count() == 1
    rows = page.locator("table.table tbody tr")
    assert 0 < rows.count() <= 10
    _shot(page, "admin-audiences")
    with page.expect_download() as download:
        page.click("[data-audience-csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "rank,user_id,score"
    assert len(text.splitlines()) == rows.count() + 1

    assert page.locator("[data-uplift] svg.chart").count() == 0  # nothing measured yet
    report = evaluate_uplift(campaign_test(campaign_frame(n=3000)))
    save_report(
        report.model_copy(update={"data": "campaign.csv", "outcome": "conversion"}), engine.settings.data_dir
    )
    page.reload()
    assert page.locator("[data-uplift] svg.chart polyline").count() == len(report.rows)
    _shot(page, "admin-audiences-uplift")

    page.fill("#a-product", "no-such-product")
    page.click("[data-audience-form] button[type=submit]")
    assert "not in the trained catalog" in page.locator("[data-audience-error]").inner_text()
