"""API keys with scopes: which scope each route needs, what a refusal looks like, stored keys (hashed,
rotatable, listed), the storefront scope naming only itself, the rate limit, and what /docs declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from shelfwise.api import create_api
from shelfwise.app import create_app
from shelfwise.domain.access import Scope
from shelfwise.engine import Engine
from shelfwise.settings import SecurityConfig, Settings

ADMIN_KEY = "admin-key-for-auth-tests"
PUBLIC_KEY = "public-key-for-auth-tests"
HTTP_METHODS = {"get", "post", "put", "delete", "patch"}
COOKIE_SCHEMES = {"Session(sw_shop)", "Session(sw_admin)"}
KEY_SCHEMES = {
    "storefront": {"StorefrontKey", "ServerKey", "AdminKey", "BearerKey", *COOKIE_SCHEMES},
    "server": {"ServerKey", "AdminKey", "BearerKey", *COOKIE_SCHEMES},
    "admin": {"AdminKey", "BearerKey", *COOKIE_SCHEMES},
}
STOREFRONT_ROUTES = {
    ("get", "/v1/products"),
    ("get", "/v1/products/{product_id}"),
    ("get", "/v1/search"),
    ("get", "/v1/suggest"),
    ("get", "/v1/answers"),
    ("get", "/v1/recommendations/{kind}"),
    ("post", "/v1/events"),
}
SERVER_ROUTES = {
    ("get", "/v1/rules"),
    ("get", "/v1/synonyms"),
    ("get", "/v1/segments"),
    ("get", "/v1/segments/{segment_id}"),
    ("get", "/v1/segments/{segment_id}/users"),
    ("get", "/v1/users/{user_id}/segment"),
    ("get", "/v1/audiences"),
    ("get", "/v1/experiments/{experiment_id}/assignment"),
    ("get", "/v1/experiments/{experiment_id}/results"),
}
UNLIMITED = SecurityConfig(api_rate_per_second=0)


def _settings(directory: Path, **values: Any) -> Settings:
    values.setdefault("security", UNLIMITED)
    return Settings(data_dir=directory, **values)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    directory = tmp_path_factory.mktemp("auth")
    engine = Engine(_settings(directory, admin_api_key=ADMIN_KEY, public_api_key=PUBLIC_KEY))
    engine.ingest_products([{"product_id": "p1", "title": "A blue cotton shirt", "price": 20.0}])
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as test_client:
        yield test_client


def _key(engine: Engine, scope: Scope) -> str:
    return engine.keys.create(f"a {scope} key", scope)[1]


def _needed(method: str, path: str) -> str:
    if (method, path) in STOREFRONT_ROUTES:
        return "storefront"
    return "server" if (method, path) in SERVER_ROUTES else "admin"


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _schemes(operation: dict[str, Any]) -> set[str]:
    return {name for requirement in operation.get("security", []) for name in requirement}


def test_openapi_declares_a_key_per_scope(client: TestClient) -> None:
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    for name in ("StorefrontKey", "ServerKey", "AdminKey"):
        assert (schemes[name]["type"], schemes[name]["in"], schemes[name]["name"]) == (
            "apiKey",
            "header",
            "X-API-Key",
        )
    assert (schemes["BearerKey"]["type"], schemes["BearerKey"]["scheme"]) == ("http", "bearer")
    assert schemes["Session(sw_admin)"]["in"] == "cookie"


def test_every_v1_route_lists_the_keys_it_takes(client: TestClient) -> None:
    operations = list(_operations(client.get("/openapi.json").json()))
    assert len([op for op in operations if op[0].startswith("/v1/")]) >= 21
    for path, method, operation in operations:
        found = _schemes(operation)
        if not path.startswith("/v1/"):
            assert found == set(), (method, path)
            continue
        assert found == KEY_SCHEMES[_needed(method, path)], (method, path)


def test_a_refusal_says_which_scope_is_needed(client: TestClient) -> None:
    refused = client.get("/v1/search")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json() == {
        "error": {
            "code": "unauthorized",
            "message": "this endpoint needs a key with the storefront scope or above: send it in the "
            "X-API-Key header (or as Authorization: Bearer <key>)",
        }
    }
    too_weak = client.get("/v1/quarantine", headers={"X-API-Key": PUBLIC_KEY})
    assert too_weak.status_code == 403
    assert too_weak.json()["error"] == {
        "code": "forbidden",
        "message": "a server key cannot call this endpoint: it needs admin",
    }
    unknown = client.get("/v1/search", headers={"X-API-Key": "sw_admin_not-a-key"})
    assert unknown.status_code == 401
    assert "not a valid key" in unknown.json()["error"]["message"]


@pytest.mark.parametrize(
    ("scope", "catalog", "rules", "quarantine"),
    [
        (None, 401, 401, 401),
        (Scope.STOREFRONT, 200, 403, 403),
        (Scope.SERVER, 200, 200, 403),
        (Scope.ADMIN, 200, 200, 200),
    ],
)
def test_what_each_scope_opens(
    client: TestClient, engine: Engine, scope: Scope | None, catalog: int, rules: int, quarantine: int
) -> None:
    headers = {"Authorization": f"Bearer {_key(engine, scope)}"} if scope else {}
    assert client.get("/v1/products/p1", headers=headers).status_code == catalog
    assert client.get("/v1/suggest", params={"q": "bl"}, headers=headers).status_code == catalog
    assert client.get("/v1/rules", headers=headers).status_code == rules
    for admin_only in ("/v1/quarantine", "/v1/stats", "/v1/keys"):
        assert client.get(admin_only, headers=headers).status_code == quarantine, admin_only
    no_report_yet = 404 if quarantine == 200 else quarantine
    assert client.get("/v1/quality", headers=headers).status_code == no_report_yet
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_the_settings_keys_are_bootstrap_keys(client: TestClient) -> None:
    server = {"X-API-Key": PUBLIC_KEY}
    assert client.get("/v1/search", params={"q": "shirt"}, headers=server).status_code == 200
    assert client.get("/v1/stats", headers=server).status_code == 403  # no longer a public read
    assert client.delete("/v1/users/nobody", headers=server).status_code == 403
    assert client.get("/v1/stats", headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_a_storefront_key_names_anonymous_sessions_only(client: TestClient, engine: Engine) -> None:
    headers = {"X-API-Key": _key(engine, Scope.STOREFRONT)}
    anonymous = {"session_id": "s-anon", "event_type": "view", "product_id": "p1"}
    assert client.post("/v1/events", json=anonymous, headers=headers).status_code == 200
    as_someone = {**anonymous, "user_id": "alice"}
    refused = client.post("/v1/events", json={"events": [anonymous, as_someone]}, headers=headers)
    assert refused.status_code == 403
    assert "never a user" in refused.json()["error"]["message"]
    search_as_alice = client.get("/v1/search", params={"q": "shirt", "user_id": "alice"}, headers=headers)
    assert search_as_alice.status_code == 403
    alice_recs = client.get("/v1/recommendations/for-you", params={"user_id": "alice"}, headers=headers)
    assert alice_recs.status_code == 403
    server = {"X-API-Key": PUBLIC_KEY}
    assert client.post("/v1/events", json=as_someone, headers=server).status_code == 200


def test_stored_keys_are_hashed_listed_and_revocable(client: TestClient, engine: Engine) -> None:
    admin = {"X-API-Key": ADMIN_KEY}
    created = client.post("/v1/keys", json={"name": "back end", "scope": "server"}, headers=admin)
    assert created.status_code == 201
    secret, key = created.json()["secret"], created.json()["key"]
    assert secret.startswith(key["prefix"]) and len(secret) > 40
    with engine.store.engine.connect() as conn:
        stored = [tuple(row) for row in conn.execute(sa.text("SELECT * FROM api_keys"))]
    assert stored and not any(secret in str(value) for row in stored for value in row)

    assert client.get("/v1/rules", headers={"X-API-Key": secret}).status_code == 200
    listed = {k["key_id"]: k for k in client.get("/v1/keys", headers=admin).json()}
    assert listed[key["key_id"]]["last_used_at"] is not None
    assert "secret" not in listed[key["key_id"]] and secret not in str(listed)
    assert {"settings-admin", "settings-public"} <= set(listed)

    revoked = client.delete(f"/v1/keys/{key['key_id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/v1/rules", headers={"X-API-Key": secret}).status_code == 401
    assert client.delete("/v1/keys/settings-admin", headers=admin).status_code == 422
    assert client.post("/v1/keys", json={"name": "x", "scope": "root"}, headers=admin).status_code == 422


def test_the_api_alone_takes_no_cookie(engine: Engine) -> None:
    with TestClient(create_api(engine), cookies={"sw_admin": ADMIN_KEY}) as alone:
        assert alone.delete("/v1/users/nobody").status_code == 401
        schemes = alone.get("/openapi.json").json()["components"]["securitySchemes"]
        assert set(schemes) == {"StorefrontKey", "ServerKey", "AdminKey", "BearerKey"}


def test_a_key_s_requests_are_rate_limited(tmp_path: Path) -> None:
    security = SecurityConfig(api_rate_per_second=0.01, api_burst=2)
    with Engine(_settings(tmp_path, admin_api_key=ADMIN_KEY, security=security)) as engine:
        other = _key(engine, Scope.ADMIN)
        with TestClient(create_app(engine), headers={"X-API-Key": ADMIN_KEY}) as client:
            assert [client.get("/v1/stats").status_code for _ in range(2)] == [200, 200]
            limited = client.get("/v1/stats")
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.json()["error"]["code"] == "rate_limited"
            assert "too many requests with this key" in limited.json()["error"]["message"]
            assert client.get("/v1/stats", headers={"X-API-Key": other}).status_code == 200  # per key


def test_without_keys_every_route_is_open(tmp_path: Path) -> None:
    with Engine(_settings(tmp_path)) as engine, TestClient(create_app(engine)) as open_client:
        assert open_client.get("/v1/stats").status_code == 200
        assert open_client.delete("/v1/users/nobody").status_code == 200


def test_with_only_an_admin_key_a_caller_without_one_is_an_anonymous_visitor(tmp_path: Path) -> None:
    with Engine(_settings(tmp_path, admin_api_key=ADMIN_KEY)) as engine:
        with TestClient(create_app(engine)) as client:
            assert client.get("/v1/search").status_code == 200
            # no one's personal lists or history without a server key, and no events in their name
            assert client.get("/v1/search", params={"q": "lamp", "user_id": "u1"}).status_code == 403
            for_you = client.get("/v1/recommendations/for-you", params={"user_id": "u1"})
            assert for_you.status_code == 403
            event = {"user_id": "u1", "event_type": "view", "product_id": "p1"}
            assert client.post("/v1/events", json=event).status_code == 403
            assert client.get("/v1/rules").status_code == 401
            admin = {"X-API-Key": ADMIN_KEY}
            assert client.get("/v1/rules", headers=admin).status_code == 200
            assert (
                client.get("/v1/recommendations/for-you", params={"user_id": "u1"}, headers=admin).status_code
                == 409
            ), "past the keys: not trained yet"
            assert client.get("/v1/quarantine").status_code == 401  # admin-only now
            assert client.delete("/v1/users/nobody").status_code == 401
        _key(engine, Scope.STOREFRONT)  # a reading key guards the reads from then on
        with TestClient(create_app(engine)) as client:
            assert client.get("/v1/search").status_code == 401
