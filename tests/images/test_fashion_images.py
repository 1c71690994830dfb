"""On real product photos (the shared Fashion Product Images half): the image vectors tell categories
apart far better than the commonest label, and a shrunk copy is found as the same picture."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from sample_images import needs_extra
from shelfwise.evaluation.image_eval import (
    LEVELS,
    knn_accuracy,
    majority,
    near_copy,
    products_of,
    read_catalog,
)
from shelfwise.images.component import ProductImages
from shelfwise.quality.checks.images import duplicate_groups
from shelfwise.quality.config import QualityConfig

pytestmark = [pytest.mark.shared_data, pytest.mark.slow, needs_extra]
FASHION = "fashion-product-images"


def test_image_vectors_beat_the_majority_class_and_find_shrunk_copies(shared_data: Path) -> None:
    folder = shared_data / FASHION
    if not (folder / "styles.csv").is_file():
        pytest.skip(f"{folder}/styles.csv is absent (set SHELFWISE_DATA to a copy of the shared data)")
    frame = read_catalog(folder, limit=120)
    products = products_of(frame)
    images = ProductImages().fit(products)
    assert len(images) == len(products)
    master = frame.get_column(LEVELS[0]).to_list()
    assert knn_accuracy(images.vectors, master) > majority(master) + 0.25

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "copy.jpg"
        copy.write_bytes(near_copy(Path(str(products[7].image_url)).read_bytes(), variant=1))  # shrink
        copied = ProductImages().fit(
            [products[7].model_copy(update={"product_id": "copy", "image_url": str(copy)})]
        )
    vectors = np.vstack([images.vectors, copied.vectors])
    hashes = np.concatenate([images.hashes, copied.hashes])
    groups, _ = duplicate_groups(vectors, hashes, QualityConfig())
    assert [7, len(products)] in groups
