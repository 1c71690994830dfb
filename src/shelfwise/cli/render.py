"""Rich tables for what the commands print."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table

from shelfwise.domain import Recommendations, SearchResult
from shelfwise.domain.ingest import IngestReport, QuarantinedRow
from shelfwise.quality.report import QualityReport
from shelfwise.training.artifacts import Manifest

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
