"""What keeps a browser's session its own: no impersonation outside demo mode, the shopper's session as the
only shopper the pages' scripts may name, the admin session (no key in it, Secure over https), CSRF
tokens and origin checks, the security headers, and the log-in limit."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from browser_session import admin_login, csrf_token, page_meta
from shelfwise.app import create_app
from shelfwise.domain.access import Scope
from shelfwise.engine import Engine
from shelfwise.settings import SecurityConfig, Settings
from shelfwise.web.context import TEMPLATES_DIR

ADMIN_KEY = "admin-key-for-security-tests"
PUBLIC_KEY = "public-key-for-security-tests"
PRODUCTS = [
    {"product_id": "p1", "title": "A blue cotton shirt", "price": 20.0},
    {"product_id": "p2", "title": "A red wool scarf", "price": 15.0},
]


def _engine(directory: Path, **security: Any) -> Engine:
    settings = Settings(
        data_dir=directory,
        admin_api_key=ADMIN_KEY,
        public_api_key=PUBLIC_KEY,
        security=SecurityConfig(**security),
    )
    engine = Engine(settings)
    engine.ingest_products(PRODUCTS)
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with _engine(tmp_path) as engine:
        yield engine


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as test_client:
        yield test_client


def _events(engine: Engine, kind: str) -> pl.DataFrame:
    return engine.events_frame().filter(pl.col("event_type") == kind)


def _login(client: TestClient, key: str = ADMIN_KEY) -> Any:
    return admin_login(client, key)


# B: the storefront never impersonates outside demo mode -------------------------------------------------


def test_a_cookie_naming_another_shopper_changes_nothing(client: TestClient, engine: Engine) -> None:
    unsigned = base64.urlsafe_b64encode(json.dumps({"sid": "web-x", "uid": "alice"}).encode()).decode()
    for name, value in (("sw_user", "alice"), ("sw_shop", unsigned), ("sw_shop", f"{unsigned}.x.y")):
        client.cookies.set(name, value)
        page = client.get("/").text
        assert "Hello, Alice" not in page and page_meta(page, "shelfwise-user") == ""
        client.post("/cart/add", data={"product_id": "p1", "csrf_token": csrf_token(client)})
        client.cookies.clear()
    added = _events(engine, "add_to_cart")
    assert added.height == 3 and added.get_column("user_id").null_count() == 3
    assert "alice" not in added.get_column("session_id").to_list()


def test_the_user_switcher_is_for_demo_mode_only(client: TestClient, tmp_path: Path) -> None:
    assert 'name="user_id"' not in client.get("/").text
    refused = client.post("/shopper", data={"user_id": "alice", "csrf_token": csrf_token(client)})
    assert refused.status_code == 404

    with _engine(tmp_path / "demo", demo_mode=True) as demo, TestClient(create_app(demo)) as browser:
        assert 'name="user_id"' in browser.get("/").text
        switched = browser.post("/shopper", data={"user_id": "alice", "csrf_token": csrf_token(browser)})
        assert page_meta(switched.text, "shelfwise-user") == "alice"
        demo_session = browser.cookies["sw_shop"]
    # The same signed session, replayed where demo mode is off, is an anonymous session.
    client.cookies.set("sw_shop", demo_session)
    assert page_meta(client.get("/").text, "shelfwise-user") == ""


# A and B: the pages' scripts call the API with the browser's own session ----------------------------------


def test_pages_hold_no_key_and_their_session_opens_only_the_storefront(client: TestClient) -> None:
    page = client.get("/product/p1").text
    assert PUBLIC_KEY not in page and ADMIN_KEY not in page and "shelfwise-key" not in page
    session, token = page_meta(page, "shelfwise-session"), page_meta(page, "shelfwise-csrf")
    assert client.get("/v1/suggest", params={"q": "bl"}).status_code == 200
    for admin_only in ("/v1/quarantine", "/v1/quality", "/v1/stats", "/v1/rules"):
        assert client.get(admin_only).status_code == 403, admin_only

    own = {"session_id": session, "event_type": "click", "product_id": "p1"}
    csrf = {"x-csrf-token": token}
    assert client.post("/v1/events", json=own, headers=csrf).status_code == 200
    assert client.post("/v1/events", json=own).status_code == 403  # no CSRF token
    foreign = {**csrf, "origin": "https://evil.example"}
    assert client.post("/v1/events", json=own, headers=foreign).status_code == 403
    for other in ({**own, "session_id": "web-someone-else"}, {**own, "user_id": "alice"}):
        refused = client.post("/v1/events", json=other, headers=csrf)
        assert refused.status_code == 403
        assert "no user or session but its own" in refused.json()["error"]["message"]
    assert client.get("/v1/recommendations/for-you", params={"user_id": "alice"}).status_code == 403


# C: the admin session ---------------------------------------------------------------------------------


def test_the_admin_session_holds_no_key_and_is_secure_over_https(engine: Engine) -> None:
    with TestClient(create_app(engine), base_url="https://shop.example") as browser:
        response = _login(browser)
        assert response.status_code == 200
        cookie = response.history[0].headers["set-cookie"]
        assert "sw_admin=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        value = browser.cookies["sw_admin"]
        payload = URLSafeTimedSerializer("x").loads_unsafe(value)[1]
        assert ADMIN_KEY not in value and ADMIN_KEY not in json.dumps(payload)
    with TestClient(create_app(engine)) as plain:
        cookie = _login(plain).history[0].headers["set-cookie"]
        assert "Secure" not in cookie


def test_a_trusted_proxy_s_forwarded_scheme_makes_cookies_secure(tmp_path: Path) -> None:
    forwarded = {"x-forwarded-proto": "https"}
    for proxies, secure in ((("testclient",), True), ((), False)):
        with _engine(tmp_path / str(secure), trusted_proxies=proxies) as engine:
            client = TestClient(create_app(engine), headers=forwarded)
            cookies = client.get("/").headers.get_list("set-cookie")
            assert len(cookies) == 2 and all(("Secure" in cookie) == secure for cookie in cookies)


def test_revoking_the_key_ends_its_admin_sessions(client: TestClient, engine: Engine) -> None:
    _, secret = engine.keys.create("ops", Scope.ADMIN)
    assert _login(client, secret).status_code == 200
    assert client.get("/admin/keys").status_code == 200
    engine.keys.revoke(engine.keys.stored.list()[-1].key_id)
    assert client.get("/admin/keys", follow_redirects=False).status_code == 303


def test_admin_forms_need_their_csrf_token_and_this_site_as_origin(client: TestClient) -> None:
    _login(client)
    token = csrf_token(client)
    assert client.post("/admin/models/activate", data={"version": "v"}).status_code == 403
    foreign = client.post(
        "/admin/models/activate",
        data={"version": "v", "csrf_token": token},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    genuine = client.post("/admin/models/activate", data={"version": "v", "csrf_token": token})
    assert genuine.status_code == 200 and "Could not activate" in genuine.text
    assert client.post("/admin/logout").status_code == 403
    rule = {"rule_id": "r1", "action": "boost", "query": "shirt", "product_ids": ["p1"]}
    assert client.post("/v1/rules", json=rule).status_code == 403  # the admin cookie alone
    assert client.post("/v1/rules", json=rule, headers={"x-csrf-token": token}).status_code == 201


def test_admin_pages_create_list_and_revoke_keys(client: TestClient, engine: Engine) -> None:
    _login(client)
    created = client.post(
        "/admin/keys", data={"name": "shop front", "scope": "storefront", "csrf_token": csrf_token(client)}
    )
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    secret = re.search(r"<code data-new-key>([^<]+)</code>", created.text)
    assert secret and secret.group(1).startswith("sw_store_")
    listing = client.get("/admin/keys").text
    assert "shop front" in listing and secret.group(1) not in listing and ADMIN_KEY not in listing
    key_id = engine.keys.stored.list()[-1].key_id
    client.post("/admin/keys/revoke", data={"key_id": key_id, "csrf_token": csrf_token(client)})
    assert engine.keys.authenticate(secret.group(1)) is None


# C: security headers -----------------------------------------------------------------------------------


def test_every_page_sends_the_security_headers(client: TestClient) -> None:
    _login(client)
    for path in ("/", "/search?q=shirt", "/product/p1", "/cart", "/admin", "/admin/login", "/v1/suggest"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "same-origin", path
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy, path
    framed = client.get("/admin/quality/report.html").headers
    assert framed["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in framed["content-security-policy"]


def test_templates_have_no_inline_script() -> None:
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "javascript:" not in text, template


# D: the log-in limit -----------------------------------------------------------------------------------


def test_admin_log_in_attempts_are_limited_per_address(tmp_path: Path) -> None:
    with _engine(tmp_path, login_attempts=3, login_window_seconds=600) as engine:
        client = TestClient(create_app(engine))
        assert [_login(client, f"wrong-{n}").status_code for n in range(3)] == [401, 401, 401]
        limited = _login(client)  # even the right key, until the window lets one through
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        assert "too many admin log-in attempts" in limited.text
