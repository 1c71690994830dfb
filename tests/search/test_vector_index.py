"""The vector index: exact search for small catalogs, an HNSW graph (faiss) for large ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shelfwise.index.vector import VectorIndex, VectorIndexConfig


def unit_rows(count: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_auto_is_exact_below_the_threshold_and_a_graph_above() -> None:
    vectors = unit_rows(300, 16)
    assert VectorIndex(VectorIndexConfig(exact_below=1000)).fit(vectors).method == "exact"
    assert VectorIndex(VectorIndexConfig(exact_below=100)).fit(vectors).method == "hnsw"


def test_the_graph_finds_nearly_all_true_neighbours_and_honours_the_filter(tmp_path: Path) -> None:
    vectors = unit_rows(3000, 32, seed=1)
    queries = unit_rows(40, 32, seed=2)
    graph = VectorIndex(VectorIndexConfig(method="hnsw")).fit(vectors)
    exact = VectorIndex(VectorIndexConfig(method="exact")).fit(vectors)
    found = [
        len(set(graph.search(q, 10).positions) & set(exact.search(q, 10).positions)) / 10 for q in queries
    ]
    assert np.mean(found) >= 0.95
    mask = np.zeros(3000, dtype=bool)
    mask[::3] = True  # a third of the catalog passes: the graph walk applies it
    for q in queries[:10]:
        hits = graph.search(q, 10, mask=mask)
        assert len(hits.positions) == 10 and mask[hits.positions].all()
        assert np.all(np.diff(hits.scores) <= 0)
    loaded = VectorIndex.load(graph.save(tmp_path / "v"))
    assert loaded.method == "hnsw"
    for q in queries[:5]:
        assert loaded.search(q, 10).positions.tolist() == graph.search(q, 10).positions.tolist()


def test_a_selective_filter_is_scanned_exactly_so_the_page_is_full() -> None:
    vectors = unit_rows(3000, 32, seed=3)
    graph = VectorIndex(VectorIndexConfig(method="hnsw")).fit(vectors)
    mask = np.zeros(3000, dtype=bool)
    mask[[5, 77, 901, 1500, 2999]] = True
    query = unit_rows(1, 32, seed=4)[0]
    hits = graph.search(query, 10, mask=mask)
    expected = np.flatnonzero(mask)[np.argsort(-(vectors[mask] @ query), kind="stable")]
    assert hits.positions.tolist() == expected.tolist()
