"""The small SVG chart helpers: well-formed markup, labels escaped, box plots drawn from the quartiles."""

from __future__ import annotations

import math
from xml.etree import ElementTree

from shelfwise.io.svg import bar_chart, box_chart, column_chart

NS = "{http://www.w3.org/2000/svg}"


def test_bar_and_column_charts_escape_their_labels() -> None:
    bars = ElementTree.fromstring(str(bar_chart([("<b>", 3.0), ("tea & cake", 1.0)], title="T")))
    assert [t.text for t in bars.iter(f"{NS}text")][::2] == ["<b>", "tea & cake"]
    columns = ElementTree.fromstring(str(column_chart([("2026-01-01", 2.0), ("2026-01-02", 4.0)], title="D")))
    assert len(list(columns.iter(f"{NS}rect"))) == 2
    assert "nothing to show" in str(bar_chart([], title="Empty"))


def test_box_chart_draws_quartiles_median_and_marked_values_on_a_log_axis() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 1000.0]  # 1000 lies beyond 1.5 IQR: the whisker stops at 40
    svg = ElementTree.fromstring(str(box_chart([("A", values, [5000.0])], title="Prices", width=560)))
    ticks = [t.text for t in svg.iter(f"{NS}text")][:4]
    assert ticks == ["10", "100", "1,000", "10,000"]
    label_width, room = 210, 560 - 210 - 28

    def x(value: float) -> float:
        return label_width + room * (math.log10(value) - 1) / 3

    box = next(svg.iter(f"{NS}rect"))
    assert float(box.get("x", "")) == round(x(20.0), 1)  # the first quartile
    assert float(box.get("width", "")) == round(x(40.0) - x(20.0), 1)
    lines = list(svg.iter(f"{NS}line"))[4:]  # after the four grid lines: whisker, then median
    assert (float(lines[0].get("x1", "")), float(lines[0].get("x2", ""))) == (
        round(x(10.0), 1),
        round(x(40.0), 1),
    )
    assert float(lines[1].get("x1", "")) == round(x(30.0), 1)
    (dot,) = svg.iter(f"{NS}circle")
    assert float(dot.get("cx", "")) == round(x(5000.0), 1)


def test_box_chart_leaves_out_values_a_log_axis_cannot_show() -> None:
    assert "nothing to show" in str(box_chart([("A", [0.0, -3.0], [])], title="Prices"))
