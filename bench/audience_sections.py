"""BENCHMARKS.md sections of audiences for advertising and campaign uplift, used by bench/run_all.py."""

from __future__ import annotations

import shlex
from typing import Any

from harness import MarkdownTable, Section, fmt, run_json, shared_data, shelfwise_command, shown_path


def _interval(bounds: list[float], digits: int = 3) -> str:
    return f"{bounds[0]:+.{digits}f} … {bounds[1]:+.{digits}f}"


def uplift_hillstrom() -> Section:
    section = Section("Campaign uplift: Hillstrom's e-mail test (who should get which campaign)")
    data = shared_data() / "hillstrom-email-targeting" / "hillstrom_half.csv"
    arguments = ["evaluate", "uplift", "--data", str(data), "--json"]
    section.command = shlex.join(["shelfwise", *arguments[:3], shown_path(data), "--json"])
    if not data.is_file():
        section.skipped = f"{shown_path(data)} is missing"
        return section
    figures, section.seconds = run_json([*shelfwise_command(), *arguments])
    rates = ", ".join(f"{arm} {rate:.4f}" for arm, rate in figures["outcome_rates"].items())
    section.data = [
        f"`{shown_path(data)}`: {figures['train_customers'] + figures['test_customers']:,} customers; "
        f"held-out conversion rate by arm: {rates}",
        figures["protocol"],
    ]
    section.tables.append(uplift_table(figures))
    return section


def uplift_table(figures: dict[str, Any]) -> MarkdownTable:
    rows = [
        [
            row["name"],
            fmt(row["metrics"]["qini"], 3),
            _interval(row["metrics"]["qini_interval"]),
            f"{row['metrics']['uplift_at_30']:+.4f}",
            _interval(row["metrics"]["uplift_at_30_interval"], 4),
            fmt(row["metrics"]["customers"]),
        ]
        for row in figures["rows"]
    ]
    headers = ["targeting", "Qini", "95% interval", "uplift@30%", "95% interval", "customers judged"]
    return MarkdownTable(headers, rows)


def audience_table(figures: dict[str, Any]) -> MarkdownTable:
    size = figures["size"]
    rows = [
        [
            row["name"],
            fmt(row["metrics"]["precision"]),
            fmt(row["metrics"]["recall"]),
            fmt(row["metrics"]["auc"]),
        ]
        for row in figures["rows"]
    ]
    return MarkdownTable(["audience by", f"precision@{size}", f"recall@{size}", "AUC"], rows)


def audiences_beauty() -> Section:
    section = Section("Audiences: Amazon Beauty (each user's last review after the cut)")
    folder = shared_data() / "amazon-beauty"
    interactions, items = folder / "interactions.csv", folder / "items.csv"
    arguments = ["evaluate", "audiences", "--interactions", str(interactions), "--items", str(items)]
    arguments += ["--size", "1000", "--json"]
    section.command = shlex.join(
        ["shelfwise", "evaluate", "audiences", "--interactions", shown_path(interactions),
         "--items", shown_path(items), "--size", "1000", "--json"]
    )  # fmt: skip
    if not (interactions.is_file() and items.is_file()):
        section.skipped = f"{shown_path(folder)} is missing (interactions.csv and items.csv)"
        return section
    figures, section.seconds = run_json([*shelfwise_command(), *arguments])
    section.data = [figures["protocol"]]
    section.tables.append(audience_table(figures))
    return section


def audiences_demo() -> Section:
    section = Section("Audiences: demo shop (purchases in the last 14 days)")
    arguments = ["evaluate", "audiences", "--size", "100", "--json"]
    section.command = shlex.join(["shelfwise", *arguments])
    figures, section.seconds = run_json([*shelfwise_command(), *arguments])
    section.data = [figures["protocol"]]
    section.tables.append(audience_table(figures))
    return section
