"""Audiences through the engine on the sample shop: phone shoppers view a phone, its case and a charger
(the even ones buy the phone and the case); cooks, furniture and sofa shoppers look elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sample_shop import catalog_rows, event_rows
from shelfwise.domain.audiences import Audience, AudienceMember
from shelfwise.domain.errors import InvalidRequestError, NotFoundError, NotTrainedError
from shelfwise.engine import Engine

PHONE_SHOPPERS = {f"u{n}" for n in range(0, 40, 4)}


def _trained(data_dir: Path) -> Engine:
    engine = Engine.open(data_dir)
    engine.ingest_products(catalog_rows())
    engine.ingest_events(event_rows(datetime.now(UTC) - timedelta(hours=1)))  # none in the future
    engine.train()
    return engine


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with _trained(tmp_path_factory.mktemp("audience") / "data") as engine:
        yield engine


def test_the_audience_of_a_product_is_who_looks_at_its_neighbours(shared: Engine) -> None:
    audience = shared.audience(product_id="p10", size=len(PHONE_SHOPPERS))
    assert {m.user_id for m in audience.members} == PHONE_SHOPPERS
    assert [m.rank for m in audience.members] == list(range(1, len(PHONE_SHOPPERS) + 1))
    scores = [m.score for m in audience.members]
    assert scores == sorted(scores, reverse=True)
    assert audience.target == "product p10"
    assert audience.candidates == 40


def test_recent_buyers_are_left_out_unless_the_window_is_zero(shared: Engine) -> None:
    kept = shared.audience(product_id="p9", size=40, exclude_buyers_days=30)
    assert not PHONE_SHOPPERS & {m.user_id for m in kept.members}  # every phone shopper bought the case
    assert kept.excluded_buyers == len(PHONE_SHOPPERS)
    everyone = shared.audience(product_id="p9", size=5, exclude_buyers_days=0)
    assert {m.user_id for m in everyone.members} <= PHONE_SHOPPERS


def test_a_category_and_a_campaign_aggregate_their_products(shared: Engine) -> None:
    category = shared.audience(category="Electronics", size=5, exclude_buyers_days=0)
    assert sorted(category.product_ids) == ["p10", "p8", "p9"]
    assert {m.user_id for m in category.members} <= PHONE_SHOPPERS
    campaign = shared.audience(product_ids=["p10", "p9"], size=5, exclude_buyers_days=0)
    assert campaign.target == "campaign of 2 products"
    assert {m.user_id for m in campaign.members} <= PHONE_SHOPPERS


def test_the_audience_stays_within_a_given_set_of_users(shared: Engine) -> None:
    audience = shared.audience(product_id="p10", size=10, within={"u1", "u4", "nobody"})
    assert [m.user_id for m in audience.members] == ["u4", "u1"]


def test_the_csv_export_has_one_member_a_line(shared: Engine) -> None:
    lines = shared.audience(product_id="p10", size=3).csv().splitlines()
    assert lines[0] == "rank,user_id,score"
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({}, InvalidRequestError, "exactly one of product_id, category or products"),
        ({"product_id": "p1", "category": "Furniture"}, InvalidRequestError, "got product_id, category"),
        ({"product_id": "nope"}, NotFoundError, "not in the trained catalog: 'nope'"),
        ({"product_ids": ["p1", ""]}, InvalidRequestError, "none empty"),
        ({"category": "Garden"}, NotFoundError, "no trained product is in category 'Garden'"),
        ({"product_id": "p1", "size": 0}, InvalidRequestError, "size must be between 1 and 10000"),
        ({"product_id": "p1", "exclude_buyers_days": -1}, InvalidRequestError, "exclude_buyers_days"),
        ({"product_id": "p1", "exclude_buyers_days": float("nan")}, InvalidRequestError, "exclude_buyers"),
        ({"product_id": "p\x00"}, InvalidRequestError, "product_id"),
    ],
)
def test_bad_requests_say_what_was_wrong(
    shared: Engine, arguments: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        shared.audience(**arguments)  # type: ignore[arg-type]


def test_before_training_there_is_no_audience(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "data") as engine, pytest.raises(NotTrainedError):
        engine.audience(product_id="p1")


def test_a_deleted_user_is_in_no_later_audience(tmp_path: Path) -> None:
    with _trained(tmp_path / "data") as engine:
        assert "u4" in {m.user_id for m in engine.audience(product_id="p10", size=40).members}
        engine.forget_user("u4")
        engine.wait_for_deletions()
        assert "u4" not in {m.user_id for m in engine.audience(product_id="p10", size=40).members}


def test_the_csv_quotes_ids_that_need_it() -> None:
    audience = Audience(
        target="product p1",
        product_ids=["p1"],
        size=2,
        exclude_buyers_days=0,
        excluded_buyers=0,
        candidates=2,
        members=[
            AudienceMember(rank=1, user_id='a,"b"', score=0.5),
            AudienceMember(rank=2, user_id="c", score=0.25),
        ],
    )
    assert audience.csv() == 'rank,user_id,score\n1,"a,""b""",0.5\n2,c,0.25\n'


def test_the_audience_stays_within_a_customer_segment(shared: Engine) -> None:
    everyone = {
        m.user_id for m in shared.audience(product_id="p10", size=1000, exclude_buyers_days=0).members
    }
    # a segment holding some of the audience but not all of it, so that staying within it shows
    segment = next(
        s
        for s in shared.segments()
        if 0 < len(shared.segment_members(s.segment_id) & everyone) < len(everyone)
    )
    members = shared.segment_members(segment.segment_id)
    within = shared.audience(product_id="p10", size=1000, exclude_buyers_days=0, segment=segment.segment_id)
    assert {m.user_id for m in within.members} == everyone & members
    with pytest.raises(NotFoundError):
        shared.audience(product_id="p10", segment="no-such-segment")
