"""The quality report's plots, drawn from the data the report keeps for them (`figures`), in the admin
pages' own chart style. The price box plots stay in the quality gate's full HTML report."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from shelfwise.quality.report import QualityReport
from shelfwise.web.charts import bar_chart, column_chart

FUNNEL_ORDER = ("search", "view", "click", "add_to_cart", "purchase")
GOOD, BAD, BOT = "#16a34a", "#dc2626", "#dc2626"
LOW_COVERAGE = 0.5


def quality_plots(report: QualityReport) -> list[tuple[str, Markup]]:
    figures: dict[str, Any] = report.figures
    plots: list[tuple[str, Markup]] = []
    coverage = figures.get("coverage")
    if isinstance(coverage, dict) and coverage:
        shares = [(str(name), float(share) * 100) for name, share in coverage.items()]
        colours = [BAD if share < LOW_COVERAGE * 100 else GOOD for _, share in shares]
        plots.append(
            (
                "Field coverage (% of products)",
                bar_chart(shares, title="Field coverage", colours=colours, value_format="{:.0f}%"),
            )
        )
    per_day = figures.get("events_per_day")
    if isinstance(per_day, dict) and per_day:
        days = [(str(day)[5:], float(count)) for day, count in per_day.items()]
        plots.append(("Events per day", column_chart(days, title="Events per day")))
    funnel = figures.get("funnel")
    if isinstance(funnel, dict) and funnel:
        steps = [(step.replace("_", " "), float(funnel[step])) for step in FUNNEL_ORDER if step in funnel]
        plots.append(("Event-type funnel", bar_chart(steps, title="Event-type funnel", colour="#7c3aed")))
    users = figures.get("top_users")
    if isinstance(users, list) and users:
        rows = [u for u in users if isinstance(u, dict)][:12]
        plots.append(
            (
                "Most active users (red: excluded as bots)",
                bar_chart(
                    [(str(u.get("actor", "?")), float(u.get("events", 0))) for u in rows],
                    title="Most active users",
                    colours=[BOT if u.get("bot") else "#64748b" for u in rows],
                ),
            )
        )
    return plots
