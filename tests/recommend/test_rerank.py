"""The learned re-ranker: candidates from every source, features that carry signal, persistence, and the
engine's hold-out of next items it trains on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shelfwise.io.components import ComponentFormatError
from shelfwise.recommend.interactions import Interactions, Vocabulary, hold_out_next_items
from shelfwise.recommend.rerank import (
    MODEL_FILE,
    RERANK_FEATURES,
    CandidateReranker,
    CandidateSignals,
    ItemSide,
    RerankConfig,
    candidates_of,
    clearly_better,
    ndcg_at_10,
    rerank_cases,
)

N_ITEMS = 80


def random_signals(cases: int, rng: np.random.Generator) -> CandidateSignals:
    logits = rng.normal(size=(cases, N_ITEMS)).astype(np.float32)
    shares = rng.random((cases, N_ITEMS)).astype(np.float32)
    shares /= shares.sum(axis=1, keepdims=True)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return CandidateSignals(logits, shares, (0.5 * softmax + 0.5 * shares).astype(np.float32))


def text_world(cases: int, seed: int = 0) -> tuple[CandidateSignals, list[np.ndarray], np.ndarray, ItemSide]:
    """Histories whose next item is the unseen item whose text is closest to the last one; the first-stage
    scores are noise, so only the text features can find it."""
    rng = np.random.default_rng(seed)
    text = rng.normal(size=(N_ITEMS, 16)).astype(np.float32)
    items = ItemSide.of(text, rng.integers(0, 50, size=N_ITEMS))
    assert items.text is not None
    histories, targets = [], []
    for _ in range(cases):
        history = rng.choice(N_ITEMS, size=3, replace=False)
        closeness = items.text @ items.text[history[-1]]
        closeness[history] = -np.inf
        histories.append(history)
        targets.append(int(closeness.argmax()))
    return random_signals(cases, rng), histories, np.array(targets), items


def test_candidates_are_the_union_of_each_source_without_the_history() -> None:
    signals = random_signals(1, np.random.default_rng(1))
    config = RerankConfig(blend_candidates=5, transformer_candidates=5, cooccurrence_candidates=5)
    history = np.argsort(-signals.blend[0])[:2]  # the two best items of the mix were already seen
    candidates = candidates_of(signals, 0, history, config)
    assert not set(history.tolist()) & set(candidates.tolist())
    for scores in (signals.blend[0], signals.logits[0], signals.cooccurrence[0]):
        best_unseen = [i for i in np.argsort(-scores).tolist() if i not in history][:5]
        assert set(best_unseen) <= set(candidates.tolist())
    assert len(candidates) <= 15 and np.all(np.diff(candidates) > 0)


def test_features_follow_the_declared_order() -> None:
    signals, histories, targets, items = text_world(3)
    cases = rerank_cases(signals, histories, items, RerankConfig(), targets)
    case = cases[0]
    assert case.features.shape == (len(case.candidates), len(RERANK_FEATURES))
    column = {name: i for i, name in enumerate(RERANK_FEATURES)}
    np.testing.assert_allclose(
        case.features[:, column["transformer_logit"]], signals.logits[0, case.candidates]
    )
    assert items.text is not None
    expected = items.text[case.candidates] @ items.text[histories[0][-1]]
    np.testing.assert_allclose(case.features[:, column["text_cosine_last"]], expected, rtol=1e-5)
    assert case.label is not None and case.label.sum() == 1  # every unseen item is a candidate here


def test_the_reranker_learns_what_the_first_stage_misses_and_round_trips(tmp_path: Path) -> None:
    signals, histories, targets, items = text_world(500)
    config = RerankConfig(min_data_in_leaf=20, threads=1)
    cases = rerank_cases(signals, histories, items, config, targets)
    train, held = cases[:400], cases[400:]
    reranker = CandidateReranker(config).fit(train, held)
    learned = ndcg_at_10([reranker.predict(c.features) for c in held], held)
    linear = ndcg_at_10([signals.blend[400 + i, c.candidates] for i, c in enumerate(held)], held)
    assert learned > 0.9 > 0.3 > linear
    reranker.save(tmp_path / "reranker")
    loaded = CandidateReranker.load(tmp_path / "reranker")
    assert loaded.config == reranker.config and loaded.meta == reranker.meta
    np.testing.assert_array_equal(loaded.predict(held[0].features), reranker.predict(held[0].features))


def test_a_gain_counts_only_when_it_clears_its_standard_error() -> None:
    linear = np.tile([0.0, 1.0], 50)
    steady = linear + 0.1  # every case a little better: no noise at all
    better, error = clearly_better(steady, linear, 2.0)
    assert better and error < 1e-9
    noisy = linear + np.tile([0.3, -0.28], 50)  # +0.01 on average, swinging 0.3 either way
    better, error = clearly_better(noisy, linear, 2.0)
    assert not better and error > 0.01
    assert clearly_better(noisy, linear, 0.0)[0]


def test_a_missing_or_unfitted_reranker_is_named(tmp_path: Path) -> None:
    with pytest.raises(ComponentFormatError, match=r"component\.json is missing"):
        CandidateReranker.load(tmp_path)
    with pytest.raises(RuntimeError, match="not trained; nothing to save"):
        CandidateReranker().save(tmp_path / "unfitted")
    assert not (tmp_path / "unfitted").exists()
    signals, histories, targets, items = text_world(200)
    config = RerankConfig(min_data_in_leaf=20, threads=1)
    cases = rerank_cases(signals, histories, items, config, targets)
    saved = CandidateReranker(config).fit(cases[:150], cases[150:]).save(tmp_path / "reranker")
    (saved / MODEL_FILE).unlink()
    with pytest.raises(ComponentFormatError, match=r"reranker\.txt is missing"):
        CandidateReranker.load(saved)


def interactions(sequences: list[list[int]]) -> Interactions:
    rows = [
        {"user_id": f"u{u:03d}", "product_id": str(item), "timestamp": float(k)}
        for u, sequence in enumerate(sequences)
        for k, item in enumerate(sequence)
    ]
    return Interactions.from_frame(pl.DataFrame(rows), items=Vocabulary.of([str(i) for i in range(20)]))


def test_hold_out_moves_each_chosen_users_last_item_and_its_repeats_out() -> None:
    # 60 users qualify (two distinct items before a final item seen twice); 10 do not (too short).
    sequences = [[1, 2, 3, 3] for _ in range(60)] + [[4, 5] for _ in range(10)]
    data = interactions(sequences)
    training, validation = hold_out_next_items(data, users=100, seed=0)
    assert validation is not None
    histories, targets = validation
    assert len(targets) == 12  # at most a fifth of the 60 qualifying users
    assert set(targets.tolist()) == {3}
    assert all(h.tolist() == [1, 2] for h in histories)
    assert len(training) == len(data) - 2 * 12  # both repeats of the held-out item left training
    again = hold_out_next_items(data, users=100, seed=0)[1]
    assert again is not None and np.array_equal(again[1], targets)


def test_too_few_users_hold_nothing_out() -> None:
    data = interactions([[1, 2, 3]] * 5)
    training, validation = hold_out_next_items(data, users=100)
    assert validation is None and training is data
