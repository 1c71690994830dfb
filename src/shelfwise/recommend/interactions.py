"""Implicit feedback as parallel integer arrays: the one input every recommender fits on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp


@dataclass(frozen=True)
class Vocabulary:
    """A stable mapping between external ids and dense indices 0..n-1."""

    ids: tuple[str, ...]
    index: dict[str, int] = field(repr=False, compare=False)

    @classmethod
    def of(cls, ids: Sequence[str]) -> Vocabulary:
        unique = tuple(dict.fromkeys(ids))
        return cls(unique, {key: i for i, key in enumerate(unique)})

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, key: str) -> int | None:
        return self.index.get(key)


@dataclass(frozen=True)
class Interactions:
    """User-item events, sorted by user then time. `times` is epoch seconds or a position."""

    users: Vocabulary
    items: Vocabulary
    user_idx: np.ndarray  # int32, one per interaction
    item_idx: np.ndarray  # int32
    times: np.ndarray  # float64
    weights: np.ndarray  # float32
    session_idx: np.ndarray | None = None  # int32 when sessions are known

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        *,
        user: str = "user_id",
        item: str = "product_id",
        time: str = "timestamp",
        weight: str | None = None,
        session: str | None = None,
        items: Vocabulary | None = None,
    ) -> Interactions:
        """Build from a frame; rows whose item is not in a given `items` vocabulary are left out."""
        frame = frame.with_columns(pl.col(user).cast(pl.Utf8), pl.col(item).cast(pl.Utf8))
        if items is None:
            items = Vocabulary.of(frame.get_column(item).unique(maintain_order=True).to_list())
        else:
            frame = frame.filter(pl.col(item).is_in(list(items.ids)))
        time_col = pl.col(time)
        if frame.schema[time].is_temporal():
            time_col = time_col.dt.epoch("ms").cast(pl.Float64) / 1000.0
        frame = frame.with_columns(time_col.cast(pl.Float64).alias("__time")).sort(
            [user, "__time"], maintain_order=True
        )
        users = Vocabulary.of(frame.get_column(user).unique(maintain_order=True).to_list())
        user_idx = np.fromiter((users.index[u] for u in frame.get_column(user)), np.int32, len(frame))
        item_idx = np.fromiter((items.index[i] for i in frame.get_column(item)), np.int32, len(frame))
        weights = (
            frame.get_column(weight).cast(pl.Float32).to_numpy()
            if weight
            else np.ones(len(frame), np.float32)
        )
        session_idx = None
        if session is not None:
            keys = frame.get_column(user) + "\x1f" + frame.get_column(session).cast(pl.Utf8).fill_null("")
            session_idx = keys.rank("dense").cast(pl.Int32).to_numpy() - 1
        return cls(
            users=users,
            items=items,
            user_idx=user_idx,
            item_idx=item_idx,
            times=frame.get_column("__time").to_numpy(),
            weights=np.asarray(weights, np.float32),
            session_idx=session_idx,
        )

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def __len__(self) -> int:
        return len(self.user_idx)

    def matrix(self) -> sp.csr_matrix:
        """Users x items, weights summed over repeated interactions."""
        return sp.csr_matrix(
            (self.weights, (self.user_idx, self.item_idx)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )

    def sequences(self) -> list[np.ndarray]:
        """Each user's items in time order (the arrays are sorted by user, then time)."""
        bounds = np.searchsorted(self.user_idx, np.arange(self.n_users + 1))
        return [self.item_idx[bounds[u] : bounds[u + 1]] for u in range(self.n_users)]

    def subset(self, mask: np.ndarray) -> Interactions:
        """The same vocabularies, keeping only the interactions where `mask` is true."""
        return Interactions(
            users=self.users,
            items=self.items,
            user_idx=self.user_idx[mask],
            item_idx=self.item_idx[mask],
            times=self.times[mask],
            weights=self.weights[mask],
            session_idx=None if self.session_idx is None else self.session_idx[mask],
        )


def hold_out_next_items(
    data: Interactions, users: int, seed: int = 42
) -> tuple[Interactions, tuple[list[np.ndarray], np.ndarray] | None]:
    """(data without the held-out items, (histories, next items)) for up to `users` users, the way
    leave-one-out validation does inside the engine: each chosen user's last item, with its trailing
    repeats (view, cart, buy of one product), is moved out; the history is everything before it.

    Users qualify with at least two distinct items before the held-out one; at most a fifth of them are
    chosen, so most users keep their whole sequence. None when fewer than 10 users qualify."""
    bounds = np.searchsorted(data.user_idx, np.arange(data.n_users + 1))
    runs: dict[int, int] = {}
    for user in range(data.n_users):
        items = data.item_idx[bounds[user] : bounds[user + 1]]
        if len(items) < 3:
            continue
        start = len(items) - 1
        while start > 0 and items[start - 1] == items[-1]:
            start -= 1
        if len(np.unique(items[:start])) >= 2:
            runs[user] = start
    if users == 0 or len(runs) < 10:
        return data, None
    rng = np.random.default_rng(seed)
    eligible = np.fromiter(runs, dtype=np.int64, count=len(runs))
    chosen = np.sort(rng.choice(eligible, size=min(users, max(1, len(eligible) // 5)), replace=False))
    keep = np.ones(len(data), dtype=bool)
    histories, targets = [], []
    for user in chosen.tolist():
        first = int(bounds[user])
        start = runs[user]
        items = data.item_idx[first : bounds[user + 1]]
        histories.append(items[:start].astype(np.int64))
        targets.append(int(items[-1]))
        keep[first + start : bounds[user + 1]] = False
    return data.subset(keep), (histories, np.asarray(targets, dtype=np.int64))
