"""The answer index finds a question's answer by words and meaning, re-ranks with what it learned from
the accepted answers, explains itself, survives a save, and says when nothing answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from answer_faq import faq_pairs

from shelfwise.answers.index import FEATURES, AnswerIndex


@pytest.fixture(scope="module")
def index() -> AnswerIndex:
    return AnswerIndex().fit(faq_pairs())


def test_a_reworded_question_gets_its_products_answer_first_with_reasons(index: AnswerIndex) -> None:
    answers, answered = index.answer(
        index.query("how long is the guarantee of the toaster", product_id="toaster")
    )

    assert answered and answers[0].pair_id == "toaster-0"
    signals = {reason.signal for reason in answers[0].explanation.reasons}
    assert {"meaning", "product", "ranker"} <= signals
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)


def test_the_ranker_learns_from_accepted_answers_only_when_there_are_enough() -> None:
    assert AnswerIndex().fit(faq_pairs()).ranker is not None
    assert AnswerIndex().fit(faq_pairs()[:10]).ranker is None  # below min_ranker_questions: fusion orders


def test_a_saved_index_answers_as_the_fitted_one(index: AnswerIndex, tmp_path: Path) -> None:
    loaded = AnswerIndex.load(index.save(tmp_path / "answers"))
    query = index.query(
        "is there a printed booklet with the blender", context=["hello", "I bought a blender"]
    )

    fitted, _ = index.answer(query, k=5)
    reloaded, _ = loaded.answer(query, k=5)

    assert [a.pair_id for a in reloaded] == [a.pair_id for a in fitted]
    assert np.allclose([a.score for a in reloaded], [a.score for a in fitted])
    assert loaded.ranker is not None


def test_a_question_nothing_answers_is_unanswered(index: AnswerIndex) -> None:
    _, answered = index.answer(index.query("qzxv wubbly frandle"))

    assert not answered


def test_a_product_mask_keeps_other_products_answers_out(index: AnswerIndex) -> None:
    answers, _ = index.answer(
        index.query("what is the warranty"), k=10, candidates=index.product_mask("fridge")
    )

    assert answers and {a.product_id for a in answers} == {"fridge"}


def test_a_closed_question_and_a_yes_or_no_answer_are_features(index: AnswerIndex) -> None:
    pool = index.pool(index.query("Does the kettle come with a manual?"))
    closed, yes_no = FEATURES.index("closed_question"), FEATURES.index("yes_no_answer")
    starts_with_yes = np.array([index.pairs[p].answer.startswith("Yes") for p in pool.positions])

    assert (pool.features[:, closed] == 1).all()
    assert starts_with_yes.any() and (pool.features[:, yes_no] == starts_with_yes).all()
    assert (index.pool(index.query("what colours are there")).features[:, closed] == 0).all()
