"""What a test needs to act as a browser on the web pages: the values the pages carry in their meta tags
(the shopping session, the CSRF token) and the admin log-in that needs that token. Tests import it
(`from browser_session import admin_login`)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient


def page_meta(page: str, name: str) -> str:
    """The content of the page's `<meta name=NAME>` tag."""
    found = re.search(rf'<meta name="{name}" content="([^"]*)"', page)
    assert found, f"no {name} meta tag in the page"
    return found.group(1)


def csrf_token(client: TestClient) -> str:
    """The token that proves a form post comes from this browser's page."""
    return page_meta(client.get("/cart").text, "shelfwise-csrf")


def browser_session(client: TestClient) -> str:
    """The browser's shopping session, as its page says."""
    return page_meta(client.get("/cart").text, "shelfwise-session")


def admin_login(client: TestClient, key: str, **fields: str) -> Any:
    """Log in to the admin pages with `key`, as the log-in form does."""
    return client.post("/admin/login", data={"key": key, **fields, "csrf_token": csrf_token(client)})
