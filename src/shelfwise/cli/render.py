"""Rich tables for what the commands print."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table

from shelfwise.domain import Recommendations, SearchResult
from shelfwise.domain.ingest import IngestReport, QuarantinedRow
from shelfwise.quality.report import QualityReport
from shelfwise.training.artifacts import Manifest

if TYPE_CHECKING:  # the evaluation modules load torch and the engine: only the commands that run them pay
    from shelfwise.evaluation.image_eval import ImageEvaluation
    from shelfwise.evaluation.recs_eval import RecsEvaluation, RecsModelResult
    from shelfwise.evaluation.search_ablation import AblationRow
    from shelfwise.evaluation.search_eval import SearchEvaluation
    from shelfwise.experiments.personal_search import PersonalEvaluation

RAW_PREVIEW_CHARS = 80


def ingest_table(report: IngestReport, seconds: float) -> Table:
    table = Table(title=f"Ingested {report.source} from {report.file}")
    for name in ("rows", "accepted", "quarantined", "seconds"):
        table.add_column(name, justify="right")
    table.add_row(f"{report.total:,}", f"{report.accepted:,}", f"{report.quarantined:,}", f"{seconds:.2f}")
    return table


def quarantine_table(rows: Sequence[QuarantinedRow], title: str) -> Table:
    table = Table(title=title)
    table.add_column("source")
    table.add_column("file", overflow="fold")
    table.add_column("line", justify="right")
    table.add_column("reasons", overflow="fold")
    table.add_column("row", overflow="ellipsis", max_width=RAW_PREVIEW_CHARS)
    for row in rows:
        table.add_row(row.source, row.file, str(row.line), _reasons(row.reasons), _preview(row.raw))
    return table


def _reasons(reasons: Any) -> str:
    if isinstance(reasons, str):
        return reasons
    return "; ".join(str(reason) for reason in reasons)


def _preview(raw: Any) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text if len(text) <= RAW_PREVIEW_CHARS else text[: RAW_PREVIEW_CHARS - 1] + "…"


def manifest_table(manifest: Manifest, seconds: float | None = None) -> Table:
    table = Table(title=f"Model version {manifest.version}")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    data = manifest.data
    rows: list[tuple[str, str]] = [
        ("version", manifest.version),
        ("created", _moment(manifest.created_at)),
        ("products", f"{data.products:,}"),
        ("events", f"{data.events:,}"),
        ("users", f"{data.users:,}"),
        ("data window", f"{_moment(data.first_event)} → {_moment(data.last_event)}"),
        ("components", ", ".join(manifest.components) or "-"),
    ]
    rows += [(name, _figure(value)) for name, value in manifest.metrics.items()]
    if seconds is not None:
        rows.append(("wall time (s)", f"{seconds:.2f}"))
    if manifest.forced:
        rows.append(("forced", "yes: trained over failing quality checks"))
    rows += [("note", note) for note in manifest.notes]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _moment(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _figure(value: float) -> str:
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


def search_table(result: SearchResult) -> Table:
    first = (result.page - 1) * result.page_size
    shown = f"{first + 1}-{first + len(result.hits)}" if result.hits else "none"
    table = Table(title=f"{result.total:,} products match {result.query!r} (showing {shown})")
    table.add_column("#", justify="right")
    table.add_column("product_id")
    table.add_column("title", overflow="fold")
    table.add_column("price", justify="right")
    table.add_column("score", justify="right")
    table.add_column("matched")
    for rank, hit in enumerate(result.hits, start=first + 1):
        product = hit.product
        price = "-" if product.price is None else f"{product.price:,.2f}"
        table.add_row(
            str(rank),
            product.product_id,
            product.title,
            price,
            f"{hit.score:.3f}",
            ", ".join(hit.matched_fields),
        )
    return table


def recommendations_table(recommendations: Recommendations) -> Table:
    about = recommendations.user_id or recommendations.product_id
    title = f"{recommendations.kind.value}" + (f" for {about}" if about else "")
    table = Table(title=f"{title}: {len(recommendations.items)} products")
    table.add_column("#", justify="right")
    table.add_column("product_id")
    table.add_column("title", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("why", overflow="fold")
    for rank, item in enumerate(recommendations.items, start=1):
        product = item.product
        table.add_row(
            str(rank), product.product_id, product.title, f"{item.score:.3f}", item.explanation.summary()
        )
    return table


_STATUS_STYLE = {"unlocked": "green", "not_unlocked": "yellow", "blocked": "bold red"}
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def quality_summary(report: QualityReport, max_rows: int = 10) -> Group:
    """Rich tables: outcomes per file, checks that fired, dataset warnings, tiers, the first rows."""
    outcomes = Table(title="Rows by outcome")
    for name in ("file", "rows", "accepted", "repaired", "excluded", "quarantined"):
        outcomes.add_column(name, justify="left" if name == "file" else "right")
    for summary in (report.products, report.events):
        if summary is not None:
            outcomes.add_row(
                summary.file,
                *(
                    f"{value:,}"
                    for value in (
                        summary.rows,
                        summary.accepted,
                        summary.repaired,
                        summary.excluded,
                        summary.quarantined,
                    )
                ),
            )
    checks = Table(title="Checks that fired")
    for name in ("check", "severity", "effect", "rows"):
        checks.add_column(name, justify="right" if name == "rows" else "left")
    for item in report.check_details:
        style = _SEVERITY_STYLE.get(item.severity, "")
        checks.add_row(item.name, f"[{style}]{item.severity}[/]", item.effect, f"{item.rows:,}")
    warnings = Table(title="Dataset warnings")
    warnings.add_column("check")
    warnings.add_column("severity")
    warnings.add_column("finding", overflow="fold")
    for warning in report.warnings:
        style = _SEVERITY_STYLE.get(warning.severity, "")
        warnings.add_row(warning.check, f"[{style}]{warning.severity}[/]", warning.message)
    tiers = Table(title="Feature tiers")
    tiers.add_column("tier")
    tiers.add_column("status")
    tiers.add_column("why", overflow="fold")
    for tier in report.tiers:
        tiers.add_row(tier.tier, f"[{_STATUS_STYLE[tier.status]}]{tier.status}[/]", tier.message)
    rows = Table(
        title=f"First {min(max_rows, len(report.rows))} of {len(report.rows):,} rows not plainly accepted"
    )
    for name in ("file", "line", "id", "outcome", "checks"):
        rows.add_column(name, overflow="fold")
    for row in report.rows[:max_rows]:
        ident = row.product_id or row.user_id or ""
        rows.add_row(row.file, str(row.line), ident, row.outcome, ", ".join(row.checks))
    return Group(outcomes, tiers, checks, warnings, rows)


# evaluation reports ---------------------------------------------------------------------------------


def render_search_evaluation(evaluation: SearchEvaluation, title: str = "Search relevance") -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("queries", f"{evaluation.queries}"),
        ("skipped (no positive gain)", f"{evaluation.skipped_queries}"),
        (f"NDCG@{evaluation.k}", f"{evaluation.ndcg_at_10:.4f}"),
        (f"Recall@{evaluation.depth}", f"{evaluation.recall_at_100:.4f}"),
        (f"MRR@{evaluation.k}", f"{evaluation.mrr_at_10:.4f}"),
        ("latency p50 (ms)", f"{evaluation.latency_p50_ms:.2f}"),
        ("latency p99 (ms)", f"{evaluation.latency_p99_ms:.2f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def render_ablation(rows: list[AblationRow], title: str) -> Table:
    table = Table(title=title)
    for column in ("configuration", "NDCG@10", "Recall@100", "MRR@10", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for row in rows:
        table.add_row(
            row.name,
            f"{row.ndcg_at_10:.4f}",
            f"{row.recall_at_100:.4f}",
            f"{row.mrr_at_10:.4f}",
            f"{row.latency_p50_ms:.2f}",
            f"{row.latency_p99_ms:.2f}",
        )
    return table


def render_recs_evaluation(evaluation: RecsEvaluation) -> Table:
    stats = evaluation.dataset
    refitted = any(row.refit_for_test for row in evaluation.rows)
    table = Table(
        title=f"Recommendations: {stats.evaluated_users:,} test users, {stats.items:,} items ranked",
        caption=evaluation.protocol + ("; refitted on train + validation for test" if refitted else ""),
    )
    table.add_column("model", no_wrap=True)
    for header in ("HR@10", "NDCG@10", "MRR", "valid HR@10", "valid NDCG@10", "fit s", "eval s"):
        table.add_column(header, justify="right")
    for row in evaluation.rows:
        table.add_row(
            _label(row),
            f"{row.hr_at_10:.4f}",
            f"{row.ndcg_at_10:.4f}",
            "-" if row.mrr is None else f"{row.mrr:.4f}",
            f"{row.valid_hr_at_10:.4f}",
            f"{row.valid_ndcg_at_10:.4f}",
            f"{row.fit_seconds:.1f}",
            f"{row.eval_seconds:.1f}",
        )
    return table


def render_image_evaluation(evaluation: ImageEvaluation) -> Table:
    """Category accuracy of text, image and both per level, with the gate's image checks below."""
    levels = list(evaluation.majority)
    duplicates, swaps = evaluation.duplicates, evaluation.mislabelled
    table = Table(
        title=f"Images: {evaluation.products:,} products of {evaluation.data}",
        caption=f"{evaluation.protocol}. Duplicates: recall {duplicates.recall:.3f} on {duplicates.copies} "
        f"copies, false-positive rate {duplicates.false_positive_rate:.3f}. Swapped categories: precision "
        f"{swaps.precision:.3f}, recall {swaps.recall:.3f} ({swaps.flagged} flagged of {swaps.swapped} "
        f"swapped). Encoder: {evaluation.throughput['images_per_second']:.1f} images/s.",
    )
    table.add_column("vectors", no_wrap=True)
    for level in levels:
        table.add_column(level, justify="right")
    for row in evaluation.rows:
        table.add_row(row.name, *(f"{row.metrics[level]:.3f}" for level in levels))
    table.add_row("majority class", *(f"{evaluation.majority[level]:.3f}" for level in levels))
    return table


def _label(row: RecsModelResult) -> str:
    label = row.name if row.name == row.model else f"{row.name} ({row.model})"
    return label if row.candidates == 1 else f"{label}, best of {row.candidates}"


def render_recs_segments(evaluation: RecsEvaluation) -> Table:
    """Test HR@10 / NDCG@10 of each model on the segments (long-tail targets, short histories)."""
    table = Table(title="Test HR@10 / NDCG@10 by segment")
    table.add_column("model", no_wrap=True)
    names = [segment.segment for segment in evaluation.rows[0].segments] if evaluation.rows else []
    for name in names:
        table.add_column(name, justify="right")
    for row in evaluation.rows:
        cells = [
            f"{s.metrics.hr_at_10:.4f} / {s.metrics.ndcg_at_10:.4f} (n={s.metrics.users:,})"
            for s in row.segments
        ]
        table.add_row(_label(row), *cells)
    return table


def render_personal_evaluation(evaluation: PersonalEvaluation) -> tuple[Table, Table]:
    sweep = Table(title=f"Search with and without user_id ({evaluation.test_sessions} test sessions)")
    for column in ("variant", "val NDCG@10", "NDCG@10", "MRR@10", "HR@10", "ΔNDCG@10 vs no user"):
        sweep.add_column(column, justify="left" if column == "variant" else "right")
    for row in evaluation.rows:
        marker = " ◀ chosen" if row.name == evaluation.chosen else ""
        sweep.add_row(
            row.name + marker,
            f"{row.validation.ndcg_at_10:.4f}",
            f"{row.test.ndcg_at_10:.4f}",
            f"{row.test.mrr_at_10:.4f}",
            f"{row.test.hr_at_10:.4f}",
            f"{row.test_ndcg_delta:+.4f} ± {row.test_ndcg_delta_ci95:.4f}",
        )
    buckets = Table(title="By history length (item events before the search), test users")
    for column in (
        "history",
        "sessions",
        "no user",
        "shares only",
        "chosen",
        "Δ chosen",
        "HR no user / chosen",
    ):
        buckets.add_column(column, justify="right")
    for bucket in evaluation.buckets:
        buckets.add_row(
            bucket.bucket,
            str(bucket.sessions),
            f"{bucket.baseline.ndcg_at_10:.4f}",
            f"{bucket.shares_only.ndcg_at_10:.4f}",
            f"{bucket.chosen.ndcg_at_10:.4f}",
            f"{bucket.ndcg_delta:+.4f} ± {bucket.ndcg_delta_ci95:.4f}",
            f"{bucket.baseline.hr_at_10:.3f} / {bucket.chosen.hr_at_10:.3f}",
        )
    return sweep, buckets
