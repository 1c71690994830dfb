"""The sequential transformer and its blend learn order from small generated sequences, and persist."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shelfwise.io.components import ComponentFormatError
from shelfwise.recommend.blend import BlendConfig, SequentialBlend
from shelfwise.recommend.cooccurrence import CoOccurrence
from shelfwise.recommend.interactions import Interactions, Vocabulary
from shelfwise.recommend.rerank import CandidateReranker, RerankConfig, rerank_cases
from shelfwise.recommend.sequential import SequentialConfig, SequentialRecommender

pytestmark = [pytest.mark.slow]

N_ITEMS = 40
FAST = SequentialConfig(
    hidden=32,
    layers=1,
    dropout=0.1,
    max_epochs=25,
    patience=25,
    batch_size=64,
    max_length=8,
)


def best_unseen(scores: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
    """The top item of each row among the items not in that row's history (as evaluation ranks)."""
    masked = scores.copy()
    for row, history in enumerate(histories):
        masked[row, history] = -np.inf
    return masked.argmax(axis=1)


def interactions(sequences: list[list[int]], n_items: int = N_ITEMS) -> Interactions:
    rows = [
        {"user_id": f"u{u}", "product_id": str(item), "timestamp": float(k)}
        for u, sequence in enumerate(sequences)
        for k, item in enumerate(sequence)
    ]
    return Interactions.from_frame(pl.DataFrame(rows), items=Vocabulary.of([str(i) for i in range(n_items)]))


def followed_sequences(users: int = 240, seed: int = 0) -> list[list[int]]:
    """Random items, then A then B where B = A + 1 for an even A below 30: 'A is followed by B'."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(users):
        noise = [int(i) for i in rng.choice(np.arange(30, N_ITEMS), size=2, replace=False)]
        first = int(rng.integers(15)) * 2
        sequences.append([*noise, first, first + 1])
    return sequences


@pytest.fixture(scope="module")
def fitted() -> SequentialRecommender:
    return SequentialRecommender(FAST).fit(interactions(followed_sequences()))


def test_learns_what_follows_what(fitted: SequentialRecommender) -> None:
    histories = [np.array([31, first]) for first in range(0, 30, 2)]
    best = best_unseen(fitted.score_batch(histories), histories)
    correct = np.mean(best == np.arange(1, 30, 2))
    assert correct >= 0.8, f"only {correct:.0%} of 'A is followed by B' learned"
    assert fitted.history and all(np.isfinite(epoch["loss"]) for epoch in fitted.history)
    assert fitted.history[-1]["loss"] < fitted.history[0]["loss"]


def test_the_last_item_matters_most(fitted: SequentialRecommender) -> None:
    histories = [np.array([4, 10]), np.array([10, 4])]
    forward, backward = best_unseen(fitted.score_batch(histories), histories)
    assert (forward, backward) == (11, 5)


def test_save_and_load_give_the_same_scores(fitted: SequentialRecommender, tmp_path: Path) -> None:
    fitted.save(tmp_path / "sasrec")
    loaded = SequentialRecommender.load(tmp_path / "sasrec")
    histories = [np.array([2]), np.array([33, 8, 9]), np.array([], dtype=np.int64)]
    np.testing.assert_allclose(loaded.score_batch(histories), fitted.score_batch(histories), rtol=1e-5)
    assert loaded.config == fitted.config and loaded.n_items == N_ITEMS
    with pytest.raises(ComponentFormatError, match="'sasrec' component, not 'co-occurrence'"):
        CoOccurrence.load(tmp_path / "sasrec")
    # The weights are plain arrays: nothing in the directory needs pickle to be read.
    assert sorted(p.name for p in (tmp_path / "sasrec").iterdir()) == ["arrays.npz", "component.json"]
    with np.load(tmp_path / "sasrec" / "arrays.npz", allow_pickle=False) as stored:
        assert "param.item_embedding.weight" in stored.files


def test_long_histories_are_truncated_and_bad_items_refused(fitted: SequentialRecommender) -> None:
    long = np.tile(np.arange(30, N_ITEMS), 500)  # thousands of events
    history = np.concatenate([long, [6]])
    scores = fitted.score(history)
    assert scores.shape == (N_ITEMS,) and scores.dtype == np.float32
    assert best_unseen(scores[None, :], [history])[0] == 7
    with pytest.raises(ValueError, match=r"outside the model's 0\.\.39"):
        fitted.score(np.array([N_ITEMS]))
    with pytest.raises(RuntimeError, match="not fitted"):
        SequentialRecommender().score(np.array([1]))


def test_progress_hears_every_epoch() -> None:
    heard: list[tuple[int, int, str]] = []
    config = FAST.model_copy(update={"max_epochs": 3, "patience": 3})
    model = SequentialRecommender(config, progress=lambda *epoch: heard.append(epoch)).fit(
        interactions(followed_sequences(users=80))
    )
    assert [(done, total) for done, total, _ in heard] == [(1, 3), (2, 3), (3, 3)]
    best = max(epoch["valid_ndcg"] for epoch in model.history)
    assert heard[-1][2].endswith(f"best {best:.4f}")


def test_training_is_deterministic() -> None:
    data = interactions(followed_sequences(users=80))
    config = FAST.model_copy(update={"max_epochs": 3})
    first = SequentialRecommender(config).fit(data).score(np.array([2, 4]))
    second = SequentialRecommender(config).fit(data).score(np.array([2, 4]))
    np.testing.assert_array_equal(first, second)


def test_text_embeddings_give_unseen_items_a_meaningful_vector() -> None:
    # Items 30..39 are never interacted with; 30 has the same text as 1, the partner of 0.
    rng = np.random.default_rng(1)
    text = rng.normal(size=(N_ITEMS, 16)).astype(np.float32)
    text[30] = text[1]
    sequences = [s for s in followed_sequences() if all(i < 30 for i in s[-2:])]
    data = interactions([s[-2:] for s in sequences])
    model = SequentialRecommender(FAST).fit(data, item_text_embeddings=text)
    scores = model.score(np.array([0]))
    unseen = np.arange(30, N_ITEMS)
    assert unseen[scores[unseen].argmax()] == 30
    # The re-ranker reads these back: one row per item, in item order.
    np.testing.assert_array_equal(model.text_embeddings(), text)
    with pytest.raises(ValueError, match=r"expected \(40, dim\)"):
        SequentialRecommender(FAST).fit(data, item_text_embeddings=text[:5])


def test_blend_tunes_its_weight_on_validation(fitted: SequentialRecommender, tmp_path: Path) -> None:
    data = interactions(followed_sequences())
    cooccurrence = CoOccurrence().fit(data)
    config = BlendConfig(
        candidate_weights=(0.0, 0.5, 1.0),
        candidate_temperatures=(1.0, 2.0),
        min_validation_cases=10,
        min_gain_standard_errors=0.0,  # the raw best; the evidence rule has its own test
    )
    blend = SequentialBlend(fitted, cooccurrence, config, fit_components=False)
    histories = [np.array([35, first]) for first in range(0, 30, 2)]
    blend.fit(data, validation=(histories, np.arange(1, 30, 2)))
    grid = {k: v for k, v in blend.validation_ndcg.items() if k.startswith("w=")}
    assert len(grid) == 6
    chosen = f"w={blend.config.cooccurrence_weight:g} T={blend.config.temperature:g}"
    assert grid[chosen] == max(grid.values())
    scores = blend.score_batch(histories)
    assert scores.shape == (15, N_ITEMS) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-4)
    blend.save(tmp_path / "blend")
    loaded = SequentialBlend.load(tmp_path / "blend")
    np.testing.assert_allclose(loaded.score_batch(histories), scores, rtol=1e-5)


def test_a_blend_saves_its_parts_and_leaves_out_a_shared_cooccurrence(
    fitted: SequentialRecommender, tmp_path: Path
) -> None:
    data = interactions(followed_sequences())
    cooccurrence = CoOccurrence().fit(data)
    blend = SequentialBlend(fitted, cooccurrence, fit_components=False).fit(data)
    histories = [np.array([35, first]) for first in range(0, 30, 2)]
    saved = blend.save(tmp_path / "own")
    assert sorted(p.name for p in saved.iterdir() if p.is_dir()) == ["cooccurrence", "sequential"]
    np.testing.assert_array_equal(
        SequentialBlend.load(saved).score_batch(histories), blend.score_batch(histories)
    )
    shared = SequentialBlend(fitted, cooccurrence, fit_components=False, shared_cooccurrence=True).fit(data)
    saved = shared.save(tmp_path / "shared")
    assert not (saved / "cooccurrence").exists()
    loaded = SequentialBlend.load(saved)
    assert loaded.shared_cooccurrence
    with pytest.raises(RuntimeError, match="CoOccurrence is not fitted"):
        loaded.score_batch(histories)  # until its owner hands the shared model back
    loaded.cooccurrence = cooccurrence
    np.testing.assert_array_equal(loaded.score_batch(histories), shared.score_batch(histories))
    shutil.rmtree(saved / "sequential")
    with pytest.raises(ComponentFormatError, match="sequential: the directory does not exist"):
        SequentialBlend.load(saved)


def test_a_mix_must_clearly_beat_cooccurrence_alone(fitted: SequentialRecommender) -> None:
    # Co-occurrence was fitted on unrelated sequences, so the transformer's order is what finds the targets.
    data = interactions(followed_sequences())
    rng = np.random.default_rng(9)
    shuffled = [[int(i) for i in rng.choice(N_ITEMS, size=4, replace=False)] for _ in range(240)]
    noise = CoOccurrence().fit(interactions(shuffled))
    histories = [np.array([35, first]) for first in range(0, 30, 2)]
    validation = (histories, np.arange(1, 30, 2))
    chosen = {}
    for errors in (0.0, 1e9):
        config = BlendConfig(
            candidate_weights=(0.0, 0.5, 1.0),
            candidate_temperatures=(1.0,),
            min_validation_cases=10,
            min_gain_standard_errors=errors,
        )
        blend = SequentialBlend(fitted, noise, config, fit_components=False).fit(data, validation=validation)
        chosen[errors] = blend.config.cooccurrence_weight
    assert chosen[0.0] < 1.0  # the transformer's share wins on validation...
    assert chosen[1e9] == 1.0  # ...but evidence no gain can clear leaves co-occurrence alone


def test_blend_keeps_its_reranker_only_when_it_beats_the_mix(fitted: SequentialRecommender) -> None:
    data = interactions(followed_sequences())
    blend = SequentialBlend(
        fitted,
        CoOccurrence().fit(data),
        BlendConfig(min_validation_cases=10, rerank=RerankConfig(min_cases=50, min_data_in_leaf=20)),
        fit_components=False,
    )
    held = followed_sequences(users=200, seed=3)
    blend.fit(data, validation=([np.array(s[:-1]) for s in held], np.array([s[-1] for s in held])))
    ndcg = blend.validation_ndcg
    gain = ndcg["held-out part, re-ranked"] - ndcg["held-out part, linear"]
    assert (blend.reranker is not None) == (gain > 2 * ndcg["held-out part, standard error of the gain"])


def test_reranked_candidates_rank_above_the_rest_and_round_trip(
    fitted: SequentialRecommender, tmp_path: Path
) -> None:
    data = interactions(followed_sequences())
    config = RerankConfig(min_data_in_leaf=20, blend_candidates=10, transformer_candidates=5)
    blend = SequentialBlend(
        fitted, CoOccurrence().fit(data), BlendConfig(rerank=config), fit_components=False
    )
    blend.fit(data)  # no validation: the linear mix alone
    assert blend.reranker is None
    held = followed_sequences(users=200, seed=4)
    histories, targets = [np.array(s[:-1]) for s in held], np.array([s[-1] for s in held])
    cases = rerank_cases(blend.signals(histories), histories, blend.item_side, config, targets)
    blend.reranker = CandidateReranker(config).fit(cases[:150], cases[150:])
    scores = blend.score_batch(histories)
    for row, case in enumerate(cases):
        others = np.delete(scores[row], case.candidates)
        assert scores[row, case.candidates].min() > 1.0 >= others.max()
    blend.save(tmp_path / "blend")
    loaded = SequentialBlend.load(tmp_path / "blend")
    assert loaded.reranker is not None
    np.testing.assert_allclose(loaded.score_batch(histories), scores, rtol=1e-5)


def test_evaluation_reports_the_transformer_and_its_blend_side_by_side() -> None:
    from shelfwise.evaluation.recs_eval import default_models, evaluate_recs
    from shelfwise.recommend.kinds import RecommendationConfig

    sequences = followed_sequences(users=120)
    frame = pl.DataFrame(
        [
            {"user_id": f"u{u}", "item_id": str(item), "position": k}
            for u, sequence in enumerate(sequences)
            for k, item in enumerate(sequence)
        ]
    )
    config = RecommendationConfig(sequential=FAST.model_copy(update={"max_epochs": 10}))
    models = default_models(config=config, sequential=True)
    evaluation = evaluate_recs(frame, models=models)
    # The default is listed first although it is fitted after the two models it blends.
    assert [row.name for row in evaluation.rows] == [
        "default", "sasrec", "co-occurrence", "popularity", "item-knn", "als"
    ]  # fmt: skip
    sasrec, blend = evaluation.row("sasrec"), evaluation.row("default")
    assert blend.model == "sasrec+co-occurrence"
    assert blend.reranked is not None and sasrec.reranked is None
    assert any(key.startswith("w=") for key in blend.tuning)
    assert [s.segment for s in blend.segments] == [s.segment for s in sasrec.segments] != []
    # The blend's share is chosen on validation among candidates that include the transformer alone.
    assert blend.valid_ndcg_at_10 >= sasrec.valid_ndcg_at_10 - 1e-9
    assert sasrec.hr_at_10 > evaluation.row("popularity").hr_at_10


def test_a_plateau_decays_the_learning_rate() -> None:
    sequences = followed_sequences(users=120)
    validation = ([np.array(s[:-1]) for s in sequences[:40]], np.array([s[-1] for s in sequences[:40]]))
    config = FAST.model_copy(update={"lr_decay": 0.5, "decay_patience": 1})
    model = SequentialRecommender(config).fit(interactions(sequences[40:]), validation=validation)
    best, expected = -1.0, config.learning_rate
    for epoch in model.history:
        # Each epoch trains at the rate left by the epochs before it.
        assert epoch["learning_rate"] == pytest.approx(expected)
        if epoch["valid_ndcg"] > best:
            best = epoch["valid_ndcg"]
        else:
            expected *= 0.5
    assert expected < config.learning_rate, "no plateau in 25 epochs: the test checks nothing"


def test_long_histories_train_on_every_window_with_each_target_once() -> None:
    from shelfwise.recommend.sequential import _windows

    for size in (3, 5, 10, 23):
        windows = _windows(np.arange(size), 4, every_window=True)
        targets = sorted(int(t) for window in windows for t in window[1:])
        assert targets == list(range(1, size)), size
        assert all(len(window) <= 4 for window in windows)
    assert [w.tolist() for w in _windows(np.arange(10), 4, every_window=False)] == [[6, 7, 8, 9]]
