"""The query pipeline: clean and understand the query, retrieve under the filters (fielded BM25, fused with
dense retrieval and ordered by a learned ranker where those are fitted), personalise, apply the
merchandising rules, then page, facet and explain.

This module orchestrates; each step lives in its own: query.py (understanding), fusion.py (the candidate
pool), features.py and ranker.py (the learned order), personal.py and rules.py (what moves hits after it),
explain.py (why each hit is where it is).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Self

import numpy as np

from shelfwise.domain import Filters, Hit, Product, SearchResult
from shelfwise.index.catalog import CatalogArrays
from shelfwise.index.lexical import LexicalIndex, ScoredQuery
from shelfwise.index.vector import VectorIndex
from shelfwise.search.config import SearchConfig
from shelfwise.search.explain import explain_browse, explain_hit
from shelfwise.search.features import ProductStats, ranker_features
from shelfwise.search.fusion import Candidates, gather_candidates
from shelfwise.search.memory import SearchMemory
from shelfwise.search.personal import UserProfile, personal_boosts
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
from shelfwise.search.suggest import Suggester
from shelfwise.search.synonyms import SynonymSet
from shelfwise.text.encoder import TextEncoder, choose_encoder, product_text

logger = logging.getLogger(__name__)

_CONFIG_FILE = "search_config.json"
_PRODUCTS_FILE = "products.jsonl"
_LEXICAL_DIR = "lexical"
_VECTOR_DIR = "vectors"
_RANKER_DIR = "ranker"
_SPELLING_DIR = "spelling"
_SUGGEST_DIR = "suggest"
_MEMORY_DIR = "memory"
_POPULARITY_FILE = "popularity.npy"
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


class SearchPipeline:
    """Fielded BM25, plus (each optional, each falling back cleanly) dense retrieval fused with it,
    spelling correction, a learned re-ranker, personalisation and merchandising rules."""

    def __init__(self, config: SearchConfig | None = None) -> None:
        self.config = config or SearchConfig()
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
        self._attach(CatalogArrays.of(products), lexical)
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
        return VectorIndex(vectors, model=encoder.name, config=self.config.vectors)

    def _attach(self, catalog: CatalogArrays, lexical: LexicalIndex) -> None:
        self._catalog, self._lexical = catalog, lexical
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
    ) -> SearchResult:
        """One page of products matching `query` under `filters`; an empty query browses them by title.
        `synonyms` (the shop's editable list) join the configured ones for this query."""
        size = self.config.default_page_size if page_size is None else page_size
        self._check_page(page, size)
        text = clean_query(query, self.config.max_query_chars)
        mask = self.catalog.mask(filters)
        applicable = rules.applicable(text, filters) if rules is not None else []
        for rule in applicable:
            if rule.action == "filter":
                mask = mask & target_mask(rule, self.catalog.products, np.arange(len(self.catalog)))
        offset = (page - 1) * size
        correction = Correction(text=text)
        if not text:
            hits, total, matching = self._browse(mask, offset, size)
        else:
            if self._hybrid_ready or synonyms:
                ranking = self.rank(text, mask, offset + size, synonyms)
            else:
                ranking = self._rank_lexical(text, mask, offset + size)
            # Personalisation and the rules move hits on every path, BM25 alone included.
            hits = self._page(ranking, offset, size, profile, applicable, mask)
            total, matching, correction = ranking.total, ranking.matching, ranking.correction
        return SearchResult(
            query=text,
            total=total,
            page=page,
            page_size=size,
            hits=hits,
            facets=self.catalog.facets(matching, category_prefix=filters.category if filters else None),
            request_id=request_id or uuid.uuid4().hex,
            corrected_query=correction.text if correction.changed else None,
        )

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

    def _rank_lexical(self, text: str, mask: np.ndarray, depth: int) -> Ranking:
        """Fielded BM25 alone: the best `depth` matches (at least the lexical pool of the hybrid path,
        for rules and personalisation to reorder), ties by position. Every document tied with the last
        one kept is kept too, as `LexicalIndex.search` does, so a page is the same whatever the depth."""
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
        self, text: str, synonyms: SynonymSet | None = None
    ) -> tuple[QueryContext, str, Correction]:
        """(what retrieval searches, the lexical text with synonyms, the spelling correction)."""
        in_force = self._configured_synonyms.merged(synonyms or SynonymSet())
        return understand(text, self.lexical.analyzer, self.speller, in_force, self.query_vector)

    @property
    def _configured_synonyms(self) -> SynonymSet:
        return SynonymSet.of_groups(self.config.synonyms)

    def rank(self, text: str, mask: np.ndarray, depth: int, synonyms: SynonymSet | None = None) -> Ranking:
        """The fused candidates (at least `depth` where that many qualify) in final order before
        personalisation and rules: the learned ranker's where one is attached, else fusion's."""
        context, candidates, correction = self._pool(text, mask, depth, synonyms, leave_out=None)
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
        features = self._features(context, candidates, leave_out=None)
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
        context, candidates, _ = self._pool(text, mask, 0, None, leave_out=text)
        return candidates.positions, self._features(context, candidates, leave_out=text)

    def _pool(
        self, text: str, mask: np.ndarray, depth: int, synonyms: SynonymSet | None, leave_out: str | None
    ) -> tuple[QueryContext, Candidates, Correction]:
        context, lexical_text, correction = self.understand(text, synonyms)
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
        )
        return searched, candidates, correction

    def _features(self, context: QueryContext, candidates: Candidates, leave_out: str | None) -> np.ndarray:
        return ranker_features(
            context, candidates, self.catalog, self._stats_or_build(), self.memory, leave_out
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
    ) -> list[Hit]:
        """The hits ranked offset..offset+size once personalisation and the rules have moved them."""
        products = self.catalog.products
        scores = ranking.scores
        spread = float(np.std(scores[:_SPREAD_DEPTH])) if len(scores) > 1 else 1.0
        spread = spread if spread > 0 else 1.0
        scores, adjustments = personal_boosts(
            profile, ranking.positions, scores, products, self.config.personal_weight, spread
        )
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
        page = slice(offset, offset + size)
        page_positions = positions[page]
        field_matches = self.lexical.matches_for(page_positions, ranking.scored)
        cosine_of = ranking.candidates.cosines_of(page_positions) if ranking.candidates is not None else {}
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

    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        (path / _CONFIG_FILE).write_text(self.config.model_dump_json(indent=2), encoding="utf-8")
        with (path / _PRODUCTS_FILE).open("w", encoding="utf-8") as out:
            for product in self.catalog.products:
                out.write(product.model_dump_json() + "\n")
        self.lexical.save(path / _LEXICAL_DIR)
        if self.vectors is not None:
            self.vectors.save(path / _VECTOR_DIR)
        if self.ranker is not None:
            self.ranker.save(path / _RANKER_DIR)
        if self.speller is not None:
            self.speller.save(path / _SPELLING_DIR)
        if self.suggester is not None:
            self.suggester.save(path / _SUGGEST_DIR)
        if self.memory is not None:
            self.memory.save(path / _MEMORY_DIR)
        if self.popularity is not None:
            np.save(path / _POPULARITY_FILE, self.popularity)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> SearchPipeline:
        path = Path(directory)
        for name in (_CONFIG_FILE, _PRODUCTS_FILE, _LEXICAL_DIR):
            if not (path / name).exists():
                raise FileNotFoundError(f"no search pipeline in {path}: {name} is missing")
        config = SearchConfig.model_validate_json((path / _CONFIG_FILE).read_text(encoding="utf-8"))
        with (path / _PRODUCTS_FILE).open(encoding="utf-8") as lines:
            products = [Product.model_validate_json(line) for line in lines if line.strip()]
        lexical = LexicalIndex.load(path / _LEXICAL_DIR)
        if lexical.n_documents != len(products):
            raise ValueError(
                f"{path}: the lexical index has {lexical.n_documents} documents "
                f"but {_PRODUCTS_FILE} has {len(products)} products"
            )
        pipeline = cls(config)
        if (path / _VECTOR_DIR).exists():
            pipeline.vectors = VectorIndex.load(path / _VECTOR_DIR)
            if len(pipeline.vectors) != len(products):
                raise ValueError(f"{path}: {len(pipeline.vectors)} vectors for {len(products)} products")
        if (path / _RANKER_DIR).exists():
            pipeline.ranker = LearnedRanker.load(path / _RANKER_DIR)
        if (path / _SPELLING_DIR).exists():
            pipeline.speller = SpellingCorrector.load(path / _SPELLING_DIR)
        if (path / _SUGGEST_DIR).exists():
            pipeline.suggester = Suggester.load(path / _SUGGEST_DIR)
        if (path / _MEMORY_DIR).exists():
            pipeline.memory = SearchMemory.load(path / _MEMORY_DIR)
            if pipeline.memory.led_to.shape[1] != len(products):
                raise ValueError(
                    f"{path}: the search memory covers {pipeline.memory.led_to.shape[1]} products "
                    f"but {_PRODUCTS_FILE} has {len(products)}"
                )
        if (path / _POPULARITY_FILE).exists():
            pipeline.popularity = np.load(path / _POPULARITY_FILE)
        pipeline._attach(CatalogArrays.of(products), lexical)
        return pipeline
