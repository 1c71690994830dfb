"""The query pipeline: clean the query, retrieve with fielded BM25 under the filters, page, facet, explain."""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shelfwise.domain import Filters, Hit, Product, SearchResult
from shelfwise.index.catalog import CatalogArrays
from shelfwise.index.lexical import LexicalIndex, LexicalIndexConfig
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.search.explain import explain_browse, explain_hybrid, explain_lexical
from shelfwise.search.features import ProductStats, ranker_features
from shelfwise.search.fusion import Candidates, FusionConfig, QueryContext, gather_candidates
from shelfwise.search.memory import SearchMemory
from shelfwise.search.personal import MODEL_WEIGHT, UserProfile
from shelfwise.search.ranker import LearnedRanker, RankerConfig
from shelfwise.search.rules import RuleSet, target_mask
from shelfwise.search.spelling import Correction, SpellingConfig, SpellingCorrector
from shelfwise.search.suggest import Suggester
from shelfwise.search.synonyms import SynonymSet
from shelfwise.text.encoder import EncoderConfig, TextEncoder, product_text
from shelfwise.text.multilingual import AUTO_MODEL, choose_encoder

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
_SPACES = re.compile(r"\s+")


class Ranking(NamedTuple):
    """A query's candidates in ranked order, before personalisation and rules."""

    positions: np.ndarray  # int64
    scores: np.ndarray  # float32, best first
    candidates: Candidates  # the fused pool they come from, in fusion order
    correction: Correction
    features: np.ndarray | None  # ranker features of `positions`, in their order; None without a ranker


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lexical: LexicalIndexConfig = Field(default_factory=LexicalIndexConfig)
    default_page_size: int = Field(default=10, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_query_chars: int = Field(default=512, ge=1)
    semantic: bool = Field(
        default=True, description="Dense retrieval with the text encoder, fused with BM25."
    )
    # `auto`: MiniLM, unless enough of the catalog is Chinese, Japanese or Korean for the multilingual
    # encoder (shelfwise.text.multilingual); fit() records which one it took.
    encoder: EncoderConfig = Field(default_factory=lambda: EncoderConfig(model=AUTO_MODEL))
    vectors: VectorIndexConfig = Field(default_factory=VectorIndexConfig)
    fusion: FusionConfig = Field(default_factory=FusionConfig)
    spelling: SpellingConfig = Field(default_factory=SpellingConfig)
    ranker: RankerConfig = Field(default_factory=RankerConfig)
    synonyms: list[list[str]] = Field(
        default_factory=list, description='Groups of interchangeable words, e.g. [["sofa", "couch"]].'
    )
    personal_weight: float = Field(default=1.0, ge=0, description="How far user affinity moves a hit.")
    personal_model_weight: float = Field(
        default=MODEL_WEIGHT,
        ge=0,
        description="Weight of the recommendation models' view of the user in the affinity (0: off, "
        "which `shelfwise evaluate personal` measured as no worse, and saves a model pass per search).",
    )
    search_memory: bool = Field(
        default=True,
        description="Remember what labelled searches led to (judgements, or the clicks, carts and purchases "
        "after a search) and give the learned ranker features from the nearest remembered queries.",
    )
    query_vector_cache: int = Field(default=10_000, ge=0, description="Query embeddings kept in memory.")

    @model_validator(mode="after")
    def _check_page_sizes(self) -> SearchConfig:
        if self.default_page_size > self.max_page_size:
            raise ValueError(
                f"default_page_size ({self.default_page_size}) exceeds max_page_size ({self.max_page_size})"
            )
        return self


def clean_query(query: str, max_chars: int) -> str:
    """Control characters become spaces and other invisible ones go (a soft hyphen must not split a word);
    whitespace runs collapse and the result is cut at `max_chars`."""
    visible = "".join(_visible(ch) for ch in query)
    return _SPACES.sub(" ", visible).strip()[:max_chars].rstrip()


def _visible(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc":
        return " "
    return "" if category.startswith("C") else ch


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
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()

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
        if text and (self._hybrid_ready or synonyms):
            hits, total, matching, correction = self._retrieve_hybrid(
                text, mask, offset, size, profile, applicable, synonyms
            )
        elif text:
            hits, total, matching = self._retrieve(text, mask, offset, size)
        else:
            hits, total, matching = self._browse(mask, offset, size)
        return SearchResult(
            query=text,
            total=total,
            page=page,
            page_size=size,
            hits=hits,
            facets=self.catalog.facets(matching, category_prefix=filters.category if filters else None),
            request_id=request_id or uuid.uuid4().hex,
            corrected_query=correction.text if correction.changed else None,
            did_you_mean=correction.text if correction.changed else None,
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

    def _retrieve(
        self, text: str, mask: np.ndarray, offset: int, size: int
    ) -> tuple[list[Hit], int, np.ndarray]:
        matches = self.lexical.search(text, k=size, mask=mask, offset=offset)
        products = self.catalog.products
        hits = [
            Hit(
                product=products[int(position)],
                score=float(score),
                matched_fields=[m.field for m in field_matches],
                explanation=explain_lexical(field_matches),
            )
            for position, score, field_matches in zip(
                matches.positions, matches.scores, matches.field_matches, strict=True
            )
        ]
        return hits, matches.total, np.flatnonzero(matches.matched)

    def query_vector(self, text: str) -> np.ndarray | None:
        """The query's embedding, remembered for the next `query_vector_cache` distinct queries."""
        if self.vectors is None:
            return None
        cached = self._query_vectors.get(text)
        if cached is not None:
            self._query_vectors.move_to_end(text)
            return cached
        if self.encoder is None:
            self.encoder = TextEncoder(self.config.encoder)
        vector = self.encoder.encode_one(text)
        if self.config.query_vector_cache:
            self._query_vectors[text] = vector
            if len(self._query_vectors) > self.config.query_vector_cache:
                self._query_vectors.popitem(last=False)
        return vector

    def prime_query_vectors(self, queries: Sequence[str]) -> None:
        """Encode many queries in batches (several times faster than one by one), e.g. for training."""
        if self.vectors is None or not queries:
            return
        if self.encoder is None:
            self.encoder = TextEncoder(self.config.encoder)
        texts = []
        for query in queries:
            text = clean_query(query, self.config.max_query_chars)
            correction = self.speller.correct(text) if self.speller is not None else None
            texts.append(correction.text if correction is not None and correction.changed else text)
        fresh = [t for t in dict.fromkeys(texts) if t and t not in self._query_vectors]
        limit = self.config.query_vector_cache
        for text, vector in zip(fresh[:limit], self.encoder.encode(fresh[:limit]), strict=True):
            self._query_vectors[text] = vector
        while len(self._query_vectors) > limit:
            self._query_vectors.popitem(last=False)

    def understand(
        self, text: str, synonyms: SynonymSet | None = None
    ) -> tuple[QueryContext, str, Correction]:
        """(what retrieval searches, the lexical text with synonyms, the spelling correction)."""
        correction = self.speller.correct(text) if self.speller is not None else Correction(text=text)
        searched = correction.text if correction.changed else text
        terms = list(dict.fromkeys(self.lexical.analyzer.analyze(searched)))
        context = QueryContext(
            text=searched, terms=terms, vector=self.query_vector(searched), corrected=correction.changed
        )
        in_force = self._configured_synonyms.merged(synonyms or SynonymSet())
        return context, " ".join([searched, *in_force.expand(searched)]), correction

    @property
    def _configured_synonyms(self) -> SynonymSet:
        return SynonymSet.of_groups(self.config.synonyms)

    def rank(self, text: str, mask: np.ndarray, depth: int, synonyms: SynonymSet | None = None) -> Ranking:
        """Candidates in final order before personalisation and rules."""
        context, candidates, correction = self._pool(text, mask, depth, synonyms, leave_out=None)
        positions, scores = candidates.positions, candidates.rrf
        if self.ranker is None or not self.config.ranker.enabled or not len(positions):
            return Ranking(positions, scores, candidates, correction, None)
        features = self._features(context, candidates, leave_out=None)
        head = min(len(positions), max(self.config.ranker.rerank_depth, depth))
        predicted = self.ranker.predict(features[:head])
        order = np.lexsort((positions[:head], -predicted))
        tail_scores = predicted.min() - 1 - np.arange(len(positions) - head, dtype=np.float32) * 1e-6
        positions = np.concatenate([positions[:head][order], positions[head:]])
        scores = np.concatenate([predicted[order], tail_scores]).astype(np.float32)
        features = np.concatenate([features[:head][order], features[head:]])
        return Ranking(positions, scores, candidates, correction, features)

    def training_pool(self, text: str, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions, features): the pool a ranker would order, left in fusion order (what the ranker
        learns from), with the search memory of `text` itself left out, as for a query never seen."""
        context, candidates, _ = self._pool(text, mask, 0, None, leave_out=text)
        return candidates.positions, self._features(context, candidates, leave_out=text)

    def _pool(
        self, text: str, mask: np.ndarray, depth: int, synonyms: SynonymSet | None, leave_out: str | None
    ) -> tuple[QueryContext, Candidates, Correction]:
        context, lexical_text, correction = self.understand(text, synonyms)
        # Retrieval and the features read the text with its synonyms; the words stay the typed ones.
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

    def _retrieve_hybrid(
        self,
        text: str,
        mask: np.ndarray,
        offset: int,
        size: int,
        profile: UserProfile | None,
        rules: list[Any],
        synonyms: SynonymSet | None,
    ) -> tuple[list[Hit], int, np.ndarray, Correction]:
        positions, scores, candidates, correction, features = self.rank(text, mask, offset + size, synonyms)
        products = self.catalog.products
        adjustments: dict[int, list[tuple[str, str, float]]] = {}
        spread = float(np.std(scores[:50])) if len(scores) > 1 else 1.0
        spread = spread if spread > 0 else 1.0
        scores = scores.copy()
        if profile is not None and not profile.empty and self.config.personal_weight > 0:
            head = min(len(positions), 100)
            for i in range(head):
                product = products[int(positions[i])]
                boost = self.config.personal_weight * spread * profile.affinity(product)
                if boost > 0:
                    scores[i] += boost
                    detail = "; ".join(profile.reasons(product)) or "close to what you usually buy"
                    adjustments.setdefault(i, []).append(("personal", detail, boost))
        positions, scores, features, adjustments = _apply_rules(
            rules, positions, scores, features, adjustments, products, mask, spread, self._position_of
        )
        page = slice(offset, offset + size)
        page_positions = positions[page]
        field_matches = self.lexical.matches_for(page_positions, candidates.scored)
        cosine_of = candidates.cosines_of(page_positions)
        contributions = None
        if self.ranker is not None and features is not None and len(page_positions):
            contributions = self.ranker.contributions(features[page])
        hits = []
        for row, position in enumerate(page_positions):
            rank = offset + row
            hits.append(
                Hit.model_construct(
                    product=products[int(position)],
                    score=float(scores[rank]),
                    matched_fields=[m.field for m in field_matches[row]],
                    explanation=explain_hybrid(
                        field_matches[row],
                        cosine_of.get(int(position)),
                        correction,
                        contributions[row] if contributions is not None else None,
                        adjustments.get(rank, []),
                    ),
                )
            )
        return hits, candidates.total, candidates.matching, correction

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


def _apply_rules(
    rules: list[Any],
    positions: np.ndarray,
    scores: np.ndarray,
    features: np.ndarray | None,
    adjustments: dict[int, list[tuple[str, str, float]]],
    products: list[Product],
    mask: np.ndarray,
    spread: float,
    position_of: dict[str, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict[int, list[tuple[str, str, float]]]]:
    """Boost/bury shift scores by `amount` spreads, then everything is re-sorted; pins go last, to their slot.
    Adjustments are keyed by rank and follow their product through the re-sort."""
    if not rules and not adjustments:
        return positions, scores, features, adjustments  # ranked order already, nothing moves
    by_position = {int(positions[i]): notes for i, notes in adjustments.items()}
    for rule in rules:
        if rule.action not in ("boost", "bury"):
            continue
        hit = target_mask(rule, products, positions)
        sign = 1.0 if rule.action == "boost" else -1.0
        shift = sign * rule.amount * spread * 3
        scores = scores + np.where(hit, shift, 0).astype(np.float32)
        for p in positions[hit]:
            by_position.setdefault(int(p), []).append(("rule", f"{rule.action} rule {rule.rule_id}", shift))
    order = np.lexsort((positions, -scores))
    positions, scores = positions[order], scores[order]
    features = features[order] if features is not None else None
    for rule in rules:
        if rule.action != "pin":
            continue
        for offset, product_id in enumerate(rule.product_ids):
            position = position_of.get(product_id)
            if position is None or not mask[position]:
                continue
            keep = positions != position
            slot = min(rule.position - 1 + offset, int(keep.sum()))
            top = float(scores[0]) if len(scores) else 0.0
            new_positions = np.insert(positions[keep], slot, position)
            new_scores = np.insert(scores[keep], slot, scores[slot] if slot < keep.sum() else top)
            if features is not None:
                row = features[~keep][0] if (~keep).any() else np.full(features.shape[1], np.nan, np.float32)
                features = np.insert(features[keep], slot, row, axis=0)
            positions, scores = new_positions, new_scores.astype(np.float32)
            by_position.setdefault(position, []).append(("rule", f"pinned by rule {rule.rule_id}", 0.0))
    rank_of = {int(p): i for i, p in enumerate(positions)}
    return (
        positions,
        scores,
        features,
        {rank_of[p]: notes for p, notes in by_position.items() if p in rank_of},
    )
