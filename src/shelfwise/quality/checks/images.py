"""Checks over the products' pictures, run at training time where the pictures are encoded.

- an image that gave no vector: unreadable, not an image, too small (`ProductImages.problems`);
- the same picture on two listings: among each picture's nearest neighbours (cosine of image vectors),
  those at least `image_duplicate_cosine` close, or whose perceptual hashes differ in at most
  `image_duplicate_hash_bits` bits; the first listing of a group is not flagged;
- a picture that looks like another category: at least `image_category_vote` of its
  `image_category_neighbours` nearest pictures share one other category (at `category_depth` levels) and
  none has the product's own. A vote of neighbours, not the centroid test of the text check: pictures
  of one category are many looks (a sandal, a boot), which a single centroid blurs (BENCHMARKS.md has
  both figures).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shelfwise.domain import Product
from shelfwise.images.component import ProductImages
from shelfwise.images.encoder import hamming
from shelfwise.quality.categories import category_key
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.flags import Flags

DUPLICATE_NEIGHBOURS = 5  # nearest pictures compared with each one: copies sit at the very top
_BLOCK = 1024  # rows of the similarity matrix computed at a time


@dataclass(frozen=True)
class ImagePair:
    """Two rows of `ProductImages` that show the same picture, with the evidence."""

    first: int
    second: int
    cosine: float
    hash_bits: int


@dataclass(frozen=True)
class PictureMismatch:
    """A row whose nearest pictures are mostly of another category: the label, the suggestion, the votes."""

    row: int
    label: str
    suggested: str
    votes: int
    neighbours: int


def nearest_neighbours(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` nearest other rows by cosine (unit vectors), nearest first, and their cosines.
    Exact, in blocks of rows: quadratic time, bounded memory."""
    n = len(vectors)
    k = min(k, n - 1)
    if k <= 0:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.float32)
    indices, cosines = np.zeros((n, k), dtype=np.int64), np.zeros((n, k), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        block = vectors[start : start + _BLOCK] @ vectors.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        scores = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-scores, axis=1, kind="stable")
        indices[start : start + len(block)] = np.take_along_axis(top, order, axis=1)
        cosines[start : start + len(block)] = np.take_along_axis(scores, order, axis=1)
    return indices, cosines


def image_checks(products: Sequence[Product], images: ProductImages, config: QualityConfig) -> Flags:
    """The image checks as flags over `products` (positions in that sequence)."""
    position = {product.product_id: i for i, product in enumerate(products)}
    flags = Flags()
    for product_id, problem in images.problems.items():
        if product_id in position:
            flags.add(f"product.image_{problem.kind}", [position[product_id]], problem.detail)
    rows = [position.get(product_id) for product_id in images.product_ids]
    neighbours = nearest_neighbours(
        images.vectors, max(DUPLICATE_NEIGHBOURS, config.image_category_neighbours)
    )
    groups, evidence = duplicate_groups(images.vectors, images.hashes, config, neighbours)
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
    for found in picture_mismatches(categories, neighbours[0], config):
        product_row = rows[found.row]
        if product_row is not None:
            flags.add(
                "product.image_category_mismatch",
                [product_row],
                f"looks like {found.suggested!r} ({found.votes} of its {found.neighbours} nearest "
                f"pictures) rather than {found.label!r} (none)",
            )
    return flags


def picture_mismatches(
    categories: Sequence[str | None], neighbours: np.ndarray, config: QualityConfig
) -> list[PictureMismatch]:
    """Rows whose nearest pictures (`neighbours`, nearest first) vote for another category."""
    keys = [category_key(category, config.category_depth) for category in categories]
    k = min(config.image_category_neighbours, neighbours.shape[1])
    found = []
    for row, nearest in enumerate(neighbours[:, :k].tolist()):
        own = keys[row]
        if own is None or k == 0:
            continue
        votes = Counter(keys[other] for other in nearest if keys[other] is not None)
        if not votes or own in votes:
            continue
        suggested, count = votes.most_common(1)[0]
        if count >= config.image_category_vote * k:
            found.append(PictureMismatch(row, own, str(suggested), count, k))
    return found


def duplicate_pairs(
    vectors: np.ndarray,
    hashes: np.ndarray,
    config: QualityConfig,
    neighbours: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[ImagePair]:
    """Pairs (first < second) among each picture's nearest neighbours that are the same picture."""
    indices, cosines = neighbours or nearest_neighbours(vectors, DUPLICATE_NEIGHBOURS)
    indices, cosines = indices[:, :DUPLICATE_NEIGHBOURS], cosines[:, :DUPLICATE_NEIGHBOURS]
    if indices.size == 0:
        return []
    bits = hamming(hashes[:, None], hashes[indices])
    same = (cosines >= config.image_duplicate_cosine) | (bits <= config.image_duplicate_hash_bits)
    pairs: dict[tuple[int, int], ImagePair] = {}
    for i, j in zip(*np.nonzero(same), strict=True):
        a, b = sorted((int(i), int(indices[i, j])))
        pairs.setdefault((a, b), ImagePair(a, b, float(cosines[i, j]), int(bits[i, j])))
    return sorted(pairs.values(), key=lambda pair: (pair.first, pair.second))


def duplicate_groups(
    vectors: np.ndarray,
    hashes: np.ndarray,
    config: QualityConfig,
    neighbours: tuple[np.ndarray, np.ndarray] | None = None,
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
    for pair in duplicate_pairs(vectors, hashes, config, neighbours):
        evidence.setdefault(pair.second, pair)
        evidence.setdefault(pair.first, pair)
        first, second = root(pair.first), root(pair.second)
        if first != second:
            parent[max(first, second)] = min(first, second)
    members: dict[int, list[int]] = {}
    for row in sorted(evidence):
        members.setdefault(root(row), []).append(row)
    return sorted(members.values()), evidence
