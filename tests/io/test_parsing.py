"""Raw rows -> Products and Events with every problem named; the quality gate that quarantines bad rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shelfwise.domain import EventType, IngestReport, QuarantinedRow
from shelfwise.io import RawRow, RowError, UnreadableFileError, parse_event, parse_product
from shelfwise.quality.gate import gate_event_file, gate_events, gate_product_file, gate_products


def reasons_of(parse: Any, data: dict[str, Any]) -> list[str]:
    with pytest.raises(RowError) as caught:
        parse(data)
    return caught.value.reasons


# --- products -------------------------------------------------------------------------------------------


def test_a_full_product_row_parses_with_every_field() -> None:
    product = parse_product(
        {
            "product_id": " sku-1 ",
            "title": "Oak Table",
            "description": "Solid oak.",
            "category": "Furniture>Tables",
            "brand": "Oakline",
            "price": "1,299.00",
            "currency": "eur",
            "attributes": '{"material": "oak"}',
            "image_url": "/img/1.jpg",
            "available": "No",
            "created_at": "2024-03-01",
            "updated_at": 1709290800,
        }
    )

    assert product.product_id == "sku-1"
    assert product.category == "Furniture > Tables"
    assert product.price == 1299.0
    assert product.currency == "EUR"
    assert product.attributes == {"material": "oak"}
    assert product.available is False
    assert product.created_at == datetime(2024, 3, 1, tzinfo=UTC)
    assert product.updated_at == datetime(2024, 3, 1, 11, tzinfo=UTC)


def test_only_product_id_and_title_are_required() -> None:
    product = parse_product({"product_id": "1", "title": "Lamp", "price": None, "brand": ""})

    assert (product.price, product.brand, product.available, product.attributes) == (None, None, True, {})
    assert reasons_of(parse_product, {"brand": "X"}) == ["product_id: missing", "title: missing"]
    assert reasons_of(parse_product, {"product_id": "  ", "title": "Lamp"}) == ["product_id: missing"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (12.5, 12.5),
        (12, 12.0),
        ("12.50", 12.5),
        ("1,299.00", 1299.0),
        ("$12.50", 12.5),
        ("12,50 €", 12.5),
        ("USD 7", 7.0),
        ("0", 0.0),
    ],
)
def test_price_accepts_numbers_and_shop_spellings(given: Any, expected: float) -> None:
    assert parse_product({"product_id": "1", "title": "t", "price": given}).price == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("abc", "price: 'abc' is not a number"),
        ("-5", "price: '-5' is negative"),
        (-0.5, "price: -0.5 is negative"),
        ("NaN", "price: 'NaN' is not a finite number"),
        ("inf", "price: 'inf' is not a finite number"),
        ("-Infinity", "price: '-Infinity' is not a finite number"),
        (float("nan"), "price: nan is not a finite number"),
        (float("inf"), "price: inf is not a finite number"),
        (10**400, f"price: 1{'0' * 56}... is not a finite number"),
        ("1.299,00", "price: '1.299,00' is not a number"),
        (True, "price: True is not a number"),
    ],
)
def test_a_bad_price_is_named_with_its_value(given: Any, reason: str) -> None:
    assert reasons_of(parse_product, {"product_id": "1", "title": "t", "price": given}) == [reason]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("true", True), ("FALSE", False), ("1", True), ("0", False), ("Yes", True), ("n", False), (1, True)],
)
def test_available_accepts_common_yes_no_spellings(given: Any, expected: bool) -> None:
    assert parse_product({"product_id": "1", "title": "t", "available": given}).available is expected


def test_unknown_columns_are_kept_as_attributes_never_lost() -> None:
    product = parse_product(
        {"product_id": "1", "title": "t", "attributes": {"size": "L"}, "Colour": "red", "rating": None}
    )

    assert product.attributes == {"size": "L", "Colour": "red"}


def test_an_unknown_column_that_contradicts_an_attribute_is_a_reason() -> None:
    reasons = reasons_of(
        parse_product, {"product_id": "1", "title": "t", "attributes": {"size": "L"}, "size": "M"}
    )

    assert reasons == ["attributes: column 'size' is 'M' but attributes has 'size': 'L'"]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ('{"a": 1', "attributes: '{\"a\": 1' is not valid JSON"),
        ("[1, 2]", "attributes: '[1, 2]' is JSON but not an object"),
        (42, "attributes: 42 is not a JSON object"),
    ],
)
def test_attributes_must_be_a_json_object(given: Any, reason: str) -> None:
    [got] = reasons_of(parse_product, {"product_id": "1", "title": "t", "attributes": given})

    assert got.startswith(reason)


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    reasons = reasons_of(
        parse_product,
        {
            "product_id": "1",
            "price": "abc",
            "available": "maybe",
            "created_at": "last tuesday",
            "currency": "dollars",
        },
    )

    assert reasons == [
        "title: missing",
        "price: 'abc' is not a number",
        "currency: 'dollars' is not a 3-letter currency code such as USD",
        "available: 'maybe' is not one of true/false, 1/0, yes/no, y/n",
        "created_at: 'last tuesday' is not a timestamp (expected ISO 8601 such as 2024-05-01T12:30:00Z, "
        "a date, or epoch seconds or milliseconds)",
    ]


def test_numeric_ids_become_text() -> None:
    assert parse_product({"product_id": 123, "title": "t"}).product_id == "123"
    assert parse_product({"product_id": 123.0, "title": "t"}).product_id == "123"
    assert reasons_of(parse_product, {"product_id": True, "title": "t"}) == [
        "product_id: True is not an id (expected text or a whole number)"
    ]


def test_column_names_are_matched_loosely_but_two_columns_for_one_field_is_a_reason() -> None:
    product = parse_product({"Product ID": "1", " Title ": "Lamp", "image-url": "/x.png"})

    assert (product.product_id, product.title, product.image_url) == ("1", "Lamp", "/x.png")
    assert reasons_of(parse_product, {"product_id": "1", "Product_ID": "2", "title": "t"}) == [
        "product_id: given twice, by columns 'product_id' and 'Product_ID'"
    ]


def test_domain_model_limits_come_back_as_readable_reasons() -> None:
    reasons = reasons_of(parse_product, {"product_id": "x" * 300, "title": "t"})

    assert len(reasons) == 1
    assert reasons[0].startswith("product_id: String should have at most 256 characters (got 'xxx")


# --- events ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T14:30:00+02:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01 12:30:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        (1714566600, datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("1714566600", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        (1714566600000, datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("1714566600500", datetime(2024, 5, 1, 12, 30, 0, 500000, tzinfo=UTC)),
        (datetime(2024, 5, 1, 12, 30), datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_event_timestamps_in_every_accepted_form_end_up_in_utc(given: Any, expected: datetime) -> None:
    event = parse_event({"user_id": "u1", "event_type": "view", "product_id": "p1", "timestamp": given})

    assert event.timestamp == expected


def test_each_event_type_parses_with_its_own_needs() -> None:
    moment = "2024-05-01T12:00:00Z"
    base = {"user_id": "u1", "timestamp": moment}

    view = parse_event({**base, "event_type": "View", "product_id": 5})
    purchase = parse_event(
        {**base, "event_type": "purchase", "product_id": "p", "quantity": "2", "price": "$9.99"}
    )
    cart = parse_event({**base, "event_type": "add-to-cart", "product_id": "p", "session_id": 77})
    search = parse_event({**base, "event_type": "search", "query": " red sofa "})

    assert (view.event_type, view.product_id) == (EventType.VIEW, "5")
    assert (purchase.quantity, purchase.price) == (2, 9.99)
    assert (cart.event_type, cart.session_id) == (EventType.ADD_TO_CART, "77")
    assert (search.query, search.product_id) == ("red sofa", None)


def test_an_anonymous_event_needs_a_session_and_unknown_columns_are_ignored() -> None:
    event = parse_event(
        {
            "session_id": "s1",
            "event_type": "click",
            "product_id": "p",
            "timestamp": "2024-05-01",
            "page": "home",
        }
    )

    assert (event.user_id, event.session_id, event.actor) == (None, "s1", "session:s1")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"user_id": "u", "event_type": "like", "product_id": "p", "timestamp": "2024-05-01"},
            ["event_type: 'like' is not one of view, click, add_to_cart, purchase, search"],
        ),
        (
            {"user_id": "u", "event_type": "view", "timestamp": "2024-05-01"},
            ["product_id: missing (a view event needs a product_id)"],
        ),
        (
            {"user_id": "u", "event_type": "search", "query": " ", "timestamp": "2024-05-01"},
            ["query: missing (a search event needs a query)"],
        ),
        (
            {"event_type": "view", "product_id": "p", "timestamp": "2024-05-01"},
            ["user_id: missing (an event needs a user_id or a session_id)"],
        ),
        (
            {"user_id": "u", "event_type": "view", "product_id": "p"},
            ["timestamp: missing"],
        ),
        (
            {"user_id": "u", "event_type": "purchase", "product_id": "p", "timestamp": "2024", "quantity": 0},
            [
                "timestamp: '2024' is not a timestamp (expected ISO 8601 such as 2024-05-01T12:30:00Z, "
                "a date, or epoch seconds or milliseconds)",
                "quantity: 0 is less than 1",
            ],
        ),
        (
            {
                "user_id": "u",
                "event_type": "purchase",
                "product_id": "p",
                "timestamp": 1e20,
                "quantity": "1.5",
            },
            [
                "timestamp: 1e+20 is out of range for epoch seconds or milliseconds",
                "quantity: '1.5' is not a whole number",
            ],
        ),
    ],
)
def test_bad_events_name_every_field_at_fault(data: dict[str, Any], expected: list[str]) -> None:
    assert reasons_of(parse_event, data) == expected


# --- the quality gate -----------------------------------------------------------------------------------


def test_every_kind_of_bad_product_row_is_quarantined_with_its_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text(
        "product_id,title,price,available,attributes\n"  # 1
        "p1,Sofa,499,yes,\n"  # 2  ok, later superseded by line 9
        "p2,Chair,abc,yes,\n"  # 3  bad price
        ",Nameless,10,yes,\n"  # 4  no id
        "p3,Lamp,12,maybe,\n"  # 5  bad available
        'p4,Rug,30,yes,"{""size"": ""L"""\n'  # 6  broken attributes JSON
        "p5,Bed,200,yes,{},extra\n"  # 7  too many values
        "p6,Desk,150,no,\n"  # 8  ok
        "p1,Sofa v2,519,yes,\n",  # 9  ok, newest p1 wins
        encoding="utf-8",
    )

    result = gate_product_file(path)
    report = result.ingest_report()
    by_line = {row.line: row for row in result.quarantined}

    assert [p.product_id for p in result.stored] == ["p6", "p1"]
    assert next(p for p in result.stored if p.product_id == "p1").title == "Sofa v2"
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7]
    assert by_line[2].reasons == ["duplicate product_id 'p1': superseded by line 9"]
    assert by_line[3].reasons == ["price: 'abc' is not a number"]
    assert by_line[4].reasons == ["product_id: missing"]
    assert by_line[5].reasons == ["available: 'maybe' is not one of true/false, 1/0, yes/no, y/n"]
    assert by_line[6].reasons[0].startswith('attributes: \'{"size": "L"\' is not valid JSON')
    assert by_line[7].reasons[0].startswith("row: 6 values but the header has 5 columns")
    assert by_line[3].raw == {
        "product_id": "p2",
        "title": "Chair",
        "price": "abc",
        "available": "yes",
        "attributes": None,
    }
    assert all(row.file == str(path) and row.source == "products" for row in result.quarantined)
    assert (report.total, report.accepted, report.quarantined) == (8, 2, 6)
    assert report.adds_up and report.complete
    assert report.reasons_by_field["price"] == 1 and report.reasons_by_field["duplicate"] == 1


def test_bad_event_lines_are_quarantined_and_good_ones_kept(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps({"user_id": "u1", "event_type": "view", "product_id": "p1", "timestamp": "2024-05-01"}),
        "",
        "{not json",
        json.dumps({"user_id": "u1", "event_type": "like", "product_id": "p1", "timestamp": "2024-05-01"}),
        json.dumps(["u1", "view"]),
        json.dumps({"session_id": "s", "event_type": "search", "query": "lamp", "timestamp": 1714566600}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = gate_event_file(path)

    assert [event.event_type for event in result.stored] == [EventType.VIEW, EventType.SEARCH]
    assert [(row.line, row.reasons[0].split(":")[0]) for row in result.quarantined] == [
        (3, "row"),
        (4, "event_type"),
        (5, "row"),
    ]
    assert result.quarantined[0].raw == {"_raw_line": "{not json"}
    assert result.quarantined[2].raw == {"_raw_line": '["u1", "view"]'}
    assert result.ingest_report().adds_up and result.ingest_report().total == 5


def test_gating_raw_rows_directly_keeps_or_quarantines_every_row() -> None:
    rows = [
        RawRow(line=2, data={"product_id": "a", "title": "A"}),
        RawRow(line=3, data={"product_id": "b"}),
        RawRow(line=4, data=None, error="not valid JSON: x", text="{x"),
        RawRow(line=5, data={"product_id": "a", "title": "A2"}),
    ]
    events = [RawRow(line=7, data={"user_id": "u", "event_type": "view", "timestamp": "2024-01-01"})]

    gated_products = gate_products(rows, "upload")
    gated_events = gate_events(events, "upload")
    products, quarantined = gated_products.stored, gated_products.quarantined
    accepted_events, bad_events = gated_events.stored, gated_events.quarantined

    assert [p.title for p in products] == ["A2"]
    assert [row.line for row in quarantined] == [2, 3, 4]
    assert len(products) + len(quarantined) == len(rows)
    assert accepted_events == [] and bad_events[0].reasons == [
        "product_id: missing (a view event needs a product_id)"
    ]


def test_a_header_without_required_columns_is_a_file_problem(tmp_path: Path) -> None:
    headless = tmp_path / "headless.csv"
    headless.write_text("1,Sofa,499\n2,Chair,99\n", encoding="utf-8")
    no_actor = tmp_path / "events.csv"
    no_actor.write_text("event_type,product_id,timestamp\nview,p1,2024-01-01\n", encoding="utf-8")

    with pytest.raises(UnreadableFileError, match="has no 'product_id' and no 'title' column") as caught:
        gate_product_file(headless)
    with pytest.raises(UnreadableFileError, match="has no 'user_id' or 'session_id' column"):
        gate_event_file(no_actor)

    assert str(headless) in str(caught.value)


def test_the_report_caps_listed_rows_but_never_the_counts(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "product_id,title\n" + "".join(f"p{i},\n" for i in range(30)) + "ok,Fine\n", encoding="utf-8"
    )

    report = gate_product_file(path).ingest_report(max_rows=5)

    assert (report.total, report.accepted, report.quarantined) == (31, 1, 30)
    assert len(report.quarantined_rows) == 5 and not report.complete
    assert json.loads(report.model_dump_json())["quarantined"] == 30


def test_a_report_whose_counts_do_not_add_up_cannot_be_made() -> None:
    with pytest.raises(ValueError, match=r"accepted \(2\) \+ quarantined \(1\) != total \(4\)"):
        IngestReport(source="products", file="f", total=4, accepted=2, quarantined=1)


def test_quarantined_rows_from_parquet_are_json_safe(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "p.parquet"
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    pq.write_table(
        pa.table({"product_id": ["a"], "title": [None], "seen": [moment], "score": [float("nan")]}), path
    )

    [row] = gate_product_file(path).quarantined

    assert isinstance(row, QuarantinedRow)
    # A NaN is kept as text, so that the entry shows what was read.
    assert row.raw == {"product_id": "a", "title": None, "seen": "2024-01-01T00:00:00+00:00", "score": "nan"}
    assert json.loads(json.dumps(row.raw)) == row.raw
