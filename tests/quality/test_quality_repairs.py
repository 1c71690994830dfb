"""Safe repairs: each is applied to the raw row before parsing and recorded, never silent."""

from __future__ import annotations

from shelfwise.io.readers import RawRow
from shelfwise.quality.gate import gate_products
from shelfwise.quality.repairs import (
    fix_html,
    fix_mojibake,
    fix_whitespace,
    parse_list_text,
    repair_product_row,
)


def test_html_entities_are_unescaped_and_tags_removed() -> None:
    assert fix_html("Oak &amp; Walnut <b>Table</b>") == "Oak & Walnut Table"
    assert fix_html("&lt;i&gt;Lamp&lt;/i&gt; set") == "Lamp set"
    assert fix_html("Salt & pepper <3") == "Salt & pepper <3"
    assert fix_html("<p>Soft</p><p>warm</p>") == "Soft  warm", "a block tag separates words"


def test_script_and_style_bodies_are_dropped_not_kept_as_words() -> None:
    assert fix_html("<script>alert(1)</script> lamp") == "lamp"
    assert fix_html("&lt;script&gt;alert(1)&lt;/script&gt; lamp") == "lamp", "encoded markup is markup"
    assert fix_html("<style>p {color: red}</style>Red <!-- note --> lamp") == "Red  lamp"
    assert fix_html("Lamp <script>alert(1)") == "Lamp", "an unclosed script hides the rest"


def test_entity_encoded_markup_keeps_its_text_and_is_unescaped_exactly_once() -> None:
    assert fix_html("&lt;p&gt;Soft &amp;amp; warm&lt;/p&gt;") == "Soft & warm"
    assert fix_html("AT&amp;T &amp;lt;3") == "AT&T &lt;3"
    assert fix_html("a &lt; b and c &gt; d") == "a < b and c > d", "a comparison is not a tag"


def test_mojibake_is_fixed_but_clean_text_is_left_alone() -> None:
    broken = "Café crème".encode().decode("latin-1")
    assert fix_mojibake(broken) == "Café crème"
    assert fix_mojibake("“Curly” quotes and ﬁ ligatures stay") == "“Curly” quotes and ﬁ ligatures stay"


def test_whitespace_in_titles_collapses_but_description_lines_stay() -> None:
    assert fix_whitespace("paper weights  with\tsilver", "title") == "paper weights with silver"
    assert fix_whitespace("line one\nline  two", "description") == "line one\nline two"


def test_lists_stored_as_text_are_read_as_python_or_json() -> None:
    assert parse_list_text("['footwear', 'womens footwear']") == ["footwear", "womens footwear"]
    assert parse_list_text('["http://a/1.jpg", "http://a/2.jpg"]') == ["http://a/1.jpg", "http://a/2.jpg"]
    assert parse_list_text("[not a list") is None
    assert parse_list_text("Furniture > Sofas") is None


def test_an_image_url_a_page_must_not_load_is_dropped_with_the_reason() -> None:
    bad_urls = ("javascript:alert(1)", " JavaScript:alert(1)", "data:image/png;base64,AAAA", "not a url")
    for bad in (*bad_urls, "../secrets/key.jpg", "img/../../a.png", "img/a"):
        repaired, repairs = repair_product_row({"product_id": "p1", "title": "Lamp", "image_url": bad})
        assert repaired["image_url"] == "", bad
        assert [(r.check, r.field, r.before) for r in repairs] == [("product.invalid_url", "image_url", bad)]
    for good in (
        "https://cdn.example/a.jpg",
        "HTTP://cdn.example/a.jpg",
        "/img/a.jpg",
        "img/a.JPG",
        "1.webp",
    ):
        repaired, repairs = repair_product_row({"product_id": "p1", "title": "Lamp", "image_url": good})
        assert (repaired["image_url"], repairs) == (good, [])
    listed = '["javascript:alert(1)", "https://a/1.jpg", "/2.jpg"]'
    repaired, repairs = repair_product_row({"product_id": "p1", "title": "Lamp", "image_url": listed})
    assert (repaired["image_url"], repaired["images"]) == ("https://a/1.jpg", ["https://a/1.jpg", "/2.jpg"])
    assert {(r.check, r.field) for r in repairs} == {
        ("product.list_as_text", "image_url"),
        ("product.invalid_url", "images"),
    }


def test_a_row_is_repaired_with_every_change_recorded() -> None:
    row = {
        "Product ID": "p1",
        "Title": "Caf\u00c3\u00a9  &amp; Bar <br/>Stool",
        "category": "['home', 'kitchen  dining']",
        "image_url": '["http://img/1.jpg", "http://img/2.jpg"]',
    }
    repaired, repairs = repair_product_row(row)
    assert repaired["Title"] == "Café & Bar Stool"
    assert repaired["category"] == "home > kitchen dining"
    assert repaired["image_url"] == "http://img/1.jpg"
    assert repaired["images"] == ["http://img/1.jpg", "http://img/2.jpg"]
    assert {(r.check, r.field) for r in repairs} == {
        ("product.mojibake", "title"),
        ("product.html_residue", "title"),
        ("product.doubled_whitespace", "title"),
        ("product.list_as_text", "category"),
        ("product.doubled_whitespace", "category"),
        ("product.list_as_text", "image_url"),
    }
    assert row["Title"].startswith("Caf\u00c3"), "the input row is not changed"


def test_a_clean_row_has_no_repairs() -> None:
    _, repairs = repair_product_row(
        {"product_id": "p1", "title": "Oak table", "category": "Furniture > Tables"}
    )
    assert repairs == []


def test_the_gate_keeps_the_product_without_its_unsafe_image_and_says_why() -> None:
    row = {"product_id": "p1", "title": "Desk lamp", "image_url": "javascript:alert(1)"}
    gated = gate_products([RawRow(line=2, data=row)], "catalog.csv")
    (product,) = gated.stored
    assert product.image_url is None
    (result,) = gated.results()
    assert result.outcome == "repaired"
    assert result.details["product.invalid_url"] == "image_url: 'javascript:alert(1)' -> ''"
