from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.domain.products import Product
from shelfwise.text.encoder import EmbeddingCache, EncoderConfig, TextEncoder, product_text

pytestmark = [pytest.mark.model]


def test_product_text_joins_fields_and_skips_a_brand_already_in_the_title() -> None:
    product = Product(
        product_id="p1",
        title="Bosch cordless drill",
        brand="Bosch",
        category="Tools > Drills",
        description="  18 V,\n two batteries  ",
    )
    text = product_text(product)
    assert text.startswith("Bosch cordless drill")
    assert text.count("Bosch") == 1
    assert "Tools > Drills" in text
    assert "18 V, two batteries" in text


def test_product_text_is_trimmed_to_the_limit() -> None:
    product = Product(product_id="p1", title="lamp", description="word " * 1000)
    assert len(product_text(product, max_chars=100)) == 100


def test_cache_returns_only_what_was_stored_for_that_model(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    cache.put_many("m1", ["a", "b"], vectors)
    found = cache.get_many("m1", ["b", "c", "a", "b"])
    assert sorted(found) == [0, 2, 3]
    np.testing.assert_array_equal(found[0], vectors[1])
    np.testing.assert_array_equal(found[2], vectors[0])
    assert cache.get_many("m2", ["a"]) == {}
    assert len(cache) == 2


def test_unknown_model_is_refused_with_its_name(tmp_path: Path) -> None:
    encoder = TextEncoder(EncoderConfig(model=str(tmp_path / "no-such-model")))
    with pytest.raises(ValueError, match="no-such-model"):
        encoder.encode(["x"])


class _CountingEncoder(TextEncoder):
    """The real model, counting how many texts reach it."""

    seen: int = 0

    def _encode_uncached(self, texts: list[str], progress: bool) -> np.ndarray:
        self.seen += len(texts)
        return super()._encode_uncached(texts, progress)


def test_real_model_similar_texts_are_closer_and_cache_skips_re_encoding(tmp_path: Path) -> None:
    encoder = _CountingEncoder(cache_dir=tmp_path)
    texts = ["cordless power drill", "battery powered drill driver", "bathroom ceiling paint"]
    vectors = encoder.encode(texts)
    assert vectors.shape == (3, encoder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert encoder.seen == 3

    again = encoder.encode([*texts[::-1], "garden hose"])
    assert encoder.seen == 4
    np.testing.assert_allclose(again[:3], vectors[::-1], atol=1e-6)
    # A one-off query runs the int8 copy of the model (EncoderConfig.int8_queries): close, not identical.
    assert float(encoder.encode_one("garden hose") @ again[3]) >= 0.98
    assert encoder.encode([]).shape == (0, encoder.dim)
