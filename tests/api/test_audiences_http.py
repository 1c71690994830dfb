"""GET /v1/audiences: JSON or CSV for a server or admin key, never a storefront key; bad input is a clear
4xx that changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sample_shop import catalog_rows, event_rows
from shelfwise.api import create_api
from shelfwise.domain.access import Scope
from shelfwise.engine import Engine
from shelfwise.settings import SecurityConfig, Settings

ADMIN_KEY = "admin-key-for-audience-tests"
PHONE_SHOPPERS = {f"u{n}" for n in range(0, 40, 4)}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("audiences") / "data",
        admin_api_key=ADMIN_KEY,
        security=SecurityConfig(api_rate_per_second=0),
    )
    with Engine(settings) as opened:
        opened.ingest_products(catalog_rows())
        opened.ingest_events(event_rows(datetime.now(UTC) - timedelta(hours=1)))
        opened.train()
        yield opened


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_api(engine), raise_server_exceptions=False) as test_client:
        yield test_client


def _headers(engine: Engine, scope: Scope, **extra: str) -> dict[str, str]:
    return {"X-API-Key": engine.keys.create(f"a {scope} key", scope)[1], **extra}


def test_a_server_key_gets_the_audience_as_json(client: TestClient, engine: Engine) -> None:
    response = client.get(
        "/v1/audiences", params={"product_id": "p10", "size": 10}, headers=_headers(engine, Scope.SERVER)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert {m["user_id"] for m in body["members"]} == PHONE_SHOPPERS
    assert body["target"] == "product p10" and body["size"] == 10


def test_csv_by_parameter_or_accept_header(client: TestClient, engine: Engine) -> None:
    params = {"products": "p9,p10", "size": 3, "exclude_buyers_days": 0}
    by_format = client.get(
        "/v1/audiences", params={**params, "format": "csv"}, headers=_headers(engine, Scope.ADMIN)
    )
    by_accept = client.get(
        "/v1/audiences", params=params, headers=_headers(engine, Scope.ADMIN, Accept="text/csv")
    )
    for response in (by_format, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        lines = response.text.splitlines()
        assert lines[0] == "rank,user_id,score" and len(lines) == 4
        assert {line.split(",")[1] for line in lines[1:]} <= PHONE_SHOPPERS


def test_a_storefront_key_never_sees_an_audience(client: TestClient, engine: Engine) -> None:
    response = client.get(
        "/v1/audiences", params={"product_id": "p10"}, headers=_headers(engine, Scope.STOREFRONT)
    )
    assert response.status_code == 403
    assert "needs server" in response.json()["error"]["message"]
    assert client.get("/v1/audiences", params={"product_id": "p10"}).status_code == 401


@pytest.mark.parametrize(
    ("params", "status", "named"),
    [
        ({}, 422, "exactly one of product_id, category or products"),
        ({"product_id": "p1", "category": "Furniture"}, 422, "got product_id, category"),
        ({"product_id": "nope"}, 404, "not in the trained catalog: 'nope'"),
        ({"product_id": " "}, 422, "product_id must not be empty"),
        ({"products": "p1,,p2"}, 422, "none empty"),
        ({"category": "Garden"}, 404, "no trained product is in category 'Garden'"),
        ({"product_id": "p1", "size": 0}, 422, "size"),
        ({"product_id": "p1", "size": 10_001}, 422, "size"),
        ({"product_id": "p1", "size": "ten"}, 422, "size"),
        ({"product_id": "p1", "exclude_buyers_days": -1}, 422, "exclude_buyers_days"),
        ({"product_id": "p1", "exclude_buyers_days": "nan"}, 422, "exclude_buyers_days"),
        ({"product_id": "p1", "format": "xml"}, 422, "format"),
        ({"product_id": "p1\x00"}, 422, "product_id"),
    ],
)
def test_bad_input_is_a_clear_4xx_that_changes_nothing(
    client: TestClient, engine: Engine, params: dict[str, Any], status: int, named: str
) -> None:
    before = engine.stats()
    response = client.get("/v1/audiences", params=params, headers=_headers(engine, Scope.ADMIN))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert named in response.json()["error"]["message"]
    assert engine.stats() == before


def test_before_training_it_is_a_409(tmp_path: Path) -> None:
    with Engine(Settings(data_dir=tmp_path / "data")) as engine, TestClient(create_api(engine)) as client:
        response = client.get("/v1/audiences", params={"product_id": "p1"})
        assert response.status_code == 409
