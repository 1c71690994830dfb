"""The image checks of the quality gate over given image vectors (no model needed): unusable images,
the same picture on two listings, and a picture that looks like another category."""

from __future__ import annotations

import numpy as np

from shelfwise.domain import Product
from shelfwise.images.component import ProductImages
from shelfwise.images.sources import ImageProblem
from shelfwise.quality.checks.images import duplicate_groups, image_checks
from shelfwise.quality.config import QualityConfig


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _images(
    ids: list[str], vectors: np.ndarray, hashes: list[int], problems: dict[str, ImageProblem]
) -> ProductImages:
    images = ProductImages()
    images.restore(
        {"model": "test", "problems": {pid: [p.kind, p.detail] for pid, p in problems.items()}},
        {"product_ids": np.asarray(ids), "vectors": vectors, "hashes": np.asarray(hashes, dtype=np.uint64)},
    )
    return images


def _catalog(rng: np.random.Generator) -> tuple[list[Product], np.ndarray]:
    """Two categories of eight products, each category's pictures around its own direction."""
    centres = np.eye(16, dtype=np.float32)[:2] * 3
    products, rows = [], []
    for c, category in enumerate(("Apparel > Shirts", "Footwear > Shoes")):
        for i in range(8):
            products.append(Product(product_id=f"{c}-{i}", title=f"item {c} {i}", category=category))
            rows.append(centres[c] + rng.normal(0, 0.6, 16))
    return products, _unit(np.asarray(rows))


def test_duplicates_by_cosine_or_by_hash_and_the_first_listing_kept() -> None:
    rng = np.random.default_rng(1)
    products, vectors = _catalog(rng)
    vectors[5] = _unit(vectors[2:3] + 0.01 * rng.normal(size=(1, 16)))[0]  # a re-upload of 0-2
    hashes = [int(h) for h in rng.integers(0, 2**62, len(products))]
    hashes[12] = hashes[9] ^ 0b101  # 1-1 and 1-4: 2 bits apart, vectors unrelated
    images = _images([p.product_id for p in products], vectors, hashes, {})

    flags = image_checks(
        products, images, QualityConfig(image_duplicate_cosine=0.97, image_duplicate_hash_bits=4)
    )

    assert sorted(flags.by_check["product.image_duplicate"]) == [5, 12]
    assert "'0-2'" in flags.by_check["product.image_duplicate"][5]
    assert "'1-1'" in flags.by_check["product.image_duplicate"][12]
    groups, _ = duplicate_groups(
        vectors, np.asarray(hashes, np.uint64), QualityConfig(image_duplicate_cosine=0.97)
    )
    assert groups == [[2, 5], [9, 12]]


def test_a_picture_of_the_other_category_is_flagged_with_the_suggestion() -> None:
    rng = np.random.default_rng(2)
    products, vectors = _catalog(rng)
    vectors[3] = _unit(np.eye(16, dtype=np.float32)[1:2] * 3 + rng.normal(0, 0.6, (1, 16)))[0]  # a shoe
    images = _images([p.product_id for p in products], vectors, [0] * len(products), {})

    flags = image_checks(
        products,
        images,
        QualityConfig(image_duplicate_hash_bits=0, image_duplicate_cosine=1.0, image_category_neighbours=5),
    )

    found = flags.by_check.get("product.image_category_mismatch", {})
    assert list(found) == [3]
    assert (
        found[3]
        == "looks like 'Footwear > Shoes' (5 of its 5 nearest pictures) rather than 'Apparel > Shirts' (none)"
    )


def test_problems_are_flagged_on_their_products_by_kind() -> None:
    products = [Product(product_id=p, title=f"item {p}") for p in ("a", "b", "c", "d")]
    problems = {
        "b": ImageProblem("unreadable", "HTTP 404"),
        "c": ImageProblem("not_an_image", "text"),
        "d": ImageProblem("too_small", "8x8"),
    }
    images = _images(["a"], _unit(np.ones((1, 4))), [0], problems)

    flags = image_checks(products, images, QualityConfig())

    assert flags.by_check["product.image_unreadable"] == {1: "HTTP 404"}
    assert flags.by_check["product.image_not_an_image"] == {2: "text"}
    assert flags.by_check["product.image_too_small"] == {3: "8x8"}
