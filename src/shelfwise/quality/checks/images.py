"""Checks over the products' pictures, run at training time where the pictures are encoded.

- an image that gave no vector: unreadable, not an image, too small (`ProductImages.problems`);
- the same picture on two listings: among each picture's nearest neighbours (cosine of image vectors),
  those at least `image_duplicate_cosine` close, or whose perceptual hashes differ in at most
  `image_duplicate_hash_bits` bits; the first listing of a group is not flagged;
- a picture that looks like another category: the text check's leave-one-out centroid test
  (quality.categories.mislabelled) over image vectors, with `image_category_margin`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from shelfwise.domain import Product
from shelfwise.images.component import ProductImages
from shelfwise.images.encoder import hamming
from shelfwise.quality.categories import mislabelled
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.flags import Flags

NEIGHBOURS = 5  # nearest pictures compared with each one: copies sit at the very top
_BLOCK = 1024  # rows of the similarity matrix computed at a time


@dataclass(frozen=True)
class ImagePair:
    """Two rows of `ProductImages` that show the same picture, with the evidence."""

    first: int
    second: int
    cosine: float
    hash_bits: int


def image_checks(products: Sequence[Product], images: ProductImages, config: QualityConfig) -> Flags:
    """The image checks as flags over `products` (positions in that sequence)."""
    position = {product.product_id: i for i, product in enumerate(products)}
    flags = Flags()
    for product_id, problem in images.problems.items():
        if product_id in position:
            flags.add(f"product.image_{problem.kind}", [position[product_id]], problem.detail)
    rows = [position.get(product_id) for product_id in images.product_ids]
    groups, evidence = duplicate_groups(images.vectors, images.hashes, config)
    for group in groups:
        for row in group[1:]:
            pair = evidence[row]
            other = pair.first if pair.second == row else pair.second
            product_row = rows[row]
            if product_row is not None:
                flags.add(
                    "product.image_duplicate",
                    [product_row],
                    f"same picture as product {images.product_ids[other]!r} (cosine {pair.cosine:.3f}, "
                    f"{pair.hash_bits} of 64 hash bits differ; group of {len(group)})",
                )
    categories = [products[row].category if row is not None else None for row in rows]
    for found in mislabelled(
        sp.csr_matrix(images.vectors),
        categories,
        depth=config.category_depth,
        min_group=config.category_min_group,
        margin=config.image_category_margin,
        min_similarity=config.category_min_similarity,
    ):
        product_row = rows[found.position]
        if product_row is not None:
            flags.add(
                "product.image_category_mismatch",
                [product_row],
                f"looks like {found.suggested!r} ({found.suggested_similarity}) rather than "
                f"{found.label!r} ({found.own_similarity})",
            )
    return flags


def duplicate_pairs(vectors: np.ndarray, hashes: np.ndarray, config: QualityConfig) -> list[ImagePair]:
    """Pairs (first < second) among each picture's nearest neighbours that are the same picture."""
    n = len(vectors)
    k = min(NEIGHBOURS, n - 1)
    pairs: dict[tuple[int, int], ImagePair] = {}
    if k <= 0:
        return []
    for start in range(0, n, _BLOCK):
        block = vectors[start : start + _BLOCK] @ vectors.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        nearest = np.argpartition(-block, k - 1, axis=1)[:, :k]
        cosines = np.take_along_axis(block, nearest, axis=1)
        bits = hamming(hashes[start : start + len(block), None], hashes[nearest])
        same = (cosines >= config.image_duplicate_cosine) | (bits <= config.image_duplicate_hash_bits)
        for i, j in zip(*np.nonzero(same), strict=True):
            a, b = sorted((start + int(i), int(nearest[i, j])))
            pairs.setdefault((a, b), ImagePair(a, b, float(cosines[i, j]), int(bits[i, j])))
    return sorted(pairs.values(), key=lambda pair: (pair.first, pair.second))


def duplicate_groups(
    vectors: np.ndarray, hashes: np.ndarray, config: QualityConfig
) -> tuple[list[list[int]], dict[int, ImagePair]]:
    """Rows that show the same picture, grouped (pairs joined transitively) and sorted, and for every
    grouped row one pair that ties it to its group (the evidence a report shows)."""
    parent = list(range(len(vectors)))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    evidence: dict[int, ImagePair] = {}
    for pair in duplicate_pairs(vectors, hashes, config):
        evidence.setdefault(pair.second, pair)
        evidence.setdefault(pair.first, pair)
        first, second = root(pair.first), root(pair.second)
        if first != second:
            parent[max(first, second)] = min(first, second)
    members: dict[int, list[int]] = {}
    for row in sorted(evidence):
        members.setdefault(root(row), []).append(row)
    return sorted(members.values()), evidence
