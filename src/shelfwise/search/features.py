"""The learned ranker's features: what it reads about each candidate of a fused pool.

Lexical scores per field and relative to the pool, the dense similarity, word coverage and order in the
title, character-trigram matches (typos and word forms BM25 misses), the product's own columns, how alike
the candidate is to what the query finds first, and what remembered searches led to. `FEATURE_NAMES` is the
column order; a saved ranker records it, and loading one that recorded another order fails.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from shelfwise.index.catalog import CatalogArrays
from shelfwise.index.lexical import FIELD_NAMES, LexicalIndex, ScoredQuery
from shelfwise.search.fusion import Candidates
from shelfwise.search.memory import MEMORY_FEATURES, SearchMemory
from shelfwise.search.query import QueryContext
from shelfwise.search.ragged import Ragged

MISSING_RANK = 1000.0
INTENT_DEPTH = 20
CENTROID_DEPTH = 10

FEATURE_NAMES: tuple[str, ...] = (
    "bm25",
    "bm25_vs_best",
    "bm25_rank",
    "cosine",
    "cosine_vs_best",
    "dense_rank",
    "rrf",
    "coverage",
    "title_coverage",
    "all_terms_in_title",
    *(f"bm25_{name}" for name in FIELD_NAMES),
    "query_terms",
    "query_chars",
    "title_terms",
    "phrase_in_title",
    "category_intent",
    "popularity",
    "log_price",
    "available",
    "spelling_corrected",
    "idf_title_coverage",
    "head_term_in_title",
    "head_term_in_title_tail",
    "bigram_matches",
    "first_match_position",
    "trigram_similarity",
    "bm25_z",
    "bm25_percentile",
    "cosine_z",
    "cosine_percentile",
    "rrf_percentile",
    "title_chars",
    "title_share_matched",
    "word_trigram_min",
    "word_trigram_mean",
    "word_trigram_head",
    "cosine_to_fused_top",
    "cosine_to_lexical_top",
    *MEMORY_FEATURES,
)
TAIL_TERMS = 4


@dataclass(frozen=True)
class TitleWords:
    """The analysed title terms of a candidate list, flattened once per query for every word feature:
    `tokens[i]` is a term id at word `index_in_title[i]` of candidate `row_of[i]`, rows in order."""

    tokens: np.ndarray
    row_of: np.ndarray
    index_in_title: np.ndarray

    @classmethod
    def of(cls, positions: np.ndarray, stats: ProductStats) -> TitleWords:
        flat, row_of = stats.title_tokens.gather(positions)
        index_in_title = flat - stats.title_tokens.offsets[positions][row_of]
        return cls(stats.title_tokens.values[flat], row_of, index_in_title)


@dataclass(frozen=True)
class ProductStats:
    """Per-product columns the features read, computed once per fitted catalog."""

    title_terms: np.ndarray  # float32
    titles_lower: list[str]
    title_tokens: Ragged  # analysed title terms as ids of `term_ids`, in title order
    term_ids: dict[str, int]
    title_trigrams: Ragged  # distinct character trigrams of the lower-cased title, as ids of `trigram_ids`
    trigram_ids: dict[str, int]
    terms_of_trigram: Ragged  # per id of `term_trigram_ids`, the term ids whose terms have that trigram
    term_trigram_ids: dict[str, int]
    term_trigram_counts: np.ndarray  # float32, distinct trigrams per term
    title_chars: np.ndarray  # float32
    popularity: np.ndarray  # float32 log1p(weighted events)
    log_price: np.ndarray  # float32, NaN where unknown

    @classmethod
    def of(cls, catalog: CatalogArrays, lexical: LexicalIndex, popularity: np.ndarray | None) -> ProductStats:
        titles = [p.title for p in catalog.products]
        n = len(titles)
        pop = np.zeros(n, dtype=np.float32) if popularity is None else np.log1p(popularity).astype(np.float32)
        with np.errstate(invalid="ignore"):
            log_price = np.log1p(catalog.prices).astype(np.float32)
        term_ids: dict[str, int] = {}
        tokens = [
            [term_ids.setdefault(t, len(term_ids)) for t in lexical.analyzer.analyze(title)]
            for title in titles
        ]
        lowered = [t.lower() for t in titles]
        trigram_ids: dict[str, int] = {}
        trigrams = [
            sorted({trigram_ids.setdefault(g, len(trigram_ids)) for g in _trigrams(t)}) for t in lowered
        ]
        term_trigram_ids: dict[str, int] = {}
        for term in term_ids:
            for gram in _trigrams(term):
                term_trigram_ids.setdefault(gram, len(term_trigram_ids))
        term_trigrams = _term_trigram_matrix(list(term_ids), term_trigram_ids).tocsc()
        return cls(
            title_terms=np.array([len(t) for t in tokens], dtype=np.float32),
            titles_lower=lowered,
            title_tokens=Ragged.of(tokens),
            term_ids=term_ids,
            title_trigrams=Ragged.of(trigrams),
            trigram_ids=trigram_ids,
            terms_of_trigram=Ragged(
                term_trigrams.indices.astype(np.int64), term_trigrams.indptr.astype(np.int64)
            ),
            term_trigram_ids=term_trigram_ids,
            term_trigram_counts=np.asarray(term_trigrams.sum(axis=1), dtype=np.float32).ravel(),
            title_chars=np.array([len(t) for t in titles], dtype=np.float32),
            popularity=pop,
            log_price=log_price,
        )


def ranker_features(
    query: QueryContext,
    candidates: Candidates,
    catalog: CatalogArrays,
    stats: ProductStats,
    memory: SearchMemory | None = None,
    leave_out: str | None = None,
) -> np.ndarray:
    """float32 (len(candidates), len(FEATURE_NAMES)): the features of each candidate, in pool order.
    `memory`: past searches, for the memory features, without the remembered query `leave_out` (the one
    being trained on)."""
    positions = candidates.positions
    features = _features(
        query,
        positions,
        candidates.scored,
        candidates.cosine,
        candidates.lexical_rank,
        candidates.dense_rank,
        candidates.rrf,
        catalog,
        stats,
    )
    centroids = pool_centroids(candidates.vectors, features[:, FEATURE_NAMES.index("bm25")])
    remembered = (
        memory.features(query.terms, query.vector, positions, leave_out, candidates.memory_similarity)
        if memory is not None
        else np.zeros((len(positions), len(MEMORY_FEATURES)), dtype=np.float32)
    )
    return np.hstack([features, centroids, remembered])


def _features(
    query: QueryContext,
    positions: np.ndarray,
    scored: ScoredQuery,
    cosine: np.ndarray,
    lexical_rank: np.ndarray,
    dense_rank: np.ndarray,
    rrf: np.ndarray,
    catalog: CatalogArrays,
    stats: ProductStats,
) -> np.ndarray:
    count = len(positions)
    slot = np.full(len(catalog), -1, dtype=np.int64)
    slot[positions] = np.arange(count)
    per_field = np.zeros((count, len(FIELD_NAMES)), dtype=np.float32)
    field_index = {name: i for i, name in enumerate(FIELD_NAMES)}
    word_index: dict[str, int] = {}
    for posting in scored.postings:
        word_index.setdefault(posting.word, len(word_index))
    # Which candidate matched which query word anywhere / in its title: coverage counts words, not fields.
    anywhere = np.zeros((count, max(1, len(word_index))), dtype=bool)
    in_title = np.zeros_like(anywhere)
    for posting in scored.postings:
        rows = slot[posting.documents]
        hit = rows >= 0
        rows_hit = rows[hit]
        per_field[rows_hit, field_index[posting.field]] += posting.weight * posting.scores[hit]
        anywhere[rows_hit, word_index[posting.word]] = True
        if posting.field == "title":
            in_title[rows_hit, word_index[posting.word]] = True
    n_terms = max(1, len(query.terms))
    coverage = anywhere.sum(axis=1).astype(np.float32) / n_terms
    title_coverage = in_title.sum(axis=1).astype(np.float32) / n_terms
    bm25 = per_field.sum(axis=1)
    best_bm25 = float(bm25.max()) if count else 0.0
    best_cosine = float(np.nanmax(cosine)) if count and not np.all(np.isnan(cosine)) else np.nan
    words = TitleWords.of(positions, stats)
    phrase = query.text.lower()
    phrase_in_title = np.array(
        [phrase in stats.titles_lower[p] for p in positions.tolist()], dtype=np.float32
    )
    features = np.column_stack(
        [
            bm25,
            bm25 - best_bm25,
            np.log1p(np.minimum(lexical_rank, MISSING_RANK)),
            cosine,
            cosine - best_cosine,
            np.log1p(np.minimum(dense_rank, MISSING_RANK)),
            rrf,
            coverage,
            title_coverage,
            (title_coverage >= 1.0).astype(np.float32),
            per_field,
            np.full(count, len(query.terms), dtype=np.float32),
            np.full(count, len(query.text), dtype=np.float32),
            stats.title_terms[positions],
            phrase_in_title,
            _category_intent(positions, lexical_rank, catalog),
            stats.popularity[positions],
            stats.log_price[positions],
            catalog.available[positions].astype(np.float32),
            np.full(count, float(query.corrected), dtype=np.float32),
            _idf_title_coverage(query, scored, slot, count, len(catalog)),
            *_title_structure(query, positions, stats, words),
            *_within_query(bm25, cosine, rrf),
            stats.title_chars[positions],
            *_word_matches(query, positions, stats, words),
        ]
    ).astype(np.float32)
    return features


def pool_centroids(candidates: np.ndarray | None, bm25: np.ndarray) -> np.ndarray:
    """Cosine of each candidate (rows of `candidates`, its vectors in fused order) to the mean of the top
    fused and of the top lexical candidates: what kind of product the query is after, so a partial match
    of the same kind ranks above one of another kind."""
    if candidates is None or not len(candidates):
        return np.zeros((len(bm25), 2), dtype=np.float32)
    lexical_top = np.argsort(-bm25, kind="stable")[:CENTROID_DEPTH]
    tops = np.stack([candidates[:CENTROID_DEPTH].mean(axis=0), candidates[lexical_top].mean(axis=0)])
    tops /= np.maximum(np.linalg.norm(tops, axis=1, keepdims=True), 1e-9)
    return (candidates @ tops.T).astype(np.float32)


def _within_query(bm25: np.ndarray, cosine: np.ndarray, rrf: np.ndarray) -> list[np.ndarray]:
    """Scores relative to the query's own pool: a BM25 of 12 is strong for a three-word query and weak
    for a six-word one, so the ranker also sees each score as a z-score and a percentile of the pool."""
    return [
        *_z_and_percentile(bm25),
        *_z_and_percentile(np.nan_to_num(cosine, nan=0.0)),
        _percentile(rrf),
    ]


def _z_and_percentile(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    spread = float(values.std()) if len(values) > 1 else 0.0
    z = (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)
    return z, _percentile(values)


def _percentile(values: np.ndarray) -> np.ndarray:
    """Share of the pool scoring below each value (ties share the lower rank)."""
    if not len(values):
        return values
    ordered = np.sort(values)
    return (np.searchsorted(ordered, values, side="left") / len(values)).astype(np.float32)


def _word_matches(
    query: QueryContext, positions: np.ndarray, stats: ProductStats, words: TitleWords
) -> list[np.ndarray]:
    """How well each query word is matched by some word of the title, by character trigrams: typos and
    word forms that BM25 misses ("nailr" ~ "nailer"). (share of the title's words that are query words,
    worst query word's best Jaccard, the mean over query words, the last (head) word's.)"""
    count = len(positions)
    tokens, row_of = words.tokens, words.row_of
    lengths = np.maximum(1.0, stats.title_terms[positions])
    wanted = [stats.term_ids.get(term, -1) for term in query.terms]
    is_query_word = _member(tokens, [t for t in wanted if t >= 0], len(stats.term_ids))
    share = np.bincount(row_of[is_query_word], minlength=count).astype(np.float32) / lengths
    if not query.terms or not len(tokens):
        zeros = np.zeros(count, dtype=np.float32)
        return [share, zeros, zeros, zeros]
    # Jaccard of each distinct title term with each query term, counting shared trigrams through the
    # index from trigram to terms: no per-query sparse matrix, whose set-up cost more than the product.
    vocabulary = len(stats.term_ids)
    seen = np.zeros(vocabulary, dtype=bool)
    seen[tokens] = True
    distinct = np.flatnonzero(seen)
    slot = np.zeros(vocabulary, dtype=np.int64)
    slot[distinct] = np.arange(len(distinct))
    sizes = stats.term_trigram_counts[distinct]
    jaccard = np.empty((len(distinct), len(query.terms)), dtype=np.float32)
    for column, term in enumerate(query.terms):
        grams = _trigrams(term)
        known = np.array([stats.term_trigram_ids[g] for g in grams if g in stats.term_trigram_ids], np.int64)
        flat, _ = stats.terms_of_trigram.gather(known)
        having = stats.terms_of_trigram.values[flat]
        shared = np.bincount(having, minlength=vocabulary)[distinct].astype(np.float32)
        # A query term's unknown trigrams match no title word but still count in its size.
        jaccard[:, column] = shared / (sizes + len(grams) - shared)
    best = np.zeros((count, len(query.terms)), dtype=np.float32)
    # `gather` lists each row's tokens together and in row order: one maximum per run of rows.
    starts = np.flatnonzero(np.r_[True, row_of[1:] != row_of[:-1]])
    best[row_of[starts]] = np.maximum.reduceat(jaccard[slot[tokens]], starts, axis=0)
    return [share, best.min(axis=1), best.mean(axis=1), best[:, -1]]


def _term_trigram_matrix(terms: list[str], trigram_ids: dict[str, int]) -> sp.csr_matrix:
    """Rows of terms, columns of their trigrams that `trigram_ids` knows."""
    rows: list[int] = []
    columns: list[int] = []
    for row, term in enumerate(terms):
        for gram in _trigrams(term):
            column = trigram_ids.get(gram)
            if column is not None:
                rows.append(row)
                columns.append(column)
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, columns)), shape=(len(terms), len(trigram_ids)))


def _idf_title_coverage(
    query: QueryContext, scored: ScoredQuery, slot: np.ndarray, count: int, n_documents: int
) -> np.ndarray:
    """Share of the query's information (sum of idf) that the title matches: rare words weigh more."""
    total = np.zeros(count, dtype=np.float32)
    idf_sum = 0.0
    seen: set[str] = set()
    for posting in scored.postings:
        if posting.field != "title":
            continue
        idf = float(np.log((n_documents + 1) / (len(posting.documents) + 0.5)))
        seen.add(posting.word)
        idf_sum += idf
        rows = slot[posting.documents]
        total[rows[rows >= 0]] += idf
    # A query word the titles never use carries as much information as the rarest one could.
    idf_sum += (len(query.terms) - len(seen)) * float(np.log(n_documents + 1)) if query.terms else 0.0
    return total / idf_sum if idf_sum > 0 else total


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _title_structure(
    query: QueryContext, positions: np.ndarray, stats: ProductStats, words: TitleWords
) -> list[np.ndarray]:
    """Word order and form: the query's last term (its head noun, mostly) in the title and near its end,
    adjacent query pairs adjacent in the title, where the first match falls, character-trigram overlap."""
    count = len(positions)
    terms = [stats.term_ids.get(term, -1) for term in query.terms]
    tokens, row_of, index_in_title = words.tokens, words.row_of, words.index_in_title
    lengths = stats.title_terms[positions]
    head_in = np.zeros(count, dtype=np.float32)
    head_tail = np.zeros(count, dtype=np.float32)
    if terms and terms[-1] >= 0:
        is_head = tokens == terms[-1]
        head_in[row_of[is_head]] = 1.0
        near_end = is_head & (index_in_title >= lengths[row_of] - TAIL_TERMS)
        head_tail[row_of[near_end]] = 1.0
    first = np.ones(count, dtype=np.float32)
    is_term = _member(tokens, [t for t in terms if t >= 0], len(stats.term_ids))
    # Words come in title order, so a row's first listed match is its earliest.
    matched_rows, first_match = np.unique(row_of[is_term], return_index=True)
    first[matched_rows] = index_in_title[is_term][first_match] / np.maximum(1.0, lengths[matched_rows])
    return [
        head_in,
        head_tail,
        _bigram_matches(terms, tokens, row_of, count, len(stats.term_ids)),
        first,
        _trigram_jaccard(query.text.lower(), positions, stats),
    ]


def _member(values: np.ndarray, wanted: list[int], vocabulary: int) -> np.ndarray:
    """values ∈ wanted, for ids below `vocabulary`: a lookup table beats np.isin's sort at this size."""
    table = np.zeros(vocabulary + 1, dtype=bool)
    table[wanted] = True
    return table[values]


def _bigram_matches(
    terms: list[int], tokens: np.ndarray, row_of: np.ndarray, count: int, vocabulary: int
) -> np.ndarray:
    """Share of the query's distinct adjacent term pairs that are adjacent in the title."""
    wanted = set(itertools.pairwise(terms))
    matches = np.zeros(count, dtype=np.float32)
    known = [a * vocabulary + b for a, b in wanted if a >= 0 and b >= 0]
    if not known or len(tokens) < 2:
        return matches
    same_title = row_of[:-1] == row_of[1:]
    codes = tokens[:-1] * vocabulary + tokens[1:]
    hit = same_title & np.isin(codes, known, kind="sort")
    # A pair repeated in one title counts once, as in a set intersection.
    distinct = np.unique(row_of[:-1][hit] * (vocabulary * vocabulary) + codes[hit])
    np.add.at(matches, distinct // (vocabulary * vocabulary), 1.0)
    return matches / len(wanted)


def _trigram_jaccard(query: str, positions: np.ndarray, stats: ProductStats) -> np.ndarray:
    """Jaccard overlap of the character trigrams of the query and of each title (typos, word forms)."""
    count = len(positions)
    query_grams = _trigrams(query)
    known = [stats.trigram_ids[g] for g in query_grams if g in stats.trigram_ids]
    flat, row_of = stats.title_trigrams.gather(positions)
    in_query = _member(stats.title_trigrams.values[flat], known, len(stats.trigram_ids))
    shared = np.bincount(row_of[in_query], minlength=count).astype(np.float32)
    title_sizes = np.diff(stats.title_trigrams.offsets)[positions].astype(np.float32)
    union = len(query_grams) + title_sizes - shared
    return np.divide(shared, union, out=np.zeros(count, dtype=np.float32), where=union > 0)


def _category_intent(positions: np.ndarray, lexical_rank: np.ndarray, catalog: CatalogArrays) -> np.ndarray:
    """Share of the top lexical hits in each candidate's category: the query's likely category."""
    codes = catalog.categories.codes[positions]
    top = codes[(lexical_rank <= INTENT_DEPTH) & (codes >= 0)]
    if not len(top):
        return np.zeros(len(positions), dtype=np.float32)
    counts = np.bincount(top, minlength=len(catalog.categories.values)).astype(np.float32) / len(top)
    return np.where(codes >= 0, counts[np.maximum(codes, 0)], 0).astype(np.float32)
