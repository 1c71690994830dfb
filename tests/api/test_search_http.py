"""AI search over HTTP: autocomplete, merchandising rules, personalisation and bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sample_shop import catalog_rows, event_rows
from shelfwise.api import create_api
from shelfwise.engine import Engine


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with Engine.open(tmp_path_factory.mktemp("search-api") / "data") as engine:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows())
        engine.train()
        with TestClient(create_api(engine)) as test_client:
            yield test_client


def ids(response: object) -> list[str]:
    return [hit["product"]["product_id"] for hit in response.json()["hits"]]  # type: ignore[attr-defined]


def test_suggest_completes_titles_by_prefix(client: TestClient) -> None:
    response = client.get("/v1/suggest", params={"q": "Sma"})
    assert response.status_code == 200
    assert response.json()[0] == "Smartphone X"
    assert client.get("/v1/suggest", params={"q": ""}).json() == []
    assert client.get("/v1/suggest", params={"q": "x", "n": 0}).status_code == 422


def test_rules_are_added_listed_applied_and_deleted_at_run_time(client: TestClient) -> None:
    before = ids(client.get("/v1/search", params={"q": "sofa"}))
    rule = {"rule_id": "pin-charger", "action": "pin", "query": "sofa", "product_ids": ["p10"]}
    created = client.post("/v1/rules", json=rule)
    assert created.status_code == 201 and created.json()["rule_id"] == "pin-charger"
    assert [r["rule_id"] for r in client.get("/v1/rules").json()] == ["pin-charger"]
    pinned = client.get("/v1/search", params={"q": "sofa"})
    assert ids(pinned)[0] == "p10" and ids(pinned)[1:] == before[: len(ids(pinned)) - 1]
    assert client.delete("/v1/rules/pin-charger").status_code == 204
    assert client.delete("/v1/rules/pin-charger").status_code == 404
    assert ids(client.get("/v1/search", params={"q": "sofa"})) == before


def test_synonyms_are_replaced_at_run_time_and_a_wrong_line_is_a_422(client: TestClient) -> None:
    def lexically_matched(query: str) -> set[str]:
        hits = client.get("/v1/search", params={"q": query}).json()["hits"]
        return {hit["product"]["product_id"] for hit in hits if hit["matched_fields"]}

    assert not lexically_matched("couch") & {"p3", "p4"}  # no product says "couch"
    saved = client.put("/v1/synonyms", content="# seating\nsofa, couch\n")
    assert saved.status_code == 200 and saved.json()["rules"] == 1
    assert client.get("/v1/synonyms").text == "# seating\nsofa, couch\n"
    assert lexically_matched("couch") >= {"p3", "p4"}
    assert set(ids(client.get("/v1/search", params={"q": "couch"}))[:2]) == {"p3", "p4"}
    refused = client.put("/v1/synonyms", content="sofa, couch\nlonely\n")
    assert refused.status_code == 422 and "line 2" in refused.json()["error"]["message"]
    assert client.get("/v1/synonyms").text == "# seating\nsofa, couch\n"
    assert client.put("/v1/synonyms", content="").status_code == 200


def test_a_rule_without_targets_is_422_naming_the_problem(client: TestClient) -> None:
    response = client.post("/v1/rules", json={"action": "boost", "query": "sofa"})
    assert response.status_code == 422
    assert "target" in response.text


def test_search_with_a_user_id_explains_personal_reasons(client: TestClient) -> None:
    anonymous = client.get("/v1/search", params={"q": "table"}).json()
    assert anonymous["hits"]
    personal = client.get("/v1/search", params={"q": "table", "user_id": "u1"})
    assert personal.status_code == 200
    signals = {r["signal"] for hit in personal.json()["hits"] for r in hit["explanation"]["reasons"]}
    assert "bm25" in signals


def test_a_misspelt_query_returns_the_correction(client: TestClient) -> None:
    body = client.get("/v1/search", params={"q": "leathr sofa"}).json()
    assert body["query"] == "leathr sofa" and body["corrected_query"] == "leather sofa"
    assert body["did_you_mean"] is None  # a correction searched is not also offered
    assert body["hits"][0]["product"]["product_id"] == "p4"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": ""}, 200),  # browses the catalog
        ({"q": "x" * 10_000}, 200),  # cut to the query limit: a sensible (empty) result
        ({"q": "x" * 10_001}, 422),
        ({"q": "sofa\x00\x07\x1b"}, 200),  # control characters become spaces
        ({"q": "🛋️ 🛋️"}, 200),  # emoji only: no product matches, no error
        ({"q": "sofa", "colour": "red"}, 422),  # unknown filter field
        ({"q": "sofa", "price_min": 100, "price_max": 10}, 422),  # inverted price range
    ],
)
def test_bad_input_is_a_clear_4xx_or_a_sensible_result(
    client: TestClient, params: dict[str, object], status: int
) -> None:
    response = client.get("/v1/search", params=params)
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["error"]["message"]


def test_control_characters_and_emoji_do_not_change_what_matches(client: TestClient) -> None:
    clean = ids(client.get("/v1/search", params={"q": "sofa"}))
    assert ids(client.get("/v1/search", params={"q": "sofa\x00\x07"})) == clean
