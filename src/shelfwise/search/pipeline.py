"""The query pipeline: clean and understand the query, retrieve under the filters (fielded BM25, fused with
dense retrieval and ordered by a learned ranker where those are fitted), personalise, apply the
merchandising rules, then page, facet and explain.

This module orchestrates; each step lives in its own: query.py (understanding), fusion.py (the candidate
pool), features.py and ranker.py (the learned order), personal.py and rules.py (what moves hits after it),
explain.py (why each hit is where it is). A caller can watch each stage through a hook (stages.py).

The pipeline is a component whose parts are components: the catalog, the lexical and vector indexes, the
spelling corrector, the suggester, the learned ranker and the search memory, each saved in its own
subdirectory; its own manifest keeps its config, which parts it saved and a summary of them, and its
arrays the popularity the ranker's features read.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Self

import numpy as np

from shelfwise.domain import Filters, Hit, Product, SearchResult
from shelfwise.index.catalog import Catalog, CatalogArrays
from shelfwise.index.lexical import LexicalIndex, ScoredQuery
from shelfwise.index.vector import VectorIndex
from shelfwise.io.components import Component, ComponentFormatError, load_part
from shelfwise.io.forgetting import Forgotten, Subject
from shelfwise.search.config import SearchConfig
from shelfwise.search.explain import explain_browse, explain_hit
from shelfwise.search.features import ProductStats, ranker_features
from shelfwise.search.fusion import Candidates, gather_candidates
from shelfwise.search.memory import SearchMemory
from shelfwise.search.personal import UserProfile, personal_boosts
from shelfwise.search.popularity import popularity_of
from shelfwise.search.query import (
    QueryContext,
    QueryVectorCache,
    clean_query,
    correct,
    searched_text,
    understand,
)
from shelfwise.search.ranker import LearnedRanker
from shelfwise.search.rules import Rule, RuleSet, apply_rules, target_mask
from shelfwise.search.spelling import Correction, SpellingCorrector
from shelfwise.search.stages import NO_STAGES, Stage, StageHook
from shelfwise.search.suggest import Suggester
from shelfwise.search.synonyms import SynonymSet
from shelfwise.text.encoder import TextEncoder, choose_encoder, product_text

logger = logging.getLogger(__name__)

# Parts without which there is no pipeline to load (the others are optional).
_REQUIRED_PARTS = ("catalog", "lexical")
# The top scores whose spread is the unit of personal and rule boosts.
_SPREAD_DEPTH = 50


class Ranking(NamedTuple):
    """A query's candidates in ranked order, before personalisation and rules."""

    positions: np.ndarray  # int64
    scores: np.ndarray  # float32, best first
    correction: Correction
    features: np.ndarray | None  # ranker features of `positions`, in their order; None without a ranker
    scored: ScoredQuery  # the lexical scoring, which explains each hit's matched fields
    total: int  # products matching the query under the filters
    matching: np.ndarray  # their positions, for facets
    candidates: Candidates | None  # the fused pool; None on the BM25-only path


class SearchPipeline(Component[SearchConfig]):
    """Fielded BM25, plus (each optional, each falling back cleanly) dense retrieval fused with it,
    spelling correction, a learned re-ranker, personalisation and merchandising rules."""

    kind = "search_pipeline"
    config_type = SearchConfig

    def __init__(self, config: SearchConfig | None = None) -> None:
        super().__init__(config)
        self._products: Catalog | None = None
        self._catalog: CatalogArrays | None = None
        self._lexical: LexicalIndex | None = None
        self._browse_order = np.zeros(0, dtype=np.int64)
        self._position_of: dict[str, int] = {}
        self.vectors: VectorIndex | None = None
        self.encoder: TextEncoder | None = None
        self.encoder_choice: str | None = None
        self.ranker: LearnedRanker | None = None
        self.memory: SearchMemory | None = None
        self.speller: SpellingCorrector | None = None
        self.suggester: Suggester | None = None
        self.popularity: np.ndarray | None = None
        self._stats: ProductStats | None = None
        self._query_vectors = QueryVectorCache()

    @property
    def catalog(self) -> CatalogArrays:
        if self._catalog is None:
            raise RuntimeError(
                "the search pipeline is not fitted: call fit(products) or load(directory) first"
            )
        return self._catalog

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            raise RuntimeError(
                "the search pipeline is not fitted: call fit(products) or load(directory) first"
            )
        return self._lexical

    def __len__(self) -> int:
        return len(self.catalog)

    def fit(
        self,
        products: Sequence[Product],
        popularity: np.ndarray | None = None,
        embedding_cache: str | Path | None = None,
        queries: Sequence[str] = (),
        progress: bool = False,
    ) -> Self:
        """Index `products`; `popularity` (weighted events per product, in product order) and past
        `queries` feed the ranker's features and autocomplete; embeddings go through `embedding_cache`."""
        lexical = LexicalIndex(self.config.lexical).fit(products)
        self.popularity = None if popularity is None else np.asarray(popularity, dtype=np.float32)
        if self.config.spelling.enabled:
            self.speller = SpellingCorrector(self.config.spelling).fit(
                " ".join(filter(None, (p.title, p.brand, p.category, p.description))) for p in products
            )
        self.suggester = Suggester().fit((p.title for p in products), queries)
        if self.config.semantic and products:
            self.vectors = self._embed(products, embedding_cache, progress)
        self._attach(Catalog().fit(products), lexical)
        return self

    def _embed(
        self, products: Sequence[Product], cache: str | Path | None, progress: bool
    ) -> VectorIndex | None:
        texts = [product_text(p) for p in products]
        # The resolved model goes into the config, so a saved pipeline serves queries with it.
        chosen, self.encoder_choice = choose_encoder(self.config.encoder, texts)
        self.config = self.config.model_copy(update={"encoder": chosen})
        try:
            encoder = TextEncoder(self.config.encoder, cache_dir=cache)
            vectors = encoder.encode(texts, progress=progress)
        except (ImportError, OSError, ValueError, RuntimeError) as error:
            # Search still works on BM25 alone; the manifest and logs say why it is not hybrid.
            logger.warning("dense retrieval disabled: the text encoder failed: %s", error)
            return None
        self.encoder = encoder
        return VectorIndex(self.config.vectors).fit(vectors, model=encoder.name)

    def _attach(self, products: Catalog, lexical: LexicalIndex) -> None:
        catalog = products.arrays
        self._products, self._catalog, self._lexical = products, catalog, lexical
        self._position_of = catalog.position()
        # Browsing has no relevance to rank by: titles give a stable order a shopper can follow.
        titles = [p.title.lower() for p in catalog.products]
        self._browse_order = np.array(
            sorted(range(len(titles)), key=lambda i: (titles[i], i)), dtype=np.int64
        )
        self._stats = ProductStats.of(catalog, lexical, self.popularity)

    def attach_ranker(self, ranker: LearnedRanker | None) -> None:
        self.ranker = ranker

    def attach_memory(self, memory: SearchMemory | None) -> None:
        self.memory = memory

    def variant(self, **switches: Any) -> SearchPipeline:
        """A view sharing every index but with some parts switched off (for ablations):
        semantic=False, lexical=False, spelling=False, ranker=False, memory=False."""
        twin = SearchPipeline.__new__(SearchPipeline)
        twin.__dict__.update(self.__dict__)
        if switches.pop("semantic", True) is False:
            twin.vectors = None
        if switches.pop("spelling", True) is False:
            twin.speller = None
        if switches.pop("ranker", True) is False:
            twin.ranker = None
        if switches.pop("memory", True) is False:
            twin.memory = None
        if switches.pop("lexical", True) is False:
            fusion = self.config.fusion.model_copy(update={"lexical_weight": 0.0})
            twin.config = self.config.model_copy(update={"fusion": fusion})
        if switches:
            raise ValueError(f"unknown switches {sorted(switches)}")
        return twin

    @property
    def components(self) -> dict[str, Any]:
        return {
            "lexical": True,
            "dense": self.vectors.model if self.vectors is not None else None,
            "dense_choice": self.encoder_choice,
            "spelling": self.speller is not None,
            "ranker": self.ranker.meta if self.ranker is not None else None,
            "memory_queries": len(self.memory) if self.memory is not None else 0,
        }

    def product(self, product_id: str) -> Product | None:
        position = self._position_of.get(product_id)
        return None if position is None else self.catalog.products[position]

    def suggest(self, prefix: str, n: int = 8) -> list[str]:
        text = clean_query(prefix, self.config.max_query_chars)
        return self.suggester.suggest(text, n) if self.suggester is not None else []

    def search(
        self,
        query: str,
        filters: Filters | None = None,
        page: int = 1,
        page_size: int | None = None,
        request_id: str | None = None,
        profile: UserProfile | None = None,
        rules: RuleSet | None = None,
        synonyms: SynonymSet | None = None,
        stages: StageHook | None = None,
    ) -> SearchResult:
        """One page of products matching `query` under `filters`; an empty query browses them by title.
        `synonyms` (the shop's editable list) join the configured ones for this query. `stages` is told
        of each stage as it runs (see shelfwise.search.stages), for timing or tracing."""
        hook = stages if stages is not None else NO_STAGES
        size = self.config.default_page_size if page_size is None else page_size
        self._check_page(page, size)
        text = clean_query(query, self.config.max_query_chars)
        with hook.stage(Stage.FILTERS):
            mask = self.catalog.mask(filters)
            applicable = rules.applicable(text, filters) if rules is not None else []
            for rule in applicable:
                if rule.action == "filter":
                    mask = mask & target_mask(rule, self.catalog.products, np.arange(len(self.catalog)))
        offset = (page - 1) * size
        correction = Correction(text=text)
        if not text:
            with hook.stage(Stage.BROWSE):
                hits, total, matching = self._browse(mask, offset, size)
        else:
            if self._hybrid_ready or synonyms:
                ranking = self.rank(text, mask, offset + size, synonyms, hook)
            else:
                ranking = self._rank_lexical(text, mask, offset + size, hook)
            # Personalisation and the rules move hits on every path, BM25 alone included.
            hits = self._page(ranking, offset, size, profile, applicable, mask, hook)
            total, matching, correction = ranking.total, ranking.matching, ranking.correction
        with hook.stage(Stage.PAGE):
            return SearchResult(
                query=text,
                total=total,
                page=page,
                page_size=size,
                hits=hits,
                facets=self.catalog.facets(matching, category_prefix=filters.category if filters else None),
                request_id=request_id or uuid.uuid4().hex,
                corrected_query=correction.text if correction.changed else None,
                did_you_mean=self._did_you_mean(correction, total),
            )

    def _did_you_mean(self, correction: Correction, total: int) -> str | None:
        """The speller's doubtful fix, offered only when the query as typed found little."""
        return correction.suggestion if total < self.config.spelling.suggest_below_results else None

    @property
    def _hybrid_ready(self) -> bool:
        return any(part is not None for part in (self.vectors, self.ranker, self.speller)) or bool(
            self.config.synonyms
        )

    def _check_page(self, page: int, page_size: int) -> None:
        if page < 1:
            raise ValueError(f"page must be >= 1, got {page}")
        if not 1 <= page_size <= self.config.max_page_size:
            raise ValueError(f"page_size must be between 1 and {self.config.max_page_size}, got {page_size}")

    def _rank_lexical(self, text: str, mask: np.ndarray, depth: int, stages: StageHook) -> Ranking:
        """Fielded BM25 alone: the best `depth` matches (at least the lexical pool of the hybrid path,
        for rules and personalisation to reorder), ties by position. Every document tied with the last
        one kept is kept too, as `LexicalIndex.search` does, so a page is the same whatever the depth."""
        with stages.stage(Stage.LEXICAL):
            scored = self.lexical.scored(text, mask)
            matching = np.flatnonzero(scored.matched)
            candidates, scores = matching, scored.fused[matching]
            wanted = max(depth, self.config.fusion.lexical_depth)
            if 0 < wanted < len(candidates):
                threshold = np.partition(scores, len(scores) - wanted)[len(scores) - wanted]
                keep = scores >= threshold
                candidates, scores = candidates[keep], scores[keep]
            order = np.lexsort((candidates, -scores))[:wanted]
        return Ranking(
            positions=candidates[order].astype(np.int64),
            scores=scores[order],
            correction=Correction(text=text),
            features=None,
            scored=scored,
            total=len(matching),
            matching=matching,
            candidates=None,
        )

    def query_vector(self, text: str) -> np.ndarray | None:
        """The query's embedding, remembered for the next `query_vector_cache` distinct queries."""
        if self.vectors is None:
            return None
        return self._query_vectors.vector(
            text, lambda t: self._query_encoder().encode_one(t), self.config.query_vector_cache
        )

    def prime_query_vectors(self, queries: Sequence[str]) -> None:
        """Encode many queries in batches (several times faster than one by one), e.g. for training."""
        if self.vectors is None or not queries:
            return
        texts = []
        for query in queries:
            text = clean_query(query, self.config.max_query_chars)
            texts.append(searched_text(text, correct(text, self.speller)))
        self._query_vectors.prime(
            texts, lambda batch: self._query_encoder().encode(batch), self.config.query_vector_cache
        )

    def _query_encoder(self) -> TextEncoder:
        if self.encoder is None:
            self.encoder = TextEncoder(self.config.encoder)
        return self.encoder

    def understand(
        self, text: str, synonyms: SynonymSet | None = None, stages: StageHook = NO_STAGES
    ) -> tuple[QueryContext, str, Correction]:
        """(what retrieval searches, with the query's embedding; the lexical text with synonyms; the
        spelling correction)."""
        with stages.stage(Stage.QUERY_UNDERSTANDING):
            in_force = self._configured_synonyms.merged(synonyms or SynonymSet())
            context, lexical_text, correction = understand(
                text, self.lexical.analyzer, self.speller, in_force
            )
        if self.vectors is not None:
            with stages.stage(Stage.QUERY_ENCODING):
                context = dataclasses.replace(context, vector=self.query_vector(context.text))
        return context, lexical_text, correction

    @property
    def _configured_synonyms(self) -> SynonymSet:
        return SynonymSet.of_groups(self.config.synonyms)

    def rank(
        self,
        text: str,
        mask: np.ndarray,
        depth: int,
        synonyms: SynonymSet | None = None,
        stages: StageHook = NO_STAGES,
    ) -> Ranking:
        """The fused candidates (at least `depth` where that many qualify) in final order before
        personalisation and rules: the learned ranker's where one is attached, else fusion's."""
        context, candidates, correction = self._pool(text, mask, depth, synonyms, None, stages)
        positions, scores = candidates.positions, candidates.rrf
        ranking = Ranking(
            positions,
            scores,
            correction,
            None,
            candidates.scored,
            candidates.total,
            candidates.matching,
            candidates,
        )
        if self.ranker is None or not self.config.ranker.enabled or not len(positions):
            return ranking
        features = self._features(context, candidates, None, stages)
        with stages.stage(Stage.RANKER):
            head = min(len(positions), max(self.config.ranker.rerank_depth, depth))
            predicted = self.ranker.predict(features[:head])
            order = np.lexsort((positions[:head], -predicted))
            tail_scores = predicted.min() - 1 - np.arange(len(positions) - head, dtype=np.float32) * 1e-6
            return ranking._replace(
                positions=np.concatenate([positions[:head][order], positions[head:]]),
                scores=np.concatenate([predicted[order], tail_scores]).astype(np.float32),
                features=np.concatenate([features[:head][order], features[head:]]),
            )

    def training_pool(self, text: str, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions, features): the pool a ranker would order, left in fusion order (what the ranker
        learns from), with the search memory of `text` itself left out, as for a query never seen."""
        context, candidates, _ = self._pool(text, mask, 0, None, text, NO_STAGES)
        return candidates.positions, self._features(context, candidates, text, NO_STAGES)

    def _pool(
        self,
        text: str,
        mask: np.ndarray,
        depth: int,
        synonyms: SynonymSet | None,
        leave_out: str | None,
        stages: StageHook,
    ) -> tuple[QueryContext, Candidates, Correction]:
        context, lexical_text, correction = self.understand(text, synonyms, stages)
        # Retrieval and the features read the text with its synonyms; the terms stay the query's own.
        searched = QueryContext(lexical_text, context.terms, context.vector, context.corrected)
        for_training = leave_out is not None
        candidates = gather_candidates(
            searched,
            mask,
            self.lexical,
            self.vectors,
            self.catalog,
            self.config.fusion,
            depth=depth,
            ranked=self.config.ranker.enabled and (self.ranker is not None or for_training),
            memory=self.memory,
            leave_out=leave_out,
            stages=stages,
        )
        return searched, candidates, correction

    def _features(
        self, context: QueryContext, candidates: Candidates, leave_out: str | None, stages: StageHook
    ) -> np.ndarray:
        return ranker_features(
            context, candidates, self.catalog, self._stats_or_build(), self.memory, leave_out, stages
        )

    def _stats_or_build(self) -> ProductStats:
        if self._stats is None:
            self._stats = ProductStats.of(self.catalog, self.lexical, self.popularity)
        return self._stats

    def _page(
        self,
        ranking: Ranking,
        offset: int,
        size: int,
        profile: UserProfile | None,
        rules: Sequence[Rule],
        mask: np.ndarray,
        stages: StageHook,
    ) -> list[Hit]:
        """The hits ranked offset..offset+size once personalisation and the rules have moved them."""
        products = self.catalog.products
        with stages.stage(Stage.PERSONALISATION):
            scores = ranking.scores
            spread = float(np.std(scores[:_SPREAD_DEPTH])) if len(scores) > 1 else 1.0
            spread = spread if spread > 0 else 1.0
            scores, adjustments = personal_boosts(
                profile, ranking.positions, scores, products, self.config.personal_weight, spread
            )
        with stages.stage(Stage.RULES):
            positions, scores, features, adjustments = apply_rules(
                rules,
                ranking.positions,
                scores,
                ranking.features,
                adjustments,
                products,
                mask,
                spread,
                self._position_of,
            )
        with stages.stage(Stage.EXPLANATIONS):
            page = slice(offset, offset + size)
            page_positions = positions[page]
            field_matches = self.lexical.matches_for(page_positions, ranking.scored)
            cosine_of = (
                ranking.candidates.cosines_of(page_positions) if ranking.candidates is not None else {}
            )
            contributions = None
            if self.ranker is not None and features is not None and len(page_positions):
                contributions = self.ranker.contributions(features[page])
            hits = []
            for row, position in enumerate(page_positions.tolist()):
                hits.append(
                    Hit.model_construct(
                        product=products[position],
                        score=float(scores[offset + row]),
                        matched_fields=[m.field for m in field_matches[row]],
                        explanation=explain_hit(
                            field_matches[row],
                            cosine_of.get(position),
                            ranking.correction,
                            contributions[row] if contributions is not None else None,
                            adjustments.get(position, []),
                        ),
                    )
                )
            return hits

    def _browse(self, mask: np.ndarray, offset: int, size: int) -> tuple[list[Hit], int, np.ndarray]:
        ordered = self._browse_order[mask[self._browse_order]]
        products = self.catalog.products
        explanation = explain_browse()
        hits = [
            Hit(product=products[int(position)], score=0.0, explanation=explanation)
            for position in ordered[offset : offset + size]
        ]
        return hits, len(ordered), ordered

    # persistence: the parts each in its own subdirectory, through the component format ------------

    def parts(self) -> dict[str, Component[Any] | None]:
        """The parts by the subdirectory each is saved in (None: absent)."""
        return {
            "catalog": self._products,
            "lexical": self._lexical,
            "vectors": self.vectors,
            "spelling": self.speller,
            "suggest": self.suggester,
            "ranker": self.ranker,
            "memory": self.memory,
        }

    def forget_state(self, subject: Subject) -> Forgotten:
        """Subtract the subject's events from the products' popularity (the parts answer for themselves).
        A count stops at zero: events the quality gate kept out of training were never added."""
        if self.popularity is None or self._products is None or self._lexical is None:
            return Forgotten()
        theirs = popularity_of(self.catalog.products, subject.events)
        self.popularity = np.maximum(self.popularity - theirs, 0.0).astype(np.float32)
        self._attach(self._products, self._lexical)
        return Forgotten(removed=int(np.count_nonzero(theirs)))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self.catalog  # noqa: B018 - raises when not fitted
        values = {
            "encoder_choice": self.encoder_choice,
            "components": self.components,  # for a reader of the manifest; loading rebuilds it
        }
        arrays = {"popularity": self.popularity} if self.popularity is not None else {}
        return values, arrays

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.encoder_choice = values.get("encoder_choice")
        self.popularity = arrays.get("popularity")

    def restore_parts(self, directory: Path, saved: Sequence[str]) -> None:
        missing = [name for name in _REQUIRED_PARTS if name not in saved]
        if missing:
            raise ComponentFormatError(f"{directory}: a search pipeline without its {', '.join(missing)}")
        products, lexical = Catalog.load(directory / "catalog"), LexicalIndex.load(directory / "lexical")
        self.vectors = load_part(directory, "vectors", VectorIndex, saved)
        self.speller = load_part(directory, "spelling", SpellingCorrector, saved)
        self.suggester = load_part(directory, "suggest", Suggester, saved)
        self.ranker = load_part(directory, "ranker", LearnedRanker, saved)
        self.memory = load_part(directory, "memory", SearchMemory, saved)
        sizes = {
            "lexical index": lexical.n_documents,
            "vector index": len(self.vectors) if self.vectors is not None else None,
            "search memory": self.memory.n_products if self.memory is not None else None,
        }
        n = len(products.arrays)
        wrong = [f"the {name} covers {size}" for name, size in sizes.items() if size not in (None, n)]
        if wrong:
            raise ComponentFormatError(f"{directory}: the catalog has {n} products but {', '.join(wrong)}")
        self._attach(products, lexical)
