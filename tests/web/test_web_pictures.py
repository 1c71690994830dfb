"""The storefront shows a catalog's own pictures: a local file by product id, only from under the image
root and only with a picture's suffix; an http(s) URL as it is, which the Content-Security-Policy allows;
the drawn placeholder where a product has no picture. The browser test loads them in chromium."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfwise.app import create_app
from shelfwise.engine import Engine
from shelfwise.images.config import ImageConfig
from shelfwise.search.config import SearchConfig
from shelfwise.settings import Settings
from shelfwise.training.trainer import TrainingConfig

# BM25 only and no image encoding: these tests are about showing pictures, not learning from them.
FAST = TrainingConfig(search=SearchConfig(semantic=False), images=ImageConfig(enabled=False))
# The smallest PNG: one white pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4f30000000049454e44ae426082"
)


def _shop(tmp: Path, remote: str) -> Engine:
    root, outside = tmp / "pictures", tmp / "elsewhere"
    (root / "img").mkdir(parents=True)
    outside.mkdir()
    (root / "img" / "lamp.png").write_bytes(PIXEL)
    (root / "img" / "notes.html").write_text("<script>alert(1)</script>")
    (outside / "secret.png").write_bytes(PIXEL)
    images = ImageConfig(root=root)
    settings = Settings(data_dir=tmp / "data", training=TrainingConfig(images=images))
    engine = Engine(settings)
    rows = [
        ("lamp", "Desk lamp", "/img/lamp.png"),
        ("page", "Notebook", "/img/notes.html"),  # under the root, but not a picture
        ("escape", "Escaping lamp", "/../elsewhere/secret.png"),  # leaves the root
        ("absolute", "Far lamp", str(outside / "secret.png")),  # an absolute file outside the root
        ("remote", "Remote lamp", remote),
        ("bare", "Lamp without a picture", None),
    ]
    engine.ingest_products(
        [
            {"product_id": pid, "title": title, "category": "Home > Lamps", "image_url": url}
            for pid, title, url in rows
        ]
    )
    engine.train(FAST, force=True)
    return engine


@pytest.fixture(scope="module")
def picture_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A plain http server (not the shop's origin) holding one picture."""
    folder = tmp_path_factory.mktemp("pictures-server")
    (folder / "remote.png").write_bytes(PIXEL)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/remote.png"
    server.shutdown()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, picture_server: str) -> Iterator[Engine]:
    engine = _shop(tmp_path_factory.mktemp("web-pictures"), picture_server)
    yield engine
    engine.close()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as test_client:
        yield test_client


def test_a_local_picture_is_served_by_product_id_from_under_the_root(client: TestClient) -> None:
    response = client.get("/pictures/lamp")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png" and response.content == PIXEL
    for product_id in ("page", "escape", "absolute", "remote", "bare", "unknown", "..%2Fimg%2Flamp.png"):
        assert client.get(f"/pictures/{product_id}").status_code == 404, product_id


def test_pages_show_the_pictures_and_the_policy_allows_http_ones(
    client: TestClient, picture_server: str
) -> None:
    page = client.get("/product/lamp")
    assert '<img src="/pictures/lamp"' in page.text
    assert f'<img src="{picture_server}"' in client.get("/product/remote").text
    assert "No picture" in client.get("/product/bare").text
    policy = page.headers["content-security-policy"]
    assert "http:" in policy.split("img-src", 1)[1].split(";", 1)[0]


@pytest.mark.slow
@pytest.mark.browser
def test_the_browser_loads_local_and_remote_pictures(engine: Engine, picture_server: str) -> None:
    from test_web_browser import _browser_or_reason  # the one place that finds chromium

    executable, reason = _browser_or_reason()
    if executable is None:
        pytest.skip(reason or "no browser")
    from playwright.sync_api import sync_playwright
    from test_web_browser import CHROMIUM_ARGS

    from served_app import served

    with served(create_app(engine)) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        messages: list[str] = []
        page.on("console", lambda message: messages.append(message.text))
        widths: dict[str, Any] = {}
        for product_id in ("lamp", "remote"):
            page.goto(f"{base}/product/{product_id}")
            image = page.locator(".product-image img")
            image.wait_for()
            page.wait_for_function("() => document.querySelector('.product-image img').complete")
            widths[product_id] = image.evaluate("img => img.naturalWidth")
        browser.close()
    assert widths == {"lamp": 1, "remote": 1}
    assert not [text for text in messages if "Content Security Policy" in text]
