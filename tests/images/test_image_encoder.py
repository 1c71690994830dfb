"""The image encoder: 384-d unit vectors from the DINOv2-small backbone, near-copies close, different
things apart, and every unusable file a named problem rather than an exception."""

from __future__ import annotations

import io

import numpy as np
import pytest

from sample_images import near_copy, needs_extra, picture
from shelfwise.images.config import ImageConfig
from shelfwise.images.encoder import DIM, ImageEncoder, decode, hamming, perceptual_hash
from shelfwise.images.sources import ImageProblem

pytestmark = needs_extra


def _vectors(*files: bytes) -> np.ndarray:
    config = ImageConfig()
    images = [decode(data, config) for data in files]
    assert not any(isinstance(image, ImageProblem) for image in images)
    return ImageEncoder(config).encode(images)  # type: ignore[arg-type]


def test_vectors_are_unit_length_and_a_near_copy_is_nearer_than_another_product() -> None:
    stripes = picture("stripes")
    vectors = _vectors(stripes, near_copy(stripes), picture("disc"), picture("shoe"))

    assert vectors.shape == (4, DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.85
    assert similarity[0, 1] > similarity[0, 2] + 0.2
    assert similarity[0, 1] > similarity[0, 3] + 0.2


def test_batching_does_not_change_the_vectors() -> None:
    files = [picture(kind) for kind in ("stripes", "disc", "shoe")]
    config = ImageConfig()
    images = [decode(data, config) for data in files]
    one = ImageEncoder(ImageConfig(batch_size=1)).encode(images)  # type: ignore[arg-type]
    three = ImageEncoder(ImageConfig(batch_size=3)).encode(images)  # type: ignore[arg-type]
    assert np.allclose(one, three, atol=1e-4)


def test_unusable_files_are_problems_by_kind() -> None:
    config = ImageConfig(min_side=32)
    jpeg = picture("stripes")

    assert decode(b"<html>not found</html>", config) == ImageProblem(
        "not_an_image", "22 bytes that no image format reads"
    )
    small = decode(picture("disc", size=16, fmt="PNG"), config)
    assert isinstance(small, ImageProblem) and small.kind == "too_small" and "16x16" in small.detail
    broken = decode(jpeg[: len(jpeg) // 2], config)
    assert isinstance(broken, ImageProblem) and broken.kind == "unreadable"
    assert isinstance(ImageEncoder(config).encode_bytes(b"GIF89a?"), ImageProblem)


def test_a_picture_of_too_many_pixels_is_refused_before_decoding() -> None:
    from PIL import Image

    poster = io.BytesIO()
    Image.new("1", (8000, 6000)).save(poster, "PNG")  # a few kB on disk, 48 million pixels
    refused = decode(poster.getvalue(), ImageConfig())
    assert refused == ImageProblem("unreadable", "8000x6000 pixels, over 40,000,000")


def test_transparency_is_laid_on_white() -> None:
    from PIL import Image

    clear = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(clear, "PNG")
    decoded = decode(clear.getvalue(), ImageConfig())
    assert not isinstance(decoded, ImageProblem)
    assert decoded.getpixel((10, 10)) == (255, 255, 255)


def test_a_resized_recompressed_copy_keeps_its_perceptual_hash_within_a_few_bits() -> None:
    config = ImageConfig()
    stripes = picture("stripes")
    hashes = [
        perceptual_hash(decode(data, config))  # type: ignore[arg-type]
        for data in (stripes, near_copy(stripes, crop=0.0), picture("disc"))
    ]
    bits = hamming(np.asarray(hashes[:1], np.uint64), np.asarray(hashes, np.uint64))
    assert bits[0] == 0
    assert bits[1] <= 8 < 12 <= bits[2]


def test_a_missing_extra_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import shelfwise.images.encoder as encoder

    monkeypatch.setattr(encoder, "missing_extra", lambda: "the images extra is not installed")
    with pytest.raises(ImportError, match="images extra"):
        ImageEncoder()


def test_threads_come_from_the_config_else_from_the_threads_settings() -> None:
    from shelfwise.text import onnx_backend

    before = onnx_backend._batch_threads
    try:
        onnx_backend.use_threads(3)
        assert ImageEncoder(ImageConfig()).threads == 3
        assert ImageEncoder(ImageConfig(threads=1)).threads == 1
    finally:
        onnx_backend.use_threads(before)
