"""Recommenders on Amazon Beauty: leave-one-out, full ranking over all 12,101 items, history excluded.

    .venv/bin/python bench/recs_beauty.py [--tune] [--refit-for-test] [--threads 2]

Fits the engine's default recommender (CoOccurrence, default config) next to popularity, item-kNN and ALS
(128 factors) on the training split, and reports HR@10, NDCG@10 and MRR on the test targets. With --tune,
each model picks its configuration from a small grid by validation NDCG@10 (test targets choose nothing).
With --refit-for-test the chosen model is refitted on training + validation interactions before testing.
Prints a table on stderr, then one JSON line of figures on stdout.
Published on the same sequences (S3-Rec paper, full ranking): SASRec 0.0605 / 0.0318, S3-Rec 0.0647 / 0.0327,
PopRec 0.0152 / 0.0068 (HR@10 / NDCG@10).
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
from shelfwise.cli.render import render_recs_evaluation
from shelfwise.evaluation.recs_eval import ModelCandidates, evaluate_recs
from shelfwise.io import datasets
from shelfwise.recommend.als import ALS, ALSConfig
from shelfwise.recommend.cooccurrence import CoOccurrence, CoOccurrenceConfig
from shelfwise.recommend.itemknn import ItemKNN, ItemKNNConfig
from shelfwise.recommend.popularity import Popularity

ROOT = Path(__file__).resolve().parent.parent


def load_amazon_beauty() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(interactions, items) from the shared data folder; exits naming the folder when they are missing."""
    try:
        return datasets.load_amazon_beauty(shared_data())
    except datasets.DatasetMissing as missing:
        sys.exit(str(missing))


def models(threads: int, tune: bool) -> dict[str, ModelCandidates]:
    als = ALSConfig(num_threads=threads)
    if not tune:
        return {
            "default": CoOccurrence(),
            "popularity": Popularity(),
            "item-knn": ItemKNN(),
            "als": ALS(als),
        }
    # Defaults first: on equal validation scores the earlier candidate wins.
    return {
        "default": [
            CoOccurrence(),
            CoOccurrence(CoOccurrenceConfig(window=3, distance_power=1.0, backward_weight=1.0, alpha=0.5)),
        ],
        "popularity": Popularity(),
        "item-knn": [
            ItemKNN(),
            ItemKNN(ItemKNNConfig(history_decay=1.0)),
            ItemKNN(ItemKNNConfig(shrinkage=10)),
        ],
        "als": [
            ALS(als),
            ALS(als.model_copy(update={"alpha": 10.0})),
            ALS(als.model_copy(update={"regularization": 10.0})),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="pick each model's config on validation")
    parser.add_argument(
        "--refit-for-test", action="store_true", help="refit on train + validation before testing"
    )
    parser.add_argument("--threads", type=int, default=0, help="ALS solver threads (0: every core)")
    args = parser.parse_args()

    interactions, items = load_amazon_beauty()
    started = time.perf_counter()
    evaluation = evaluate_recs(
        interactions,
        items,
        order="position",
        models=models(args.threads, args.tune),
        refit_for_test=args.refit_for_test,
    )
    Console(stderr=True).print(render_recs_evaluation(evaluation))
    figures = {
        "dataset": "amazon-beauty",
        **evaluation.dataset.model_dump(),
        "protocol": evaluation.protocol,
        "tuned_on_validation": args.tune,
        "refit_for_test": args.refit_for_test,
        "models": [row.model_dump() for row in evaluation.rows],
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
