"""Small SVG charts drawn on the server: horizontal bars for counts by name, columns for counts by day.
Markup only (no script), sized by viewBox so they scale to the page."""

from __future__ import annotations

import html
from collections.abc import Sequence

from markupsafe import Markup

BAR_COLOUR = "#2563eb"
MUTED = "#64748b"


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


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>'
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
