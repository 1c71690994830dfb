"""Which rows each check fired on, with an optional detail per row (a suggestion, a group, a reason)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Flags:
    """check name -> {row position: detail}. Positions index the frame the checks ran over."""

    by_check: dict[str, dict[int, str]] = field(default_factory=dict)

    def add(self, check: str, positions: Iterable[int] | np.ndarray, detail: str = "") -> None:
        """Flag `positions` with `check`, all with the same detail; a row keeps its first detail."""
        rows = self.by_check.setdefault(check, {})
        for position in (
            np.asarray(
                list(positions) if not isinstance(positions, np.ndarray) else positions, dtype=np.int64
            )
            .ravel()
            .tolist()
        ):
            rows.setdefault(position, detail)

    def add_details(self, check: str, details: Mapping[int, str]) -> None:
        """Flag each position with its own detail; a row keeps its first detail."""
        rows = self.by_check.setdefault(check, {})
        for position, detail in details.items():
            rows.setdefault(int(position), detail)

    def mask(self, check: str, size: int) -> np.ndarray:
        """A boolean mask of length `size` over the frame: True where `check` fired."""
        mask = np.zeros(size, dtype=bool)
        positions = list(self.by_check.get(check, {}))
        if positions:
            mask[positions] = True
        return mask

    def count(self, check: str) -> int:
        """How many rows `check` fired on."""
        return len(self.by_check.get(check, {}))

    def merge(self, other: Flags) -> None:
        """Add every flag of `other` (over the same frame) to these."""
        for check, rows in other.by_check.items():
            self.add_details(check, rows)

    def by_row(self) -> dict[int, dict[str, str]]:
        """The same flags turned around: row position -> {check: detail}, as the gate attaches them."""
        rows: dict[int, dict[str, str]] = {}
        for check, positions in self.by_check.items():
            for position, detail in positions.items():
                rows.setdefault(position, {})[check] = detail
        return rows


@dataclass
class DatasetWarning:
    """A dataset-level finding: a share, a minimum, a trend. Never attached to rows."""

    check: str
    message: str
    value: float | None = None
    threshold: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
