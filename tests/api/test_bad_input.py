"""Bad input is a 4xx in the JSON error shape (or a recorded quarantine reason), never a server error, on
SQLite and on PostgreSQL; an error nobody foresaw is still JSON, with a request id that is logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sample_shop import catalog_rows, event_rows
from shelfwise.api import create_api
from shelfwise.domain import Event, EventType, Product
from shelfwise.engine import Engine
from shelfwise.settings import Settings

TOO_FAR = 2**63  # one past the largest offset either database accepts
NAN_PRICES = ["NaN", "Infinity", "-Infinity"]  # JSON tokens Python's parser accepts
FINITE_REASON = "is not a finite number"


@pytest.fixture
def engine(store_url: str, tmp_path: Path) -> Iterator[Engine]:
    with Engine(Settings(data_dir=tmp_path / "data", database_url=store_url)) as opened:
        opened.ingest_products(catalog_rows())
        opened.ingest_events(event_rows())
        yield opened


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_api(engine), raise_server_exceptions=False) as test_client:
        yield test_client


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize("path", ["/v1/products", "/v1/quarantine"])
def test_an_offset_beyond_64_bits_is_a_422_naming_it(client: TestClient, path: str) -> None:
    error = _error(client.get(path, params={"offset": TOO_FAR}), 422)
    assert error["code"] == "invalid_request" and "offset" in error["message"]
    assert client.get(path, params={"offset": TOO_FAR - 1}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "params", "named"),
    [
        ("GET", "/v1/products/p1%00", {}, "product_id"),
        ("DELETE", "/v1/products/p1%00", {}, "product_id"),
        ("DELETE", "/v1/users/u1%00", {}, "user_id"),
        ("GET", "/v1/search", {"q": "sofa", "user_id": "u1\x00"}, "user_id"),
        ("GET", "/v1/recommendations/trending", {"session_id": "s\x00"}, "session_id"),
    ],
)
def test_a_nul_character_in_an_id_is_a_422_naming_it(
    client: TestClient, method: str, path: str, params: dict[str, str], named: str
) -> None:
    error = _error(client.request(method, path, params=params), 422)
    assert error["message"].startswith(f"{named} contains a NUL character")


def test_a_nul_character_in_posted_text_quarantines_the_row_with_its_reason(
    client: TestClient, engine: Engine
) -> None:
    rows = [
        {"product_id": "nul-1", "title": "Sofa\x00bed"},
        {"product_id": "nul\x002", "title": "Sofa"},
        {"product_id": "fine", "title": "Sofa bed", "description": "kept"},
    ]
    report = client.post("/v1/products", json=rows).json()
    assert (report["accepted"], report["quarantined"]) == (1, 2)
    reasons = [row["reasons"] for row in report["quarantined_rows"]]
    assert reasons == [
        ["title: 'Sofa\\x00bed' contains a NUL character (\\x00) at position 4"],
        ["product_id: 'nul\\x002' contains a NUL character (\\x00) at position 3"],
    ]
    stored = client.get("/v1/quarantine", params={"source": "products"}).json()
    assert [row["raw"]["title"] for row in stored] == ["Sofa\x00bed", "Sofa"]  # kept as sent
    event = {"user_id": "u\x001", "event_type": "view", "product_id": "p1"}
    assert client.post("/v1/events", json=event).json()["quarantined"] == 1
    assert engine.get_product("fine").description == "kept"


def test_a_lone_surrogate_in_posted_json_is_quarantined_and_listed_escaped(client: TestClient) -> None:
    body = r'{"product_id": "s1", "title": "a\ud800", "colour": "\udfff"}'  # JSON escapes, parsed to str
    response = client.post("/v1/products", content=body, headers={"content-type": "application/json"})
    [row] = response.json()["quarantined_rows"]
    assert row["reasons"] == [
        r"title: 'a\ud800' is not valid Unicode: a lone surrogate ('\ud800') at position 1"
    ]
    assert row["raw"] == {"product_id": "s1", "title": r"a\ud800", "colour": r"\udfff"}
    event = r'{"user_id": "\ud800", "event_type": "view", "product_id": "p1"}'
    assert (
        client.post("/v1/events", content=event, headers={"content-type": "application/json"}).json()[
            "quarantined"
        ]
        == 1
    )
    listed = client.get("/v1/quarantine")
    assert listed.status_code == 200 and len(listed.json()) == 2


@pytest.mark.parametrize(
    ("source", "row", "reason"),
    [
        ("events", {"quantity": 2**31}, "quantity: 2147483648 is more than 2147483647"),
        ("events", {"quantity": 10**30}, "is more than 2147483647"),
        ("events", {"request_id": "r" * 65}, "request_id: String should have at most 64 characters"),
        ("products", {"created_at": "0001-01-01T00:00:00+05:00"}, "is out of range for a timestamp"),
    ],
)
def test_a_value_beyond_what_the_store_holds_is_quarantined_with_its_reason(
    client: TestClient, source: str, row: dict[str, Any], reason: str
) -> None:
    base = (
        {"user_id": "u1", "event_type": "purchase", "product_id": "p1"}
        if source == "events"
        else {"product_id": "x1", "title": "Lamp"}
    )
    response = client.post(f"/v1/{source}", json={**base, **row})
    assert response.status_code == 200, response.text
    [quarantined] = response.json()["quarantined_rows"]
    assert any(reason in text for text in quarantined["reasons"]), quarantined["reasons"]


@pytest.mark.parametrize("price", NAN_PRICES)
def test_a_price_that_is_not_finite_is_quarantined_alike_from_every_surface(
    client: TestClient, engine: Engine, tmp_path: Path, price: str
) -> None:
    product = f'{{"product_id": "x1", "title": "Lamp", "price": {price}}}'
    report = client.post("/v1/products", content=product, headers={"content-type": "application/json"})
    [row] = report.json()["quarantined_rows"]
    assert FINITE_REASON in row["reasons"][0] and row["raw"]["price"] in ("nan", "inf", "-inf")

    event = f'{{"user_id": "u1", "event_type": "purchase", "product_id": "p1", "price": {price}}}'
    report = client.post("/v1/events", content=event, headers={"content-type": "application/json"})
    [row] = report.json()["quarantined_rows"]
    assert FINITE_REASON in row["reasons"][0]

    catalog = tmp_path / "catalog.csv"
    catalog.write_text(f"product_id,title,price\nx2,Lamp,{price}\n")
    [row] = engine.ingest_products(catalog).quarantined_rows
    assert row.reasons == [f"price: {price!r} {FINITE_REASON}"]

    python_value = float(price.lower().replace("infinity", "inf"))
    [row] = engine.ingest_products(
        [{"product_id": "x3", "title": "Lamp", "price": python_value}]
    ).quarantined_rows
    assert row.reasons == [f"price: {python_value!r} {FINITE_REASON}"]
    assert engine.count_products() == len(catalog_rows())
    for model, values in (
        (Product, {"product_id": "x4", "title": "Lamp"}),
        (Event, {"user_id": "u1", "event_type": EventType.PURCHASE, "product_id": "p1"}),
    ):
        with pytest.raises(ValidationError, match=FINITE_REASON):
            model(**values, price=python_value)


@pytest.mark.parametrize("bound", ["price_min", "price_max"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_price_filter_that_is_not_finite_is_a_422_naming_it(
    client: TestClient, bound: str, value: str
) -> None:
    for path in ("/v1/search", "/v1/recommendations/trending"):
        error = _error(client.get(path, params={bound: value}), 422)
        assert error["message"].startswith(f"query.{bound}: ") and FINITE_REASON in error["message"]


def test_an_unexpected_error_is_json_with_a_logged_request_id(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(engine, "stats", broken)
    with caplog.at_level(logging.ERROR, logger="shelfwise.api.errors"):
        response = client.get("/v1/stats")
    error = _error(response, 500)
    assert error["code"] == "internal_error"
    assert error["request_id"] == response.headers["x-request-id"] and error["request_id"] in error["message"]
    [record] = [r for r in caplog.records if error["request_id"] in r.getMessage()]
    assert record.exc_info is not None and "a bug" in str(record.exc_info[1])
