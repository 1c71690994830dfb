"""Diversity of a recommendation page: a per-category cap when ranking, and the two measures it moves.

A page of ten near-identical items wastes nine slots. Capping how many items of one category a page shows
(later ones wait until the page is otherwise short) keeps the best items first and the page varied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import combinations
from typing import TypeVar

T = TypeVar("T")


def cap_per_category(
    ranked: Iterable[T], category: Callable[[T], str | None], cap: int | None, n: int
) -> list[T]:
    """The first `n` of `ranked` with at most `cap` per category, then deferred ones if the page is short.

    Items without a category are never capped."""
    if cap is None:
        return list(ranked)[:n]
    chosen: list[T] = []
    deferred: list[T] = []
    counts: Counter[str] = Counter()
    for item in ranked:
        if len(chosen) == n:
            break
        key = category(item)
        if key is not None and counts[key] >= cap:
            deferred.append(item)
            continue
        if key is not None:
            counts[key] += 1
        chosen.append(item)
    return chosen + deferred[: n - len(chosen)]


def intra_list_diversity(categories: Sequence[str | None]) -> float:
    """Share of the page's item pairs whose categories differ (0: one category, 1: all different)."""
    pairs = list(combinations(categories, 2))
    if not pairs:
        return 0.0
    return sum(1 for a, b in pairs if a is None or b is None or a != b) / len(pairs)


def catalog_coverage(pages: Iterable[Sequence[str]], catalog_size: int) -> float:
    """Share of the catalog that appears on at least one of the pages."""
    if catalog_size <= 0:
        raise ValueError(f"catalog_size must be positive, got {catalog_size}")
    return len({item for page in pages for item in page}) / catalog_size
