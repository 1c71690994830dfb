"""/v1/segments and the segment filter on recommendations: answers, scopes, and bad input (a clear 4xx,
nothing stored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sample_shop import catalog_rows, event_rows
from shelfwise.app import create_app
from shelfwise.engine import Engine
from shelfwise.settings import Settings

SERVER_KEY = "server-key-for-segment-tests"
ADMIN_KEY = "admin-key-for-segment-tests"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    directory = tmp_path_factory.mktemp("segments-http")
    with Engine(Settings(data_dir=directory, public_api_key=SERVER_KEY, admin_api_key=ADMIN_KEY)) as shop:
        shop.ingest_products(catalog_rows())
        shop.ingest_events(event_rows())
        shop.train()
        yield shop


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine), headers={"X-API-Key": SERVER_KEY}) as test_client:
        yield test_client


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_segments_are_listed_with_sizes_and_descriptions(client: TestClient) -> None:
    segments = client.get("/v1/segments").json()
    assert {s["segment_id"] for s in segments} >= {"rfm-browsers"}
    assert sum(s["size"] for s in segments if s["kind"] == "rfm") == 40
    assert all(s["description"] and s["top_categories"] for s in segments)
    one = client.get("/v1/segments/rfm-browsers").json()
    assert one == next(s for s in segments if s["segment_id"] == "rfm-browsers")


def test_members_page_and_a_user_s_segments(client: TestClient) -> None:
    page = client.get("/v1/segments/rfm-browsers/users", params={"limit": 3, "offset": 1}).json()
    assert page["total"] == 20 and page["user_ids"] == sorted(f"u{i}" for i in range(1, 40, 2))[1:4]
    mine = client.get("/v1/users/u1/segment").json()
    assert [s["segment_id"] for s in mine["segments"]] == ["rfm-browsers"]


def test_trending_within_a_segment(client: TestClient) -> None:
    response = client.get("/v1/recommendations/trending", params={"segment": "rfm-browsers", "n": 3})
    assert response.status_code == 200 and response.json()["items"]


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        ("/v1/segments/no-such", {}, 404, "no customer segment 'no-such'"),
        ("/v1/segments/no-such/users", {}, 404, "no-such"),
        ("/v1/segments/rfm-browsers/users", {"limit": 0}, 422, "limit"),
        ("/v1/segments/rfm-browsers/users", {"offset": -1}, 422, "offset"),
        ("/v1/users/nobody/segment", {}, 404, "nobody"),
        ("/v1/users/a%00b/segment", {}, 422, "user_id"),
        ("/v1/recommendations/for-you", {"segment": "rfm-browsers", "user_id": "u1"}, 422, "trending only"),
        ("/v1/recommendations/trending", {"segment": "no-such"}, 404, "no-such"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    client: TestClient, engine: Engine, path: str, params: dict[str, Any], status: int, needle: str
) -> None:
    before = (engine.stats(), engine.current_version())
    error = _error(client.get(path, params=params), status)
    assert needle in str(error)
    assert (engine.stats(), engine.current_version()) == before


def test_memberships_need_a_server_key(engine: Engine) -> None:
    with TestClient(create_app(engine)) as anonymous:
        for path in ("/v1/segments", "/v1/segments/rfm-browsers/users", "/v1/users/u1/segment"):
            assert anonymous.get(path).status_code == 401, path


def test_before_a_training_segments_are_a_409(tmp_path: Path) -> None:
    with Engine(Settings(data_dir=tmp_path)) as fresh, TestClient(create_app(fresh)) as client:
        assert "train" in _error(client.get("/v1/segments"), 409)["message"]
