"""The similar-looking recommendations: the products whose pictures are nearest, loaded with the version
the engine serves, within the request's filters, empty for a product without a picture and refused (with
the reason) by a shop without any."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sample_images import needs_extra, picture
from sample_shop import catalog_rows, event_rows
from shelfwise.domain import Filters
from shelfwise.domain.errors import InvalidRequestError
from shelfwise.engine import Engine

pytestmark = needs_extra

PICTURES = {  # two shots of each kind, a little apart; p7 has no picture
    "p1": ("stripes", 0),
    "p2": ("stripes", 6),
    "p3": ("disc", 0),
    "p4": ("disc", 6),
    "p5": ("shoe", 0),
    "p6": ("shoe", 6),
    "p8": ("noise", 0),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("pictures")
    rows = catalog_rows()
    for row in rows:
        if row["product_id"] in PICTURES:
            kind, shift = PICTURES[row["product_id"]]
            path = root / f"{row['product_id']}.jpg"
            path.write_bytes(picture(kind, shift=shift))
            row["image_url"] = str(path)
    with Engine.open(root / "data") as engine:
        engine.ingest_products(rows)
        engine.ingest_events(event_rows())
        engine.train(force=True)
        yield engine


def test_the_nearest_pictures_come_first_with_the_reason(shop: Engine) -> None:
    items = shop.recommend("similar-looking", product_id="p1", n=3).items
    ids = [item.product.product_id for item in items]
    assert ids[0] == "p2" and "p1" not in ids
    reason = items[0].explanation.reasons[0]
    assert reason.signal == "image-similarity" and "Oak dining table" in reason.detail
    assert items[0].score > items[1].score


def test_filters_apply_and_a_product_without_a_picture_gets_none(shop: Engine) -> None:
    sofas = shop.recommend(
        "similar-looking", product_id="p1", n=5, filters=Filters(category="Furniture > Sofas")
    )
    assert {item.product.product_id for item in sofas.items} == {"p3", "p4"}
    assert shop.recommend("similar-looking", product_id="p7", n=5).items == []
    with pytest.raises(InvalidRequestError, match="product_id"):
        shop.recommend("similar-looking")


def test_a_shop_without_pictures_is_told_why(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "data") as engine:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows())
        engine.train()
        with pytest.raises(InvalidRequestError, match="needs product images"):
            engine.recommend("similar-looking", product_id="p1")


def test_the_product_page_shows_a_looks_like_this_shelf(shop: Engine) -> None:
    from fastapi.testclient import TestClient

    from shelfwise.app import create_app

    with TestClient(create_app(shop)) as client:
        page = client.get("/product/p1").text
        bare = client.get("/product/p7").text
    shelf = page.split('data-shelf="similar-looking"', 1)[1]
    assert "Looks like this" in page and 'data-product="p2"' in shelf
    assert 'data-shelf="similar-looking"' not in bare  # no picture: no shelf
