"""Stage hooks: how a search tells a caller which of its stages runs, for timing and tracing.

`SearchPipeline.search(..., stages=hook)` enters `hook.stage(name)` around each stage it runs, in order:
query understanding, query encoding, lexical retrieval, dense retrieval, memory, fusion, features, memory
features, ranker scores, personalisation, rules, explanations, page (the names are `Stage`'s; a stage
that has nothing to do is not entered, so the BM25-only path reports fewer). A hook is any object with
that one method returning a context manager: `StageTimer` adds up seconds per stage for the benchmarks,
and a tracer can open a span per stage. Without a hook the search enters `NO_STAGES`, whose stages are
one shared no-op context.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from enum import StrEnum
from typing import Protocol


class Stage(StrEnum):
    """The stages of a search, in the order a search runs them."""

    FILTERS = "filters"
    QUERY_UNDERSTANDING = "query understanding"
    QUERY_ENCODING = "query encoding"
    LEXICAL = "lexical retrieval"
    DENSE = "dense retrieval"
    MEMORY = "memory"
    FUSION = "fusion"
    FEATURES = "features"
    MEMORY_FEATURES = "memory features"
    RANKER = "ranker scores"
    BROWSE = "browse"
    PERSONALISATION = "personalisation"
    RULES = "rules"
    EXPLANATIONS = "explanations"
    PAGE = "page"


class StageHook(Protocol):
    """Whatever wants to know about a search's stages: `stage(name)` wraps one stage's work."""

    def stage(self, name: Stage) -> AbstractContextManager[object]: ...


class NoStages:
    """The default hook: every stage is the same no-op context, so an untraced search pays a method call
    and an empty `with` per stage."""

    _nothing: AbstractContextManager[object] = nullcontext()

    def stage(self, name: Stage) -> AbstractContextManager[object]:
        return self._nothing


NO_STAGES: StageHook = NoStages()


class StageTimer:
    """Adds up the wall-clock seconds of each stage over any number of searches, and remembers the stages
    of the last one in the order they ran (`order`, reset by `start`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.order: list[str] = []

    def start(self) -> None:
        """Begin a new search: `order` lists only its stages from now on."""
        self.order = []

    def reset(self) -> None:
        """Forget every figure (after a warm-up)."""
        self.seconds, self.calls, self.order = {}, {}, []

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        self.order.append(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
            self.calls[name] = self.calls.get(name, 0) + 1

    def stage(self, name: Stage) -> AbstractContextManager[object]:
        return self._timed(str(name))
