"""Search relevance of the baseline pipeline (fielded BM25) on Home Depot, over all 54,667 products.

    .venv/bin/python bench/search_bm25_tuning.py [--k1 0.9] [--b 0.6] [--no-stemmer]

Fits `SearchPipeline` on the product titles (the only text the data set has), runs every judged query once
through `SearchPipeline.search` (page size 100, facets included) and scores it with graded NDCG@10,
Recall@100 and MRR@10. Prints a table on stderr, then one JSON line of figures on stdout (for run_all.py).
Reference on the same data: plain BM25 over titles with bm25s defaults, NDCG@10 ≈ 0.322.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import polars as pl
from rich.console import Console

from harness import shared_data
from shelfwise.cli.render import render_search_evaluation
from shelfwise.domain import Product
from shelfwise.evaluation.search_eval import evaluate_search
from shelfwise.index.lexical import LexicalIndexConfig
from shelfwise.io import datasets
from shelfwise.search import SearchConfig, SearchPipeline

ROOT = Path(__file__).resolve().parent.parent


def load_homedepot() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(products, qrels) from the shared data folder; exits naming the folder when they are missing."""
    try:
        return datasets.load_homedepot(shared_data())
    except datasets.DatasetMissing as missing:
        sys.exit(str(missing))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = LexicalIndexConfig()
    parser.add_argument("--k1", type=float, default=defaults.k1)
    parser.add_argument("--b", type=float, default=defaults.b)
    parser.add_argument("--no-stemmer", action="store_true", help="index words as they are")
    args = parser.parse_args()

    products_frame, qrels = load_homedepot()
    products = [
        Product(product_id=str(product_id), title=title)
        for product_id, title in products_frame.select("product_id", "title").iter_rows()
    ]
    lexical = defaults.model_copy(
        update={"k1": args.k1, "b": args.b, "stemmer_language": None if args.no_stemmer else "english"}
    )
    started = time.perf_counter()
    pipeline = SearchPipeline(SearchConfig(lexical=lexical)).fit(products)
    fit_seconds = time.perf_counter() - started
    evaluation = evaluate_search(pipeline, qrels, k=10, depth=100)

    Console(stderr=True).print(render_search_evaluation(evaluation, title="Home Depot: fielded BM25"))
    figures = {
        "products": len(products),
        "judgements": qrels.height,
        **evaluation.model_dump(exclude={"per_query"}),
        "fit_seconds": round(fit_seconds, 2),
        "lexical": lexical.model_dump(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
