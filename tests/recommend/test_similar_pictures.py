"""Pictures in the `similar` kind: the image cosine blended into each candidate's score where both
products have a picture, by `similar_image_weight`, with the reason said."""

from __future__ import annotations

import numpy as np
import polars as pl

from shelfwise.domain import Product, RecommendationKind
from shelfwise.images.component import ProductImages
from shelfwise.recommend.kinds import RecommendationConfig, RecommendationModels, RecommendRequest

TITLE_ORDER = [("b", 0.9), ("c", 0.8), ("d", 0.7), ("e", 0.6)]  # what the title look-up answers for "a"


def pictures(vectors: dict[str, list[float]]) -> ProductImages:
    images = ProductImages()
    rows = np.asarray(list(vectors.values()), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    arrays = {
        "product_ids": np.asarray(list(vectors), dtype=np.str_),
        "vectors": rows,
        "hashes": np.zeros(len(rows), np.uint64),
    }
    images.restore({"model": "test", "problems": {}}, arrays)
    return images


def similar_to_a(weight: float) -> list[tuple[str, list[str]]]:
    catalog = [Product(product_id=pid, title=f"Product {pid}") for pid in "abcde"]
    events = pl.DataFrame(
        schema={
            "user_id": pl.Utf8,
            "session_id": pl.Utf8,
            "event_type": pl.Utf8,
            "product_id": pl.Utf8,
            "timestamp": pl.Datetime("us"),
        }
    )
    models = RecommendationModels(RecommendationConfig(similar_image_weight=weight)).fit(catalog, events)
    # "e" looks most like "a", then "d"; "c" has no picture.
    models.attach_images(pictures({"a": [1, 0], "b": [0, 1], "d": [1, 1], "e": [1, 0.1]}))
    items = models.recommend(
        RecommendRequest(kind=RecommendationKind.SIMILAR, product_id="a", n=4),
        resolve={p.product_id: p for p in catalog}.get,
        text_neighbours=lambda product_id, n: TITLE_ORDER,
    )
    return [(item.product.product_id, [r.signal for r in item.explanation.reasons]) for item in items]


def test_without_weight_the_titles_decide() -> None:
    assert [pid for pid, _ in similar_to_a(0.0)] == ["b", "c", "d", "e"]


def test_the_picture_cosine_reorders_where_both_have_one_and_says_so() -> None:
    page = similar_to_a(0.9)
    assert [pid for pid, _ in page][:2] == ["e", "d"]
    assert [pid for pid, _ in page][-1] == "b"  # its picture is the least alike
    signals = dict(page)
    assert signals["e"] == ["text-similarity", "image-similarity"]
    assert signals["c"] == ["text-similarity"]  # no picture: no picture reason
