"""API keys: which key each route takes, what a refusal looks like, and what /docs declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfwise.api import create_api
from shelfwise.app import create_app
from shelfwise.engine import Engine
from shelfwise.settings import Settings

ADMIN_KEY = "admin-key-for-auth-tests"
PUBLIC_KEY = "public-key-for-auth-tests"
COOKIE = "sw_admin"
HTTP_METHODS = {"get", "post", "put", "delete", "patch"}
PUBLIC_SCHEMES = {"PublicKey", "AdminKey", "BearerKey", "AdminCookie"}
ADMIN_SCHEMES = {"AdminKey", "BearerKey", "AdminCookie"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("auth"), admin_api_key=ADMIN_KEY, public_api_key=PUBLIC_KEY
    )
    engine = Engine(settings)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as test_client:
        yield test_client


ADMIN_READS = {("get", "/v1/users/{user_id}/deletion")}  # whether and when someone was deleted is no shop's


def _needed(method: str, path: str) -> str:
    """The rule the keys follow: reads and event posting take the public key, other writes (and the admin
    reads) the admin key."""
    if (method, path) in ADMIN_READS:
        return "admin"
    return "public" if method == "get" or (method, path) == ("post", "/v1/events") else "admin"


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _schemes(operation: dict[str, Any]) -> set[str]:
    return {name for requirement in operation.get("security", []) for name in requirement}


def test_openapi_declares_the_key_schemes(client: TestClient) -> None:
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["PublicKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["PublicKey"]["description"],
    }
    assert (schemes["AdminKey"]["in"], schemes["AdminKey"]["name"]) == ("header", "X-API-Key")
    assert (schemes["BearerKey"]["type"], schemes["BearerKey"]["scheme"]) == ("http", "bearer")
    assert (schemes["AdminCookie"]["in"], schemes["AdminCookie"]["name"]) == ("cookie", COOKIE)
    assert "public" in schemes["PublicKey"]["description"] and "admin" in schemes["AdminKey"]["description"]


def test_every_v1_route_lists_the_keys_it_takes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = list(_operations(document))
    assert len([op for op in operations if op[0].startswith("/v1/")]) >= 18
    for path, method, operation in operations:
        found = _schemes(operation)
        if not path.startswith("/v1/"):
            assert found == set(), (method, path)
            continue
        expected = PUBLIC_SCHEMES if _needed(method, path) == "public" else ADMIN_SCHEMES
        assert found == expected, (method, path)


def test_a_refusal_says_which_key_is_needed(client: TestClient) -> None:
    refused = client.get("/v1/stats")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json() == {
        "error": {
            "code": "unauthorized",
            "message": "this endpoint needs the public API key: send it in the X-API-Key header "
            "(or as Authorization: Bearer <key>)",
        }
    }
    admin_only = client.delete("/v1/users/someone", headers={"X-API-Key": PUBLIC_KEY})
    assert admin_only.status_code == 401
    assert "needs the admin API key" in admin_only.json()["error"]["message"]


@pytest.mark.parametrize(
    ("headers", "cookies", "reads", "writes"),
    [
        ({}, {}, 401, 401),
        ({"X-API-Key": PUBLIC_KEY}, {}, 200, 401),
        ({"Authorization": f"Bearer {PUBLIC_KEY}"}, {}, 200, 401),
        ({"X-API-Key": ADMIN_KEY}, {}, 200, 200),
        ({"Authorization": f"bearer {ADMIN_KEY}"}, {}, 200, 200),
        ({}, {COOKIE: ADMIN_KEY}, 200, 200),
        ({}, {COOKIE: PUBLIC_KEY}, 200, 401),  # a key is a key, wherever it comes from
        ({"X-API-Key": "not-a-key"}, {COOKIE: ADMIN_KEY}, 401, 401),  # the header is read first
        ({"X-API-Key": "not-a-key"}, {}, 401, 401),
    ],
)
def test_which_keys_open_reads_and_writes(
    engine: Engine, headers: dict[str, str], cookies: dict[str, str], reads: int, writes: int
) -> None:
    with TestClient(create_app(engine), headers=headers, cookies=cookies) as fresh:
        assert fresh.get("/v1/stats").status_code == reads
        assert fresh.delete("/v1/users/nobody").status_code == writes
        assert fresh.get("/healthz").status_code == 200
        assert fresh.get("/metrics").status_code == 200


def test_the_api_alone_takes_no_cookie(engine: Engine) -> None:
    with TestClient(create_api(engine), cookies={COOKIE: ADMIN_KEY}) as alone:
        assert alone.delete("/v1/users/nobody").status_code == 401
        schemes = alone.get("/openapi.json").json()["components"]["securitySchemes"]
        assert set(schemes) == {"PublicKey", "AdminKey", "BearerKey"}


def test_without_keys_every_route_is_open_and_docs_show_no_lock(tmp_path: Path) -> None:
    engine = Engine(Settings(data_dir=tmp_path))
    try:
        with TestClient(create_app(engine)) as open_client:
            assert open_client.get("/v1/stats").status_code == 200
            assert open_client.delete("/v1/users/nobody").status_code == 200
            document = open_client.get("/openapi.json").json()
            assert "securitySchemes" not in document.get("components", {})
            assert all(not _schemes(operation) for _, _, operation in _operations(document))
    finally:
        engine.close()


def test_only_the_admin_key_guards_writes_when_no_public_key_is_set(tmp_path: Path) -> None:
    engine = Engine(Settings(data_dir=tmp_path, admin_api_key=ADMIN_KEY))
    try:
        with TestClient(create_app(engine)) as admin_only:
            assert admin_only.get("/v1/stats").status_code == 200
            assert admin_only.delete("/v1/users/nobody").status_code == 401
            document = admin_only.get("/openapi.json").json()
            operations = {(method, path): op for path, method, op in _operations(document)}
            assert _schemes(operations[("get", "/v1/search")]) == set()
            assert _schemes(operations[("post", "/v1/rules")]) == ADMIN_SCHEMES
    finally:
        engine.close()
