"""Answer ranking measured on real questions: each question's real answer ranked among all answers (or
among its product's), and multi-turn reply selection among ten candidates.

Q&A pairs (`evaluate_answers`): every answer is indexed; the learned ranker is cross-fitted, trained on the
questions of half the products and scored on the other half, then the other way round, so that every
question is ranked by a ranker that never saw it. Peers: BM25 alone and the encoder alone over all the
allowed answers, and their fusion without the ranker. An answer of the same text as the real one ("Yes.")
counts as the real one. Ties are broken at random (a fixed seed), never by file position.

Conversations (`evaluate_replies`): the candidates are shuffled first (the corpus lists the true reply
first), the question is the last turn and the turns before it are the context; the ranker learns from
the training conversations. Figures come with 95% bootstrap intervals over the conversations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

from shelfwise.answers.files import Conversation
from shelfwise.answers.index import AnswerConfig, AnswerIndex, AnswerQuery, TrainingQuestion
from shelfwise.domain.answers import QAPair

Scope = Literal["all", "product"]
BOOTSTRAP_SAMPLES = 2000


class MetricRow(BaseModel):
    name: str
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]] | None = None


class AnswerEvaluation(BaseModel):
    protocol: str
    questions: int
    answers: int
    encoder: str
    rows: list[MetricRow]


Note = Callable[[str], None]


def _silent(_: str) -> None:
    return None


def _fold(key: str, folds: int) -> int:
    # Salted: the staged data sets were themselves split by the plain sha1 of the product id.
    return int(hashlib.sha1(f"shelfwise-fold:{key}".encode()).hexdigest(), 16) % folds


def _random_rank(
    scores: np.ndarray, allowed: np.ndarray, accepted: Sequence[int], rng: np.random.Generator
) -> int:
    """0-based rank of the best accepted entry among the allowed ones by descending score, ties at random."""
    tiebreak = rng.random(len(scores))
    candidates = np.flatnonzero(allowed)
    order = candidates[np.lexsort((tiebreak[candidates], -scores[candidates]))]
    where = np.flatnonzero(np.isin(order, list(accepted)))
    return int(where[0]) if len(where) else len(order)


def _pool_rank(
    index: AnswerIndex, query: AnswerQuery, allowed: np.ndarray | None, accepted: Sequence[int], ranked: bool
) -> int:
    pool = index.pool(query, allowed, ranked=ranked)
    where = np.flatnonzero(np.isin(pool.positions, list(accepted)))
    return int(where[0]) if len(where) else np.iinfo(np.int32).max


def ranking_metrics(ranks: np.ndarray, at: Sequence[int], mrr_at: int | None = 10) -> dict[str, float]:
    metrics = {}
    if mrr_at is not None:
        metrics[f"mrr_at_{mrr_at}"] = float(np.mean(np.where(ranks < mrr_at, 1.0 / (ranks + 1.0), 0.0)))
    for k in at:
        metrics[f"recall_at_{k}"] = float(np.mean(ranks < k))
    return metrics


def bootstrap_intervals(
    ranks: np.ndarray, at: Sequence[int], mrr_at: int | None, seed: int
) -> dict[str, tuple[float, float]]:
    """95% percentile-bootstrap intervals of each metric's mean over the cases."""
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(ranks), size=(BOOTSTRAP_SAMPLES, len(ranks)))
    resampled = ranks[samples]
    columns: dict[str, np.ndarray] = {}
    if mrr_at is not None:
        columns[f"mrr_at_{mrr_at}"] = np.where(resampled < mrr_at, 1.0 / (resampled + 1.0), 0.0).mean(axis=1)
    for k in at:
        columns[f"recall_at_{k}"] = (resampled < k).mean(axis=1)
    return {
        name: (round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4))
        for name, v in columns.items()
    }


def _rows(ranks: dict[str, np.ndarray], at: Sequence[int], mrr_at: int | None, seed: int) -> list[MetricRow]:
    return [
        MetricRow(
            name=name,
            metrics={key: round(value, 4) for key, value in ranking_metrics(found, at, mrr_at).items()},
            intervals=bootstrap_intervals(found, at, mrr_at, seed),
        )
        for name, found in ranks.items()
    ]


def evaluate_answers(
    pairs: Sequence[QAPair],
    *,
    scope: Scope = "all",
    config: AnswerConfig | None = None,
    cache_dir: Path | None = None,
    folds: int = 2,
    seed: int = 7,
    note: Note = _silent,
) -> AnswerEvaluation:
    """Rank each question's real answer among all answers (`all`) or its product's (`product`); see the
    module docstring. Rows: the engine's default (fusion re-ranked by the cross-fitted ranker), bm25,
    encoder, fusion."""
    index = AnswerIndex(config).use_cache(cache_dir)
    note(f"Indexing {len(pairs):,} answers (BM25 and {index.config.encoder.model} encoder)…")
    index.fit(pairs, train_ranker=False)
    note(f"Encoding {len(pairs):,} questions with {index.encoder_config.model}…")
    # In the `all` scope a question comes without its product: the category's answers compete on text alone.
    questions = index.accepted_questions(range(len(pairs)))
    asked = [AnswerQuery(q.query.text, q.query.vector) if scope == "all" else q.query for q in questions]
    fold_of = np.array([_fold(pair.product_id or pair.pair_id, folds) for pair in pairs])
    allowed = [
        index.product_mask(pair.product_id) if scope == "product" and pair.product_id is not None else None
        for pair in pairs
    ]
    n = len(pairs)
    ranks = {name: np.zeros(n, dtype=np.int64) for name in ("shelfwise", "bm25", "encoder", "fusion")}
    rng = np.random.default_rng(seed)
    everything = np.ones(n, dtype=bool)
    for fold in range(folds):
        training = [questions[i] for i in np.flatnonzero(fold_of != fold)]
        note(f"Fold {fold + 1}/{folds}: training the ranker on {len(training):,} questions…")
        trained = index.train_ranker(training)
        if not trained:
            note("  too few training questions with their answer among the candidates: no ranker")
        for i in np.flatnonzero(fold_of == fold):
            accepted = sorted(questions[i].accepted)
            given = allowed[i]
            mask = given if given is not None else everything
            ranks["shelfwise"][i] = _pool_rank(index, asked[i], allowed[i], accepted, ranked=True)
            ranks["fusion"][i] = _pool_rank(index, asked[i], allowed[i], accepted, ranked=False)
            ranks["bm25"][i] = _random_rank(index.lexical_scores(asked[i].text), mask, accepted, rng)
            ranks["encoder"][i] = _random_rank(index.dense_scores(asked[i]), mask, accepted, rng)
    where = "all answers in the file" if scope == "all" else "the answers given for the same product"
    protocol = (
        f"Each of {n:,} questions' real answer ranked among {where}; the ranker cross-fitted over "
        f"{folds} folds by product (trained on the other products' questions); ties broken at random "
        f"(seed {seed}); an answer of the same text counts as the real one."
    )
    return AnswerEvaluation(
        protocol=protocol,
        questions=n,
        answers=n,
        encoder=index.encoder_config.model,
        rows=_rows(ranks, (1, 5), 10, seed),
    )


def _conversation_index(
    conversations: Sequence[Conversation], config: AnswerConfig | None, cache_dir: Path | None, seed: int
) -> tuple[AnswerIndex, list[TrainingQuestion]]:
    """Every candidate reply as an answer (shuffled within its conversation), and each conversation as a
    question choosing among its own candidates."""
    rng = np.random.default_rng(seed)
    pairs: list[QAPair] = []
    spans: list[tuple[int, np.ndarray, frozenset[int]]] = []
    for number, conversation in enumerate(conversations):
        order = rng.permutation(len(conversation.replies))
        start = len(pairs)
        for original in order:
            pairs.append(
                QAPair(
                    pair_id=f"{number}:{original}",
                    question=conversation.turns[-1],
                    answer=conversation.replies[int(original)],
                )
            )
        accepted = frozenset(
            start + slot for slot, original in enumerate(order) if original in conversation.accepted
        )
        spans.append((start, order, accepted))
    index = AnswerIndex(config).use_cache(cache_dir)
    index.fit(pairs, train_ranker=False)
    queries = index.queries([c.turns[-1] for c in conversations], [c.turns[:-1] for c in conversations])
    questions = []
    for query, (start, order, accepted) in zip(queries, spans, strict=True):
        mask = np.zeros(len(pairs), dtype=bool)
        mask[start : start + len(order)] = True
        questions.append(TrainingQuestion(query, accepted, mask))
    return index, questions


def evaluate_replies(
    test: Sequence[Conversation],
    train: Sequence[Conversation],
    *,
    config: AnswerConfig | None = None,
    cache_dir: Path | None = None,
    seed: int = 7,
    note: Note = _silent,
) -> AnswerEvaluation:
    """R10@1, R10@2 and R10@5 of choosing each test conversation's reply among its candidates (see the
    module docstring); the ranker learns from `train`'s conversations."""
    if config is None:
        # A few dozen training conversations: smaller leaves, or LightGBM cannot split at all.
        config = AnswerConfig().model_copy(
            update={
                "ranker": AnswerConfig().ranker.model_copy(update={"min_data_in_leaf": 5, "num_leaves": 7}),
                "min_ranker_questions": 10,
            }
        )
    note(f"Training the ranker on {len(train):,} conversations…")
    trained_on, training = _conversation_index(train, config, cache_dir, seed)
    if not trained_on.train_ranker(training):
        note("  too few training conversations: the default row is fusion without a ranker")
    note(f"Ranking the replies of {len(test):,} conversations…")
    index, questions = _conversation_index(test, config, cache_dir, seed)
    index.adopt_ranker(trained_on)
    rng = np.random.default_rng(seed)
    ranks = {
        name: np.zeros(len(questions), dtype=np.int64) for name in ("shelfwise", "bm25", "encoder", "fusion")
    }
    for i, question in enumerate(questions):
        accepted = sorted(question.accepted)
        mask = question.candidates if question.candidates is not None else np.ones(len(index), dtype=bool)
        ranks["shelfwise"][i] = _pool_rank(index, question.query, mask, accepted, ranked=True)
        ranks["fusion"][i] = _pool_rank(index, question.query, mask, accepted, ranked=False)
        # The question alone and its context: BM25 and the encoder read both, as the fusion does.
        lexical = index.lexical_scores(question.query.text) + index.lexical_scores(question.query.context)
        ranks["bm25"][i] = _random_rank(lexical, mask, accepted, rng)
        dense = index.dense_scores(question.query)
        if question.query.context_vector is not None:
            dense = dense + index.vectors @ question.query.context_vector
        ranks["encoder"][i] = _random_rank(dense, mask, accepted, rng)
    candidates = sorted({len(c.replies) for c in test})
    protocol = (
        f"{len(test):,} conversations, {'/'.join(map(str, candidates))} candidate replies each, shuffled "
        f"(seed {seed}); the question is the last turn, the context the {index.config.context_turns} turns "
        f"before it; the ranker learned from {len(train):,} training conversations; 95% bootstrap "
        f"intervals over conversations ({BOOTSTRAP_SAMPLES} resamples)."
    )
    return AnswerEvaluation(
        protocol=protocol,
        questions=len(test),
        answers=len(index),
        encoder=index.encoder_config.model,
        rows=_rows(ranks, (1, 2, 5), None, seed),
    )
