"""BENCHMARKS.md sections of the AI-search and transfer work, used by bench/run_all.py."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time

from harness import ROOT, BenchmarkFailed, MarkdownTable, Section, fmt, run_json, shared_data


def search_latency() -> Section:
    section = Section("Search speed and memory: Home Depot, 54,667 products, one process")
    command = ["bench/search_latency.py"]
    section.command = ".venv/bin/python " + shlex.join(command)
    if not (shared_data() / "homedepot-search").is_dir():
        section.skipped = "../shared/data/homedepot-search is missing"
        return section
    figures, section.seconds = run_json([sys.executable, str(ROOT / command[0])])
    build, serve = figures["build"], figures["serve"]
    section.data = [
        f"Indexing from scratch (empty embedding cache): {build['products']:,} titles encoded with "
        f"{build['encoder']}, BM25 fields, spelling vocabulary and the {build['vector_index']} vector index.",
        f"Serving: a fresh process loads the saved pipeline and runs {serve['queries']:,} held-out queries "
        "once each, one at a time, page size 10, query-vector cache off (every query is encoded).",
    ]
    rows = [
        ["indexing from scratch (s)", fmt(build["index_seconds"], 1)],
        ["ranker training on the other half of the queries (s)", fmt(build["ranker_train_seconds"], 1)],
        ["load of the saved pipeline (s)", fmt(serve["load_seconds"], 2)],
        ["query latency p50 (ms)", fmt(serve["latency_p50_ms"], 2)],
        ["query latency p90 (ms)", fmt(serve["latency_p90_ms"], 2)],
        ["query latency p99 (ms)", fmt(serve["latency_p99_ms"], 2)],
        ["resident memory after serving (MB)", fmt(serve["rss_mb"], 0)],
        ["peak resident memory of the serving process (MB)", fmt(serve["peak_rss_mb"], 0)],
        [
            "NDCG@10 / Recall@100 / MRR@10 of the same run",
            f"{fmt(serve['ndcg_at_10'])} / {fmt(serve['recall_at_100'])} / {fmt(serve['mrr_at_10'])}",
        ],
        ["load average during serving", fmt(serve["load_average"], 2)],
    ]
    section.tables.append(MarkdownTable(["measure", "value"], rows))
    return section


def markdown_section(title: str, command: list[str], dataset: str) -> Section:
    """A benchmark script that prints its own markdown table on stdout."""
    section = Section(title)
    section.command = ".venv/bin/python " + shlex.join(command)
    if not (shared_data() / dataset).is_dir():
        section.skipped = f"../shared/data/{dataset} is missing"
        return section
    print(f"$ {section.command}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(ROOT / command[0]), *command[1:]],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    section.seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise BenchmarkFailed(f"exit code {completed.returncode}")
    section.notes.append(completed.stdout.strip())
    return section


def chinese_search() -> Section:
    return markdown_section(
        "Chinese search: 4,987 product titles (chinese-ecommerce-text/ner)",
        ["bench/search_chinese.py"],
        "chinese-ecommerce-text",
    )


def transfer() -> Section:
    return markdown_section(
        "Cross-domain transfer of the sequential transformer: Amazon Beauty categories",
        ["bench/recs_transfer.py"],
        "amazon-beauty",
    )
