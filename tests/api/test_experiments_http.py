"""/v1/experiments over a real engine: clear 4xx on bad input with nothing stored, a stable assignment
whose first exposure the results count from, admin-only definitions, and exposures deleted with the user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sample_shop import catalog_rows
from shelfwise.app import create_app
from shelfwise.engine import Engine
from shelfwise.settings import Settings

SPEC: dict[str, Any] = {
    "name": "new ranker",
    "arms": [{"name": "control", "share": 0.5}, {"name": "ltr-v2", "share": 0.5}],
    "minimum_detectable_effect": 0.02,
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[Engine, TestClient]]:
    with Engine(Settings(data_dir=tmp_path)) as engine, TestClient(create_app(engine)) as http:
        engine.ingest_products(catalog_rows())
        yield engine, http


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"arms": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.6}]}, "sum to 1"),
        ({"arms": [{"name": "a", "share": 0.5}, {"name": "a", "share": 0.5}]}, "repeated"),
        ({"arms": [{"name": "a", "share": 1.0}]}, "arms"),
        ({"unit": "device"}, "unit"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_definitions_are_refused_and_nothing_is_stored(
    client: tuple[Engine, TestClient], change: dict[str, Any], named: str
) -> None:
    _, http = client
    refused = http.post("/v1/experiments", json={**SPEC, **change})
    assert refused.status_code == 422 and named in str(refused.json())
    assert http.get("/v1/experiments").json() == []


def test_assignment_results_and_deletion(client: tuple[Engine, TestClient]) -> None:
    engine, http = client
    created = http.post("/v1/experiments", json=SPEC)
    assert created.status_code == 201, created.text
    experiment = created.json()
    ident = experiment["experiment_id"]
    assert experiment["state"] == "draft" and experiment["horizon_per_arm"] > 100
    path = f"/v1/experiments/{ident}"
    assert http.get(f"{path}/assignment", params={"user_id": "u1"}).status_code == 422  # not running yet
    assert http.post(f"{path}/start").json()["state"] == "running"

    for params in ({}, {"user_id": "u1", "session_id": "s1"}, {"session_id": "s1"}):
        refused = http.get(f"{path}/assignment", params=params)
        assert refused.status_code == 422 and "user_id" in refused.text
    assert http.get("/v1/experiments/nope/assignment", params={"user_id": "u1"}).status_code == 404
    assert http.get("/v1/experiments/nope/results").status_code == 404

    first = http.get(f"{path}/assignment", params={"user_id": "u1"}).json()
    again = http.get(f"{path}/assignment", params={"user_id": "u1"}).json()
    assert first == again and first["arm"] in {"control", "ltr-v2"}
    http.get(f"{path}/assignment", params={"user_id": "u2"})

    after = datetime.now(UTC) + timedelta(seconds=1)
    engine.ingest_events(
        [
            {
                "user_id": "u1",
                "session_id": "s1",
                "event_type": "view",
                "product_id": "p1",
                "timestamp": after.isoformat(),
            },
            {
                "user_id": "u1",
                "session_id": "s1",
                "event_type": "purchase",
                "product_id": "p1",
                "timestamp": (after + timedelta(seconds=1)).isoformat(),
                "price": 499.0,
                "quantity": 1,
            },
        ]
    )
    results = http.get(f"{path}/results").json()
    assert results["decision"] == "too early" and "fixed horizon" in results["reason"]
    arms = {arm["arm"]: arm for arm in results["arms"]}
    assert sum(arm["visitors"] for arm in arms.values()) == 2
    assert arms[first["arm"]]["conversion"]["estimate"] > 0
    assert arms[first["arm"]]["revenue_per_visitor"]["estimate"] == pytest.approx(
        499.0 / arms[first["arm"]]["visitors"]
    )

    assert http.delete("/v1/users/u1").status_code == 200
    assert engine.experiments.book.exposures(ident).keys() == {"u2"}
    assert http.post(f"{path}/stop").json()["state"] == "stopped"
    assert http.get(f"{path}/assignment", params={"user_id": "u3"}).status_code == 422
