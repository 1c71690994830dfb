"""Steps shared by several commands (ingest, train, demo, serve), each with its spinner and its printout."""

from __future__ import annotations

import time
from pathlib import Path

from rich.markup import escape

from shelfwise.cli import render
from shelfwise.cli.context import stderr_console, stdout_console
from shelfwise.domain.ingest import IngestReport
from shelfwise.engine import Engine
from shelfwise.training.artifacts import Manifest
from shelfwise.training.trainer import TrainingConfig

QUARANTINE_PREVIEW_ROWS = 10


def ingest_with_status(engine: Engine, source: str, file: Path) -> tuple[IngestReport, float]:
    """Ingest a products or events file behind a spinner; the report and the seconds it took."""
    ingest = engine.ingest_products if source == "products" else engine.ingest_events
    started = time.perf_counter()
    with stderr_console().status(f"Ingesting {source} from {file}…"):
        report = ingest(file)
    return report, time.perf_counter() - started


def print_ingest_report(report: IngestReport, seconds: float) -> None:
    """The ingestion counts, each ingest limit reached, and the first quarantined rows with their reasons."""
    console = stdout_console()
    console.print(render.ingest_table(report, seconds))
    for notice in report.notices:
        console.print(f"[yellow]Limit reached:[/] {escape(notice)}", soft_wrap=True)
    if report.duplicates or report.unjoined:
        console.print(
            f"{report.duplicates:,} already stored (not stored again); "
            f"{report.unjoined:,} waiting for their product to join the catalog."
        )
    if report.quarantined:
        shown = report.quarantined_rows[:QUARANTINE_PREVIEW_ROWS]
        title = f"First {len(shown)} of {report.quarantined:,} quarantined rows"
        console.print(render.quarantine_table(shown, title))
        kept = report.quarantined - report.quarantine_not_kept
        console.print(
            "See them all with `shelfwise quality quarantine list`."
            if not report.quarantine_not_kept
            else f"{kept:,} of them are kept: see them with `shelfwise quality quarantine list`."
        )


def train_with_status(
    engine: Engine, force: bool = False, config: TrainingConfig | None = None
) -> tuple[Manifest, float]:
    """Train behind a spinner (`force`: over failing blocking quality checks); the manifest and seconds."""
    started = time.perf_counter()
    with stderr_console().status("Training search and recommendation models…"):
        manifest = engine.train(config, force=force)
    return manifest, time.perf_counter() - started


def run_server(engine: Engine, host: str, port: int) -> None:
    """Serve the API and the pages until interrupted, then close the engine."""
    from shelfwise.app import serve

    stderr_console().print(f"Serving on http://{host}:{port} (Ctrl+C stops).", soft_wrap=True)
    try:
        serve(engine, host=host, port=port)
    finally:
        engine.close()
