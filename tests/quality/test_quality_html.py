"""The HTML quality report: one self-contained page, every value from the data escaped, plots as SVG."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from shelfwise.io.writers import write_rows
from shelfwise.quality.html import MAX_ROWS, render_html, write_html
from shelfwise.quality.reporting import check_files

HOSTILE = '<script>alert("x")</script>'


def _report(tmp_path: Path, products: int = 3) -> Path:
    rows = [{"product_id": f"p{i}", "title": f"Lamp {i}", "price": "12.5"} for i in range(products)]
    rows.append({"product_id": HOSTILE, "price": "abc"})  # no title and a bad price: quarantined
    path = tmp_path / "products.csv"
    write_rows(path, rows)
    return path


def test_data_is_escaped_and_the_page_is_self_contained(tmp_path: Path) -> None:
    page = render_html(check_files(_report(tmp_path)).report)
    assert page.startswith("<!doctype html>")
    assert "<script" not in page, "a product id must not become markup"
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page), "nothing is fetched from elsewhere"
    assert "<link" not in page


def test_every_plot_is_well_formed_svg(tmp_path: Path) -> None:
    page = render_html(check_files(_report(tmp_path)).report)
    plots = re.findall(r"<svg.*?</svg>", page, re.S)
    assert [ElementTree.fromstring(svg).get("aria-label") for svg in plots] == [
        "Field coverage",
        "Prices per category",
    ]


def test_the_rows_table_is_capped_and_says_so(tmp_path: Path) -> None:
    rows = [{"product_id": f"p{i}", "title": "x", "price": "-1"} for i in range(MAX_ROWS + 5)]
    path = tmp_path / "products.csv"
    write_rows(path, rows)
    out = write_html(check_files(path).report, tmp_path / "out" / "report.html")
    page = out.read_text(encoding="utf-8")
    assert f"({MAX_ROWS} of {MAX_ROWS + 5:,} shown; the JSON report has all)" in page
    assert page.count("<tr><td>products</td>") == MAX_ROWS
