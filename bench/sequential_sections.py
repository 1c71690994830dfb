"""BENCHMARKS.md sections of the sequential recommender work, used by bench/run_all.py."""

from __future__ import annotations

import shlex
import sys
from typing import Any

from harness import ROOT, MarkdownTable, Section, fmt, run_json, shared_data


def _hr_ndcg(metrics: dict[str, Any]) -> str:
    return f"{fmt(metrics['hr_at_10'])} / {fmt(metrics['ndcg_at_10'])}"


def sequential_beauty() -> Section:
    section = Section(
        "Recommendations: sequential transformer on Amazon Beauty (leave-one-out, full ranking)"
    )
    command = ["bench/recs_sequential.py", "--text"]
    section.command = ".venv/bin/python " + shlex.join(command)
    if not (shared_data() / "amazon-beauty").is_dir():
        section.skipped = "../shared/data/amazon-beauty is missing"
        return section
    figures, section.seconds = run_json([sys.executable, str(ROOT / command[0]), *command[1:]])
    rows = [
        [row["name"], fmt(row["hr_at_10"]), fmt(row["ndcg_at_10"]), fmt(row["fit_seconds"], 0)]
        for row in figures["models"]
    ]
    rows += [
        ["SASRec (published, S3-Rec paper)", "0.0605", "0.0318", ""],
        ["SASRec, sampled softmax (published, transformer_benchmark 2025)", "0.0921", "0.0531", ""],
    ]
    section.tables.append(MarkdownTable(["model", "HR@10", "NDCG@10", "fit s (wall)"], rows))
    names = [s["segment"] for s in next(iter(figures["segments"].values()))]
    segment_rows = [
        [model, *(_hr_ndcg(s["metrics"]) for s in found)] for model, found in figures["segments"].items()
    ]
    section.tables.append(MarkdownTable(["HR@10 / NDCG@10 by segment", *names], segment_rows))
    training = figures["sasrec_training"]
    latency = figures["one_user_latency"]
    section.data = [
        f"{figures['evaluated_users']:,} test users, {figures['items']:,} items ranked; title embeddings: "
        f"{figures['text_embeddings']}",
        f"transformer: {training['epochs']} epochs (best {training['best_epoch']}), "
        f"{training['cpu_seconds']} CPU s ({training['wall_seconds']} s wall on a shared machine), "
        f"{training['threads']} thread(s)",
        f"blend chosen on validation: co-occurrence share {figures['blend_weight']}, softmax temperature "
        f"{figures.get('blend_temperature', 1.0)}",
        f"one user scored: transformer p50 {latency['sasrec']['p50_ms']:.2f} ms / p99 "
        f"{latency['sasrec']['p99_ms']:.2f} ms; blend p50 {latency['blend']['p50_ms']:.2f} ms",
    ]
    return section


def sessions_yoochoose() -> Section:
    section = Section("Session-based recommendations: YooChoose 100k clicks (next click, Recall@20 / MRR@20)")
    command = ["bench/recs_sessions.py"]
    section.command = ".venv/bin/python " + shlex.join(command)
    if not (shared_data() / "yoochoose-sessions").is_dir():
        section.skipped = "../shared/data/yoochoose-sessions is missing"
        return section
    figures, section.seconds = run_json([sys.executable, str(ROOT / command[0])])
    section.data = [
        f"{figures['test_cases']:,} test next clicks, {figures['items']:,} items ranked; "
        f"{figures['protocol']}",
        f"transformer epochs {figures['sasrec_epochs']}, blend share {figures['blend_weight']} "
        "(both chosen on train_valid)",
    ]
    rows = [[r["name"], fmt(r["recall_at_20"]), fmt(r["mrr_at_20"])] for r in figures["models"]]
    section.tables.append(MarkdownTable(["model", "Recall@20", "MRR@20"], rows))
    return section


def realtime_recs() -> Section:
    section = Section("Real-time recommendations: event accepted -> changed for-you, page diversity")
    command = ["bench/recs_realtime.py"]
    section.command = ".venv/bin/python " + shlex.join(command)
    figures, section.seconds = run_json([sys.executable, str(ROOT / command[0])])
    response = figures["accepted_to_changed_response"]
    section.data = [
        f"generated shop: {figures['products']:,} products, {figures['events']:,} events; transformer: "
        f"{figures['transformer']}; trained in {figures['train_seconds']} s",
        f"record event p50 {figures['record_event']['p50_ms']} ms; accepted -> next for-you p50 "
        f"{response['p50_ms']} ms, p99 {response['p99_ms']} ms; responses changed: "
        f"{figures['responses_changed']:.0%} of {figures['trials']}",
    ]
    rows = [
        [name, fmt(figures[key]["intra_list_diversity"]), fmt(figures[key]["catalog_coverage"])]
        for name, key in (
            (f"cap {figures['max_per_category']} per category", "diversity_capped"),
            ("no cap", "diversity_uncapped"),
        )
    ]
    section.tables.append(MarkdownTable(["for-you pages", "intra-list diversity", "catalog coverage"], rows))
    return section
