"""Item-item co-occurrence: the engine's default "for you" and "similar" model, and "bought together".

Items a user touched close together in time are related. Counting such pairs over all users gives a sparse
item x item table; a user's scores are the neighbour rows of their recent items, the last one weighted most.
It trains in seconds, explains itself ("because you viewed X") and beats matrix factorisation on short,
sequential shop histories (see bench/recs_beauty.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.forgetting import Forgotten
from shelfwise.recommend.base import ScoringComponent
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.popularity import SECONDS_PER_DAY


def keep_top_per_row(matrix: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """The same matrix with only the `n` largest entries of each row (ties kept by lower column)."""
    coo = matrix.tocoo()
    order = np.lexsort((coo.col, -coo.data, coo.row))
    rows, cols, values = coo.row[order], coo.col[order], coo.data[order]
    row_starts = np.searchsorted(rows, np.arange(matrix.shape[0]))
    rank_in_row = np.arange(len(rows)) - row_starts[rows]
    keep = rank_in_row < n
    return sp.csr_matrix((values[keep], (rows[keep], cols[keep])), shape=matrix.shape, dtype=np.float32)


def check_item_indices(items: np.ndarray, n_items: int, what: str = "history") -> None:
    if items.size and (items.min() < 0 or items.max() >= n_items):
        bad = items[(items < 0) | (items >= n_items)][0]
        raise ValueError(f"{what} holds item index {bad}, outside the model's 0..{n_items - 1}")


def history_weights(history: np.ndarray, decay: float, max_history: int) -> tuple[np.ndarray, np.ndarray]:
    """The last `max_history` items of an oldest-first history and their weights decay**age (last: age 0)."""
    recent = np.asarray(history, dtype=np.int64)[-max_history:]
    ages = np.arange(len(recent) - 1, -1, -1, dtype=np.float64)
    return recent, np.power(decay, ages).astype(np.float32)


@dataclass
class ItemNeighbourTable:
    """Sparse item x item scores (row i: the neighbours of item i) plus a prior added to every item."""

    matrix: sp.csr_matrix
    prior: np.ndarray  # float32 (n_items,)

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[0])

    def history_matrix(
        self, histories: Sequence[np.ndarray], decay: float, max_history: int
    ) -> sp.csr_matrix:
        """One row per user holding the recency weights of their history items."""
        weighted = [history_weights(h, decay, max_history) for h in histories]
        items = np.concatenate([w[0] for w in weighted]) if weighted else np.zeros(0, np.int64)
        check_item_indices(items, self.n_items)
        values = np.concatenate([w[1] for w in weighted]) if weighted else np.zeros(0, np.float32)
        rows = np.repeat(np.arange(len(weighted)), [len(w[0]) for w in weighted])
        return sp.csr_matrix((values, (rows, items)), shape=(len(weighted), self.n_items), dtype=np.float32)

    def score_batch(self, histories: Sequence[np.ndarray], decay: float, max_history: int) -> np.ndarray:
        scores = (self.history_matrix(histories, decay, max_history) @ self.matrix).toarray()
        return np.asarray(scores + self.prior, dtype=np.float32)

    def neighbours(self, item: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The `n` strongest neighbours of `item`, best first, and their scores."""
        check_item_indices(np.array([item]), self.n_items, what="item")
        start, end = self.matrix.indptr[item], self.matrix.indptr[item + 1]
        cols, values = self.matrix.indices[start:end], self.matrix.data[start:end]
        order = np.lexsort((cols, -values))[:n]
        return cols[order].astype(np.int64), values[order].astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "data": self.matrix.data,
            "indices": self.matrix.indices,
            "indptr": self.matrix.indptr,
            "prior": self.prior,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> ItemNeighbourTable:
        n_items = len(arrays["prior"])
        matrix = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n_items, n_items), dtype=np.float32
        )
        return cls(matrix=matrix, prior=arrays["prior"].astype(np.float32))


def normalise_pairs(counts: sp.csr_matrix, item_counts: np.ndarray, alpha: float) -> sp.csr_matrix:
    """c_ij / (n_i n_j)^(alpha/2): alpha 0 keeps raw counts, 1 is cosine-like and favours rarer pairs."""
    scale = np.power(np.maximum(item_counts, 1e-12), -alpha / 2.0).astype(np.float32)
    return sp.csr_matrix(sp.diags(scale) @ counts @ sp.diags(scale), dtype=np.float32)


def popularity_prior(item_counts: np.ndarray, weight: float) -> np.ndarray:
    """A small popularity score that orders items no neighbour row reaches, instead of leaving them tied."""
    top = float(item_counts.max()) if item_counts.size else 0.0
    if weight == 0.0 or top <= 0.0:
        return np.zeros(len(item_counts), np.float32)
    return (weight * item_counts / top).astype(np.float32)


class NeighbourScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    top_n: int = Field(default=100, ge=1, description="Neighbours kept per item.")
    history_decay: float = Field(
        default=0.6, gt=0, le=1, description="Weight of a history item relative to the one after it."
    )
    max_history: int = Field(default=20, ge=1, description="Most recent history items that are scored from.")
    popularity_prior: float = Field(
        default=1e-3, ge=0, description="Weight of normalised popularity added to every score (tie-breaker)."
    )


class CoOccurrenceConfig(NeighbourScoringConfig):
    window: int = Field(default=8, ge=1, description="An item pairs with the user's next `window` items.")
    distance_power: float = Field(default=0.5, ge=0, description="Pairs `d` apart count 1/d**distance_power.")
    backward_weight: float = Field(
        default=0.25, ge=0, le=1, description="Weight of 'j came before i' relative to 'j came after i'."
    )
    alpha: float = Field(default=0.25, ge=0, le=2, description="Normalisation exponent on sqrt(n_i n_j).")
    top_n: int = Field(default=200, ge=1, description="Neighbours kept per item.")
    same_session: bool = Field(default=True, description="Only pair items of the same session, when known.")
    use_weights: bool = Field(default=True, description="Scale pairs by sqrt(w_i w_j) of the interactions.")
    keep_counts: bool = Field(
        default=True,
        description="Save the raw pair counts beside the pruned table, so that a deleted shopper's pairs "
        "are subtracted exactly; off: smaller artifacts, and a deletion retrains.",
    )


class CoPurchaseConfig(NeighbourScoringConfig):
    window_days: float = Field(default=30.0, gt=0, description="Purchases this close in time pair up.")
    alpha: float = Field(default=0.5, ge=0, le=2, description="Normalisation exponent on sqrt(n_i n_j).")
    min_support: int = Field(default=1, ge=1, description="Fewest users who must have bought a pair.")
    max_pairs_per_item: int = Field(
        default=50, ge=1, description="Later purchases of the same user an item pairs with, at most."
    )
    top_n: int = Field(default=50, ge=1, description="Neighbours kept per item.")
    history_decay: float = Field(default=1.0, gt=0, le=1, description="1: every item in a cart counts alike.")
    popularity_prior: float = Field(default=0.0, ge=0, description="Weight of normalised popularity.")
    keep_counts: bool = Field(
        default=True,
        description="Save the raw pair counts beside the pruned table, so that a deleted shopper's pairs "
        "are subtracted exactly; off: smaller artifacts, and a deletion retrains.",
    )


@dataclass(frozen=True)
class _Sequence:
    """Interactions with each user's consecutive repeats of one item merged into one step."""

    user: np.ndarray
    group: np.ndarray  # user, or session where pairs must stay within a session
    item: np.ndarray
    weight: np.ndarray


def _collapse_repeats(data: Interactions, same_session: bool, use_weights: bool) -> _Sequence:
    # Viewing, carting and buying one item are one step of the journey, not three: merging them keeps the
    # window on distinct items. The merged step keeps its strongest weight.
    group = data.session_idx if same_session and data.session_idx is not None else data.user_idx
    n = len(data)
    starts = np.ones(n, dtype=bool)
    starts[1:] = (data.user_idx[1:] != data.user_idx[:-1]) | (data.item_idx[1:] != data.item_idx[:-1])
    first = np.flatnonzero(starts)
    weights = data.weights if use_weights else np.ones(n, np.float32)
    merged = np.maximum.reduceat(weights, first) if n else np.zeros(0, np.float32)
    return _Sequence(data.user_idx[first], group[first], data.item_idx[first], merged.astype(np.float32))


def _windowed_pair_counts(steps: _Sequence, n_items: int, config: CoOccurrenceConfig) -> sp.csr_matrix:
    """Forward counts: entry (i, j) sums 1/d**p over j following i by d <= window steps in one group."""
    rows, cols, values = [], [], []
    for distance in range(1, config.window + 1):
        same = (steps.user[distance:] == steps.user[:-distance]) & (
            steps.group[distance:] == steps.group[:-distance]
        )
        before, after = np.flatnonzero(same), np.flatnonzero(same) + distance
        strength = np.sqrt(steps.weight[before] * steps.weight[after]) / distance**config.distance_power
        rows.append(steps.item[before])
        cols.append(steps.item[after])
        values.append(strength)
    counts = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    counts.setdiag(0)
    counts.eliminate_zeros()
    return counts


class ItemNeighbourModel(ScoringComponent[NeighbourScoringConfig]):
    """Shared scoring, neighbour look-up and persistence of the item-item models."""

    config_type: ClassVar[type[NeighbourScoringConfig]]

    def __init__(self, config: NeighbourScoringConfig | None = None) -> None:
        super().__init__(config)
        self._table: ItemNeighbourTable | None = None
        # The sums the table is normalised and pruned from (`keep_counts`): additive over shoppers.
        self._counts: sp.csr_matrix | None = None
        self._item_counts: np.ndarray | None = None

    def _pair_counts(self, data: Interactions) -> tuple[sp.csr_matrix, np.ndarray]:
        """(item x item pair counts, per-item counts) of `data`: sums over shoppers, each shopper's terms
        from their own interactions alone."""
        raise NotImplementedError(f"{type(self).__name__} does not count pairs")

    def _table_of(self, counts: sp.csr_matrix, item_counts: np.ndarray) -> ItemNeighbourTable:
        raise NotImplementedError(f"{type(self).__name__} does not count pairs")

    def _residue(self) -> float:
        """Below this a subtracted count is float rounding: half the smallest term one pair adds."""
        return 0.5

    def _fit_counts(self, data: Interactions) -> Self:
        counts, item_counts = self._pair_counts(data)
        self._table = self._table_of(counts, item_counts)
        keep = getattr(self.config, "keep_counts", False)
        self._counts, self._item_counts = (counts, item_counts) if keep else (None, None)
        return self

    def forget_interactions(self, data: Interactions) -> Forgotten:
        """Subtract the shopper's pair and item counts and rebuild the table: the table then is what
        training without them gives (a count the quality gate kept out of training stops at zero).
        Without saved counts (`keep_counts` off, or an older save) a retrain is asked for."""
        if not len(data):
            return Forgotten()
        if self._counts is None or self._item_counts is None:
            return Forgotten(retrain=[self.kind])
        counts, item_counts = self._pair_counts(data)
        remaining = sp.csr_matrix(self._counts - counts, dtype=np.float32)
        remaining.data[remaining.data < self._residue()] = 0.0
        remaining.eliminate_zeros()
        items = self._item_counts - item_counts
        items[items < self._residue()] = 0.0
        self._counts, self._item_counts = remaining, items
        self._table = self._table_of(remaining, items)
        return Forgotten(removed=int(counts.nnz))

    @property
    def table(self) -> ItemNeighbourTable:
        if self._table is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load() first")
        return self._table

    @property
    def n_items(self) -> int:
        return self.table.n_items

    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self.table.score_batch(histories, self.config.history_decay, self.config.max_history)

    def neighbours(self, item: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The `n` items most related to `item`, best first, with their scores."""
        return self.table.neighbours(item, n)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = self.table.to_arrays()
        if self._counts is not None and self._item_counts is not None:
            arrays |= {
                "counts_data": self._counts.data,
                "counts_indices": self._counts.indices,
                "counts_indptr": self._counts.indptr,
                "item_counts": self._item_counts,
            }
        return {}, arrays

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self._table = ItemNeighbourTable.from_arrays(arrays)
        if "counts_data" in arrays and "item_counts" in arrays:
            n = self._table.n_items
            self._counts = sp.csr_matrix(
                (arrays["counts_data"], arrays["counts_indices"], arrays["counts_indptr"]),
                shape=(n, n),
                dtype=np.float32,
            )
            self._item_counts = arrays["item_counts"].astype(np.float64)


class CoOccurrence(ItemNeighbourModel):
    """Items that follow each other within a few steps of a user's sequence, recency-weighted at scoring."""

    kind: ClassVar[str] = "co-occurrence"
    config_type: ClassVar[type[NeighbourScoringConfig]] = CoOccurrenceConfig

    def __init__(self, config: CoOccurrenceConfig | None = None) -> None:
        super().__init__(config)

    @property
    def cooccurrence_config(self) -> CoOccurrenceConfig:
        assert isinstance(self.config, CoOccurrenceConfig)
        return self.config

    def fit(self, data: Interactions) -> Self:
        return self._fit_counts(data)

    def _pair_counts(self, data: Interactions) -> tuple[sp.csr_matrix, np.ndarray]:
        config = self.cooccurrence_config
        steps = _collapse_repeats(data, config.same_session, config.use_weights)
        forward = _windowed_pair_counts(steps, data.n_items, config)
        counts = sp.csr_matrix(forward + config.backward_weight * forward.T, dtype=np.float32)
        return counts, np.bincount(steps.item, weights=steps.weight, minlength=data.n_items)

    def _table_of(self, counts: sp.csr_matrix, item_counts: np.ndarray) -> ItemNeighbourTable:
        config = self.cooccurrence_config
        matrix = keep_top_per_row(normalise_pairs(counts, item_counts, config.alpha), config.top_n)
        return ItemNeighbourTable(matrix, popularity_prior(item_counts, config.popularity_prior))

    def _residue(self) -> float:
        # A pair adds at least backward_weight / window**distance_power (interaction weights are >= 1).
        config = self.cooccurrence_config
        smallest = min(1.0, config.backward_weight or 1.0) / config.window**config.distance_power
        return 0.5 * smallest


class CoPurchase(ItemNeighbourModel):
    """Bought together: items the same user purchased within `window_days`, counted once per user.

    Fit it on Interactions built from purchase (and add-to-cart) events only; times are epoch seconds.
    """

    kind: ClassVar[str] = "co-purchase"
    config_type: ClassVar[type[NeighbourScoringConfig]] = CoPurchaseConfig

    def __init__(self, config: CoPurchaseConfig | None = None) -> None:
        super().__init__(config)

    @property
    def copurchase_config(self) -> CoPurchaseConfig:
        assert isinstance(self.config, CoPurchaseConfig)
        return self.config

    def _user_pairs(self, data: Interactions) -> np.ndarray:
        """Distinct (user, i, j) with i bought no more than window_days before j, both orders."""
        window = self.copurchase_config.window_days * SECONDS_PER_DAY
        found = [np.zeros((0, 3), np.int64)]
        for distance in range(1, self.copurchase_config.max_pairs_per_item + 1):
            close = (data.user_idx[distance:] == data.user_idx[:-distance]) & (
                data.times[distance:] - data.times[:-distance] <= window
            )
            if not close.any():
                # Times rise within a user, so no pair further apart can be close either.
                break
            first = np.flatnonzero(close)
            user, a, b = data.user_idx[first], data.item_idx[first], data.item_idx[first + distance]
            found.append(np.column_stack([user, a, b]).astype(np.int64))
            found.append(np.column_stack([user, b, a]).astype(np.int64))
        pairs = np.concatenate(found)
        pairs = pairs[pairs[:, 1] != pairs[:, 2]]
        return np.unique(pairs, axis=0)

    def fit(self, data: Interactions) -> Self:
        return self._fit_counts(data)

    def _pair_counts(self, data: Interactions) -> tuple[sp.csr_matrix, np.ndarray]:
        pairs = self._user_pairs(data)
        counts = sp.csr_matrix(
            (np.ones(len(pairs), np.float32), (pairs[:, 1], pairs[:, 2])),
            shape=(data.n_items, data.n_items),
            dtype=np.float32,
        )
        buyers = np.unique(np.column_stack([data.user_idx, data.item_idx]), axis=0)
        return counts, np.bincount(buyers[:, 1], minlength=data.n_items).astype(np.float64)

    def _table_of(self, counts: sp.csr_matrix, item_counts: np.ndarray) -> ItemNeighbourTable:
        config = self.copurchase_config
        supported = sp.csr_matrix(counts, dtype=np.float32, copy=True)
        supported.data[supported.data < config.min_support] = 0
        supported.eliminate_zeros()
        matrix = keep_top_per_row(normalise_pairs(supported, item_counts, config.alpha), config.top_n)
        return ItemNeighbourTable(matrix, popularity_prior(item_counts, config.popularity_prior))
