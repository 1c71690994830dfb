"""The sequential transformer (SASRec-class) and its blend with co-occurrence, next to the baselines.

    .venv/bin/python bench/recs_sequential.py [--dataset amazon-beauty|movielens-100k] [--text]
        [--max-seconds 480] [--no-baselines] [--save DIR | --load DIR]

Leave-one-out, full ranking over every item, history excluded (the protocol of `shelfwise evaluate recs`).
The transformer early-stops on the validation targets and the blend picks its co-occurrence share on them;
test targets choose nothing. With --text, item titles are encoded once (cached on disk under --text-cache)
and each item's vector is its ID embedding plus a projection of its title embedding.
Reports test figures overall, on long-tail targets (<= 5 training interactions) and on short histories, the
transformer's training time (CPU seconds: the budget, and wall seconds on this shared machine) and the time
to score one user. Prints a table on stderr, then one JSON line of figures on stdout.
`--save DIR` keeps the trained transformer; `--load DIR` scores with it instead of training one again (same
dataset and split: the blend, its re-ranker and the baselines are fitted as usual), to iterate on the stages
after the transformer in minutes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from harness import shared_data
from shelfwise.cli.render import render_recs_evaluation as render_table
from shelfwise.evaluation.protocols import leave_one_out
from shelfwise.evaluation.recs_eval import ModelCandidates, build_interactions, evaluate_recs
from shelfwise.evaluation.segments import evaluate_segments
from shelfwise.io import datasets
from shelfwise.recommend.als import ALS, ALSConfig
from shelfwise.recommend.blend import SequentialBlend
from shelfwise.recommend.cooccurrence import CoOccurrence
from shelfwise.recommend.itemknn import ItemKNN
from shelfwise.recommend.popularity import Popularity
from shelfwise.recommend.sequential import SequentialConfig, SequentialRecommender

DEFAULT_TEXT_CACHE = Path("/tmp/shelfwise-text-cache")


def load(dataset: str) -> tuple[pl.DataFrame, pl.DataFrame | None, str]:
    try:
        if dataset == "amazon-beauty":
            interactions, items = datasets.load_amazon_beauty(shared_data())
            return interactions, items, "position"
        return datasets.load_movielens_100k(shared_data()), None, "timestamp"
    except datasets.DatasetMissing as missing:
        sys.exit(str(missing))


def title_embeddings(items: pl.DataFrame, cache: Path) -> np.ndarray:
    """One row per item in the items frame's order (the evaluation's item vocabulary)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from shelfwise.text.encoder import TextEncoder

    titles = items.get_column("title").fill_null("").to_list()
    return TextEncoder(cache_dir=cache).encode(titles, progress=True)


class Pretrained:
    """A transformer saved by an earlier run on the same split: fitting keeps it as it is."""

    accepts_validation = True

    def __init__(self, model: SequentialRecommender) -> None:
        self.model, self.name, self.config = model, model.name, model.config

    def fit(self, data: Any, validation: Any = None) -> Pretrained:
        return self

    def score(self, history: np.ndarray) -> np.ndarray:
        return self.model.score(history)

    def score_batch(self, histories: list[np.ndarray]) -> np.ndarray:
        return self.model.score_batch(histories)


def one_user_latency(
    scorer: SequentialRecommender | SequentialBlend, histories: list[np.ndarray]
) -> dict[str, float]:
    timings = []
    for history in histories:
        started = time.perf_counter()
        scorer.score(history)
        timings.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": float(np.percentile(timings, 50)), "p99_ms": float(np.percentile(timings, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["amazon-beauty", "movielens-100k"], default="amazon-beauty")
    parser.add_argument("--text", action="store_true", help="add title embeddings to the item vectors")
    parser.add_argument("--text-cache", type=Path, default=DEFAULT_TEXT_CACHE)
    parser.add_argument("--max-seconds", type=float, default=480.0, help="training budget in CPU seconds")
    parser.add_argument("--config", default="{}", help="JSON overrides of SequentialConfig")
    parser.add_argument("--no-baselines", action="store_true", help="skip item-kNN and ALS")
    parser.add_argument("--threads", type=int, default=1, help="torch and ALS threads")
    parser.add_argument("--save", type=Path, help="save the fitted transformer into this directory")
    parser.add_argument("--load", type=Path, help="use the transformer --save wrote instead of training")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, handlers=[RichHandler(console=Console(stderr=True))], format="%(message)s"
    )

    interactions, items, order = load(args.dataset)
    text = title_embeddings(items, args.text_cache) if args.text and items is not None else None
    overrides = {"max_seconds": args.max_seconds, "threads": args.threads, **json.loads(args.config)}
    config = SequentialConfig(**overrides)
    transformer, cooccurrence = SequentialRecommender(config, item_text_embeddings=text), CoOccurrence()
    if args.load is not None:
        transformer = SequentialRecommender.load(args.load)
    blend = SequentialBlend(transformer, cooccurrence, fit_components=False)
    sasrec: Any = Pretrained(transformer) if args.load is not None else transformer
    models: dict[str, ModelCandidates] = {
        "sasrec" + ("+text" if transformer.text_embeddings() is not None or text is not None else ""): sasrec,
        "co-occurrence": cooccurrence,
        "default (blend)": blend,
        "popularity": Popularity(),
    }
    if not args.no_baselines:
        models |= {"item-knn": ItemKNN(), "als": ALS(ALSConfig(num_threads=args.threads))}

    started = time.perf_counter()
    evaluation = evaluate_recs(interactions, items, order=order, models=models)
    console = Console(stderr=True)
    console.print(render_table(evaluation))

    if args.save is not None:
        transformer.save(args.save)
    data, _ = build_interactions(interactions, items, user="user_id", item="item_id", order=order)
    split = leave_one_out(data)
    segments = {name: evaluate_segments(model, split) for name, model in models.items()}  # type: ignore[arg-type]
    console.print(segment_table(segments))
    sample = split.test_histories[:1000]
    figures: dict[str, Any] = {
        "dataset": args.dataset,
        **evaluation.dataset.model_dump(),
        "protocol": evaluation.protocol,
        "text_embeddings": text is not None,
        "models": [row.model_dump() for row in evaluation.rows],
        "segments": {name: [s.model_dump() for s in found] for name, found in segments.items()},
        "sasrec_training": {
            "epochs": len(transformer.history),
            "best_epoch": int(np.argmax([h["valid_ndcg"] for h in transformer.history])) + 1,
            "cpu_seconds": round(transformer.history[-1]["cpu_seconds"], 1),
            "wall_seconds": round(transformer.history[-1]["seconds"], 1),
            "threads": config.threads,
        }
        if transformer.history
        else {"loaded_from": str(args.load)},
        "reranker": blend.reranker is not None,
        "blend_weight": blend.config.cooccurrence_weight,
        "blend_temperature": blend.config.temperature,
        "blend_validation_ndcg": {str(k): v for k, v in blend.validation_ndcg.items()},
        "one_user_latency": {
            "sasrec": one_user_latency(transformer, sample),
            "blend": one_user_latency(blend, sample),
        },
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(figures))


def segment_table(segments: dict[str, list[Any]]) -> Table:
    table = Table(title="Test HR@10 / NDCG@10 by segment")
    table.add_column("model")
    names = [s.segment for s in next(iter(segments.values()))]
    for name in names:
        table.add_column(name, justify="right")
    for model, found in segments.items():
        table.add_row(
            model,
            *(f"{s.metrics.hr_at_10:.4f} / {s.metrics.ndcg_at_10:.4f} (n={s.metrics.users})" for s in found),
        )
    return table


if __name__ == "__main__":
    main()
