"""The HTML quality report: one self-contained file, plots as inline SVG (matplotlib, no JavaScript).

Plots: missing-field coverage, price distributions per category (outliers in red), events per day, the
event-type funnel, and the most active users with bots marked. Then tiers, checks, warnings and rows.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shelfwise.quality.report import QualityReport

_MAX_ROWS = 300
_STATUS_COLOUR = {"unlocked": "#1a7f37", "not_unlocked": "#9a6700", "blocked": "#cf222e"}
_SEVERITY_COLOUR = {"error": "#cf222e", "warning": "#9a6700", "info": "#0969da"}
_FUNNEL = ("search", "view", "click", "add_to_cart", "purchase")


def _svg(draw: Callable[[Any], None], width: float = 7.5, height: float = 3.2) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(width, height))
    try:
        draw(axes)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
    finally:
        plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _coverage(coverage: dict[str, float]) -> Callable[[Any], None]:
    def draw(axes: Any) -> None:
        names = list(coverage)
        values = [coverage[name] * 100 for name in names]
        colours = ["#cf222e" if value < 50 else "#2da44e" for value in values]
        axes.barh(names, values, color=colours)
        axes.set_xlim(0, 100)
        axes.set_xlabel("% of products with the field")
        axes.set_title("Field coverage")

    return draw


def _prices(groups: dict[str, dict[str, list[float]]]) -> Callable[[Any], None]:
    def draw(axes: Any) -> None:
        names = list(groups)
        data = [groups[name]["prices"] or [float("nan")] for name in names]
        axes.boxplot(data, orientation="horizontal", showfliers=False)
        for index, name in enumerate(names, start=1):
            outliers = groups[name]["outliers"]
            axes.scatter(outliers, [index] * len(outliers), color="#cf222e", s=12, zorder=3)
        axes.set_yticks(range(1, len(names) + 1), [name[:28] for name in names])
        axes.set_xscale("log")
        axes.set_xlabel("price (log scale); red: flagged outliers")
        axes.set_title("Prices per category")

    return draw


def _per_day(days: dict[str, int]) -> Callable[[Any], None]:
    def draw(axes: Any) -> None:
        labels = list(days)
        axes.plot(range(len(labels)), list(days.values()), marker=".", color="#0969da")
        step = max(1, len(labels) // 8)
        axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=30, ha="right", fontsize=7)
        axes.set_ylabel("events")
        axes.set_title("Events per day")

    return draw


def _funnel(counts: dict[str, int]) -> Callable[[Any], None]:
    def draw(axes: Any) -> None:
        names = [name for name in _FUNNEL if name in counts]
        axes.bar(names, [counts[name] for name in names], color="#8250df")
        axes.set_yscale("log")
        axes.set_title("Event-type funnel")

    return draw


def _users(users: list[dict[str, Any]]) -> Callable[[Any], None]:
    def draw(axes: Any) -> None:
        names = [user["actor"][:24] for user in users][::-1]
        values = [user["events"] for user in users][::-1]
        colours = ["#cf222e" if user["bot"] else "#6e7781" for user in users][::-1]
        axes.barh(names, values, color=colours)
        axes.set_xlabel("events; red: excluded as bot traffic")
        axes.set_title("Most active users")

    return draw


def render_html(report: QualityReport) -> str:
    figures = report.figures
    plots: list[str] = []
    if "coverage" in figures:
        plots.append(_svg(_coverage(figures["coverage"])))
    if figures.get("prices_by_category"):
        plots.append(_svg(_prices(figures["prices_by_category"]), height=4.5))
    if figures.get("events_per_day"):
        plots.append(_svg(_per_day(figures["events_per_day"])))
    if figures.get("funnel"):
        plots.append(_svg(_funnel(figures["funnel"])))
    if figures.get("top_users"):
        plots.append(_svg(_users(figures["top_users"]), height=4.0))
    return _PAGE.format(
        created=html.escape(report.created_at.isoformat(timespec="seconds")),
        summary=_summary(report),
        tiers=_table(
            ["tier", "feature", "status", "why"],
            [
                [t.tier, t.feature, _badge(t.status, _STATUS_COLOUR[t.status]), html.escape(t.message)]
                for t in report.tiers
            ],
        ),
        plots="\n".join(f'<div class="plot">{plot}</div>' for plot in plots),
        checks=_table(
            ["check", "severity", "effect", "rows", "what it means"],
            [
                [
                    c.name,
                    _badge(c.severity, _SEVERITY_COLOUR[c.severity]),
                    c.effect,
                    f"{c.rows:,}",
                    html.escape(c.description),
                ]
                for c in report.check_details
            ],
        ),
        warnings=_table(
            ["check", "severity", "finding"],
            [
                [w.check, _badge(w.severity, _SEVERITY_COLOUR[w.severity]), html.escape(w.message)]
                for w in report.warnings
            ],
        ),
        rows=_table(
            ["file", "line", "product", "user", "outcome", "checks", "details"],
            [
                [
                    r.file,
                    str(r.line),
                    html.escape(r.product_id or ""),
                    html.escape(r.user_id or ""),
                    r.outcome,
                    ", ".join(r.checks),
                    html.escape("; ".join(r.details.values())[:300]),
                ]
                for r in report.rows[:_MAX_ROWS]
            ],
        ),
        shown=min(_MAX_ROWS, len(report.rows)),
        total_rows=f"{len(report.rows):,}",
    )


def write_html(report: QualityReport, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path


def _badge(text: str, colour: str) -> str:
    return f'<span class="badge" style="background:{colour}">{html.escape(text)}</span>'


def _table(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p class='none'>None.</p>"
    header = "".join(f"<th>{html.escape(name)}</th>" for name in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _summary(report: QualityReport) -> str:
    cards = []
    for summary in (report.products, report.events):
        if summary is None:
            continue
        cards.append(
            f"<div class='card'><h3>{html.escape(summary.file)}</h3><p><b>{summary.rows:,}</b> rows: "
            f"{summary.accepted:,} accepted, {summary.repaired:,} repaired, {summary.excluded:,} excluded, "
            f"<b>{summary.quarantined:,}</b> quarantined</p></div>"
        )
    verdict = "Training is blocked" if report.blocked else "Training can proceed"
    colour = _STATUS_COLOUR["blocked" if report.blocked else "unlocked"]
    cards.append(f"<div class='card'><h3 style='color:{colour}'>{verdict}</h3></div>")
    return "".join(cards)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shelfwise data-quality report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2328; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.85rem; margin-bottom: 1.5rem; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }}
.badge {{ color: white; border-radius: 8px; padding: 1px 8px; font-size: 0.8rem; }}
.cards {{ display: flex; gap: 1rem; flex-wrap: wrap; }}
.card {{ border: 1px solid #d0d7de; border-radius: 8px; padding: 0 1rem; }}
.plots {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 1rem; }}
.plot svg {{ width: 100%; height: auto; }}
</style></head><body>
<h1>Data-quality report</h1><p>Made {created}.</p>
<div class="cards">{summary}</div>
<h2>Feature tiers</h2>{tiers}
<h2>At a glance</h2><div class="plots">{plots}</div>
<h2>Checks that fired</h2>{checks}
<h2>Dataset warnings</h2>{warnings}
<h2>Rows not plainly accepted ({shown} of {total_rows} shown; the JSON report has all)</h2>{rows}
</body></html>
"""
