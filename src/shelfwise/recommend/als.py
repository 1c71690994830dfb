"""Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) through the `implicit` library.

A user's vector is solved from their history against the fixed item factors at scoring time, so new users
and fresh events need no refit. Confidence is 1 + alpha * weight, as in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from pydantic import BaseModel, ConfigDict, Field
from threadpoolctl import threadpool_limits

from shelfwise.recommend.base import ScoringComponent
from shelfwise.recommend.cooccurrence import check_item_indices
from shelfwise.recommend.interactions import Interactions


class ALSConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    factors: int = Field(default=128, ge=1)
    regularization: float = Field(default=1.0, ge=0)
    alpha: float = Field(default=40.0, ge=0, description="Confidence is 1 + alpha * interaction weight.")
    iterations: int = Field(default=15, ge=1)
    num_threads: int = Field(default=0, ge=0, description="Solver threads; 0 uses every core.")
    random_state: int = 42


class ALS(ScoringComponent[ALSConfig]):
    kind: ClassVar[str] = "als"
    config_type: ClassVar[type[ALSConfig]] = ALSConfig

    def __init__(self, config: ALSConfig | None = None) -> None:
        super().__init__(config)
        self._model: AlternatingLeastSquares | None = None

    def _new_model(self) -> AlternatingLeastSquares:
        # implicit's own alpha multiplies the weights; ours sits in the 1 + alpha * w we pass it instead.
        return AlternatingLeastSquares(
            factors=self.config.factors,
            regularization=self.config.regularization,
            alpha=1.0,
            iterations=self.config.iterations,
            num_threads=self.config.num_threads,
            random_state=self.config.random_state,
            dtype=np.float32,
        )

    def _confidence(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        confidence = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
        confidence.data = 1.0 + self.config.alpha * confidence.data
        return confidence

    def fit(self, data: Interactions) -> Self:
        # A multi-threaded BLAS inside implicit's per-user solves slows it badly (implicit warns about it).
        with threadpool_limits(1, "blas"):
            model = self._new_model()
            model.fit(self._confidence(data.matrix()), show_progress=False)
        self._model = model
        return self

    @property
    def model(self) -> AlternatingLeastSquares:
        if self._model is None:
            raise RuntimeError("ALS is not fitted: call fit() or load() first")
        return self._model

    @property
    def item_factors(self) -> np.ndarray:
        factors: np.ndarray = self.model.item_factors
        return factors

    @property
    def n_items(self) -> int:
        return int(self.item_factors.shape[0])

    def user_factors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Each history's least-squares user vector against the fixed item factors."""
        items = [np.asarray(h, dtype=np.int64) for h in histories]
        flat = np.concatenate(items) if items else np.zeros(0, np.int64)
        check_item_indices(flat, self.n_items)
        rows = np.repeat(np.arange(len(items)), [len(h) for h in items])
        counts = sp.csr_matrix(
            (np.ones(len(flat), np.float32), (rows, flat)), shape=(len(items), self.n_items), dtype=np.float32
        )
        with threadpool_limits(1, "blas"):
            vectors: np.ndarray = self.model.recalculate_user(np.arange(len(items)), self._confidence(counts))
        return vectors

    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return np.asarray(self.user_factors(histories) @ self.item_factors.T, dtype=np.float32)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"item_factors": self.item_factors}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        with threadpool_limits(1, "blas"):
            model = self._new_model()
        model.item_factors = arrays["item_factors"].astype(np.float32)
        self._model = model
