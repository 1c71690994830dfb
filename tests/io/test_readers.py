"""Reading CSV, TSV, JSON lines and Parquet into raw rows: values, line numbers, row and file problems."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shelfwise.io import RawRow, UnreadableFileError, parse_product, read_rows
from shelfwise.io.datasets import (
    DatasetMissing,
    load_amazon_beauty,
    load_homedepot,
    load_movielens_100k,
    require_dataset,
    shared_data_dir,
)
from shelfwise.io.readers import RAW_LINE_KEY, RAW_TRUNCATED_KEY, detect_format, truncate_raw
from shelfwise.settings import Settings

ROWS: list[dict[str, Any]] = [
    {
        "product_id": "sku-1",
        "title": "Oak Coffee Table",
        "description": "Solid oak, oiled.",
        "category": "Furniture > Tables",
        "brand": "Oakline",
        "price": 249.0,
        "currency": "EUR",
        "attributes": {"material": "oak", "width_cm": 120},
        "available": True,
        "created_at": "2024-03-01T10:00:00Z",
    },
    {
        "product_id": "sku-2",
        "title": "Linen Duvet Cover",
        "category": "Home > Bedding",
        "price": 89.5,
        "attributes": {},
        "available": False,
        "created_at": "2024-03-02T00:00:00Z",
    },
]


def write_csv(path: Path, rows: list[dict[str, Any]], delimiter: str = ",") -> Path:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])
    return path


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    table = {
        column: [
            json.dumps(row[column]) if isinstance(row.get(column), dict) else row.get(column) for row in rows
        ]
        for column in columns
    }
    pq.write_table(pa.table(table), path)
    return path


def products_of(path: Path) -> list[Any]:
    return [parse_product(row.data) for row in read_rows(path) if row.data is not None]


def test_the_same_rows_as_csv_tsv_jsonl_and_parquet_parse_to_equal_products(tmp_path: Path) -> None:
    from_csv = products_of(write_csv(tmp_path / "p.csv", ROWS))
    from_tsv = products_of(write_csv(tmp_path / "p.tsv", ROWS, delimiter="\t"))
    from_jsonl = products_of(write_jsonl(tmp_path / "p.jsonl", ROWS))
    from_parquet = products_of(write_parquet(tmp_path / "p.parquet", ROWS))

    assert len(from_csv) == 2
    assert from_csv == from_tsv == from_jsonl == from_parquet
    assert from_csv[0].attributes == {"material": "oak", "width_cm": 120}
    assert from_csv[1].available is False
    assert from_csv[0].created_at == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_csv_values_stay_text_and_empty_cells_become_none(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("product_id,title,price,brand\n001,Lamp,12.50,\n", encoding="utf-8")

    [row] = list(read_rows(path))

    assert row == RawRow(line=2, data={"product_id": "001", "title": "Lamp", "price": "12.50", "brand": None})


def test_jsonl_and_parquet_values_keep_their_types(tmp_path: Path) -> None:
    jsonl = write_jsonl(tmp_path / "p.jsonl", [{"product_id": 7, "price": 1.5, "available": False}])
    parquet = tmp_path / "p.parquet"
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    pq.write_table(pa.table({"product_id": [7], "price": [1.5], "created_at": [moment]}), parquet)

    [json_row] = list(read_rows(jsonl))
    [parquet_row] = list(read_rows(parquet))

    assert json_row.data == {"product_id": 7, "price": 1.5, "available": False}
    assert parquet_row.data is not None
    assert parquet_row.data["product_id"] == 7
    assert parquet_row.data["created_at"] == moment


def test_csv_lines_are_physical_lines_where_each_record_starts(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "product_id,title,description\n"  # line 1
        'a,Sofa,"Deep seat,\n'  # line 2: a quoted value running over three lines
        "wide arms\n"
        'velvet"\n'
        "\n"  # line 5: blank, skipped
        "b,Chair,plain\n"  # line 6
        ",,\n"  # line 7: only empty cells, skipped
        'c,"Lamp ""Arc""",x\n',  # line 8
        encoding="utf-8",
    )

    rows = list(read_rows(path))

    assert [(row.line, row.data["product_id"] if row.data else None) for row in rows] == [
        (2, "a"),
        (6, "b"),
        (8, "c"),
    ]
    assert rows[0].data is not None and rows[0].data["description"] == "Deep seat,\nwide arms\nvelvet"
    assert rows[2].data is not None and rows[2].data["title"] == 'Lamp "Arc"'


def test_windows_line_endings_and_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"\xef\xbb\xbfproduct_id,title\r\n1,Sofa\r\n\r\n2,Chair\r\n")

    rows = list(read_rows(path))

    assert [(row.line, row.data) for row in rows] == [
        (2, {"product_id": "1", "title": "Sofa"}),
        (4, {"product_id": "2", "title": "Chair"}),
    ]


def test_csv_row_with_more_values_than_the_header_is_a_row_error(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("product_id,title\n1,Sofa, large\n2,Chair,\n3,Bed\n", encoding="utf-8")

    rows = list(read_rows(path))

    assert rows[0].line == 2
    assert rows[0].error is not None and "3 values but the header has 2 columns" in rows[0].error
    assert rows[0].raw["_extra_fields"] == [" large"]
    # A trailing empty value (a trailing comma) is harmless and not an error.
    assert rows[1].error is None and rows[1].data == {"product_id": "2", "title": "Chair"}
    assert rows[2].error is None and rows[2].line == 4


def test_csv_row_shorter_than_the_header_gets_none_for_the_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("product_id,title,price\n1,Sofa\n", encoding="utf-8")

    [row] = list(read_rows(path))

    assert row.error is None
    assert row.data == {"product_id": "1", "title": "Sofa", "price": None}


def test_badly_quoted_csv_row_is_a_row_error_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('product_id,title\n1,"Sofa" large\n2,Chair\n', encoding="utf-8")

    rows = list(read_rows(path))

    assert rows[0].line == 2 and rows[0].data is None
    assert rows[0].error is not None and rows[0].error.startswith("malformed CSV")
    assert rows[0].raw == {RAW_LINE_KEY: '1,"Sofa" large'}
    assert rows[1].line == 3 and rows[1].data == {"product_id": "2", "title": "Chair"}


def test_jsonl_rows_carry_their_line_and_bad_lines_carry_their_text(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2,\n[1, 2]\n"text"\n{"a": 3}\n', encoding="utf-8")

    rows = list(read_rows(path))

    assert [row.line for row in rows] == [1, 3, 4, 5, 6]
    assert rows[1].data is None and rows[1].error is not None and rows[1].error.startswith("not valid JSON")
    assert rows[1].raw == {RAW_LINE_KEY: '{"a": 2,'}
    assert rows[2].error == "a JSON array, not an object"
    assert rows[3].error == "a JSON string, not an object"
    assert rows[4].data == {"a": 3} and rows[4].error is None


def test_a_json_array_document_is_read_with_the_line_each_object_starts_on(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('[\n  {"product_id": "1",\n   "title": "A"},\n  {"product_id": "2", "title": "B"}\n]\n')
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps([{"product_id": "1"}, {"product_id": "2"}]))

    rows = list(read_rows(path))

    assert [(row.line, row.data) for row in rows] == [
        (2, {"product_id": "1", "title": "A"}),
        (4, {"product_id": "2", "title": "B"}),
    ]
    assert [row.data for row in read_rows(compact)] == [{"product_id": "1"}, {"product_id": "2"}]


def test_parquet_rows_are_numbered_as_they_would_be_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"product_id": ["a", "b", "c"]}), path, row_group_size=2)

    stream = read_rows(path)

    assert stream.columns == ["product_id"]
    assert [row.line for row in stream] == [2, 3, 4]


def test_format_comes_from_the_suffix_or_the_override(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("product_id\tTitle\n1\tSofa\n", encoding="utf-8")

    [row] = list(read_rows(path, fmt="tsv"))

    assert row.data == {"product_id": "1", "Title": "Sofa"}
    assert detect_format(Path("x.NDJSON")) == "jsonl"
    assert detect_format(Path("x.Parquet")) == "parquet"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.csv", None, "no such file"),
        ("products.xlsx", b"whatever", "unknown file type '.xlsx'"),
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\n\n  \n", "no header row"),
        ("blank.jsonl", b"\n\n", "only blank lines"),
        ("latin1.csv", "product_id,title\n1,Café\n".encode("latin-1"), "not valid UTF-8 on line 2"),
        ("latin1.jsonl", '{"a": 1}\n{"title": "Café"}\n'.encode("latin-1"), "not valid UTF-8 on line 2"),
        ("twice.csv", b"product_id,title,title\n1,a,b\n", "column 'title' appears twice"),
        ("open.csv", b'product_id,title\n1,"Sofa\n2,Chair\n', "line 2: a quoted value is never closed"),
        ("broken.json", b'[\n{"a": 1},\n{"a": \n', "not valid JSON"),
        ("broken.parquet", b"PAR1 this is not really parquet", "not a readable Parquet file"),
    ],
)
def test_an_unreadable_file_raises_naming_the_file_and_the_problem(
    tmp_path: Path, name: str, content: bytes | None, problem: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(UnreadableFileError) as caught:
        list(read_rows(path))

    assert str(path) in str(caught.value)
    assert problem in str(caught.value)
    assert caught.value.path == path


def test_file_level_problems_are_raised_before_the_first_row_is_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n", encoding="utf-8")

    with pytest.raises(UnreadableFileError):
        read_rows(path)  # not iterated: the header check has already run


def test_unknown_format_override_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ROWS)

    with pytest.raises(UnreadableFileError, match="unknown format 'xml'"):
        read_rows(path, fmt="xml")


# --- public data sets -----------------------------------------------------------------------------------


def test_the_shared_data_folder_comes_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELFWISE_DATA", str(tmp_path))

    assert Settings().shared_data == tmp_path
    assert shared_data_dir(Settings().shared_data) == tmp_path
    assert Settings(shared_data=tmp_path / "elsewhere").shared_data == tmp_path / "elsewhere"


def test_shared_data_dir_defaults_to_the_folder_beside_the_repository_and_reads_no_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELFWISE_DATA", str(tmp_path))
    repository = Path(__file__).resolve().parents[2]

    assert shared_data_dir() == (repository.parent / "shared" / "data").resolve()
    assert shared_data_dir(None) == shared_data_dir()


def test_a_missing_data_set_says_what_and_where(tmp_path: Path) -> None:
    (tmp_path / "homedepot-search").mkdir()

    with pytest.raises(DatasetMissing, match="'movielens-100k' not found at") as caught:
        require_dataset("movielens-100k", root=tmp_path)
    with pytest.raises(DatasetMissing, match=r"has no products\.csv"):
        load_homedepot(tmp_path)

    assert str(tmp_path) in str(caught.value)
    assert "SHELFWISE_DATA" in str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)


def _require_shared(name: str, root: Path) -> None:
    try:
        require_dataset(name, root=root)
    except DatasetMissing as missing:
        pytest.skip(f"shared data absent: {missing}")


@pytest.mark.shared_data
def test_homedepot_loads_products_and_graded_judgements(shared_data: Path) -> None:
    _require_shared("homedepot-search", shared_data)

    products, qrels = load_homedepot(shared_data)

    assert products.columns == ["product_id", "title"]
    assert products.height == products["product_id"].n_unique() == 54_667
    assert qrels.columns == ["query", "product_id", "gain"]
    assert qrels["gain"].min() >= 0.0 and qrels["gain"].max() <= 2.0  # type: ignore[operator]
    assert set(qrels["product_id"].unique()) <= set(products["product_id"])


@pytest.mark.shared_data
def test_amazon_beauty_loads_interactions_and_items(shared_data: Path) -> None:
    _require_shared("amazon-beauty", shared_data)

    interactions, items = load_amazon_beauty(shared_data)

    assert interactions.columns == ["user_id", "item_id", "position"]
    assert interactions.height == 198_502
    assert interactions["user_id"].n_unique() == 22_363
    assert items.height == items["item_id"].n_unique() == 12_101
    assert set(interactions["item_id"].unique()) <= set(items["item_id"])


@pytest.mark.shared_data
def test_movielens_columns_lose_their_recbole_types(shared_data: Path) -> None:
    _require_shared("movielens-100k", shared_data)

    interactions = load_movielens_100k(shared_data)

    assert interactions.columns == ["user_id", "item_id", "rating", "timestamp"]
    assert interactions.height == 100_000
    assert interactions["user_id"].n_unique() == 943
    assert interactions["timestamp"].min() > 800_000_000  # type: ignore[operator]


def test_a_raw_row_past_the_limit_is_cut_short_and_marked_with_its_size() -> None:
    small = {"product_id": "p1", "title": "Lamp"}
    assert truncate_raw(small, 1_000) is small
    line = {RAW_LINE_KEY: "{" + "x" * 50_000_000}  # one unreadable line of 50 MB
    cut = truncate_raw(line, 5_000)
    assert len(json.dumps(cut, ensure_ascii=False)) <= 5_000
    assert cut[RAW_LINE_KEY].startswith("{xxx") and cut[RAW_LINE_KEY].endswith("…")
    assert cut[RAW_TRUNCATED_KEY] == {"original_chars": len(json.dumps(line)), "fields_left_out": 0}
    quoted = truncate_raw({"title": '"' * 100_000, "note": "\n" * 100_000}, 3_000)
    assert len(json.dumps(quoted, ensure_ascii=False)) <= 3_000, "escapes count too"
    wide = {f"column_{i}": "value" for i in range(10_000)}
    cut = truncate_raw(wide, 2_000)
    assert len(json.dumps(cut, ensure_ascii=False)) <= 2_000 and cut["column_0"] == "value"
    assert cut[RAW_TRUNCATED_KEY]["fields_left_out"] == 10_000 - (len(cut) - 1)
