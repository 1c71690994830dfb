"""Answer ranking: a shop's accepted answers, found for a customer's question by BM25 and the sentence
encoder, fused, and re-ranked by a LightGBM ranker learned from which answer each past question accepted.

The documents are the answers (not the questions they were accepted for): a new question is matched with
what would answer it, and the ranker learns from the stored pairs without ever seeing the question it is
asked about among the documents. Chinese text is cut into words by the one analyzer
(shelfwise.text.analysis), and the encoder is chosen from the text (`auto`: the multilingual model where
the answers are Chinese, Japanese or Korean).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import bm25s
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain.answers import QAPair, RankedAnswer
from shelfwise.domain.explanation import Explanation, Reason
from shelfwise.index.lexical import LexicalIndexConfig
from shelfwise.io.components import Component, ComponentFormatError
from shelfwise.learning_to_rank import ModelFiles, RankingGroup, TreeRanker, TreeRankerConfig
from shelfwise.text.analysis import normalise, words
from shelfwise.text.encoder import AUTO_MODEL, EncoderConfig, TextEncoder, choose_encoder

FEATURES: tuple[str, ...] = (
    "bm25",  # the question's BM25 score of the answer
    "bm25_share",  # ... over the best BM25 score in the pool
    "bm25_rank",  # log of its rank by BM25
    "term_share",  # share of the question's terms the answer holds
    "cosine",  # the encoder's cosine of question and answer
    "cosine_gap",  # ... minus the best cosine in the pool
    "dense_rank",  # log of its rank by cosine
    "rrf",  # reciprocal-rank fusion of the two ranks
    "context_bm25",  # BM25 of the answer for the conversation so far (missing without one)
    "context_cosine",  # cosine of the conversation and the answer (missing without one)
    "same_product",  # 1 when the answer was given for the product asked about (missing without one)
    "answer_words",  # log of the answer's length in words
    "question_words",  # log of the question's length in words
    "closed_question",  # 1 when the question asks for a yes or a no ("does it fit ...?")
    "yes_no_answer",  # 1 when the answer starts with a yes or a no
)
# The first words of a closed question and of an answer to one: a yes/no question is mostly answered by a
# yes or a no, and most answers to open questions do not start with one. (English; other languages 0.)
CLOSED_QUESTION_STARTS = frozenset(
    {"is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should"}
    | {"shall", "has", "have", "had", "may", "might", "must"}
)
YES_NO_STARTS = frozenset({"yes", "no", "yeah", "yep", "nope", "not"})
RANKER_FILES = ModelFiles(model="ranker.txt", manifest="ranker.json")
_RANKER_DIR = "ranker"
_BM25_DIR = "bm25"


def _default_ranker() -> TreeRankerConfig:
    return TreeRankerConfig(
        objective="lambdarank", num_boost_round=300, early_stopping_rounds=30, num_leaves=15, ndcg_at=10
    )


class AnswerConfig(BaseModel):
    """How answers are retrieved, fused and re-ranked. The `answers` branch of the training settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lexical: LexicalIndexConfig = Field(
        default_factory=LexicalIndexConfig,
        description="The BM25 analyzer and parameters (only the `description` weight is unused: answers "
        "are one field).",
    )
    encoder: EncoderConfig = Field(default_factory=lambda: EncoderConfig(model=AUTO_MODEL))
    lexical_depth: int = Field(default=100, ge=1, description="BM25 candidates per question.")
    dense_depth: int = Field(default=100, ge=0, description="Encoder candidates per question; 0: none.")
    rrf_k: float = Field(default=60.0, gt=0)
    dense_weight: float = Field(default=1.0, ge=0, description="The encoder's weight in the fusion.")
    context_turns: int = Field(default=3, ge=0, description="Last turns of a conversation read as context.")
    ranker: TreeRankerConfig = Field(default_factory=_default_ranker)
    min_ranker_questions: int = Field(
        default=30, ge=2, description="Fewer accepted answers than this train no ranker: fusion orders."
    )
    ranker_questions: int = Field(default=4000, ge=1, description="Accepted answers the ranker learns from.")
    ranker_negatives: int = Field(default=40, ge=1, description="Other candidates per training question.")
    validation_share: float = Field(default=0.2, ge=0, lt=1)
    min_similarity: float = Field(
        default=0.3,
        ge=-1,
        le=1,
        description="A question is answered when its best answer shares a term with it or is at least this "
        "close in meaning; otherwise it is logged as unanswered.",
    )
    seed: int = 7


@dataclass(frozen=True)
class AnswerQuery:
    """A question as the index reads it: its text and vector, the conversation before it, the product."""

    text: str
    vector: np.ndarray | None
    context: str = ""
    context_vector: np.ndarray | None = None
    product_id: str | None = None


@dataclass(frozen=True)
class TrainingQuestion:
    """A question with the answers accepted for it (positions in the index) and, optionally, the only
    candidates it may choose from (a mask over the index)."""

    query: AnswerQuery
    accepted: frozenset[int]
    candidates: np.ndarray | None = None


@dataclass(frozen=True)
class Pool:
    """The fused candidates of one question and what each retriever made of them."""

    positions: np.ndarray
    features: np.ndarray  # (len(positions), len(FEATURES))
    scores: np.ndarray  # the ranker's score, or RRF without a ranker; best first

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True)
class _Lexical:
    scores: np.ndarray  # float32 over every answer
    matched_terms: np.ndarray  # int32: how many distinct query terms each answer holds
    n_terms: int


class AnswerIndex(Component[AnswerConfig]):
    """The shop's answers indexed for BM25 and the encoder, with the re-ranker when one was trained."""

    kind = "answer_index"
    config_type = AnswerConfig
    # The shop's own question-answer pairs: no shopper's id or event is in them.
    holds_user_data = False

    def __init__(self, config: AnswerConfig | None = None) -> None:
        super().__init__(config)
        self.analyzer = self.config.lexical.analyzer()
        self.pairs: list[QAPair] = []
        self.encoder_config = self.config.encoder
        self.encoder_reason: str | None = None
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.ranker: TreeRanker | None = None
        self.ranker_iteration: int | None = None
        self._bm25: bm25s.BM25 | None = None
        self._encoder: TextEncoder | None = None
        self._cache_dir: Path | None = None
        self._answer_words = np.zeros(0, dtype=np.float32)
        self._yes_no = np.zeros(0, dtype=np.float32)
        self._products = np.zeros(0, dtype=object)

    def __len__(self) -> int:
        return len(self.pairs)

    # fitting --------------------------------------------------------------------------------------

    def use_cache(self, directory: Path | None) -> Self:
        """Encode through the embedding cache under `directory` (None: no cache)."""
        self._cache_dir, self._encoder = directory, None
        return self

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = TextEncoder(self.encoder_config, cache_dir=self._cache_dir)
        return self._encoder

    def fit(self, pairs: Sequence[QAPair], *, train_ranker: bool = True) -> Self:
        """Index the answers of `pairs` and, when `train_ranker` and there are enough of them, learn the
        ranker from each pair's question and its accepted answer."""
        if not pairs:
            raise ValueError("no question-answer pairs to index")
        self.pairs = list(pairs)
        answers = [pair.answer for pair in self.pairs]
        self.encoder_config, self.encoder_reason = choose_encoder(self.config.encoder, answers)
        self._encoder = None
        self._index_text()
        self.vectors = self.encoder.encode(answers) if self.config.dense_depth > 0 else self.vectors
        self.ranker = None
        if train_ranker:
            self.train_ranker(self.accepted_questions(range(len(self.pairs))))
        return self

    def _index_text(self) -> None:
        corpus = [self.analyzer.analyze(pair.answer, document=True) for pair in self.pairs]
        retriever = bm25s.BM25(
            k1=self.config.lexical.k1, b=self.config.lexical.b, method=self.config.lexical.method
        )
        retriever.index(corpus, show_progress=False)
        self._bm25 = retriever
        self._answer_words = np.log1p([len(pair.answer.split()) for pair in self.pairs]).astype(np.float32)
        self._yes_no = np.array([_starts_with(p.answer, YES_NO_STARTS) for p in self.pairs], dtype=np.float32)
        self._products = np.asarray([pair.product_id for pair in self.pairs], dtype=object)

    def accepted_questions(self, indices: Sequence[int] | range) -> list[TrainingQuestion]:
        """Each pair's question with the answers accepted for it: its own and any answer of the same text
        ("Yes." accepted for two questions is one answer to both)."""
        same_text: dict[str, set[int]] = {}
        for position, pair in enumerate(self.pairs):
            same_text.setdefault(normalise(pair.answer), set()).add(position)
        chosen = [self.pairs[i] for i in indices]
        queries = self.queries([p.question for p in chosen], product_ids=[p.product_id for p in chosen])
        return [
            TrainingQuestion(query, frozenset(same_text[normalise(pair.answer)]))
            for query, pair in zip(queries, chosen, strict=True)
        ]

    def train_ranker(self, questions: Sequence[TrainingQuestion]) -> bool:
        """Learn the ranker from `questions` (a random subset when there are more than the config's
        `ranker_questions`). Of those that name a product, a third are asked with it among all answers (the
        ranker learns what the product is worth), a third without it, and a third among the product's own
        answers only (the ranker learns to tell them apart). Returns whether a ranker was trained (too few
        questions with an accepted answer among their candidates train none)."""
        self.ranker = None
        rng = np.random.default_rng(self.config.seed)
        order = rng.permutation(len(questions))[: self.config.ranker_questions]
        groups: list[RankingGroup] = []
        for count, index in enumerate(order):
            question = questions[int(index)]
            query, candidates = question.query, question.candidates
            if query.product_id is not None and count % 3 == 1:
                query = AnswerQuery(query.text, query.vector, query.context, query.context_vector, None)
            elif query.product_id is not None and count % 3 == 2 and candidates is None:
                candidates = self.product_mask(query.product_id)
            group = self._training_group(query, question, candidates, rng)
            if group is not None:
                groups.append(group)
        if len(groups) < self.config.min_ranker_questions:
            return False
        n_validation = int(len(groups) * self.config.validation_share)
        ranker = TreeRanker(self.config.ranker, FEATURES)
        self.ranker_iteration = ranker.fit(groups[n_validation:], groups[:n_validation])
        self.ranker = ranker
        return True

    def _training_group(
        self,
        query: AnswerQuery,
        question: TrainingQuestion,
        candidates: np.ndarray | None,
        rng: np.random.Generator,
    ) -> RankingGroup | None:
        pool = self.pool(query, candidates, ranked=False)
        labels = np.isin(pool.positions, list(question.accepted)).astype(np.int32)
        if not labels.any() or labels.all():
            return None
        negatives = np.flatnonzero(labels == 0)
        if len(negatives) > self.config.ranker_negatives:
            # The best fused negatives are what the ranker must beat; a few random ones keep the tail honest.
            keep_top = self.config.ranker_negatives * 3 // 4
            rest = rng.choice(negatives[keep_top:], self.config.ranker_negatives - keep_top, replace=False)
            negatives = np.concatenate([negatives[:keep_top], rest])
        rows = np.sort(np.concatenate([np.flatnonzero(labels), negatives]))
        return RankingGroup(features=pool.features[rows], labels=labels[rows])

    def adopt_ranker(self, other: AnswerIndex) -> Self:
        """Use the ranker `other` learned (e.g. from a shop's training conversations) on these answers."""
        self.ranker, self.ranker_iteration = other.ranker, other.ranker_iteration
        return self

    # asking ---------------------------------------------------------------------------------------

    def queries(
        self,
        questions: Sequence[str],
        contexts: Sequence[Sequence[str]] | None = None,
        product_ids: Sequence[str | None] | None = None,
    ) -> list[AnswerQuery]:
        """Questions (with the conversation before each, and the product asked about) encoded in one
        batch through the embedding cache."""
        turns = self.config.context_turns
        context_texts = [
            " ".join(list(context)[-turns:]) if turns else ""
            for context in (contexts or [()] * len(questions))
        ]
        products = list(product_ids) if product_ids is not None else [None] * len(questions)
        vectors: Sequence[np.ndarray | None] = [None] * len(questions)
        context_vectors: list[np.ndarray | None] = [None] * len(questions)
        if self.config.dense_depth > 0 and questions:
            vectors = list(self.encoder.encode(list(questions)))
            with_context = [i for i, text in enumerate(context_texts) if text]
            if with_context:
                encoded = self.encoder.encode([context_texts[i] for i in with_context])
                for i, vector in zip(with_context, encoded, strict=True):
                    context_vectors[i] = vector
        return [
            AnswerQuery(text, vector, context, context_vector, product)
            for text, vector, context, context_vector, product in zip(
                questions, vectors, context_texts, context_vectors, products, strict=True
            )
        ]

    def query(self, question: str, context: Sequence[str] = (), product_id: str | None = None) -> AnswerQuery:
        """One question, its vector encoded outside the cache (see TextEncoder.encode_one)."""
        turns = self.config.context_turns
        context_text = " ".join(list(context)[-turns:]) if turns else ""
        dense = self.config.dense_depth > 0
        return AnswerQuery(
            question,
            self.encoder.encode_one(question) if dense else None,
            context_text,
            self.encoder.encode_one(context_text) if dense and context_text else None,
            product_id,
        )

    def lexical_scores(self, text: str) -> np.ndarray:
        """BM25 of every answer for `text` (0 where no term matches)."""
        return self._lexical(text).scores

    def dense_scores(self, query: AnswerQuery) -> np.ndarray:
        """Cosine of every answer to the question (zeros without a dense index)."""
        if query.vector is None or not self.vectors.size:
            return np.zeros(len(self.pairs), dtype=np.float32)
        return (self.vectors @ np.asarray(query.vector, dtype=np.float32)).astype(np.float32)

    def _lexical(self, text: str) -> _Lexical:
        n = len(self.pairs)
        scores = np.zeros(n, dtype=np.float32)
        matched = np.zeros(n, dtype=np.int32)
        if self._bm25 is None:
            raise RuntimeError("the answer index is not fitted: call fit(pairs) or load(directory) first")
        terms = set(self.analyzer.analyze(text))
        csc = self._bm25.scores
        for term in terms:
            token_id = self._bm25.vocab_dict.get(term)
            if token_id is None:
                continue
            start, end = int(csc["indptr"][token_id]), int(csc["indptr"][token_id + 1])
            documents = csc["indices"][start:end]
            scores[documents] += csc["data"][start:end]
            matched[documents] += 1
        return _Lexical(scores, matched, len(terms))

    def pool(self, query: AnswerQuery, candidates: np.ndarray | None = None, ranked: bool = True) -> Pool:
        """The fused candidates of `query` among `candidates` (a bool mask over the answers; None: all),
        with their features, ordered by the ranker when `ranked` and one is trained, else by RRF."""
        n = len(self.pairs)
        allowed = np.ones(n, dtype=bool) if candidates is None else candidates
        lexical = self._lexical(query.text)
        cosine = self.dense_scores(query)
        lexical_rank = _ranks(np.where(allowed, lexical.scores, -np.inf))
        dense_rank = _ranks(np.where(allowed, cosine, -np.inf))
        in_pool = allowed & (
            ((lexical_rank <= self.config.lexical_depth) & (lexical.matched_terms > 0))
            | ((dense_rank <= self.config.dense_depth) if query.vector is not None else False)
        )
        positions = np.flatnonzero(in_pool)
        features = self._features(query, positions, lexical, cosine, lexical_rank, dense_rank)
        rrf = features[:, FEATURES.index("rrf")]
        scores = (
            self.ranker.predict(features, self.ranker_iteration)
            if ranked and self.ranker is not None
            else rrf
        )
        order = np.lexsort((positions, -rrf, -scores))
        return Pool(positions[order], features[order], scores[order].astype(np.float32))

    def _features(
        self,
        query: AnswerQuery,
        positions: np.ndarray,
        lexical: _Lexical,
        cosine: np.ndarray,
        lexical_rank: np.ndarray,
        dense_rank: np.ndarray,
    ) -> np.ndarray:
        missing = np.full(len(positions), np.nan, dtype=np.float32)
        bm25 = lexical.scores[positions]
        cos = cosine[positions] if query.vector is not None else missing
        lex_rank = np.where(lexical.matched_terms[positions] > 0, lexical_rank[positions], np.inf)
        dense = dense_rank[positions] if query.vector is not None else np.full(len(positions), np.inf)
        rrf = 1 / (self.config.rrf_k + lex_rank) + self.config.dense_weight / (self.config.rrf_k + dense)
        context_bm25 = self._lexical(query.context).scores[positions] if query.context else missing
        context_cosine = (
            self.vectors[positions] @ np.asarray(query.context_vector, dtype=np.float32)
            if query.context_vector is not None and self.vectors.size
            else missing
        )
        same_product = (
            (self._products[positions] == query.product_id).astype(np.float32)
            if query.product_id is not None
            else missing
        )
        columns = {
            "bm25": bm25,
            "bm25_share": bm25 / max(float(bm25.max(initial=0.0)), 1e-6),
            "bm25_rank": np.log1p(np.minimum(lex_rank, 1e6)),
            "term_share": lexical.matched_terms[positions] / max(lexical.n_terms, 1),
            "cosine": cos,
            "cosine_gap": cos - np.nanmax(cos, initial=-1.0) if query.vector is not None else missing,
            "dense_rank": np.log1p(np.minimum(dense, 1e6)),
            "rrf": rrf,
            "context_bm25": context_bm25,
            "context_cosine": context_cosine,
            "same_product": same_product,
            "answer_words": self._answer_words[positions],
            "question_words": np.full(len(positions), np.log1p(len(query.text.split())), dtype=np.float32),
            "closed_question": np.full(len(positions), _starts_with(query.text, CLOSED_QUESTION_STARTS)),
            "yes_no_answer": self._yes_no[positions],
        }
        return np.column_stack([np.asarray(columns[name], dtype=np.float32) for name in FEATURES])

    def answer(
        self, query: AnswerQuery, k: int = 5, candidates: np.ndarray | None = None
    ) -> tuple[list[RankedAnswer], bool]:
        """The k best answers, each with its explanation, and whether the question counts as answered
        (its best answer shares a term with it or is close enough in meaning)."""
        pool = self.pool(query, candidates)
        top = range(min(k, len(pool)))
        words = set(self.analyzer.words(query.text))
        answers = [self._ranked(pool, row, words) for row in top]
        best = pool.features[0] if len(pool) else None
        answered = best is not None and (
            best[FEATURES.index("term_share")] > 0
            or float(np.nan_to_num(best[FEATURES.index("cosine")], nan=-1.0)) >= self.config.min_similarity
        )
        return answers, bool(answered)

    def _ranked(self, pool: Pool, row: int, question_words: set[str]) -> RankedAnswer:
        pair = self.pairs[int(pool.positions[row])]
        features = dict(zip(FEATURES, pool.features[row].tolist(), strict=True))
        reasons = []
        shared = sorted(question_words & set(self.analyzer.words(pair.answer)))
        if shared:
            reasons.append(
                Reason(signal="bm25", detail=f"shares {', '.join(shared[:6])}", contribution=features["bm25"])
            )
        if not np.isnan(features["cosine"]):
            reasons.append(
                Reason(
                    signal="meaning",
                    detail=f"close in meaning to the question (cosine {features['cosine']:.2f})",
                    contribution=features["cosine"],
                )
            )
        if features["same_product"] == 1:
            reasons.append(Reason(signal="product", detail="answered for this product"))
        if self.ranker is not None:
            reasons.append(
                Reason(
                    signal="ranker",
                    detail="ordered by the ranker learned from the shop's accepted answers",
                    contribution=float(pool.scores[row]),
                )
            )
        return RankedAnswer(
            pair_id=pair.pair_id,
            answer=pair.answer,
            question=pair.question,
            product_id=pair.product_id,
            score=float(pool.scores[row]),
            explanation=Explanation(reasons=reasons),
        )

    def product_mask(self, product_id: str) -> np.ndarray:
        return np.asarray(self._products == product_id, dtype=bool)

    # saving ---------------------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self._bm25 is None:
            raise RuntimeError("the answer index is not fitted: nothing to save")
        values = {
            "pairs": [pair.model_dump() for pair in self.pairs],
            "encoder": self.encoder_config.model_dump(mode="json"),
            "encoder_reason": self.encoder_reason,
            "ranker_iteration": self.ranker_iteration,
        }
        return values, {"vectors": self.vectors}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.pairs = [QAPair.model_validate(pair) for pair in values["pairs"]]
        self.encoder_config = EncoderConfig.model_validate(values["encoder"])
        self.encoder_reason = values.get("encoder_reason")
        self.ranker_iteration = values.get("ranker_iteration")
        self.vectors = arrays.get("vectors", np.zeros((0, 0), dtype=np.float32))
        self._answer_words = np.log1p([len(pair.answer.split()) for pair in self.pairs]).astype(np.float32)
        self._yes_no = np.array([_starts_with(p.answer, YES_NO_STARTS) for p in self.pairs], dtype=np.float32)
        self._products = np.asarray([pair.product_id for pair in self.pairs], dtype=object)

    def save_native(self, directory: Path) -> None:
        assert self._bm25 is not None
        self._bm25.save(str(directory / _BM25_DIR), show_progress=False)
        if self.ranker is not None:
            self.ranker.save(directory / _RANKER_DIR, RANKER_FILES, {"features": list(FEATURES)})

    def load_native(self, directory: Path) -> None:
        if not (directory / _BM25_DIR).is_dir():
            raise ComponentFormatError(f"{directory}: the answers' BM25 index is missing")
        self._bm25 = bm25s.BM25.load(str(directory / _BM25_DIR), show_progress=False)
        self.ranker = None
        if (directory / _RANKER_DIR).is_dir():
            self.ranker, _ = TreeRanker.load(
                directory / _RANKER_DIR, RANKER_FILES, self.config.ranker, FEATURES
            )


def _starts_with(text: str, starts: frozenset[str]) -> float:
    first = words(text[:40], "letters")[:1]
    return 1.0 if first and first[0] in starts else 0.0


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every entry by descending score (ties by position); -inf ranks last."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks
