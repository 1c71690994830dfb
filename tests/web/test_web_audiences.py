"""The admin audiences page and its CSV, behind the admin login."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from browser_session import admin_login
from campaign_data import campaign_frame
from sample_shop import catalog_rows, event_rows
from shelfwise.app import create_app
from shelfwise.audiences.campaign_test import campaign_test
from shelfwise.engine import Engine
from shelfwise.evaluation.uplift_eval import evaluate_uplift, save_report
from shelfwise.settings import SecurityConfig, Settings

ADMIN_KEY = "admin-key-for-audience-pages"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("audience-pages") / "data",
        admin_api_key=ADMIN_KEY,
        security=SecurityConfig(api_rate_per_second=0),
    )
    with Engine(settings) as engine:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows(datetime.now(UTC) - timedelta(hours=1)))
        engine.train()
        yield engine


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as test_client:
        yield test_client


def test_the_page_needs_the_admin_login(client: TestClient) -> None:
    response = client.get("/admin/audiences", follow_redirects=False)
    assert response.status_code == 303 and "/admin/login" in response.headers["location"]
    csv = client.get("/admin/audiences.csv", params={"product_id": "p10"}, follow_redirects=False)
    assert csv.status_code == 303 and "/admin/login" in csv.headers["location"]


def test_the_page_shows_the_audience_its_reach_and_a_csv_link(client: TestClient) -> None:
    admin_login(client, ADMIN_KEY)
    page = client.get("/admin/audiences", params={"product_id": "p10", "size": "5"})
    assert page.status_code == 200
    assert "Reach by size" in page.text and "<polyline" in page.text
    assert page.text.count('<tr><td class="num">') == 5
    assert 'href="/admin/audiences.csv?product_id=p10&amp;size=5&amp;exclude_buyers_days=30"' in page.text
    csv = client.get("/admin/audiences.csv", params={"product_id": "p10", "size": "5"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.splitlines()) == 6


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"product_id": "nope"}, "not in the trained catalog"),
        ({"product_id": "p10", "size": "lots"}, "size must be a whole number"),
        ({"product_id": "p10", "exclude_buyers_days": "nan"}, "exclude_buyers_days must be between"),
        ({"product_id": "p10", "category": "Electronics"}, "exactly one of"),
    ],
)
def test_bad_fields_are_shown_on_the_page(client: TestClient, params: dict[str, str], message: str) -> None:
    admin_login(client, ADMIN_KEY)
    page = client.get("/admin/audiences", params=params)
    assert page.status_code == 422
    assert message in page.text and "data-audience-error" in page.text


def test_the_last_saved_uplift_evaluation_is_plotted(client: TestClient, engine: Engine) -> None:
    admin_login(client, ADMIN_KEY)
    assert "No campaign test measured yet" in client.get("/admin/audiences").text
    evaluation = evaluate_uplift(campaign_test(campaign_frame(n=3000)))
    save_report(
        evaluation.model_copy(update={"data": "campaign.csv", "outcome": "conversion"}),
        engine.settings.data_dir,
    )
    page = client.get("/admin/audiences").text
    assert "Last measured on campaign.csv (conversion)" in page
    assert page.count("<polyline") == len(evaluation.rows)
    assert "two-model, best campaign" in page
