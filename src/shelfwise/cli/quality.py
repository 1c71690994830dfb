"""`shelfwise quality`: check files against the data-quality gate, show the latest report, and manage the
quarantine (list, export for fixing, retry, discard)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated, Literal

import typer

from shelfwise.cli import render
from shelfwise.cli.context import (
    current_settings,
    engine_command,
    open_engine,
    stderr_console,
    stdout_console,
)
from shelfwise.domain import RetryResult
from shelfwise.quality.html import write_html
from shelfwise.quality.report import REPORT_FILE, QualityReport
from shelfwise.quality.reporting import check_files

quality_app = typer.Typer(
    help="The data-quality gate: check files, read the report, fix quarantined rows.", no_args_is_help=True
)
quarantine_app = typer.Typer(help="Rows quarantined at ingestion, with their reasons.", no_args_is_help=True)
quality_app.add_typer(quarantine_app, name="quarantine")

SourceOption = Annotated[str | None, typer.Option(help="products or events (default both).")]


def _source(value: str | None, required: bool = False) -> Literal["products", "events"] | None:
    if value is None and not required:
        return None
    if value == "products":
        return "products"
    if value == "events":
        return "events"
    raise typer.BadParameter(f"expected products or events, got {value!r}", param_hint="--source")


@quality_app.command("check")
@engine_command
def check(
    products: Annotated[
        Path | None, typer.Option(help="The catalog file (.csv, .tsv, .jsonl, .parquet).")
    ] = None,
    events: Annotated[Path | None, typer.Option(help="The events file; joined against --products.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full report as JSON here.")
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML report with plots here.")
    ] = None,
    rows: Annotated[int, typer.Option(min=0, help="Rows to show in the terminal.")] = 10,
    strict: Annotated[bool, typer.Option(help="Exit 2 when a tier is blocked.")] = False,
) -> None:
    """Run every check over the files without storing anything; nothing is changed on disk but the
    reports. Writes the report to the data directory too, where `GET /v1/quality` serves it."""
    if products is None and events is None:
        raise typer.BadParameter("give --products, --events or both")
    with stderr_console().status("Checking data quality…"):
        result = check_files(products, events)
    report = result.report
    _save_latest(report)
    if json_out is not None:
        report.save(json_out)
    if html_out is not None:
        write_html(report, html_out)
    stdout_console().print(render.quality_summary(report, rows))
    if strict and report.blocked:
        raise typer.Exit(code=2)


def _save_latest(report: QualityReport) -> None:
    directory = current_settings().data_dir
    if directory.is_dir():
        report.save(directory / REPORT_FILE)


@quality_app.command("report")
@engine_command
def report_command(
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report as JSON here.")] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML report with plots here.")
    ] = None,
    source: Annotated[
        Path | None, typer.Option("--from", help="A report JSON file (default: the data directory's latest).")
    ] = None,
    rows: Annotated[int, typer.Option(min=0, help="Rows to show in the terminal.")] = 10,
) -> None:
    """Show the latest report (of the last `train` or `quality check`), or write it as JSON or HTML."""
    path = source or current_settings().data_dir / REPORT_FILE
    if not path.is_file():
        raise ValueError(
            f"no quality report at {path}: run `shelfwise quality check` or `shelfwise train` first"
        )
    report = QualityReport.load(path)
    if json_out is not None:
        report.save(json_out)
    if html_out is not None:
        write_html(report, html_out)
    stdout_console().print(render.quality_summary(report, rows))


@quarantine_app.command("list")
@engine_command
def quarantine_list(
    source: SourceOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Rows the quality gate quarantined, oldest first."""
    kind = _source(source)
    with closing(open_engine()) as engine:
        found = engine.quarantined(kind, offset=offset, limit=limit)
        total = engine.count_quarantined(kind)
    title = f"{len(found)} of {total:,} quarantined rows" + (f" ({kind})" if kind else "")
    stdout_console().print(render.quarantine_table(found, title))


@quarantine_app.command("export")
@engine_command
def quarantine_export(
    out: Annotated[Path, typer.Argument(help="A .csv or .jsonl file to write.")],
    source: Annotated[str, typer.Option(help="products or events.")] = "products",
) -> None:
    """Write quarantined rows with their id and reasons, to fix and send back with `retry --file`."""
    kind = _source(source, required=True)
    assert kind is not None
    with closing(open_engine()) as engine:
        written = engine.export_quarantine(out, kind)
    stdout_console().print(f"Wrote {written:,} quarantined {kind} rows to {out}")


@quarantine_app.command("retry")
@engine_command
def quarantine_retry(
    source: Annotated[str, typer.Option(help="products or events.")] = "events",
    file: Annotated[Path | None, typer.Option(help="An exported file with the rows fixed.")] = None,
) -> None:
    """Run quarantined rows through the gate again: those that pass are ingested and released.

    Without --file the stored rows are retried as they are (events held for unknown products re-join
    after a catalog import); with --file the fixed rows of an export are."""
    kind = _source(source, required=True)
    assert kind is not None
    with closing(open_engine()) as engine:
        result = (
            engine.retry_quarantine_file(kind, file) if file is not None else engine.retry_quarantined(kind)
        )
    stdout_console().print(_retry_line(result))


@quarantine_app.command("discard")
@engine_command
def quarantine_discard(
    source: Annotated[str, typer.Option(help="products or events.")],
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="A row to discard (repeat); default every row.")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Discard every quarantined row of the source.")
    ] = False,
) -> None:
    """Delete quarantined rows for good, to make room in a full quarantine (export them first to keep a
    copy). Name the rows with --id, or say --all."""
    kind = _source(source, required=True)
    assert kind is not None
    if not ids and not everything:
        raise typer.BadParameter("name rows with --id, or discard them all with --all", param_hint="--id")
    with closing(open_engine()) as engine:
        deleted = engine.discard_quarantined(kind, ids or None)
    stdout_console().print(f"Discarded {deleted:,} quarantined {kind} rows")


def _retry_line(result: RetryResult) -> str:
    line = (
        f"Retried {result.tried:,} {result.source} rows: {result.released:,} accepted and released, "
        f"{result.still_quarantined:,} still quarantined"
    )
    if result.not_retryable:
        line += f", {result.not_retryable:,} unreadable (fix them in an export)"
    return line
