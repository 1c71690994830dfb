"""The quality report's plots, drawn from the data the report keeps for them (`QualityReport.figures`)
with the small SVG helpers of `shelfwise.io.svg`: the HTML report shows all of them, the admin quality
page all but the price box plots (it links to the full report for those)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from shelfwise.io.svg import bar_chart, box_chart, column_chart
from shelfwise.quality.report import QualityReport

FUNNEL_ORDER = ("search", "view", "click", "add_to_cart", "purchase")
GOOD, BAD, NEUTRAL, FUNNEL = "#16a34a", "#dc2626", "#64748b", "#7c3aed"
LOW_COVERAGE = 0.5  # a field on fewer products than this is drawn in red


def report_plots(report: QualityReport, with_prices: bool = True) -> list[tuple[str, Markup]]:
    """(caption, SVG) for each plot the report has data for: field coverage, prices per category (unless
    `with_prices` is False), events per day, the event-type funnel and the most active users."""
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
    prices = figures.get("prices_by_category")
    if with_prices and isinstance(prices, dict) and prices:
        groups = [
            (str(name), [float(p) for p in group["prices"]], [float(p) for p in group["outliers"]])
            for name, group in prices.items()
        ]
        plots.append(
            (
                "Prices per category (red: flagged outliers)",
                box_chart(groups, title="Prices per category", axis_label="price (log scale)"),
            )
        )
    per_day = figures.get("events_per_day")
    if isinstance(per_day, dict) and per_day:
        days = [(str(day), float(count)) for day, count in per_day.items()]
        plots.append(("Events per day", column_chart(days, title="Events per day")))
    funnel = figures.get("funnel")
    if isinstance(funnel, dict) and funnel:
        steps = [(step.replace("_", " "), float(funnel[step])) for step in FUNNEL_ORDER if step in funnel]
        plots.append(("Event-type funnel", bar_chart(steps, title="Event-type funnel", colour=FUNNEL)))
    users = figures.get("top_users")
    if isinstance(users, list) and users:
        rows = [user for user in users if isinstance(user, dict)]
        plots.append(
            (
                "Most active users (red: excluded as bot traffic)",
                bar_chart(
                    [(str(user.get("actor", "?")), float(user.get("events", 0))) for user in rows],
                    title="Most active users",
                    colours=[BAD if user.get("bot") else NEUTRAL for user in rows],
                ),
            )
        )
    return plots
