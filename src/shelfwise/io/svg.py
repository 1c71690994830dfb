"""Small SVG charts written as markup: horizontal bars for counts by name, columns for counts by day, box
plots on a log scale for prices by group. Markup only (no script, no plotting library), sized by viewBox
so they scale to the page; the admin pages and the quality gate's HTML report both draw with them."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from markupsafe import Markup

BAR_COLOUR = "#2563eb"
MUTED = "#64748b"
OUTLIER_COLOUR = "#dc2626"


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    colour: str = BAR_COLOUR,
    colours: Sequence[str] | None = None,
    value_format: str = "{:,.0f}",
    width: int = 560,
    empty: str | None = None,
) -> Markup:
    """One horizontal bar per (label, value), labelled with its value; `colours` per bar, if given."""
    if not items:
        return Markup(f'<p class="muted">{html.escape(empty or title + ": nothing to show yet.")}</p>')
    row, label_width, top = 26, 210, 8
    height = top + row * len(items) + 4
    largest = max(value for _, value in items) or 1.0
    room = width - label_width - 70
    parts = [_open(width, height, title)]
    for index, (label, value) in enumerate(items):
        y = top + index * row
        length = max(2.0, room * value / largest) if value > 0 else 0.0
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="#0f172a">'
            f"{html.escape(_shorten(label, 30))}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="16" rx="3" '
            f'fill="{colours[index] if colours else colour}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}" font-size="12" fill="{MUTED}">'
            f"{html.escape(value_format.format(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    items: Sequence[tuple[str, float]], *, title: str, colour: str = BAR_COLOUR, width: int = 560
) -> Markup:
    """Columns over an ordered axis (days), with the first, middle and last labels and the peak value."""
    if not items:
        return Markup(f'<p class="muted">{html.escape(title)}: nothing to show yet.</p>')
    height, bottom, left, top = 200, 28, 44, 12
    plot_height = height - bottom - top
    largest = max(value for _, value in items) or 1.0
    step = (width - left - 8) / len(items)
    parts = [_open(width, height, title)]
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_height * (1 - fraction)
        parts.append(
            f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">'
            f"{largest * fraction:,.0f}</text>"
        )
    for index, (label, value) in enumerate(items):
        bar = plot_height * value / largest
        x = left + index * step
        parts.append(
            f'<rect x="{x + step * 0.12:.1f}" y="{top + plot_height - bar:.1f}" width="{step * 0.76:.1f}" '
            f'height="{bar:.1f}" fill="{colour}"><title>{html.escape(label)}: {value:,.0f}</title></rect>'
        )
    for index in sorted({0, len(items) // 2, len(items) - 1}):
        x = left + index * step + step / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="11" fill="{MUTED}">'
            f"{html.escape(items[index][0])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[float, float]], str]],
    *,
    title: str,
    x_label: str,
    y_format: str = "{:,.2f}",
    x_format: str = "{:,.0f}",
    width: int = 560,
) -> Markup:
    """Lines of (x, y) points, one per (name, points, colour), over shared axes starting at x = 0, with
    a legend of the names; y may go below zero."""
    drawn = [(name, points, colour) for name, points, colour in series if points]
    if not drawn:
        return Markup(f'<p class="muted">{html.escape(title)}: nothing to show yet.</p>')
    height, bottom, left, top, right = 220, 44, 56, 12, 12
    xs = [x for _, points, _ in drawn for x, _ in points]
    ys = [y for _, points, _ in drawn for _, y in points]
    x_max = max(xs) or 1.0
    y_low, y_high = min(0.0, *ys), max(0.0, *ys)
    span = (y_high - y_low) or 1.0
    plot_width, plot_height = width - left - right, height - bottom - top

    def at(x: float, y: float) -> str:
        return f"{left + plot_width * x / x_max:.1f},{top + plot_height * (y_high - y) / span:.1f}"

    parts = [_open(width, height, title)]
    for value in sorted({y_low, 0.0, y_high}):
        y = top + plot_height * (y_high - value) / span
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">'
            f"{html.escape(y_format.format(value))}</text>"
        )
    for fraction in (0.0, 0.5, 1.0):
        x = left + plot_width * fraction
        parts.append(
            f'<text x="{x:.1f}" y="{height - 26}" text-anchor="middle" font-size="11" fill="{MUTED}">'
            f"{html.escape(x_format.format(x_max * fraction))}</text>"
        )
    parts.append(
        f'<text x="{left + plot_width / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="11" '
        f'fill="{MUTED}">{html.escape(x_label)}</text>'
    )
    for index, (name, points, colour) in enumerate(drawn):
        path = " ".join(at(x, y) for x, y in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2">'
            f"<title>{html.escape(name)}</title></polyline>"
            f'<text x="{left + 8}" y="{top + 14 + 15 * index}" font-size="12" fill="{colour}">'
            f"{html.escape(_shorten(name, 60))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def box_chart(
    groups: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    *,
    title: str,
    axis_label: str = "",
    colour: str = BAR_COLOUR,
    outlier_colour: str = OUTLIER_COLOUR,
    width: int = 560,
) -> Markup:
    """One horizontal box plot per (label, values, marked) on a log axis: the box spans the quartiles with
    the median drawn across it, whiskers reach the furthest values within 1.5 IQR of the box (values
    beyond are not drawn), and each `marked` value is a dot in `outlier_colour`. Values must be positive
    (a log axis); others are left out. Prices span orders of magnitude, hence the log axis."""
    cleaned = [
        (label, sorted(v for v in values if v > 0), [v for v in marked if v > 0])
        for label, values, marked in groups
    ]
    everything = [v for _, values, marked in cleaned for v in (*values, *marked)]
    if not everything:
        return Markup(f'<p class="muted">{html.escape(title)}: nothing to show yet.</p>')
    row, label_width, top, bottom = 26, 210, 8, 40
    height = top + row * len(cleaned) + bottom
    low, high = math.floor(math.log10(min(everything))), math.ceil(math.log10(max(everything)))
    if high <= low:
        high = low + 1
    room = width - label_width - 28  # the last tick label is centred on the axis end

    def x(value: float) -> float:
        return label_width + room * (math.log10(value) - low) / (high - low)

    axis_y = top + row * len(cleaned)
    parts = [_open(width, height, title)]
    for power in range(low, high + 1):
        at = x(10.0**power)
        parts.append(
            f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{top}" y2="{axis_y}" stroke="#e2e8f0"/>'
            f'<text x="{at:.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="11" fill="{MUTED}">'
            f"{html.escape(_power_label(power))}</text>"
        )
    if axis_label:
        parts.append(
            f'<text x="{label_width + room / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="11" '
            f'fill="{MUTED}">{html.escape(axis_label)}</text>'
        )
    for index, (label, values, marked) in enumerate(cleaned):
        y = top + index * row
        middle = y + 11
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="#0f172a">'
            f"{html.escape(_shorten(label, 30))}</text>"
        )
        if values:
            q1, median, q3 = (_percentile(values, share) for share in (0.25, 0.5, 0.75))
            reach = 1.5 * (q3 - q1)
            low_whisker = min(v for v in values if v >= q1 - reach)
            high_whisker = max(v for v in values if v <= q3 + reach)
            parts.append(
                f'<line x1="{x(low_whisker):.1f}" x2="{x(high_whisker):.1f}" y1="{middle}" y2="{middle}" '
                f'stroke="{colour}"/>'
                f'<rect x="{x(q1):.1f}" y="{y + 4}" width="{max(1.0, x(q3) - x(q1)):.1f}" height="14" '
                f'fill="{colour}" fill-opacity="0.25" stroke="{colour}">'
                f"<title>{html.escape(label)}: median {median:,.2f}, quartiles {q1:,.2f} to {q3:,.2f}, "
                f"{len(values):,} values</title></rect>"
                f'<line x1="{x(median):.1f}" x2="{x(median):.1f}" y1="{y + 4}" y2="{y + 18}" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        for value in marked:
            parts.append(
                f'<circle cx="{x(value):.1f}" cy="{middle}" r="3" fill="{outlier_colour}">'
                f"<title>{html.escape(label)}: {value:,.2f}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _percentile(ordered: Sequence[float], share: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), over sorted values."""
    position = (len(ordered) - 1) * share
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _power_label(power: int) -> str:
    value = 10.0**power
    return f"{value:,.0f}" if power >= 0 else f"{value:g}"


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>'
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
