"""Experiments and exposures live in the store, on SQLite and PostgreSQL alike: the first exposure wins and
exposures are removed by unit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shelfwise.domain.experiments import Arm, Experiment
from shelfwise.store import Store
from shelfwise.store.experiments import ExperimentBook


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


def test_experiments_and_first_exposures_are_kept(store: Store) -> None:
    book = ExperimentBook(store.engine)
    created = datetime(2026, 5, 1, tzinfo=UTC)
    experiment = Experiment(
        experiment_id="e1",
        name="ranker",
        arms=[Arm(name="a", share=0.25), Arm(name="b", share=0.75)],
        unit="session",
        horizon_per_arm=10,
        created_at=created,
    )
    book.add(experiment)
    assert book.get("e1") == experiment and book.get("e2") is None
    book.set_state("e1", "running", created + timedelta(hours=1))
    running = book.get("e1")
    assert running is not None and running.state == "running"
    assert running.started_at == created + timedelta(hours=1)
    first = book.expose("e1", "s1", "a", created + timedelta(hours=2))
    assert book.expose("e1", "s1", "a", created + timedelta(hours=3)) == first == created + timedelta(hours=2)
    book.expose("e1", "s2", "b", created + timedelta(hours=2))
    assert book.exposures("e1") == {
        "s1": ("a", datetime(2026, 5, 1, 2)),
        "s2": ("b", datetime(2026, 5, 1, 2)),
    }
    assert book.forget(["s1", "nobody"]) == 1
    assert book.exposures("e1").keys() == {"s2"}
