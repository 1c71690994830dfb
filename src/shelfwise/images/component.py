"""The catalog's image vectors as a fitted component: what the similar-looking recommendations, image
similarity in search, ranker features and the image quality checks read.

`fit` reads every product's image (sources), decodes it, hashes it (perceptual hash) and encodes the
pictures it has not seen before: vectors are cached by (model, SHA-256 of the file's bytes) in the same
embedding cache as the text vectors, so a retrain encodes only new or changed pictures. A product whose
image cannot be used keeps no vector and a `problem` (unreadable, not an image, too small), which the
quality gate reports; a product without an image is simply absent.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from shelfwise.domain.products import Product
from shelfwise.images.config import ImageConfig
from shelfwise.images.encoder import ImageEncoder, decode, missing_extra, perceptual_hash
from shelfwise.images.sources import ImageProblem, read_images
from shelfwise.io.components import Component
from shelfwise.text.encoder import EmbeddingCache

logger = logging.getLogger(__name__)

CHUNK = 256  # products read, decoded and encoded at a time: bounds the pictures held in memory


class ProductImages(Component[ImageConfig]):
    """Unit image vectors of the products whose image could be used, by product id.

    `product_ids[i]` owns row i of `vectors` (float32, L2-normalised) and `hashes[i]` (64-bit pHash);
    `problems` maps the other products that named an image to why it gave no vector."""

    kind: ClassVar[str] = "product_images"
    config_type: ClassVar[type[ImageConfig]] = ImageConfig
    holds_user_data: ClassVar[bool] = False  # pictures of products only: deleting a shopper touches nothing

    def __init__(self, config: ImageConfig | None = None) -> None:
        super().__init__(config)
        self.model: str | None = None
        self.product_ids: list[str] = []
        self.vectors = np.zeros((0, ImageEncoder.dim), dtype=np.float32)
        self.hashes = np.zeros(0, dtype=np.uint64)
        self.problems: dict[str, ImageProblem] = {}
        self.encoded = 0  # pictures encoded by the last fit (the others came from the cache)
        self._rows: dict[str, int] = {}

    # fitting ---------------------------------------------------------------------------------------

    def fit(
        self,
        products: Sequence[Product],
        cache_dir: str | Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Self:
        """Read, check and encode the image of every product that has one; `progress(done, total)`."""
        encoder = ImageEncoder(self.config)
        cache = EmbeddingCache(cache_dir) if cache_dir is not None else None
        with_image = [p for p in products if p.image_url]
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        hashes: list[int] = []
        self.problems, self.encoded = {}, 0
        try:
            for start in range(0, len(with_image), CHUNK):
                chunk = with_image[start : start + CHUNK]
                chunk_ids, chunk_vectors, chunk_hashes = self._fit_chunk(chunk, encoder, cache)
                ids += chunk_ids
                vectors.append(chunk_vectors)
                hashes += chunk_hashes
                if progress is not None:
                    progress(start + len(chunk), len(with_image))
        finally:
            if cache is not None:
                cache.close()
        self.model = encoder.name
        self.product_ids = ids
        self.vectors = np.concatenate(vectors) if vectors else np.zeros((0, encoder.dim), np.float32)
        self.hashes = np.asarray(hashes, dtype=np.uint64)
        self._rows = {product_id: row for row, product_id in enumerate(ids)}
        return self

    def _fit_chunk(
        self, chunk: Sequence[Product], encoder: ImageEncoder, cache: EmbeddingCache | None
    ) -> tuple[list[str], np.ndarray, list[int]]:
        files = read_images([str(p.image_url) for p in chunk], self.config)
        ids, keys, pictures, hashes = [], [], [], []
        for product, data in zip(chunk, files, strict=True):
            if isinstance(data, ImageProblem):
                self.problems[product.product_id] = data
                continue
            picture = decode(data, self.config)
            if isinstance(picture, ImageProblem):
                self.problems[product.product_id] = picture
                continue
            ids.append(product.product_id)
            keys.append(hashlib.sha256(data).hexdigest())
            pictures.append(picture)
            hashes.append(perceptual_hash(picture))
        found = cache.get_many(encoder.name, keys) if cache is not None else {}
        vectors = np.zeros((len(ids), encoder.dim), dtype=np.float32)
        for row, vector in found.items():
            vectors[row] = vector
        first_of: dict[str, int] = {}
        for row, key in enumerate(keys):
            if row not in found:
                first_of.setdefault(key, row)  # the same file twice is encoded once
        todo = sorted(first_of.values())
        if todo:
            vectors[todo] = encoder.encode([pictures[row] for row in todo])
            self.encoded += len(todo)
            if cache is not None:
                cache.put_many(encoder.name, [keys[row] for row in todo], vectors[todo])
        for row, key in enumerate(keys):
            if row not in found and first_of[key] != row:
                vectors[row] = vectors[first_of[key]]
        return ids, vectors, hashes

    # reading ---------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.product_ids)

    def row(self, product_id: str) -> int | None:
        """The row of `product_id` in `vectors` and `hashes`, or None when it has no image vector."""
        return self._rows.get(product_id)

    def vector(self, product_id: str) -> np.ndarray | None:
        row = self._rows.get(product_id)
        return None if row is None else self.vectors[row]

    def vectors_of(self, product_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The image vectors of `product_ids` in that order (zero rows where a product has none) and a
        mask of those that have one: the shape a feature for every candidate needs."""
        rows = np.asarray([self._rows.get(product_id, -1) for product_id in product_ids], dtype=np.int64)
        present = rows >= 0
        out = np.zeros((len(rows), self.vectors.shape[1]), dtype=np.float32)
        out[present] = self.vectors[rows[present]]
        return out, present

    def hashes_of(self, product_ids: Sequence[str]) -> np.ndarray:
        """The perceptual hashes of `product_ids` in that order (0 where a product has no image)."""
        rows = np.asarray([self._rows.get(product_id, -1) for product_id in product_ids], dtype=np.int64)
        return np.where(rows >= 0, self.hashes[np.maximum(rows, 0)] if len(self.hashes) else 0, 0).astype(
            np.uint64
        )

    def similar(self, product_id: str, k: int = 10) -> list[tuple[str, float]]:
        """The `k` products whose picture is nearest to `product_id`'s (cosine, best first), itself left
        out; empty when it has no image vector."""
        row = self._rows.get(product_id)
        if row is None or k <= 0:
            return []
        scores = self.vectors @ self.vectors[row]
        scores[row] = -np.inf
        top = np.argsort(-scores, kind="stable")[: min(k, len(scores) - 1)]
        return [(self.product_ids[i], float(scores[i])) for i in top.tolist()]

    def summary(self) -> dict[str, Any]:
        """What the manifest records: the model, how many vectors, how many were encoded, the problems."""
        kinds: dict[str, int] = {}
        for problem in self.problems.values():
            kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
        return {
            "model": self.model,
            "vectors": len(self),
            "encoded": self.encoded,
            "problems": kinds,
        }

    # the component format --------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self.model is None:
            raise RuntimeError("ProductImages is not fitted: call fit(products) first")
        problems = {pid: [p.kind, p.detail] for pid, p in self.problems.items()}
        arrays = {
            "product_ids": np.asarray(self.product_ids, dtype=np.str_),
            "vectors": self.vectors,
            "hashes": self.hashes,
        }
        return {"model": self.model, "problems": problems}, arrays

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.model = str(values["model"])
        self.problems = {
            pid: ImageProblem(kind, detail) for pid, (kind, detail) in values["problems"].items()
        }
        self.product_ids = [str(pid) for pid in arrays["product_ids"].tolist()]
        self.vectors = np.asarray(arrays["vectors"], dtype=np.float32)
        self.hashes = np.asarray(arrays["hashes"], dtype=np.uint64)
        self._rows = {product_id: row for row, product_id in enumerate(self.product_ids)}


def fit_product_images(
    products: Sequence[Product], config: ImageConfig, cache_dir: str | Path | None
) -> ProductImages | None:
    """The catalog's image vectors, or None (with the reason logged) when the config turns images off,
    no product has an image, or the `images` extra is not installed: a shop without images loses nothing."""
    if not config.enabled or not any(product.image_url for product in products):
        return None
    reason = missing_extra()
    if reason is not None:
        logger.warning("product images are not encoded: %s", reason)
        return None
    return ProductImages(config).fit(products, cache_dir)
