"""Search memory: what the shop's past searches led to, as ranking features for the next query.

A query like ones shoppers typed before wants, more often than not, the products those searches led to,
even where no title word says so ("door bell" and a remembered "wireless door bell" that led to a "Door
Chime Kit"). The memory keeps every labelled query (judged, or followed by a click, add-to-cart or
purchase) with its words, its embedding and the products it led to. For each candidate of a new query the
learned ranker then reads how close in meaning and in words the nearest remembered query that led to it
is, a similarity-weighted sum of those labels, and how many remembered queries led to it at all.

Training leaves a query's own memory out (`leave_out`), so the ranker learns how far the memory of *other*
queries predicts relevance: what it meets on a query it has never seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict

from shelfwise.io.components import Component
from shelfwise.io.forgetting import Forgotten, Subject
from shelfwise.search.ragged import Ragged

MEMORY_FEATURES: tuple[str, ...] = (
    "memory_similarity",
    "memory_word_overlap",
    "memory_gain",
    "memory_queries",
)
# Only close neighbours should add up in `memory_gain`: a cosine of 0.9 weighs 0.66, one of 0.5 weighs 0.06.
SIMILARITY_POWER = 4


@dataclass(frozen=True)
class RememberedQuery:
    """One labelled query as the pipeline understood it, with the products it led to (position: label)."""

    key: str
    terms: Sequence[str]
    vector: np.ndarray | None
    labels: Mapping[int, float]


class SearchMemoryConfig(BaseModel):
    """The memory has no settings of its own: how far it reaches is the fusion's (`memory_neighbours`,
    `memory_min_similarity`), whether there is one at all `SearchConfig.search_memory`."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchMemory(Component[SearchMemoryConfig]):
    """The remembered queries. A component: keys and word ids are its JSON state, the sparse matrices
    and the query vectors its arrays."""

    kind = "search_memory"
    config_type = SearchMemoryConfig

    keys: list[str]  # the queries as labelled, so training can leave each one's own memory out
    vectors: np.ndarray | None  # (queries, dim) float32, normalised; None without a dense index
    words: sp.csc_matrix  # queries x term ids of `word_ids`: 1 where the query has the term
    word_ids: dict[str, int]
    led_to: sp.csc_matrix  # queries x products: the label, as a share of the largest label

    def __init__(self, config: SearchMemoryConfig | None = None) -> None:
        super().__init__(config)
        self._attach(
            [], None, sp.csc_matrix((0, 0), dtype=np.float32), {}, sp.csc_matrix((0, 0), dtype=np.float32)
        )

    def _attach(
        self,
        keys: list[str],
        vectors: np.ndarray | None,
        words: sp.csc_matrix,
        word_ids: dict[str, int],
        led_to: sp.csc_matrix,
    ) -> Self:
        self.keys, self.vectors, self.word_ids = keys, vectors, word_ids
        self.words, self.led_to = words, led_to
        self._rows = {key: row for row, key in enumerate(self.keys)}
        self._word_counts = np.bincount(self.words.indices, minlength=len(self.keys)).astype(np.float32)
        by_query = self.led_to.tocsr()
        self._queries_of_product = Ragged(self.led_to.indices, self.led_to.indptr)
        self._products_of_query = Ragged(by_query.indices, by_query.indptr)
        return self

    @property
    def n_products(self) -> int:
        return int(self.led_to.shape[1])

    def fit(self, remembered: Sequence[RememberedQuery], n_products: int) -> Self:
        """Remember these labelled queries over a catalog of `n_products`."""
        word_ids: dict[str, int] = {}
        word_rows, word_cols, rows, cols, labels = [], [], [], [], []
        for row, query in enumerate(remembered):
            for term in dict.fromkeys(query.terms):
                word_rows.append(row)
                word_cols.append(word_ids.setdefault(term, len(word_ids)))
            for position, label in query.labels.items():
                if label > 0:
                    rows.append(row)
                    cols.append(position)
                    labels.append(float(label))
        top = max(labels, default=1.0)
        shape = (len(remembered), n_products)
        led_to = sp.csc_matrix((np.array(labels, dtype=np.float32) / top, (rows, cols)), shape=shape)
        words = sp.csc_matrix(
            (np.ones(len(word_rows), dtype=np.float32), (word_rows, word_cols)),
            shape=(len(remembered), len(word_ids)),
        )
        has_vectors = bool(remembered) and all(q.vector is not None for q in remembered)
        vectors = (
            np.stack([np.asarray(q.vector, dtype=np.float32) for q in remembered]) if has_vectors else None
        )
        return self._attach([q.key for q in remembered], vectors, words, word_ids, led_to)

    def __len__(self) -> int:
        return len(self.keys)

    def row_of(self, key: str | None) -> int | None:
        return None if key is None else self._rows.get(key)

    def similarities(self, vector: np.ndarray | None) -> np.ndarray | None:
        """Cosine of the query to every remembered query, None without vectors: computed once per query
        for `recall` and `features`, since reading all the remembered vectors is most of their cost."""
        if self.vectors is None or vector is None:
            return None
        return np.asarray(self.vectors @ np.asarray(vector, dtype=np.float32), dtype=np.float32)

    def features(
        self,
        terms: Sequence[str],
        vector: np.ndarray | None,
        positions: np.ndarray,
        leave_out: str | None = None,
        similarity: np.ndarray | None = None,
    ) -> np.ndarray:
        """(candidates, len(MEMORY_FEATURES)) float32 for the candidates at `positions`. `similarity`:
        what `similarities(vector)` returned, if the caller has it already."""
        count = len(positions)
        out = np.zeros((count, len(MEMORY_FEATURES)), dtype=np.float32)
        if not len(self) or not count:
            return out
        flat, candidate = self._queries_of_product.gather(positions)
        rows = self.led_to.indices[flat]
        label = self.led_to.data[flat]
        own = self.row_of(leave_out)
        if own is not None:
            keep = rows != own
            candidate, rows, label = candidate[keep], rows[keep], label[keep]
        if not len(rows):
            return out
        if similarity is None:
            similarity = self.similarities(vector)
        closeness = (
            np.maximum(similarity[rows], 0.0) if similarity is not None else np.zeros(len(rows), np.float32)
        )
        overlap = self._word_overlap(terms)[rows]
        # Entries come grouped by candidate, in candidate order: one maximum or sum per run.
        run_starts = np.flatnonzero(np.r_[True, candidate[1:] != candidate[:-1]])
        owners = candidate[run_starts]
        out[owners, 0] = np.maximum.reduceat(closeness, run_starts)
        out[owners, 1] = np.maximum.reduceat(overlap, run_starts)
        out[owners, 2] = np.add.reduceat(label * closeness**SIMILARITY_POWER, run_starts)
        out[owners, 3] = np.log1p(np.diff(np.r_[run_starts, len(candidate)]))
        return out

    def recall(
        self,
        vector: np.ndarray | None,
        neighbours: int,
        min_similarity: float,
        leave_out: str | None = None,
        similarity: np.ndarray | None = None,
    ) -> np.ndarray:
        """Products (positions) that the `neighbours` remembered queries nearest in meaning led to, of
        those at least `min_similarity` close: what a shopper found for nearly the same words before.
        `similarity`: what `similarities(vector)` returned, if the caller has it already."""
        if similarity is None:
            similarity = self.similarities(vector)
        if similarity is None or not len(self) or neighbours <= 0:
            return np.zeros(0, dtype=np.int64)
        own = self.row_of(leave_out)
        if own is not None:
            similarity = similarity.copy()
            similarity[own] = -1.0
        if neighbours < len(similarity):
            nearest = np.argpartition(-similarity, neighbours - 1)[:neighbours]
        else:
            nearest = np.arange(len(similarity))
        nearest = nearest[similarity[nearest] >= min_similarity]
        if not len(nearest):
            return np.zeros(0, dtype=np.int64)
        flat, _ = self._products_of_query.gather(nearest)
        return np.unique(self._products_of_query.values[flat]).astype(np.int64)

    def _word_overlap(self, terms: Sequence[str]) -> np.ndarray:
        """Jaccard overlap of the query's terms with each remembered query's."""
        ids = [self.word_ids[t] for t in dict.fromkeys(terms) if t in self.word_ids]
        shared = np.zeros(len(self), dtype=np.float32)
        for column in ids:
            shared[self.words.indices[self.words.indptr[column] : self.words.indptr[column + 1]]] += 1.0
        union = self._word_counts + len(set(terms)) - shared
        return np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)

    def forget_state(self, subject: Subject) -> Forgotten:
        """Drop every remembered query the subject typed. A search's outcomes are attributed to the query
        of the same shopper (shelfwise.search.learning.search_outcomes), so these rows hold all they
        contributed; where others typed the same words, their outcomes for it go too until the next
        training, which is the price of not keeping who led where."""
        typed = set(subject.queries())
        keep = [row for row, key in enumerate(self.keys) if key not in typed]
        removed = len(self.keys) - len(keep)
        if removed:
            self._keep_rows(np.array(keep, dtype=np.int64))
        return Forgotten(removed=removed)

    def _keep_rows(self, rows: np.ndarray) -> None:
        """Keep only these remembered queries, in order; words no kept query uses are dropped."""
        words = self.words.tocsr()[rows]
        used = np.unique(words.indices)
        led_to = sp.csc_matrix(self.led_to.tocsr()[rows], dtype=np.float32)
        if led_to.nnz:
            led_to.data /= led_to.data.max()  # a share of the largest label kept, as `fit` makes it
        renumber = {int(column): new for new, column in enumerate(used)}
        word_ids = {term: renumber[column] for term, column in self.word_ids.items() if column in renumber}
        self._attach(
            [self.keys[int(row)] for row in rows],
            None if self.vectors is None else self.vectors[rows],
            sp.csc_matrix(words[:, used], dtype=np.float32),
            word_ids,
            led_to,
        )

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {
            "led_to_data": self.led_to.data,
            "led_to_indices": self.led_to.indices,
            "led_to_indptr": self.led_to.indptr,
            "words_indices": self.words.indices,
            "words_indptr": self.words.indptr,
        }
        if self.vectors is not None:
            arrays["vectors"] = self.vectors
        return {"keys": self.keys, "word_ids": self.word_ids, "products": self.n_products}, arrays

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        keys = [str(key) for key in values["keys"]]
        word_ids = {str(term): int(column) for term, column in values["word_ids"].items()}
        led_to = sp.csc_matrix(
            (arrays["led_to_data"], arrays["led_to_indices"], arrays["led_to_indptr"]),
            shape=(len(keys), int(values["products"])),
        )
        indices = arrays["words_indices"]
        words = sp.csc_matrix(
            (np.ones(len(indices), dtype=np.float32), indices, arrays["words_indptr"]),
            shape=(len(keys), len(word_ids)),
        )
        self._attach(keys, arrays.get("vectors"), words, word_ids, led_to)
