"""Online state in memory and in the real Redis server behave alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shelfwise.domain import Event, EventType
from shelfwise.store import OnlineState, open_online_state


@pytest.fixture(params=["memory", "redis"])
def state(request: pytest.FixtureRequest) -> Iterator[OnlineState]:
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    opened = open_online_state(url, max_events=3)
    yield opened
    opened.close()


def _view(product: str) -> Event:
    return Event(user_id="u", event_type=EventType.VIEW, product_id=product)


def test_unknown_actor_reads_none_so_the_store_is_asked(state: OnlineState) -> None:
    assert state.recent("user:nobody", 10) is None


def test_pushes_after_seeding_are_kept_newest_last_and_capped(state: OnlineState) -> None:
    state.seed("user:u", [_view("a")])
    for product in ("b", "c", "d"):
        state.push("user:u", _view(product))
    recent = state.recent("user:u", 10)
    assert recent is not None
    assert [e.product_id for e in recent] == ["b", "c", "d"]


def test_seeding_an_empty_history_marks_the_actor_known(state: OnlineState) -> None:
    state.seed("user:u", [])
    assert state.recent("user:u", 10) == []


def test_push_before_seed_is_left_to_the_store(state: OnlineState) -> None:
    state.push("user:u", _view("a"))
    assert state.recent("user:u", 10) is None


def test_forget(state: OnlineState) -> None:
    state.seed("user:u", [_view("a")])
    state.forget("user:u")
    assert state.recent("user:u", 10) is None


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="online_url"):
        open_online_state("mongodb://x")
