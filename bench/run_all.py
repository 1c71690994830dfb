"""Run every benchmark and rewrite BENCHMARKS.md at the repository root (`make bench`).

Each benchmark runs as a subprocess printing one JSON line of figures last; a benchmark whose data is
missing is skipped with the reason, which also goes into BENCHMARKS.md. Run one with `--only NAME`.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import audience_sections
import search_sections
import sequential_sections
from harness import (
    BENCH,
    ROOT,
    BenchmarkFailed,
    MarkdownTable,
    Section,
    count_rows,
    fmt,
    run_json,
    shared_data,
    shelfwise_command,
    shown_path,
)

OUTPUT = ROOT / "BENCHMARKS.md"
PARTIAL_OUTPUT = BENCH / "results" / "BENCHMARKS.partial.md"

# Published figures on Amazon Beauty, leave-one-out with full ranking over all items (S3-Rec, CIKM 2020).
AMAZON_BEAUTY_PUBLISHED = [
    ("SASRec (published, S3-Rec paper)", 0.0605, 0.0318),
    ("S3-Rec (published, S3-Rec paper)", 0.0647, 0.0327),
    ("PopRec (published, S3-Rec paper)", 0.0152, 0.0068),
    ("SASRec with sampled softmax (published, transformer_benchmark 2025)", 0.0921, 0.0531),
]
HOMEDEPOT_BM25_REFERENCE = ("BM25 over titles (bm25s defaults), measured on this machine", 0.322)


# --- machine ------------------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"Date (UTC): {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')}",
        f"CPU: {cpu_model()}; `nproc` = {cpus}",
        f"RAM: {memory_gib():.1f} GiB",
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}",
    ]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


# --- benchmarks ---------------------------------------------------------------------------------------------


def homedepot_search() -> Section:
    section = Section("Search relevance: Home Depot")
    folder = shared_data() / "homedepot-search"
    products, qrels = folder / "products.csv", folder / "qrels.csv"
    section.command = shlex.join(
        [
            "shelfwise",
            "evaluate",
            "search",
            "--products",
            shown_path(products),
            "--qrels",
            shown_path(qrels),
            "--json",
        ]
    )
    if not (products.is_file() and qrels.is_file()):
        section.skipped = f"{shown_path(folder)} is missing (products.csv and qrels.csv)"
        return section
    figures, section.seconds = run_json(
        [
            *shelfwise_command(),
            "evaluate",
            "search",
            "--products",
            str(products),
            "--qrels",
            str(qrels),
            "--json",
        ]
    )
    section.data = [
        f"`{shown_path(products)}`: {count_rows(products):,} products (product_id, title)",
        f"`{shown_path(qrels)}`: {count_rows(qrels):,} judgements; {figures['queries']:,} queries evaluated, "
        f"{figures['skipped_queries']:,} skipped (no product with a positive gain)",
    ]
    header = ["system", "NDCG@10", "Recall@100", "MRR@10", "p50 ms", "p99 ms"]
    ours = [
        "shelfwise production search (this run)",
        fmt(figures["ndcg_at_10"]),
        fmt(figures["recall_at_100"]),
        fmt(figures["mrr_at_10"]),
        fmt(figures["latency_p50_ms"], 2),
        fmt(figures["latency_p99_ms"], 2),
    ]
    name, ndcg = HOMEDEPOT_BM25_REFERENCE
    section.tables.append(MarkdownTable(header, [ours, [name, fmt(ndcg, 3), "–", "–", "–", "–"]]))
    if figures.get("ablation"):
        section.tables.append(
            MarkdownTable(
                ["configuration (same held-out queries)", *header[1:]],
                [
                    [
                        row["name"],
                        fmt(row["ndcg_at_10"]),
                        fmt(row["recall_at_100"]),
                        fmt(row["mrr_at_10"]),
                        fmt(row["latency_p50_ms"], 2),
                        fmt(row["latency_p99_ms"], 2),
                    ]
                    for row in figures["ablation"]
                ],
            )
        )
    if figures.get("protocol"):
        section.notes.append(figures["protocol"])
    section.notes.append(
        "Graded NDCG with gain 2^g − 1 over every judged product; latency is one in-process "
        f"`engine.search` call per query (page size 100). Indexing took {figures['ingest_seconds']:.1f} s "
        f"to ingest and {figures['train_seconds']:.1f} s to train."
    )
    return section


def fashion_images() -> Section:
    section = Section("Product images: Fashion Product Images")
    folder = shared_data() / "fashion-product-images"
    section.command = shlex.join(["shelfwise", "evaluate", "images", "--data", shown_path(folder), "--json"])
    if not (folder / "styles.csv").is_file():
        section.skipped = f"{shown_path(folder)} is missing (styles.csv and images/)"
        return section
    figures, section.seconds = run_json(
        [*shelfwise_command(), "evaluate", "images", "--data", str(folder), "--json"]
    )
    section.data = [
        f"`{shown_path(folder)}`: {figures['products']:,} products with a picture (styles.csv, images/ID.jpg)"
    ]
    levels = list(figures["majority"])
    rows = [[row["name"], *(fmt(row["metrics"][level]) for level in levels)] for row in figures["rows"]]
    rows.append(["majority class", *(fmt(figures["majority"][level]) for level in levels)])
    section.tables.append(MarkdownTable(["vectors", *levels], rows))
    duplicates, swaps = figures["duplicates"], figures["mislabelled"]
    by_change = ", ".join(f"{name} {fmt(value)}" for name, value in duplicates["recall_by_change"].items())
    section.tables.append(
        MarkdownTable(
            ["check", "injected", "result"],
            [
                [
                    "`product.image_duplicate`",
                    f"{duplicates['copies']} near-copies",
                    f"recall {fmt(duplicates['recall'])} ({by_change}); false-positive rate "
                    f"{fmt(duplicates['false_positive_rate'])} of {duplicates['originals']:,} originals",
                ],
                [
                    "`product.image_category_mismatch`",
                    f"{swaps['swapped']} category swaps",
                    f"precision {fmt(swaps['precision'])}, recall {fmt(swaps['recall'])} "
                    f"({swaps['flagged']} flagged)",
                ],
            ],
        )
    )
    throughput = figures["throughput"]
    section.notes.append(figures["protocol"])
    section.notes.append(
        f"Image encoder: {throughput['images_per_second']:.1f} images/s on {throughput['threads']:.0f} "
        f"thread(s), batch {throughput['batch_size']:.0f} ({throughput['images']:.0f} decoded pictures)."
    )
    return section


def recs_rows(figures: dict[str, Any]) -> list[list[str]]:
    """Rows of the model table from `shelfwise evaluate recs --json` output."""
    rows = []
    for model in figures["models"]:
        name = (
            model["name"]
            if model.get("model") in (None, model["name"])
            else f"{model['name']} ({model['model']})"
        )
        rows.append([f"shelfwise {name} (this run)", fmt(model["hr_at_10"]), fmt(model["ndcg_at_10"])])
    return rows


def amazon_beauty_recs() -> Section:
    section = Section("Recommendations: Amazon Beauty (leave-one-out, full ranking)")
    folder = shared_data() / "amazon-beauty"
    interactions, items = folder / "interactions.csv", folder / "items.csv"
    section.command = shlex.join(
        [
            "shelfwise", "evaluate", "recs", "--interactions", shown_path(interactions),
            "--items", shown_path(items), "--json",
        ]
    )  # fmt: skip
    if not (interactions.is_file() and items.is_file()):
        section.skipped = f"{shown_path(folder)} is missing (interactions.csv and items.csv)"
        return section
    figures, section.seconds = run_json(
        [
            *shelfwise_command(), "evaluate", "recs", "--interactions", str(interactions),
            "--items", str(items), "--json",
        ]
    )  # fmt: skip
    section.data = [
        f"`{shown_path(interactions)}`: {count_rows(interactions):,} interactions",
        f"`{shown_path(items)}`: {count_rows(items):,} items",
        *recs_data_lines(figures),
    ]
    published = [[name, fmt(hr), fmt(ndcg)] for name, hr, ndcg in AMAZON_BEAUTY_PUBLISHED]
    section.tables.append(MarkdownTable(["model", "HR@10", "NDCG@10"], recs_rows(figures) + published))
    section.notes.append(
        "Published rows use the same protocol (leave-one-out, ranking over all items, history excluded); "
        "figures sampled against 100 negatives are not comparable and are not shown."
    )
    return section


def recs_data_lines(figures: dict[str, Any]) -> list[str]:
    described = [key for key in ("users", "items", "evaluated_users") if key in figures]
    return (
        [", ".join(f"{key.replace('_', ' ')}: {fmt(figures[key])}" for key in described)] if described else []
    )


def movielens_recs() -> Section:
    section = Section("Recommendations: MovieLens-100k (leave-one-out, full ranking)")
    section.command = (
        "shelfwise evaluate recs --interactions <ml-100k.inter as user_id,item_id,timestamp CSV> --json"
    )
    try:
        from shelfwise.io.datasets import load_movielens_100k
    except ImportError as error:
        section.skipped = f"no MovieLens loader in shelfwise.io.datasets ({error})"
        return section
    try:
        frame = load_movielens_100k(shared_data())
    except (FileNotFoundError, OSError) as error:
        section.skipped = f"MovieLens-100k data is missing ({error})"
        return section
    interactions = movielens_interactions(frame)
    with tempfile.TemporaryDirectory(prefix="shelfwise-bench-ml-") as scratch:
        path = Path(scratch) / "ml-100k-interactions.csv"
        interactions.write_csv(path)
        figures, section.seconds = run_json(
            [*shelfwise_command(), "evaluate", "recs", "--interactions", str(path), "--json"]
        )
    folder = shown_path(shared_data() / "movielens-100k")
    section.data = [
        f"`{folder}/ml-100k.inter`: {len(interactions):,} ratings, each taken as an interaction, "
        "ordered by timestamp (written to a temporary user_id,item_id,timestamp CSV first)"
    ]
    section.data += recs_data_lines(figures)
    section.tables.append(MarkdownTable(["model", "HR@10", "NDCG@10"], recs_rows(figures)))
    return section


# Fader, Hardie & Lee (2005), BG/NBD on the 2,357-customer CDNOW sample, calibration weeks 1-39.
CDNOW_PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def cdnow_segments() -> Section:
    section = Section("Customer segments: CDNOW hold-out purchases (calibration weeks 1-39, hold-out 40-78)")
    path = shared_data() / "cdnow-rfm" / "cdnow_master_shared.csv"
    section.command = shlex.join(
        ["shelfwise", "evaluate", "segments", "--transactions", shown_path(path), "--json"]
    )
    if not path.is_file():
        section.skipped = f"{shown_path(path)} is missing"
        return section
    figures, section.seconds = run_json(
        [*shelfwise_command(), "evaluate", "segments", "--transactions", str(path), "--json"]
    )
    section.data = [
        f"`{shown_path(path)}`: {count_rows(path):,} transactions; {figures['customers']:,} customers "
        f"(the 2,357 of the published sample and every other one of even hash)",
        figures["protocol"],
        "BG/NBD fitted on them: "
        + ", ".join(f"{name} {figures['bgnbd'][name]:.3f}" for name in CDNOW_PUBLISHED_BGNBD)
        + "; on the published 2,357-customer summary the same fit gives "
        + ", ".join(f"{name} {value}" for name, value in CDNOW_PUBLISHED_BGNBD.items())
        + ", the published parameters (tests/customer_segments/test_bgnbd.py)",
    ]
    rows = [
        [
            row["name"] if row["name"] != "default" else f"default ({row['model']})",
            row["model"],
            *(
                fmt(row["metrics"][key])
                for key in ("mae_purchases", "spearman", "mean_predicted", "mean_actual")
            ),
        ]
        for row in figures["rows"]
    ]
    header = ["predictor", "model", "MAE purchases", "Spearman", "mean predicted", "mean actual"]
    section.tables.append(MarkdownTable(header, rows))
    section.notes.append(
        "Per customer, hold-out purchases (days with a purchase) predicted from calibration only. The "
        "segment rows predict as an RFM table does: each customer at their group's pooled calibration rate."
    )
    return section


def movielens_interactions(frame: Any) -> Any:
    """user_id, item_id, timestamp from the loader's frame, whatever it names the columns."""
    import polars as pl

    data = frame if isinstance(frame, pl.DataFrame) else getattr(frame, "interactions", frame)
    renames = {c: c.split(":", 1)[0] for c in data.columns}
    data = data.rename(renames)
    for needed in ("user_id", "item_id", "timestamp"):
        if needed not in data.columns:
            raise BenchmarkFailed(f"the MovieLens frame has no {needed} column: {data.columns}")
    return data.select("user_id", "item_id", "timestamp")


def ingest_throughput() -> Section:
    section = Section("Ingestion throughput (SQLite)")
    command = ["bench/ingest_throughput.py", "--events", "200000", "--products", "20000"]
    section.command = ".venv/bin/python " + shlex.join(command)
    figures, section.seconds = run_json([sys.executable, *command])
    section.data = [
        "Generated CSVs (synthetic shop: Zipf-like product popularity, 5% search events), "
        "ingested into a fresh SQLite file through the full quality gate.",
    ]
    rows = [
        [
            source,
            fmt(figures[source]["rows"]),
            f"{figures[source]['bytes'] / 1024**2:.1f}",
            fmt(figures[source]["seconds"], 2),
            fmt(figures[source]["rows_per_second"]),
        ]
        for source in ("products", "events")
    ]
    section.tables.append(MarkdownTable(["file", "rows", "MiB", "seconds", "rows/s"], rows))
    verdict = "meets" if figures["meets_target"] else "**misses**"
    section.notes.append(
        f"Events ingestion {verdict} the target of {figures['target_events_per_second']:,} events/s."
    )
    return section


def api_latency() -> Section:
    section = Section("HTTP API latency (loopback)")
    command = ["bench/api_latency.py", "--requests", "2000", "--concurrency", "8"]
    section.command = ".venv/bin/python " + shlex.join(command)
    figures, section.seconds = run_json([sys.executable, *command])
    alone = figures["sequential"]
    clients = figures["concurrency"]
    section.data = [
        f"Demo shop with {figures['demo_products']:,} products and {figures['demo_users']:,} users "
        f"(`shelfwise demo --no-serve`, built in {figures['demo_build_seconds']} s), served by "
        "`shelfwise serve` (one uvicorn worker) on 127.0.0.1, after a warm-up.",
        f"First {alone['requests']:,} requests one at a time (latency alone), then {figures['requests']:,} "
        f"requests from {clients} client threads (latency under load); the clients run on the same machine.",
    ]
    rows = [
        latency_row(endpoint, alone["endpoints"].get(endpoint, {}), row)
        for endpoint, row in figures["endpoints"].items()
    ]
    rows.append(latency_row("all", alone, figures))
    headers = ["endpoint", "p50 ms alone", "p99 ms alone", "requests", "errors"]
    headers += [f"p50 ms ({clients} clients)", f"p99 ms ({clients} clients)"]
    section.tables.append(MarkdownTable(headers, rows))
    section.notes.append(
        f"Throughput under load: {figures['requests_per_second']} requests/s over {figures['seconds']} s."
    )
    return section


def search_throughput() -> Section:
    section = Section("Search throughput as clients are added (loopback)")
    command = ["bench/search_throughput.py", "--clients", "1", "8", "32", "--seconds", "10"]
    section.command = ".venv/bin/python " + shlex.join(command)
    figures, section.seconds = run_json([sys.executable, *command])
    modes = figures["modes"]
    section.data = [
        f"Demo shop with {figures['demo_products']:,} products and {figures['demo_users']:,} users "
        f"(`shelfwise demo --no-serve`, built in {figures['demo_build_seconds']} s), served by "
        "`shelfwise serve` on 127.0.0.1; each number of clients searches back to back for "
        f"{figures['seconds_per_level']:g} s (`GET /v1/search`, a query from the titles and a demo user).",
        "Modes: "
        + "; ".join(f"{name}: `{environment_text(env)}`" for name, env in figures["environments"].items()),
        f"The clients run on the same {figures['cores']}-core machine as the server.",
    ]
    headers = ["clients"]
    for name in modes:
        headers += [f"requests/s ({name})", f"p50 ms ({name})", f"p99 ms ({name})"]
    rows = []
    for position, level in enumerate(next(iter(modes.values()))):
        row = [str(level["clients"])]
        for results in modes.values():
            figure = results[position]
            row += [fmt(figure["requests_per_second"], 1), fmt(figure["p50_ms"], 1), fmt(figure["p99_ms"], 1)]
        rows.append(row)
    section.tables.append(MarkdownTable(headers, rows))
    default = next(iter(modes.values()))
    holds = all(level["requests_per_second"] >= default[0]["requests_per_second"] for level in default[1:])
    verdict = "holds" if holds else "**misses**"
    section.notes.append(
        f"With the default settings, throughput with more clients {verdict} the target of at least the "
        "one-client figure."
    )
    return section


def environment_text(environment: dict[str, str]) -> str:
    return " ".join(f"{name}={value}" for name, value in environment.items()) or "(defaults)"


def latency_row(name: str, alone: dict[str, Any], loaded: dict[str, Any]) -> list[str]:
    return [
        name,
        fmt(alone.get("p50_ms"), 2),
        fmt(alone.get("p99_ms"), 2),
        fmt(loaded["requests"]),
        fmt(loaded["errors"]),
        fmt(loaded["p50_ms"], 2),
        fmt(loaded["p99_ms"], 2),
    ]


BENCHMARKS: dict[str, Callable[[], Section]] = {
    "homedepot": homedepot_search,
    "search-latency": search_sections.search_latency,
    "chinese-search": search_sections.chinese_search,
    "transfer": search_sections.transfer,
    "amazon-beauty": amazon_beauty_recs,
    "sequential-beauty": sequential_sections.sequential_beauty,
    "sessions": sequential_sections.sessions_yoochoose,
    "realtime-recs": sequential_sections.realtime_recs,
    "movielens": movielens_recs,
    "cdnow-segments": cdnow_segments,
    "ingest": ingest_throughput,
    "api": api_latency,
    "search-throughput": search_throughput,
    "fashion-images": fashion_images,
    "uplift": audience_sections.uplift_hillstrom,
    "audiences-beauty": audience_sections.audiences_beauty,
    "audiences-demo": audience_sections.audiences_demo,
}


def run_benchmark(name: str, benchmark: Callable[[], Section]) -> Section:
    print(f"== {name}", flush=True)
    try:
        section = benchmark()
    except Exception as error:  # one failed benchmark is reported in its section, the others still run
        section = Section(f"{name} (failed)", skipped=f"failed: {type(error).__name__}: {error}")
    if section.skipped:
        print(f"   skipped: {section.skipped}", flush=True)
    return section


def render(sections: list[Section]) -> str:
    header = [
        "# Benchmarks",
        "Written by `make bench` (`bench/run_all.py`); every figure below was measured in that run.",
        "\n".join(f"- {line}" for line in machine()),
    ]
    return "\n\n".join([*header, *(section.render() for section in sections)]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only", choices=sorted(BENCHMARKS), action="append", help="Run only these benchmarks."
    )
    parser.add_argument("--output", type=Path, help=f"Where to write the report (default {OUTPUT.name}).")
    args = parser.parse_args(argv)
    chosen = args.only or list(BENCHMARKS)
    # A partial run must not replace the full report.
    output = args.output or (PARTIAL_OUTPUT if args.only else OUTPUT)
    sections = [run_benchmark(name, BENCHMARKS[name]) for name in chosen]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(sections), encoding="utf-8")
    print(f"wrote {output}")
    return 0 if not any(s.skipped and s.skipped.startswith("failed") for s in sections) else 1


if __name__ == "__main__":
    sys.exit(main())
