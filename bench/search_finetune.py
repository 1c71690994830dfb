"""Domain adaptation of the text encoder on Home Depot: held-out search relevance before and after.

    nice -n 10 .venv/bin/python bench/search_finetune.py [--rows dense|default|ablation] [--max-steps 150]
        [--encoder-share 0.5]

The judged queries are split exactly as `shelfwise evaluate search` splits them (a hash of the query text,
half held out). The encoder is fine-tuned on the training half's (query, product title) pairs only
(MultipleNegativesRankingLoss, in-batch negatives, a step or time budget); every figure is measured on the
held-out queries over all 54,667 products: graded NDCG@10, Recall@100, MRR@10. `--rows dense` scores dense
retrieval alone; `default` also retrains the learned ranker on the training queries with each encoder and
scores the default pipeline; `ablation` scores every ablation row. With `--encoder-share S` the training
queries are split again (by a salted hash): the encoder learns from a share S of them and the fine-tuned
pipeline's ranker from the rest, so the ranker never learns from dense features of memorised queries.

The no-query variant (catalog category/brand -> product text pairs) cannot be measured here: the data set
has product titles only, no category or brand.

Product vectors are cached under --work/cache keyed by (model path, text); each fine-tuned model gets its
own directory, named by a hash of its training pairs and config, so a cached vector is never stale.
Prints a table on stderr, then one JSON line of figures on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import polars as pl
import torch
from rich.console import Console
from rich.table import Table

from harness import shared_data
from shelfwise.domain import Product
from shelfwise.evaluation.search_ablation import (
    AblationRow,
    is_held_out,
    positive_queries,
    run_ablation,
    split_qrels,
)
from shelfwise.evaluation.search_eval import evaluate_search, judgements
from shelfwise.io.datasets import load_homedepot
from shelfwise.search import SearchConfig, SearchPipeline
from shelfwise.search.learning import train_ranker_from_judgements
from shelfwise.text.encoder import EncoderConfig, TextEncoder, product_text
from shelfwise.training.finetune import FinetuneConfig, adapted_encoder, build_pairs

DENSE_ROW = "dense only (MiniLM)"
DEFAULT_ROW = "+ learned ranker (LightGBM)"  # the default pipeline, named as in the ablation


def dense_only(pipeline: SearchPipeline, held_out: pl.DataFrame) -> AblationRow:
    """The ablation's dense row: its own top 100, no similarity floor (as `run_ablation` builds it)."""
    variant = pipeline.variant(lexical=False, spelling=False, ranker=False)
    fusion = variant.config.fusion.model_copy(update={"dense_min_similarity": -1.0, "dense_relative": 0.0})
    variant.config = variant.config.model_copy(update={"fusion": fusion})
    evaluation = evaluate_search(variant, held_out)
    return AblationRow(
        name=DENSE_ROW,
        **evaluation.model_dump(
            include={"ndcg_at_10", "recall_at_100", "mrr_at_10", "latency_p50_ms", "latency_p99_ms"}
        ),
    )


def measure(
    name: str,
    encoder: EncoderConfig,
    products: list[Product],
    ranker_part: pl.DataFrame,
    held_out: pl.DataFrame,
    cache: Path,
    rows: str,
    console: Console,
) -> dict[str, Any]:
    started = time.perf_counter()
    # Encoding first, alone, so its time is reported apart; the pipeline's fit then reads the cache.
    TextEncoder(encoder, cache_dir=cache).encode([product_text(p) for p in products])
    encode_seconds = time.perf_counter() - started
    console.print(f"[{name}] product vectors in {encode_seconds:.0f} s")
    pipeline = SearchPipeline(SearchConfig(encoder=encoder)).fit(products, embedding_cache=cache)
    figures: dict[str, Any] = {"encoder": encoder.model, "encode_seconds": round(encode_seconds, 1)}
    dense = dense_only(pipeline, held_out)
    console.print(f"[{name}] {dense}")
    figures["rows"] = [dense.model_dump()]
    if rows == "dense":
        return figures
    started = time.perf_counter()
    train_ranker_from_judgements(pipeline, judgements(ranker_part))
    figures["ranker_train_seconds"] = round(time.perf_counter() - started, 1)
    console.print(f"[{name}] ranker trained in {figures['ranker_train_seconds']:.0f} s")
    if rows == "ablation":
        figures["rows"] = [row.model_dump() for row in run_ablation(pipeline, held_out)]
    else:
        evaluation = evaluate_search(pipeline, held_out)
        default = AblationRow(
            name=DEFAULT_ROW, **evaluation.model_dump(include=set(AblationRow.model_fields))
        )
        console.print(f"[{name}] {default}")
        figures["rows"].append(default.model_dump())
    return figures


def render(results: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="Home Depot, held-out queries: base vs fine-tuned encoder")
    for column in ("configuration", "encoder", "NDCG@10", "Recall@100", "MRR@10", "p50 ms"):
        table.add_column(column, justify="left" if column in ("configuration", "encoder") else "right")
    names = [row["name"] for row in next(iter(results.values()))["rows"]]
    for name in names:
        for label, result in results.items():
            row = next(r for r in result["rows"] if r["name"] == name)
            table.add_row(
                name,
                label,
                f"{row['ndcg_at_10']:.4f}",
                f"{row['recall_at_100']:.4f}",
                f"{row['mrr_at_10']:.4f}",
                f"{row['latency_p50_ms']:.1f}",
            )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = FinetuneConfig()
    parser.add_argument(
        "--rows",
        choices=("dense", "default", "ablation"),
        default="default",
        help="dense alone; + the default pipeline (ranker retrained per encoder); + every ablation row",
    )
    parser.add_argument("--held-out", type=float, default=0.5, help="as `shelfwise evaluate search`")
    parser.add_argument("--work", type=Path, default=Path("/tmp/finetune_work"))
    parser.add_argument("--max-seconds", type=float, default=defaults.max_seconds)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--max-steps", type=int, default=None, help="a step budget (robust to a busy CPU)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--min-gain", type=float, default=defaults.min_gain)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--encoder-share",
        type=float,
        default=None,
        help="split the training queries again: the encoder learns from this share, the fine-tuned "
        "pipeline's ranker from the rest (so its dense features are not measured on memorised queries)",
    )
    parser.add_argument(
        "--encoders", choices=("both", "base", "fine-tuned"), default="both", help="which to measure"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("shelfwise.training.finetune").setLevel(logging.INFO)
    torch.set_num_threads(args.threads)
    console = Console(stderr=True)

    products_frame, qrels = load_homedepot(shared_data())
    products = [
        Product(product_id=str(product_id), title=title)
        for product_id, title in products_frame.select("product_id", "title").iter_rows()
    ]
    train_part, held_out = split_qrels(qrels, args.held_out)
    config = defaults.model_copy(
        update={
            "max_seconds": args.max_seconds,
            "epochs": args.epochs,
            "max_steps": args.max_steps,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "min_gain": args.min_gain,
            "threads": args.threads,
        }
    )
    encoder_part, ranker_part = train_part, train_part
    if args.encoder_share is not None:
        for_encoder = train_part.get_column("query").map_elements(
            lambda q: is_held_out(f"encoder:{q}", args.encoder_share), return_dtype=pl.Boolean
        )
        encoder_part, ranker_part = train_part.filter(for_encoder), train_part.filter(~for_encoder)
    pairs = build_pairs(products, judged=judgements(encoder_part), config=config)
    leaked = [pair.anchor for pair in pairs if is_held_out(pair.anchor, args.held_out)]
    if leaked:
        raise SystemExit(f"{len(leaked)} training pairs come from held-out queries, e.g. {leaked[0]!r}")
    console.print(
        f"{len(pairs):,} training pairs from {positive_queries(encoder_part):,} training queries; "
        f"figures on {positive_queries(held_out):,} held-out queries"
    )
    adapted, report = adapted_encoder(pairs, EncoderConfig(), config, args.work / "models")
    path = Path(adapted.model)
    console.print(
        f"fine-tuned in {report.seconds:.0f} s ({report.cpu_seconds:.0f} CPU s): {report.steps} steps "
        f"({report.stopped_by}), "
        f"loss {report.first_loss:.3f} -> {report.last_loss:.3f}; saved to {path}"
    )
    cache = args.work / "cache"
    # The base pipeline's ranker learns from every training query, as `shelfwise evaluate search` does.
    plan = {
        "base": (EncoderConfig(), train_part),
        "fine-tuned": (EncoderConfig(model=str(path)), ranker_part),
    }
    results = {
        label: measure(label, encoder, products, ranker_queries, held_out, cache, args.rows, console)
        for label, (encoder, ranker_queries) in plan.items()
        if args.encoders in ("both", label)
    }
    console.print(render(results))
    print(
        json.dumps(
            {
                "products": len(products),
                "train_queries": positive_queries(train_part),
                "encoder_queries": positive_queries(encoder_part),
                "finetuned_ranker_queries": positive_queries(ranker_part),
                "held_out_queries": positive_queries(held_out),
                "finetune": report.model_dump(mode="json"),
                "model_dir": str(path),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
