"""Forgetting a shopper: who is to be removed, and what each fitted component did about it.

Every component knows what it learned from shoppers' events, so each one answers for itself through
`Component.forget` (shelfwise.io.components): it removes the shopper's contribution where its state allows
that exactly (a count subtracted, a remembered query dropped), declares that it holds no shopper data (an
index of the catalog), or asks for a retrain (weights a model learned cannot give one shopper back).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class Subject:
    """The shoppers to forget: their user ids, every session id they ever had, and their events as the store
    held them before deletion (the frame `Store.events_frame` gives: one row an event)."""

    user_ids: frozenset[str]
    session_ids: frozenset[str]
    events: pl.DataFrame

    def queries(self) -> list[str]:
        """The text of every search they made, once per search (counts matter to autocomplete)."""
        searches = self.events.filter(pl.col("event_type") == "search")
        return [str(query) for query in searches.get_column("query").drop_nulls().to_list()]

    def identifiers(self) -> list[str]:
        """Every string that names them: user ids, session ids and query texts."""
        return sorted({*self.user_ids, *self.session_ids, *self.queries()})


@dataclass
class Forgotten:
    """What forgetting did to one fitted component (a pipeline adds up its parts): how many entries it
    removed, and the kinds of the parts that cannot remove a shopper and need a retrain without them."""

    removed: int = 0
    retrain: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Nothing the shoppers contributed is left in the component."""
        return not self.retrain

    def add(self, others: Iterable[Forgotten]) -> Forgotten:
        for other in others:
            self.removed += other.removed
            self.retrain.extend(other.retrain)
        return self
