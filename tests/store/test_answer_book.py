"""The shop's Q&A pairs and unanswered questions live in the store, on SQLite and PostgreSQL alike, so every
API process sees the same ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shelfwise.domain.answers import QAPair
from shelfwise.store import Store
from shelfwise.store.answers import AnswerBook


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


def test_pairs_are_kept_replaced_by_id_and_flagged(store: Store, store_url: str) -> None:
    book = AnswerBook(store.engine)
    first = QAPair(pair_id="q1", question="Is it washable?", answer="Yes, at 40 degrees.", product_id="p1")
    book.add([first, QAPair(pair_id="q2", question="Ships abroad?", answer="Only in the EU.")])
    book.add([first.model_copy(update={"answer": "Yes, at 30 degrees."})], {"q1": ["qa.language_mismatch"]})
    assert [(p.pair_id, p.answer) for p in book.pairs()] == [
        ("q1", "Yes, at 30 degrees."),
        ("q2", "Only in the EU."),
    ]
    assert book.count() == 2
    assert [(pair.pair_id, checks) for pair, checks in book.flagged()] == [("q1", ["qa.language_mismatch"])]
    assert book.flag_counts() == {"qa.language_mismatch": 1}
    assert (
        AnswerBook(
            Store.open(str(store.engine.url.render_as_string(hide_password=False)).replace("***", "")).engine
        ).count()
        == 2
    )


def test_unanswered_questions_are_listed_counted_per_day_and_forgotten(store: Store) -> None:
    book = AnswerBook(store.engine)
    book.log_unanswered("gift cards?", None, "u1", "s1")
    book.log_unanswered("open on sunday?", "p2", None, "s2")
    book.log_unanswered("do you repair?", None, None, "s3")
    assert [q.question for q in book.unanswered()] == ["do you repair?", "open on sunday?", "gift cards?"]
    assert book.unanswered()[0].asked_at.tzinfo is not None
    assert sum(count for _, count in book.unanswered_per_day()) == 3
    assert book.forget(["u1"], ["s2"]) == 2
    assert [q.question for q in book.unanswered()] == ["do you repair?"]
