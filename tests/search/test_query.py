"""Query understanding: the query-vector cache, alone and under concurrent use."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from shelfwise.search.query import QueryVectorCache


def vector_of(text: str) -> np.ndarray:
    return np.full(3, float(text.removeprefix("q")), dtype=np.float32)


class CountingEncoder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def one(self, text: str) -> np.ndarray:
        self.calls.append(text)
        return vector_of(text)

    def batch(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        return np.stack([vector_of(t) for t in texts])


def test_the_least_recently_used_query_goes_first() -> None:
    cache, encoder = QueryVectorCache(), CountingEncoder()
    for text in ["q1", "q2", "q1", "q3"]:  # q1 is used again after q2, so q2 is the oldest when q3 comes
        assert cache.vector(text, encoder.one, capacity=2)[0] == float(text[1:])
    assert encoder.calls == ["q1", "q2", "q3"]
    assert "q1" in cache and "q3" in cache and "q2" not in cache and len(cache) == 2


def test_capacity_zero_keeps_nothing_and_a_smaller_capacity_trims_at_the_next_write() -> None:
    cache, encoder = QueryVectorCache(), CountingEncoder()
    cache.vector("q1", encoder.one, capacity=0)
    cache.vector("q1", encoder.one, capacity=0)
    assert encoder.calls == ["q1", "q1"] and len(cache) == 0
    for i in range(5):
        cache.vector(f"q{i}", encoder.one, capacity=5)
    cache.vector("q9", encoder.one, capacity=2)
    assert len(cache) == 2 and "q4" in cache and "q9" in cache


def test_priming_encodes_each_new_query_once_in_one_batch() -> None:
    cache, encoder = QueryVectorCache(), CountingEncoder()
    cache.vector("q1", encoder.one, capacity=10)
    batches: list[list[str]] = []

    def batch(texts: list[str]) -> np.ndarray:
        batches.append(texts)
        return encoder.batch(texts)

    cache.prime(["q2", "q1", "", "q3", "q2"], batch, capacity=10)
    assert batches == [["q2", "q3"]] and len(cache) == 3
    cache.prime(["q4", "q5", "q6"], batch, capacity=2)  # only what fits is encoded, then the cache trims
    assert batches[-1] == ["q4", "q5"] and len(cache) == 2 and "q5" in cache


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Threads switch every microsecond instead of every 5 ms, so their operations interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_switches")
def test_threads_sharing_a_small_cache_always_get_their_own_querys_vector() -> None:
    # Eight threads over six queries and room for three: lookups, moves to the end and evictions interleave
    # all the time. Without the lock, a lookup's move to the end meets a key another thread has just
    # evicted (KeyError) in most runs of this test.
    cache = QueryVectorCache()
    failures: list[str] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for k in rng.integers(0, 6, 20_000).tolist():
                found = cache.vector(f"q{k}", vector_of, capacity=3)
                if found[0] != k:
                    failures.append(f"q{k} got the vector of q{found[0]:.0f}")
                    return
        except Exception as error:  # any error in a worker fails the test below
            failures.append(repr(error))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(cache) == 3
