"""Duplicate products: identical titles, and near-duplicates found by MinHash LSH on character trigrams and
confirmed by the cosine of their TF-IDF vectors. Linear in the catalog: no all-pairs comparison."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from shelfwise.quality.text_vectors import char_ngrams, count_matrix, pair_cosines, tfidf_from_counts
from shelfwise.text.analysis import numbers, words

_HASHES = 45
_BANDS = 9
_PRIME = (1 << 31) - 1
_MAX_BUCKET = 24  # pairs are enumerated inside a bucket up to this size; larger buckets are chained
_MIN_JACCARD = 0.5


def title_key(title: str) -> str:
    """The title's words (underscore kept) joined by single spaces: what identical titles share."""
    return " ".join(words(title, "word"))


@dataclass(frozen=True)
class DuplicateGroup:
    """Rows (positions) that are the same product; the first is the one kept unflagged."""

    positions: list[int]
    cosine: float  # the lowest confirmed similarity inside the group (1.0 for identical titles)


def identical_titles(titles: Sequence[str]) -> list[DuplicateGroup]:
    """Groups of rows whose titles are the same once case, spacing and punctuation are set aside."""
    first: dict[str, list[int]] = {}
    for position, title in enumerate(titles):
        first.setdefault(title_key(title), []).append(position)
    return [DuplicateGroup(rows, 1.0) for key, rows in first.items() if key and len(rows) > 1]


def near_duplicates(
    titles: Sequence[str], threshold: float, vectors: sp.csr_matrix | None = None, seed: int = 13
) -> list[DuplicateGroup]:
    """Groups of titles whose cosine is at least `threshold`, identical titles left out (see above)."""
    keys = [title_key(title) for title in titles]
    seen: set[str] = set()
    candidates = []
    for position, key in enumerate(keys):
        if key and key not in seen:
            seen.add(key)
            candidates.append(position)
    if len(candidates) < 2:
        return []
    counts = count_matrix([char_ngrams(titles[position]) for position in candidates])
    matrix = tfidf_from_counts(counts) if vectors is None else vectors[candidates]
    signatures = _minhash(counts, seed)
    left, right = _lsh_pairs(signatures, seed)
    # The share of equal MinHash values estimates the Jaccard of the gram sets: a cheap first cut.
    similar = (signatures[left] == signatures[right]).mean(axis=1) >= _MIN_JACCARD
    left, right = left[similar], right[similar]
    cosines = pair_cosines(matrix, left, right)
    keep = cosines >= threshold
    cache: dict[int, tuple[list[str], list[str]]] = {}
    kept = np.flatnonzero(keep)
    firsts = np.asarray(candidates)[left[kept]].tolist()
    seconds = np.asarray(candidates)[right[kept]].tolist()
    for k, i, j in zip(kept.tolist(), firsts, seconds, strict=True):
        keep[k] = _small_edit_cached(i, j, titles, cache)
    return _groups(np.asarray(candidates), left[keep], right[keep], cosines[keep])


def _parts(
    position: int, titles: Sequence[str], cache: dict[int, tuple[list[str], list[str]]]
) -> tuple[list[str], list[str]]:
    if position not in cache:
        cache[position] = (numbers(titles[position]), words(titles[position]))
    return cache[position]


def _small_edit_cached(
    i: int, j: int, titles: Sequence[str], cache: dict[int, tuple[list[str], list[str]]]
) -> bool:
    numbers_i, words_i = _parts(i, titles, cache)
    numbers_j, words_j = _parts(j, titles, cache)
    return numbers_i == numbers_j and _words_differ_by_typos(words_i, words_j)


def small_edit(first: str, second: str, max_edits: int = 2) -> bool:
    """Whether two titles differ only by typos, case, punctuation or spacing, not by a word that names a
    different variant ("Pro" and "Max", "128 GB" and "256 GB")."""
    if numbers(first) != numbers(second):
        return False
    return _words_differ_by_typos(words(first), words(second), max_edits)


def _words_differ_by_typos(a: list[str], b: list[str], max_edits: int = 2) -> bool:
    if a == b:
        return True
    set_a, set_b = set(a), set(b)
    if len(set_a) == len(a) and len(set_b) == len(b):  # no repeated words: sets say it all, and fast
        only_a = " ".join(word for word in a if word not in set_b)
        only_b = " ".join(word for word in b if word not in set_a)
    else:
        only_a, only_b = _unmatched(a, b), _unmatched(b, a)
    if not only_a and not only_b:
        return True
    budget = max_edits if min(len(only_a), len(only_b)) >= 8 else 1
    return _within(only_a, only_b, budget)


@lru_cache(maxsize=100_000)
def _within(a: str, b: str, budget: int) -> bool:
    # Variants differ by the same words again and again (colours, sizes): the answer is cached.
    return _edit_distance(a, b, budget) <= budget


def _unmatched(mine: list[str], theirs: list[str]) -> str:
    """My words the other title lacks (counting repeats), in my order."""
    left = Counter(theirs)
    out = []
    for word in mine:
        if left[word] > 0:
            left[word] -= 1
        else:
            out.append(word)
    return " ".join(out)


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (a swap of neighbours is one edit), or limit + 1 once beyond it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i]
        for j in range(1, len(b) + 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


def _lsh_pairs(signatures: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows_per_band = _HASHES // _BANDS
    pairs: list[np.ndarray] = []
    multipliers = np.random.default_rng(seed + 1).integers(1, 1 << 61, size=rows_per_band, dtype=np.uint64)
    for band in range(_BANDS):
        block = signatures[:, band * rows_per_band : (band + 1) * rows_per_band].astype(np.uint64)
        keys = (block * multipliers).sum(axis=1, dtype=np.uint64)  # wraps modulo 2**64 by design
        pairs.append(_bucket_pairs(keys))
    stacked = np.concatenate(pairs)
    n_docs = np.int64(signatures.shape[0])
    codes = np.unique(stacked[:, 0] * n_docs + stacked[:, 1])  # 1-D unique: far faster than axis=0
    return codes // n_docs, codes % n_docs


def _minhash(counts: sp.csr_matrix, seed: int) -> np.ndarray:
    """MinHash signatures of each row's set of grams; an empty row gets a gram of its own."""
    n_docs = counts.shape[0]
    lengths = np.diff(counts.indptr)
    empty = np.flatnonzero(lengths == 0)
    ids = counts.indices.astype(np.int64)
    docs = np.repeat(np.arange(n_docs), lengths)
    if len(empty):
        ids = np.r_[ids, counts.shape[1] + np.arange(len(empty))]
        docs = np.r_[docs, empty]
        order = np.argsort(docs, kind="stable")
        ids, docs = ids[order], docs[order]
    starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
    rng = np.random.default_rng(seed)
    a = rng.integers(1, _PRIME, size=_HASHES, dtype=np.int64)
    b = rng.integers(0, _PRIME, size=_HASHES, dtype=np.int64)
    signatures = np.empty((n_docs, _HASHES), dtype=np.int64)
    for k in range(_HASHES):
        signatures[:, k] = np.minimum.reduceat((a[k] * ids + b[k]) % _PRIME, starts)
    return signatures


def _bucket_pairs(keys: np.ndarray) -> np.ndarray:
    """Every pair of rows sharing a key; buckets beyond _MAX_BUCKET are chained, not enumerated."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
    starts, sizes = bounds[:-1], np.diff(bounds)
    out = [np.zeros((0, 2), dtype=np.int64)]
    for size in np.unique(sizes[sizes >= 2]).tolist():
        first = starts[sizes == size]
        if size > _MAX_BUCKET:
            for start in first.tolist():
                members = order[start : start + size]
                out.append(np.stack([members[:-1], members[1:]], axis=1))
            continue
        members = order[first[:, None] + np.arange(size)[None, :]]  # buckets x size
        if size not in _TRIANGLES:
            _TRIANGLES[size] = np.triu_indices(size, k=1)
        i, j = _TRIANGLES[size]
        out.append(np.stack([members[:, i].ravel(), members[:, j].ravel()], axis=1))
    pairs = np.concatenate(out).astype(np.int64)
    return np.sort(pairs, axis=1)


_TRIANGLES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _groups(
    positions: np.ndarray, left: np.ndarray, right: np.ndarray, cos: np.ndarray
) -> list[DuplicateGroup]:
    parent = list(range(len(positions)))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    lowest: dict[int, float] = {}
    for i, j, value in zip(left.tolist(), right.tolist(), cos.tolist(), strict=True):
        a, b = root(i), root(j)
        low = min(value, lowest.pop(a, 1.0), lowest.pop(b, 1.0) if a != b else 1.0)
        if a != b:
            parent[max(a, b)] = min(a, b)
        lowest[min(a, b)] = low
    members: dict[int, list[int]] = {}
    for node in {int(n) for n in np.r_[left, right].tolist()}:
        members.setdefault(root(node), []).append(int(positions[node]))
    return [
        DuplicateGroup(sorted(rows), round(lowest.get(key, 1.0), 3))
        for key, rows in sorted(members.items())
        if len(rows) > 1
    ]
