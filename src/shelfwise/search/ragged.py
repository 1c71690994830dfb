"""Variable-length integer rows stored flat, for per-candidate work done as a few numpy operations."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ragged:
    """Variable-length rows of ints (one per product) in two flat arrays, so per-candidate feature loops
    become a handful of numpy operations: row i is values[offsets[i]:offsets[i + 1]]."""

    values: np.ndarray  # int64
    offsets: np.ndarray  # int64, len = rows + 1

    @classmethod
    def of(cls, rows: list[list[int]]) -> Ragged:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(offsets[-1]))
        return cls(values, offsets)

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flat indices into `values` of the given rows in order, the row number 0..len(rows)-1 of each)."""
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        lengths = ends - starts
        row_of = np.repeat(np.arange(len(rows)), lengths)
        before = np.repeat(np.cumsum(lengths) - lengths, lengths)
        flat = np.arange(int(lengths.sum()), dtype=np.int64) - before + np.repeat(starts, lengths)
        return flat, row_of
