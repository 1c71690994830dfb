"""Catalog checks on small catalogs the tests own: each check fires where it should and nowhere else."""

from __future__ import annotations

from typing import Any

from sample_shop import catalog_rows
from shelfwise.io.readers import RawRow
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.duplicates import near_duplicates, small_edit
from shelfwise.quality.gate import GatedFile, gate_products


def gate(rows: list[dict[str, Any]], config: QualityConfig | None = None) -> GatedFile:
    raw = [RawRow(line=position + 2, data=row) for position, row in enumerate(rows)]
    return gate_products(raw, "catalog.csv", config)


def checks_by_id(result: GatedFile) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in result.results():
        found[str(row.product_id)] = set(row.checks)
    return found


def test_the_clean_test_catalog_is_plainly_accepted() -> None:
    result = gate(catalog_rows())
    assert result.results() == []
    assert len(result.stored) == 10


def test_title_hygiene_checks() -> None:
    rows = [
        *catalog_rows(),
        {"product_id": "short", "title": "Lamp"},
        {"product_id": "caps", "title": "LEATHER RECLINER CHAIR"},
        {"product_id": "stuffed", "title": "Sofa sofa cheap sofa best sofa"},
        {"product_id": "listed", "title": "lamp, light, bulb, led, desk, office, study"},
        {"product_id": "usb", "title": "USB hub"},
    ]
    found = checks_by_id(gate(rows))
    assert found["short"] == {"product.title_too_short"}
    assert found["caps"] == {"product.title_all_caps"}
    assert found["stuffed"] == {"product.keyword_stuffing"}
    assert found["listed"] == {"product.keyword_stuffing"}
    assert "usb" not in found, "a short all-caps word is not a shouted title"


def test_parse_failures_are_quarantined_with_named_checks() -> None:
    rows = [
        {"product_id": "neg", "title": "Oak table", "price": "-5"},
        {"product_id": "bad", "title": "Oak chair", "price": "abc", "available": "maybe"},
        {"product_id": "", "title": "No id"},
    ]
    result = gate(rows)
    outcomes = {row.line: (row.outcome, set(row.checks)) for row in result.results()}
    assert outcomes[2] == ("quarantined", {"product.negative_price"})
    assert outcomes[3] == ("quarantined", {"product.invalid_value"})
    assert outcomes[4] == ("quarantined", {"product.missing_required"})
    assert [q.line for q in result.quarantined] == [2, 3, 4]
    assert any("'abc'" in reason for reason in result.quarantined[1].reasons)


def test_duplicate_ids_keep_the_newest_row() -> None:
    rows = [
        {"product_id": "p1", "title": "Oak table v2", "updated_at": "2026-03-01"},
        {"product_id": "p1", "title": "Oak table v1", "updated_at": "2026-01-01"},
        {"product_id": "p2", "title": "Pine desk"},
        {"product_id": "p2", "title": "Pine desk, oiled"},
    ]
    result = gate(rows)
    assert sorted(p.title for p in result.stored) == ["Oak table v2", "Pine desk, oiled"]
    superseded = {q.line: q.reasons for q in result.quarantined}
    assert superseded == {
        3: ["duplicate product_id 'p1': superseded by line 2"],
        4: ["duplicate product_id 'p2': superseded by line 5"],
    }


def test_prices_zero_and_outliers_within_a_category() -> None:
    rows = [
        {"product_id": f"m{i}", "title": f"Mug model {i}", "category": "Kitchen > Mugs", "price": 10 + i % 5}
        for i in range(20)
    ]
    rows += [
        {"product_id": "gold", "title": "Mug model gold", "category": "Kitchen > Mugs", "price": 1200},
        {"product_id": "free", "title": "Mug model free", "category": "Kitchen > Mugs", "price": 0},
    ]
    found = checks_by_id(gate(rows))
    assert found == {"gold": {"product.price_outlier"}, "free": {"product.zero_price"}}


def test_urls_and_category_paths_are_validated_by_the_schema() -> None:
    rows = [
        {
            "product_id": "a",
            "title": "Oak table",
            "image_url": "https://cdn.example/a.jpg",
            "category": "Home",
        },
        {"product_id": "b", "title": "Pine table", "image_url": "not a url", "category": "Home"},
        {"product_id": "c", "title": "Elm table", "image_url": "/img/c.jpg", "category": "Home > {Tables}"},
    ]
    found = checks_by_id(gate(rows))
    assert found == {"b": {"product.invalid_url"}, "c": {"product.invalid_category"}}


def test_identical_and_near_duplicate_titles_flag_all_but_the_first() -> None:
    rows = [
        {"product_id": "a", "title": "Walnut Coffee Table with Drawer"},
        {"product_id": "b", "title": "walnut coffee table, with drawer"},
        {"product_id": "c", "title": "Walnut Cofee Table with Drawer"},
        {"product_id": "d", "title": "Walnut Coffee Table with Shelf"},
        {"product_id": "e", "title": "Oak Coffee Table with Drawer 120 cm"},
        {"product_id": "f", "title": "Oak Coffee Table with Drawer 140 cm"},
    ]
    found = checks_by_id(gate(rows))
    assert found == {"b": {"product.duplicate_title"}, "c": {"product.near_duplicate"}}


def test_small_edit_tells_typos_from_variants() -> None:
    assert small_edit("Rugged Phone 64 GB", "Rugged Phnoe 64 GB")
    assert small_edit("Rugged Phone", "RuggedPhone")
    assert not small_edit("Orbit Pro Phone", "Orbit Go Phone")
    assert not small_edit("1 in. x 8 in. x 10 ft. Board", "1 in. x 10 in. x 8 ft. Board")
    groups = near_duplicates(["Velvet sofa green", "Velvet sofa gren", "Leather armchair"], 0.8)
    assert [group.positions for group in groups] == [[0, 1]]


def test_a_product_labelled_with_the_wrong_category_gets_a_suggestion() -> None:
    sofas = ["velvet sofa", "leather sofa", "corner sofa", "sofa bed", "linen sofa", "two seat sofa"]
    pans = ["frying pan", "steel pan", "cast iron pan", "wok pan", "saute pan", "grill pan"]
    rows = [{"product_id": f"s{i}", "title": t, "category": "Furniture > Sofas"} for i, t in enumerate(sofas)]
    rows += [{"product_id": f"k{i}", "title": t, "category": "Kitchen > Pans"} for i, t in enumerate(pans)]
    rows.append({"product_id": "wrong", "title": "copper pan", "category": "Furniture > Sofas"})
    config = QualityConfig(category_min_group=5)
    result = gate(rows, config)
    flagged = [row for row in result.results() if "product.category_mismatch" in row.checks]
    assert [row.product_id for row in flagged] == ["wrong"]
    assert "Kitchen > Pans" in flagged[0].details["product.category_mismatch"]
