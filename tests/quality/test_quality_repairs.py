"""Safe repairs: each is applied to the raw row before parsing and recorded, never silent."""

from __future__ import annotations

from shelfwise.quality.repairs import (
    fix_html,
    fix_mojibake,
    fix_whitespace,
    parse_list_text,
    repair_product_row,
)


def test_html_entities_are_unescaped_and_tags_removed() -> None:
    assert fix_html("Oak &amp; Walnut <b>Table</b>") == "Oak & Walnut  Table"
    assert fix_html("&lt;i&gt;Lamp&lt;/i&gt; set") == "Lamp  set"
    assert fix_html("Salt & pepper <3") == "Salt & pepper <3"


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
