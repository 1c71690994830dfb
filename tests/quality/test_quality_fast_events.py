"""The vectorised event reader gives exactly the events, outcomes and lines of the row-by-row path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shelfwise.io.demo import write_demo_shop
from shelfwise.io.readers import read_rows
from shelfwise.quality import fast_events
from shelfwise.quality.gate import gate_event_file, gate_events

NOW = datetime(2026, 6, 2, tzinfo=UTC)


def test_fast_and_row_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, events = write_demo_shop(tmp_path, n_products=60, n_users=15, days=7)
    odd = [
        "u1,s1,Add to cart,P00001,,2026-05-30T10:00:00Z,2,",  # an alias: row parser
        "u1,s1,view,P00002,,1780000000,,",  # epoch seconds: row parser
        "u2,, view ,P00003,,2026-05-30 10:00:00,,",  # spaces around the type
        "u3,s9,purchase,P00004,,2026-05-30T10:00:00+02:00,1,12.50",
        "u3,s9,like,P00004,,2026-05-30T10:00:00Z,,",  # quarantined
        "u4,s9,view,NOPE,,2026-05-30T10:00:00.250Z,,",  # unknown product
        "u5,s5,search,,  desk lamp ,2026-05-30T11:00:00,,",
        "u6\x00,s6,view,P00005,,2026-05-30T10:00:00Z,,",  # a NUL in an id: quarantined
        "u7,s7,search,,desk\x00lamp,2026-05-30T10:00:00Z,,",  # a NUL in a query: quarantined
    ]
    with events.open("a") as handle:
        handle.write("\n".join(odd) + "\n")
    catalog = {f"P{i:05d}" for i in range(1, 61)}
    monkeypatch.setattr(fast_events, "MIN_ROWS", 0)
    assert fast_events.read_events_fast(events) is not None
    fast = gate_event_file(events, catalog_ids=catalog, now=NOW)
    slow = gate_events(read_rows(events), str(events), catalog_ids=catalog, now=NOW)
    assert [e.model_dump() for e in fast.stored] == [e.model_dump() for e in slow.stored]
    assert fast.results() == slow.results()
    assert [q.model_dump() for q in fast.quarantined] == [q.model_dump() for q in slow.quarantined]
    assert len(slow.quarantined) == 3
    assert slow.stored[-2].product_id == "NOPE", "an unknown product is stored (unjoined), not quarantined"


def test_a_client_event_id_is_read_alike_by_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,event_type,product_id,timestamp,event_id\n"
        "u1,view,P1,2026-05-30T10:00:00Z,9f1c-1\n"
        "u1,view,P1,2026-05-30T10:00:00Z,9f1c-2\n"  # the same event twice, told apart by its id
        "u2,view,P1,2026-05-30T10:00:00Z,\n"
    )
    monkeypatch.setattr(fast_events, "MIN_ROWS", 0)
    assert fast_events.read_events_fast(events) is not None
    fast = gate_event_file(events, catalog_ids={"P1"}, now=NOW)
    slow = gate_events(read_rows(events), str(events), catalog_ids={"P1"}, now=NOW)
    assert (
        [e.event_id for e in fast.stored] == [e.event_id for e in slow.stored] == ["9f1c-1", "9f1c-2", None]
    )
    assert len({e.key for e in fast.stored}) == 3
