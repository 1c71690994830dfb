"""The ProductImages component: products' pictures read, checked, encoded once per file content, saved
and loaded in the component format, and what the image-based features will read from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sample_images import near_copy, needs_extra, picture
from shelfwise.domain import Product
from shelfwise.images.component import ProductImages, fit_product_images
from shelfwise.images.config import ImageConfig
from shelfwise.io.components import ComponentFormatError

pytestmark = needs_extra


def _shop(root: Path) -> list[Product]:
    (root / "img").mkdir(parents=True)
    stripes = picture("stripes")
    files = {
        "a.jpg": stripes,
        "a-again.jpg": stripes,  # the same file under another name: encoded once
        "a-copy.jpg": near_copy(stripes),
        "disc.jpg": picture("disc"),
        "shoe.jpg": picture("shoe"),
        "tiny.png": picture("disc", size=12, fmt="PNG"),
        "page.jpg": b"<html>404</html>",
    }
    for name, data in files.items():
        (root / "img" / name).write_bytes(data)
    images = ["a", "a-again", "a-copy", "disc", "shoe", "tiny", "page", "missing"]
    products = [
        Product(
            product_id=name,
            title=f"product {name}",
            image_url=f"/img/{name}.{'png' if name == 'tiny' else 'jpg'}",
        )
        for name in images
    ]
    return [*products, Product(product_id="no-image", title="product without a picture")]


def test_fit_encodes_each_file_once_keeps_problems_and_round_trips(tmp_path: Path) -> None:
    products = _shop(tmp_path / "shop")
    images = ProductImages(ImageConfig(root=tmp_path / "shop")).fit(products, cache_dir=tmp_path / "cache")

    assert images.product_ids == ["a", "a-again", "a-copy", "disc", "shoe"]
    assert images.encoded == 4
    assert {pid: p.kind for pid, p in images.problems.items()} == {
        "tiny": "too_small",
        "page": "not_an_image",
        "missing": "unreadable",
    }
    assert images.vector("no-image") is None and images.vector("tiny") is None
    assert np.allclose(images.vector("a"), images.vector("a-again"))  # type: ignore[arg-type]
    assert images.hashes[0] == images.hashes[1]
    assert [pid for pid, _ in images.similar("a", k=2)] == ["a-again", "a-copy"]

    loaded = ProductImages.load(images.save(tmp_path / "saved"))
    assert loaded.product_ids == images.product_ids
    assert np.array_equal(loaded.vectors, images.vectors) and np.array_equal(loaded.hashes, images.hashes)
    assert loaded.problems == images.problems
    assert loaded.summary() | {"encoded": 4} == images.summary()


def test_a_second_fit_reads_every_vector_from_the_cache(tmp_path: Path) -> None:
    products = _shop(tmp_path / "shop")
    config = ImageConfig(root=tmp_path / "shop")
    first = ProductImages(config).fit(products, cache_dir=tmp_path / "cache")
    again = ProductImages(config).fit(products, cache_dir=tmp_path / "cache")
    assert again.encoded == 0
    assert np.allclose(again.vectors, first.vectors)


def test_no_images_or_images_off_give_no_component(tmp_path: Path) -> None:
    plain = [Product(product_id="p", title="a product")]
    assert fit_product_images(plain, ImageConfig(), tmp_path) is None
    pictured = _shop(tmp_path / "shop")
    assert fit_product_images(pictured, ImageConfig(enabled=False), tmp_path) is None


def test_an_unfitted_component_refuses_to_save_and_a_wrong_directory_to_load(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        ProductImages().save(tmp_path / "x")
    with pytest.raises(ComponentFormatError):
        ProductImages.load(tmp_path / "nothing")
