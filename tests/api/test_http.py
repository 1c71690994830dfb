"""The HTTP API against a real uvicorn process on a free loopback port. Starting that process imports the
whole application in a fresh interpreter (seconds), so the module is in the slow tier; many of the same
routes also run in process, fast, in test_auth.py, test_search_http.py and the web tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from sample_shop import catalog_rows, event_rows
from served_app import free_port
from shelfwise.engine import Engine

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp("api") / "data"
    engine = Engine.open(data_dir)
    engine.ingest_products(catalog_rows())
    engine.ingest_events(event_rows())
    engine.train()
    engine.close()

    port = free_port()
    env = {**os.environ, "SHELFWISE_DATA_DIR": str(data_dir), "SHELFWISE_MAX_REQUEST_BYTES": "65536"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "shelfwise.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        for _ in range(300):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the API did not start within 30 s")
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def test_health_reports_the_serving_version(server: httpx.Client) -> None:
    body = server.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["model_version"]


def test_search_with_filters(server: httpx.Client) -> None:
    body = server.get("/v1/search", params={"q": "table", "price_max": 300}).json()
    assert [hit["product"]["product_id"] for hit in body["hits"]] == ["p2"]
    assert body["hits"][0]["matched_fields"]
    assert body["request_id"]


def test_inverted_price_range_is_422_with_a_message(server: httpx.Client) -> None:
    response = server.get("/v1/search", params={"q": "table", "price_min": 300, "price_max": 10})
    assert response.status_code == 422
    assert "price_min" in response.json()["error"]["message"]


def test_products_crud_and_quarantine(server: httpx.Client) -> None:
    response = server.post(
        "/v1/products",
        json=[
            {"product_id": "n1", "title": "Linen duvet cover"},
            {"product_id": "n2", "title": "x", "price": "abc"},
        ],
    )
    report = response.json()
    assert response.status_code == 200
    assert (report["accepted"], report["quarantined"]) == (1, 1)
    assert "price" in report["quarantined_rows"][0]["reasons"][0]
    assert server.get("/v1/products/n1").json()["title"] == "Linen duvet cover"
    assert [
        h["product"]["product_id"] for h in server.get("/v1/search", params={"q": "duvet"}).json()["hits"]
    ] == ["n1"]
    assert server.delete("/v1/products/n1").status_code == 204
    missing = server.get("/v1/products/n1")
    assert missing.status_code == 404
    assert "n1" in missing.json()["error"]["message"]
    assert server.get("/v1/quarantine", params={"source": "products"}).json()[0]["file"] == "<api>"


def test_an_event_changes_the_next_recommendation(server: httpx.Client) -> None:
    event = {"user_id": "web-user", "event_type": "view", "product_id": "p8"}
    assert server.post("/v1/events", json=[event]).json()["accepted"] == 1
    body = server.get("/v1/recommendations/for-you", params={"user_id": "web-user", "n": 3}).json()
    assert body["items"][0]["product"]["product_id"] in {"p9", "p10"}
    assert body["items"][0]["explanation"]["reasons"]
    recent = server.get("/v1/recommendations/recently-viewed", params={"user_id": "web-user"}).json()
    assert [i["product"]["product_id"] for i in recent["items"]] == ["p8"]


def test_a_retried_batch_of_events_is_stored_once(server: httpx.Client) -> None:
    batch = [
        {"user_id": "retrier", "event_type": "view", "product_id": "p8", "event_id": "tab-7:1"},
        {"user_id": "retrier", "event_type": "view", "product_id": "p9", "event_id": "tab-7:2"},
    ]
    before = server.get("/v1/recommendations/recently-viewed", params={"user_id": "retrier"})
    assert before.status_code == 200
    first = server.post("/v1/events", json=batch).json()
    again = server.post("/v1/events", json=batch).json()  # the client lost the first response
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    assert (again["accepted"], again["duplicates"]) == (2, 2)
    recent = server.get("/v1/recommendations/recently-viewed", params={"user_id": "retrier"}).json()
    assert sorted(i["product"]["product_id"] for i in recent["items"]) == ["p8", "p9"]


def test_recommendation_errors(server: httpx.Client) -> None:
    assert server.get("/v1/recommendations/for-you", params={"n": 0}).status_code == 422
    assert server.get("/v1/recommendations/for-you", params={"n": 201}).status_code == 422
    assert server.get("/v1/recommendations/everything").status_code == 422
    unknown = server.get("/v1/recommendations/similar", params={"product_id": "nope"})
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["error"]["message"]


def test_bad_json_and_oversized_bodies(server: httpx.Client) -> None:
    broken = server.post("/v1/events", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "invalid_request"
    huge = server.post(
        "/v1/events", content=b"[" + b"1," * 40_000 + b"1]", headers={"content-type": "application/json"}
    )
    assert huge.status_code == 413
    assert "limit" in huge.json()["error"]["message"]


def test_metrics_count_requests_per_endpoint(server: httpx.Client) -> None:
    server.get("/v1/search", params={"q": "sofa"})
    text = server.get("/metrics").text
    assert 'shelfwise_requests_total{endpoint="/v1/search",method="GET",status="200"}' in text
    assert "shelfwise_request_seconds_bucket" in text
    assert "shelfwise_events_ingested_total" in text


def test_openapi_docs_are_served(server: httpx.Client) -> None:
    assert server.get("/docs").status_code == 200
    assert "/v1/search" in server.get("/openapi.json").json()["paths"]


def test_forget_user(server: httpx.Client) -> None:
    server.post("/v1/events", json={"user_id": "leaver", "event_type": "view", "product_id": "p1"})
    assert server.delete("/v1/users/leaver").json()["events_deleted"] == 1
    recent = server.get("/v1/recommendations/recently-viewed", params={"user_id": "leaver"}).json()
    assert recent["items"] == []
