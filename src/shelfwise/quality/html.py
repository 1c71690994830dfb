"""The HTML quality report: one self-contained file (inline CSS, plots as inline SVG, no JavaScript),
rendered from the Jinja2 template `templates/report.html` shipped with the package. Autoescaping is on:
every value from the data (titles, ids, reasons) is escaped; only the SVG markup drawn by
`shelfwise.quality.plots` (which escapes its own labels) goes in as is.

Plots: missing-field coverage, price distributions per category (outliers in red), events per day, the
event-type funnel, and the most active users with bots marked. Then tiers, checks, warnings and rows.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from shelfwise.quality.plots import report_plots
from shelfwise.quality.report import QualityReport

MAX_ROWS = 300  # rows listed in the page; the JSON report lists them all
DETAIL_CHARS = 300
STATUS_COLOUR = {"unlocked": "#1a7f37", "not_unlocked": "#9a6700", "blocked": "#cf222e"}
SEVERITY_COLOUR = {"error": "#cf222e", "warning": "#9a6700", "info": "#0969da"}


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("shelfwise.quality", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: QualityReport) -> str:
    """The report as one self-contained HTML page (what `quality check --html` and the admin page show)."""
    return (
        _environment()
        .get_template("report.html")
        .render(
            report=report,
            created=report.created_at.isoformat(timespec="seconds"),
            summaries=[summary for summary in (report.products, report.events) if summary is not None],
            plots=report_plots(report),
            rows=report.rows[:MAX_ROWS],
            detail_chars=DETAIL_CHARS,
            status_colour=STATUS_COLOUR,
            severity_colour=SEVERITY_COLOUR,
        )
    )


def write_html(report: QualityReport, path: Path | str) -> Path:
    """Write `render_html(report)` to `path` (parents made as needed); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
