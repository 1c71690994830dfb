"""Search speed and memory on Home Depot (54,667 products): indexing from scratch, per-query latency, RSS.

    .venv/bin/python bench/search_latency.py [--embedding-cache DIR] [--backend onnx-int8] [--work DIR]

Then `bench/search_variants.py DIR` reads the pipeline kept in --work DIR: the quality of each speed-up and
where the time of a query goes.

1. Indexing: `SearchPipeline.fit` on every product title from scratch — text encoding (an empty embedding
   cache unless --embedding-cache names a warm one), BM25 fields, spelling vocabulary, the HNSW graph.
2. The learned ranker is trained on the training half of the judged queries (split by query hash, as in
   `shelfwise evaluate search`), and the pipeline is saved.
3. A fresh process loads the saved pipeline, as a server would, and runs every held-out query once, one at a
   time, page size 10 (what a shop page asks for), the query-vector cache off so every query is encoded:
   p50 / p99 per query, relevance of the same run (page size 100 for Recall@100 in a second pass), and the
   process's resident memory.
Prints a table on stderr and one JSON line of figures on stdout (for run_all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness import shared_data
from shelfwise.text.encoder import EncoderConfig

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB. The peak is VmHWM, which starts afresh
    with the process image: getrusage's ru_maxrss survives execve, so a served process spawned by a large
    parent would report the parent's size at the fork."""
    fields = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return float(fields["VmRSS"].split()[0]) / 1024, float(fields["VmHWM"].split()[0]) / 1024


def build(work: Path, embedding_cache: Path | None, backend: str) -> dict[str, Any]:
    from shelfwise.domain import Product
    from shelfwise.evaluation.search_ablation import split_qrels
    from shelfwise.evaluation.search_eval import judgements
    from shelfwise.io.datasets import load_homedepot
    from shelfwise.search import SearchConfig, SearchPipeline
    from shelfwise.search.learning import train_ranker_from_judgements

    products_frame, qrels = load_homedepot(shared_data())
    products = [
        Product(product_id=str(product_id), title=title)
        for product_id, title in products_frame.select("product_id", "title").iter_rows()
    ]
    cache = embedding_cache or work / "embedding-cache"
    # A named cache may still be empty (its first run): then this is indexing from scratch too.
    warm = cache.is_dir() and any(cache.iterdir())
    started = time.perf_counter()
    config = SearchConfig()
    config = config.model_copy(update={"encoder": config.encoder.model_copy(update={"backend": backend})})
    pipeline = SearchPipeline(config).fit(products, embedding_cache=cache, progress=True)
    index_seconds = time.perf_counter() - started
    train, held_out = split_qrels(qrels, 0.5)
    started = time.perf_counter()
    train_ranker_from_judgements(pipeline, judgements(train))
    ranker_seconds = time.perf_counter() - started
    pipeline.save(work / "pipeline")
    held_out.write_csv(work / "held_out.csv")
    return {
        "products": len(products),
        "index_seconds": round(index_seconds, 1),
        "embedding_cache_warm": warm,
        "ranker_train_seconds": round(ranker_seconds, 1),
        "encoder": pipeline.components["dense"],
        "vector_index": pipeline.vectors.method if pipeline.vectors is not None else None,
    }


def serve(work: Path) -> dict[str, Any]:
    """Run in a fresh process: load what `build` saved and time the held-out queries."""
    import polars as pl

    from shelfwise.evaluation.search_ablation import PipelineSearcher
    from shelfwise.evaluation.search_eval import evaluate_search, judgements
    from shelfwise.search import SearchPipeline

    started = time.perf_counter()
    pipeline = SearchPipeline.load(work / "pipeline")
    pipeline.config = pipeline.config.model_copy(update={"query_vector_cache": 0})
    load_seconds = time.perf_counter() - started
    held_out = pl.read_csv(work / "held_out.csv", schema_overrides={"query": pl.Utf8, "product_id": pl.Utf8})
    queries = [q for q, gains in judgements(held_out).items() if any(g > 0 for g in gains.values())]
    for query in queries[:50]:  # warm-up: first-call costs (ONNX session, allocator) are not per query
        pipeline.search(query + " warm", page_size=10)
    latencies = []
    for query in queries:
        begun = time.perf_counter()
        pipeline.search(query, page_size=10)
        latencies.append((time.perf_counter() - begun) * 1000)
    relevance = evaluate_search(PipelineSearcher(pipeline), held_out)
    rss, peak = _rss_mb()
    return {
        "queries": len(queries),
        "load_seconds": round(load_seconds, 2),
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "latency_p90_ms": round(float(np.percentile(latencies, 90)), 2),
        "latency_p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "latency_mean_ms": round(float(np.mean(latencies)), 2),
        "ndcg_at_10": round(relevance.ndcg_at_10, 4),
        "recall_at_100": round(relevance.recall_at_100, 4),
        "mrr_at_10": round(relevance.mrr_at_10, 4),
        "rss_mb": round(rss),
        "peak_rss_mb": round(peak),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding-cache", type=Path, help="a warm cache (then not from scratch)")
    parser.add_argument("--work", type=Path, help="keep the built pipeline here (default: a temp dir)")
    parser.add_argument(
        "--backend",
        choices=["onnx", "onnx-int8", "torch"],
        default=EncoderConfig().backend,
        help="how product titles are encoded (queries take the int8 copy under `onnx`)",
    )
    parser.add_argument("--serve-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.serve_only:
        print(json.dumps(serve(args.serve_only)))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="shelfwise-latency-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        figures: dict[str, Any] = {"build": build(work, args.embedding_cache, args.backend)}
        served = subprocess.run(
            [sys.executable, __file__, "--serve-only", str(work)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures["serve"] = json.loads(served.stdout.strip().splitlines()[-1])
    figures["machine_cpus"] = os.cpu_count()
    for part, values in figures.items():
        if isinstance(values, dict):
            print(f"{part}: " + ", ".join(f"{k}={v}" for k, v in values.items()), file=sys.stderr)
    line = json.dumps(figures)
    if args.output:
        args.output.write_text(line + "\n", encoding="utf-8")
    print(line)


if __name__ == "__main__":
    main()
