"""Item-kNN: cosine similarity between the items' user columns, with shrinkage, summed over a history.

Unlike co-occurrence it ignores order and distance within a sequence: two items are similar when the same
users interacted with both, at any time.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shelfwise.recommend.cooccurrence import (
    ItemNeighbourModel,
    ItemNeighbourTable,
    NeighbourScoringConfig,
    keep_top_per_row,
    popularity_prior,
)
from shelfwise.recommend.interactions import Interactions


class ItemKNNConfig(NeighbourScoringConfig):
    shrinkage: float = Field(
        default=50.0, ge=0, description="Added to the cosine denominator: damps pairs seen by few users."
    )
    binary: bool = Field(default=True, description="Treat any interaction as 1 instead of its summed weight.")
    history_decay: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="1 sums the history's rows alike (classic); < 1 favours recent ones.",
    )


def cosine_similarity(user_items: sp.csr_matrix, shrinkage: float) -> sp.csr_matrix:
    """s_ij = x_i . x_j / (|x_i| |x_j| + shrinkage) over item columns, without self-similarity."""
    items_users = sp.csr_matrix(user_items.T, dtype=np.float32)
    overlap = sp.csr_matrix(items_users @ items_users.T, dtype=np.float32)
    overlap.setdiag(0)
    overlap.eliminate_zeros()
    norms = np.sqrt(np.asarray(items_users.multiply(items_users).sum(axis=1)).ravel())
    coo = overlap.tocoo()
    values = coo.data / (norms[coo.row] * norms[coo.col] + shrinkage)
    return sp.csr_matrix((values.astype(np.float32), (coo.row, coo.col)), shape=overlap.shape)


class ItemKNN(ItemNeighbourModel):
    kind: ClassVar[str] = "item-knn"
    config_type: ClassVar[type[NeighbourScoringConfig]] = ItemKNNConfig

    def __init__(self, config: ItemKNNConfig | None = None) -> None:
        super().__init__(config)

    @property
    def knn_config(self) -> ItemKNNConfig:
        assert isinstance(self.config, ItemKNNConfig)
        return self.config

    def fit(self, data: Interactions) -> Self:
        config = self.knn_config
        user_items = data.matrix()
        if config.binary:
            user_items.data = np.ones_like(user_items.data)
        similarity = keep_top_per_row(cosine_similarity(user_items, config.shrinkage), config.top_n)
        item_counts = np.asarray(user_items.sum(axis=0), dtype=np.float64).ravel()
        self._table = ItemNeighbourTable(similarity, popularity_prior(item_counts, config.popularity_prior))
        return self
