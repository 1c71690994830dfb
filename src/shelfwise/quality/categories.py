"""Mislabelled categories: a product whose text sits closer to another category's centroid than to its own.

Its own centroid leaves the product out (leave-one-out), so a product cannot vouch for its own label.
Compared at `depth` levels of the path ("Electronics > Phones"), over categories with enough members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from shelfwise.domain.products import split_category


@dataclass(frozen=True)
class Mismatch:
    """A product that looks mislabelled: its category, the one its text sits closer to, and both
    similarities (so a person can judge the suggestion)."""

    position: int
    label: str
    suggested: str
    own_similarity: float
    suggested_similarity: float


def category_key(category: str | None, depth: int) -> str | None:
    """The first `depth` levels of a category path (`A > B`), the level compared at; None if none."""
    levels = split_category(category)
    return " > ".join(levels[:depth]) if levels else None


def mislabelled(
    vectors: sp.csr_matrix,
    categories: Sequence[str | None],
    *,
    depth: int,
    min_group: int,
    margin: float,
    min_similarity: float,
) -> list[Mismatch]:
    """Products whose text vector is closer (by more than `margin`, and at least `min_similarity`) to
    another category's centroid than to their own leave-one-out centroid, over categories of at least
    `min_group` products at `depth` levels."""
    keys = [category_key(category, depth) for category in categories]
    counts: dict[str, int] = {}
    for key in keys:
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    labels = sorted(key for key, count in counts.items() if count >= min_group)
    if len(labels) < 2:
        return []
    index = {label: i for i, label in enumerate(labels)}
    rows = np.asarray([i for i, key in enumerate(keys) if key in index], dtype=np.int64)
    own = np.asarray([index[keys[i]] for i in rows.tolist()], dtype=np.int64)
    x = vectors[rows]
    membership = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (own, np.arange(len(rows)))), (len(labels), len(rows))
    )
    sums = sp.csr_matrix(membership @ x)
    sum_norms_sq = np.asarray(sums.multiply(sums).sum(axis=1)).ravel()
    dots = np.asarray((x @ sums.T).todense(), dtype=np.float64)  # products x categories
    self_sq = np.asarray(x.multiply(x).sum(axis=1)).ravel()
    sims = dots / np.sqrt(np.maximum(sum_norms_sq, 1e-12))[None, :]
    arange = np.arange(len(rows))
    own_dot = dots[arange, own] - self_sq
    own_norm = np.sqrt(np.maximum(sum_norms_sq[own] - 2 * dots[arange, own] + self_sq, 1e-12))
    own_sim = own_dot / own_norm
    sims[arange, own] = -np.inf
    best = sims.argmax(axis=1)
    best_sim = sims[arange, best]
    flagged = np.flatnonzero((best_sim >= min_similarity) & (best_sim > own_sim + margin))
    return [
        Mismatch(
            position=int(rows[i]),
            label=labels[own[i]],
            suggested=labels[best[i]],
            own_similarity=round(float(own_sim[i]), 3),
            suggested_similarity=round(float(best_sim[i]), 3),
        )
        for i in flagged.tolist()
    ]
