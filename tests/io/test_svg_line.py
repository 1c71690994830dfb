"""line_chart: one polyline per series, placed on shared axes, labels escaped, negative values below 0."""

from __future__ import annotations

from xml.etree import ElementTree

from shelfwise.io.svg import line_chart

NS = "{http://www.w3.org/2000/svg}"


def test_each_series_is_a_polyline_on_shared_axes() -> None:
    svg = ElementTree.fromstring(
        str(
            line_chart(
                [("model <A>", [(0, 0), (1, 2)], "#000"), ("random", [(0, 0), (1, -2)], "#999")],
                title="Qini",
                x_label="share",
                width=112,  # left 56 + plot 44 + right 12
            )
        )
    )
    lines = list(svg.iter(f"{NS}polyline"))
    assert len(lines) == 2
    # y spans -2..2 over a plot height of 220 - 44 - 12 = 164 from y=12: 2 is at 12, 0 at 94, -2 at 176.
    assert lines[0].attrib["points"] == "56.0,94.0 100.0,12.0"
    assert lines[1].attrib["points"] == "56.0,94.0 100.0,176.0"
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert "model <A>" in texts and "share" in texts
    assert "nothing to show" in str(line_chart([("empty", [], "#000")], title="E", x_label="x"))
