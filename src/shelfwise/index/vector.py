"""Inner-product search over L2-normalised embeddings, under a filter mask: exact or HNSW (faiss).

Up to `exact_below` products (20,000 by default) one query is a matrix-vector product of a few
milliseconds, never wrong, and a filter is a mask on the scores. Above it the full scan grows with the
catalog, so an HNSW graph (faiss) answers in about a millisecond with the filter applied
inside the graph walk (an ID selector), and a selective filter, where the walk would starve, scans exactly
the few products that pass. Either way a filtered page is as full as the matches allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.components import Component, ComponentFormatError

_GRAPH_FILE = "hnsw.faiss"


class VectorIndexConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["auto", "exact", "hnsw"] = Field(
        default="auto", description="`auto`: exact below `exact_below` products, HNSW above."
    )
    exact_below: int = Field(default=20_000, ge=0)
    hnsw_m: int = Field(default=32, ge=4, le=128, description="Graph degree: recall against memory.")
    ef_construction: int = Field(default=80, ge=8)
    ef_search: int = Field(default=64, ge=8, description="Search breadth: recall against speed.")
    exact_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A filter passing fewer than this share of products is scanned exactly.",
    )


@dataclass(frozen=True)
class VectorMatches:
    positions: np.ndarray  # int64, best first
    scores: np.ndarray  # float32 cosine similarity


class VectorIndex(Component[VectorIndexConfig]):
    """Rows are products in catalog order; `model` names the encoder that made them. A component: the
    vectors are its arrays, and an HNSW graph is written in faiss's own format through the native hooks
    (so loading does not rebuild it)."""

    kind = "vector_index"
    # The products' embeddings; an encoder fine-tuned on searches is answered for by the version
    # (shelfwise.training.forgetting).
    holds_user_data = False
    config_type = VectorIndexConfig

    def __init__(self, config: VectorIndexConfig | None = None) -> None:
        super().__init__(config)
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self.model = ""
        self._graph: Any = None
        self._saved_method = "exact"

    @property
    def _wants_graph(self) -> bool:
        method = self.config.method
        return len(self) > 0 and (
            method == "hnsw" or (method == "auto" and len(self) >= self.config.exact_below)
        )

    @property
    def method(self) -> str:
        return "hnsw" if self._graph is not None else "exact"

    def _build_graph(self) -> Any:
        import faiss

        graph = faiss.IndexHNSWFlat(self.dim, self.config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = self.config.ef_construction
        graph.add(self._vectors)
        return graph

    @staticmethod
    def _checked(vectors: np.ndarray) -> np.ndarray:
        if vectors.ndim != 2:
            raise ValueError(
                f"vectors must be a 2-D array (products x dimensions), got shape {vectors.shape}"
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def fit(self, vectors: np.ndarray, model: str = "") -> Self:
        self._vectors = self._checked(vectors)
        self.model = model
        self._graph = self._build_graph() if self._wants_graph else None
        return self

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    def __len__(self) -> int:
        return int(self._vectors.shape[0])

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every product to the (normalised) query vector."""
        query = np.asarray(query, dtype=np.float32)
        if query.shape != (self.dim,):
            raise ValueError(f"query vector has shape {query.shape}, the index expects ({self.dim},)")
        return self._vectors @ query

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> VectorMatches:
        """The k most similar products among those passing `mask`, ties broken by position (the HNSW
        path is approximate: it may miss a few of the true top k, as its benchmark measures)."""
        query = np.asarray(query, dtype=np.float32)
        if query.shape != (self.dim,):
            raise ValueError(f"query vector has shape {query.shape}, the index expects ({self.dim},)")
        allowed = int(mask.sum()) if mask is not None else len(self)
        if self._graph is None or k <= 0 or allowed <= max(k, self.config.exact_share * len(self)):
            candidates = np.flatnonzero(mask) if mask is not None else np.arange(len(self))
            return top_k(candidates, self._vectors[candidates] @ query, k)
        return self._graph_search(query, k, mask)

    def _graph_search(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> VectorMatches:
        import faiss

        parameters = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # missing from the stubs
        parameters.efSearch = max(self.config.ef_search, k)
        if mask is not None and not mask.all():
            bits = np.packbits(mask, bitorder="little")
            parameters.sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        scores, labels = self._graph.search(query[None, :], k, params=parameters)
        found = labels[0] >= 0
        return top_k(labels[0][found].astype(np.int64), scores[0][found], k)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"model": self.model, "method": self.method}, {"vectors": self._vectors}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        if "vectors" not in arrays:
            raise ComponentFormatError("a saved vector index without its vectors")
        self._vectors = self._checked(arrays["vectors"])
        self.model = str(values["model"])
        self._saved_method = str(values["method"])

    def save_native(self, directory: Path) -> None:
        if self._graph is not None:
            import faiss

            faiss.write_index(self._graph, str(directory / _GRAPH_FILE))

    def load_native(self, directory: Path) -> None:
        self._graph = None
        if self._saved_method != "hnsw":
            return
        if not (directory / _GRAPH_FILE).is_file():
            raise ComponentFormatError(f"{directory}: the HNSW graph {_GRAPH_FILE} is missing")
        import faiss

        self._graph = faiss.read_index(str(directory / _GRAPH_FILE))
        if self._graph.ntotal != len(self):
            raise ComponentFormatError(
                f"{directory}: the graph holds {self._graph.ntotal} vectors for {len(self)}"
            )


def top_k(candidates: np.ndarray, scores: np.ndarray, k: int) -> VectorMatches:
    """The k best (candidate, score) pairs, best first, ties by candidate position."""
    if k < len(candidates):
        keep = np.argpartition(-scores, k - 1)[:k] if k > 0 else np.zeros(0, dtype=np.int64)
        candidates, scores = candidates[keep], scores[keep]
    order = np.lexsort((candidates, -scores))
    return VectorMatches(
        positions=candidates[order].astype(np.int64), scores=scores[order].astype(np.float32)
    )
