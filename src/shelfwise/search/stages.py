"""Stage hooks: how a search tells a caller which of its stages runs, for timing and tracing.

`SearchPipeline.search(..., stages=hook)` enters `hook.stage(name)` around each stage it runs, in the
order of `Stage`: the filters; query understanding (spelling, synonyms, terms); query encoding; lexical
retrieval; dense retrieval; the search memory; fusion; the ranker's features and memory features; ranker
scores; personalisation; the rules; explanations; the page (facets and the result). An empty query
browses instead of ranking. A stage whose part is missing (no dense index, no memory, no ranker) is not
entered, so the BM25-only path reports filters, lexical retrieval, personalisation, rules, explanations
and page. A hook is any object with that one method returning a context manager: `StageTimer` adds up
seconds per stage for the benchmarks, and a tracer can open a span per stage. Without a hook the search
enters `NO_STAGES`, whose stages are one shared no-op context.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
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
    """Adds up the wall-clock seconds and the calls of each stage over any number of searches, and keeps
    the stages in the order they ran since `start` (or since it was made)."""

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

    def stage(self, name: Stage) -> AbstractContextManager[object]:
        self.order.append(str(name))
        return _Timed(self, str(name))


class _Timed:
    """One stage being timed: a class rather than a generator-based context manager, which costs a few
    times more per stage."""

    __slots__ = ("_name", "_started", "_timer")

    def __init__(self, timer: StageTimer, name: str) -> None:
        self._timer, self._name, self._started = timer, name, 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self._started
        timer, name = self._timer, self._name
        timer.seconds[name] = timer.seconds.get(name, 0.0) + elapsed
        timer.calls[name] = timer.calls.get(name, 0) + 1
