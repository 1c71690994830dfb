"""Read CSV, TSV, JSON lines and Parquet files into the same stream of raw rows.

A `RawRow` is one record as it was read, with the line a person would open the file at. Problems with a
single record (broken JSON on one line, a CSV row with more values than the header) travel with the row
as `error`, so the quality gate can quarantine it; problems with the whole file raise `UnreadableFileError`.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any, Literal

Format = Literal["csv", "tsv", "jsonl", "parquet"]

SUFFIX_FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}

# Key under which the leftover values of a CSV row that is longer than its header are kept.
EXTRA_FIELDS_KEY = "_extra_fields"
# Key under which the text of a record that could not be read into fields is kept.
RAW_LINE_KEY = "_raw_line"
# Key that marks a record kept cut short (`truncate_raw`), with the size of the original.
RAW_TRUNCATED_KEY = "_raw_truncated"
_MARKER_CHARS = 120  # room left for the marker itself
_MIN_VALUE_CHARS = 40
_MAX_KEY_CHARS = 200

_PARQUET_BATCH_ROWS = 10_000


class UnreadableFileError(ValueError):
    """The file as a whole cannot be read: missing, empty, wrong format, bad encoding, no header."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


@dataclass(frozen=True)
class RawRow:
    """One record as read. `line` is 1-based; for CSV the header is line 1, so data starts at line 2.

    `data` holds the fields (None when the record could not be split into fields), `error` says what is
    wrong with this record alone, and `text` keeps the source text of a record whose fields are unknown.
    """

    line: int
    data: dict[str, Any] | None
    error: str | None = None
    text: str | None = None

    @property
    def raw(self) -> dict[str, Any]:
        """The record in a JSON-safe form for reports: its fields, or its source text."""
        if self.data is not None:
            return json_safe(self.data, non_finite_as_text=True)
        return {RAW_LINE_KEY: self.text if self.text is not None else ""}


def detect_format(path: Path, fmt: str | None = None) -> Format:
    """The reader to use: `fmt` when given, else the file's suffix (`.csv.gz` is not supported)."""
    if fmt is not None:
        wanted = fmt.lower().lstrip(".")
        aliases: dict[str, Format] = {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl", "ndjson": "jsonl"}
        aliases |= {"json": "jsonl", "parquet": "parquet"}
        if wanted not in aliases:
            raise UnreadableFileError(path, f"unknown format {fmt!r}; expected csv, tsv, jsonl or parquet")
        return aliases[wanted]
    suffix = path.suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        known = ", ".join(SUFFIX_FORMATS)
        raise UnreadableFileError(path, f"unknown file type {suffix or '(none)'!r}; expected one of {known}")
    return SUFFIX_FORMATS[suffix]


class RowStream(Iterator[RawRow]):
    """The records of one file, read lazily. `columns` is the header (CSV/TSV) or schema (Parquet) in file
    order; JSON lines have no header, so it is None there."""

    def __init__(self, path: Path, fmt: Format, rows: Iterator[RawRow], columns: list[str] | None) -> None:
        self.path = path
        self.format = fmt
        self.columns = columns
        self._rows = rows

    def __iter__(self) -> RowStream:
        return self

    def __next__(self) -> RawRow:
        return next(self._rows)

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()


def read_rows(path: Path | str, fmt: str | None = None) -> RowStream:
    """Every record of the file, in file order; blank lines are skipped.

    File-level checks (existence, format, emptiness, header, Parquet footer) run before this returns, so a
    caller learns at once that a file is unreadable; a bad byte further down raises while iterating.
    """
    path = Path(path)
    kind = detect_format(path, fmt)
    if not path.is_file():
        raise UnreadableFileError(path, "no such file" if not path.exists() else "not a regular file")
    if path.stat().st_size == 0:
        raise UnreadableFileError(path, "the file is empty")
    if kind == "parquet":
        return _parquet_rows(path)
    if kind == "jsonl":
        return RowStream(path, kind, _json_rows(path), None)
    return _delimited_rows(path, kind)


def _decoded_lines(path: Path) -> Generator[str, None, None]:
    """The file's lines as text, line endings kept; a byte that is not UTF-8 is reported with its line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a byte-order mark, as Excel writes it
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(
                    path, f"not valid UTF-8 on line {number} (byte {exc.start + 1}); save the file as UTF-8"
                ) from exc


# --- CSV / TSV ---------------------------------------------------------------------------------------------


class _RecordingLines:
    """Feeds lines to csv.reader while keeping the text of the record being read, for error reports."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> _RecordingLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line

    def pop_text(self) -> str:
        text = "".join(self.taken).rstrip("\r\n")
        self.taken.clear()
        return text


def _delimited_rows(path: Path, kind: Format) -> RowStream:
    lines = _decoded_lines(path)
    source = _RecordingLines(lines)
    reader = csv.reader(source, delimiter="\t" if kind == "tsv" else ",", strict=True)
    try:
        header, header_end = _read_header(path, reader, source)
    except BaseException:
        lines.close()
        raise
    return RowStream(path, kind, _delimited_records(path, reader, source, header, header_end), header)


def _read_header(path: Path, reader: Any, source: _RecordingLines) -> tuple[list[str], int]:
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                source.pop_text()
                names = [field.strip() for field in fields]
                return _check_header(path, names, reader.line_num), reader.line_num
    except csv.Error as exc:
        raise UnreadableFileError(path, f"the header row cannot be read: {exc}") from exc
    raise UnreadableFileError(path, "no header row: the file holds only blank lines")


def _check_header(path: Path, names: list[str], line: int) -> list[str]:
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name and name in seen:
            raise UnreadableFileError(
                path,
                f"line {line}: column {name!r} appears twice in the header ({seen[name]}, {position})",
            )
        seen[name] = position
    return names


def _delimited_records(
    path: Path, reader: Any, source: _RecordingLines, header: list[str], header_end: int
) -> Iterator[RawRow]:
    previous_end = header_end
    while True:
        # csv.reader's line_num counts the physical lines consumed, so a record starts one after the last end.
        start = previous_end + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            text = source.pop_text()
            if "unexpected end of data" in str(exc):
                raise UnreadableFileError(
                    path,
                    f"line {start}: a quoted value is never closed, so the rest of the file is one value",
                ) from exc
            previous_end = reader.line_num
            yield RawRow(line=start, data=None, error=f"malformed CSV: {exc}", text=text)
            continue
        previous_end = reader.line_num
        text = source.pop_text()
        if not any(field.strip() for field in fields):
            continue
        yield _delimited_record(start, header, fields, text)


def _delimited_record(line: int, header: list[str], fields: list[str], text: str) -> RawRow:
    data: dict[str, Any] = {}
    error: str | None = None
    for name, value in zip(header, fields, strict=False):
        cell = value if value != "" else None
        if name:
            data[name] = cell
        elif cell is not None and cell.strip():
            error = f"value {cell!r} in a column that has no name in the header"
    for name in header[len(fields) :]:
        if name:
            data[name] = None
    if any(value.strip() for value in fields[len(header) :]):
        data[EXTRA_FIELDS_KEY] = fields[len(header) :]
        error = (
            f"{len(fields)} values but the header has {len(header)} columns "
            "(an unquoted delimiter inside a value?)"
        )
    return RawRow(line=line, data=data, error=error, text=text if error else None)


# --- JSON lines (and JSON arrays) ---------------------------------------------------------------------------


def _json_rows(path: Path) -> Iterator[RawRow]:
    lines = _decoded_lines(path)
    seen: list[str] = []
    for line in lines:
        seen.append(line)
        if line.strip():
            break
    else:
        raise UnreadableFileError(path, "the file holds only blank lines")
    if not seen[-1].lstrip().startswith("["):
        return _json_line_rows(chain(seen, lines))
    # Perhaps one JSON array (as json.dump writes) rather than JSON lines; telling them apart needs all of it.
    text = "".join(seen) + "".join(lines)
    try:
        return iter(_json_array_rows(text))
    except json.JSONDecodeError as exc:
        if _is_json(seen[-1]):
            # Split on newlines only: str.splitlines would also split at U+2028, which JSON text may hold.
            return _json_line_rows(iter(text.split("\n")))
        raise UnreadableFileError(
            path, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _json_line_rows(lines: Iterator[str]) -> Iterator[RawRow]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        text = line.rstrip("\r\n")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON: {exc.msg} at column {exc.colno}"
            yield RawRow(line=number, data=None, error=problem, text=text)
            continue
        yield _json_record(number, value, text)


def _json_record(line: int, value: Any, text: str) -> RawRow:
    if isinstance(value, dict):
        return RawRow(line=line, data=value)
    names = {list: "array", str: "string", bool: "boolean"}
    kind = "null" if value is None else names.get(type(value), "number")
    return RawRow(line=line, data=None, error=f"a JSON {kind}, not an object", text=text)


def _json_array_rows(text: str) -> list[RawRow]:
    """Rows of a document that is one JSON array, each at the line where it starts.

    Raises JSONDecodeError when the text is not exactly one JSON array."""
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip())
    document, end = decoder.raw_decode(text, start)
    if not isinstance(document, list) or text[end:].strip():
        stop = end if not isinstance(document, list) else end + len(text[end:]) - len(text[end:].lstrip())
        raise json.JSONDecodeError("not one JSON array", text, stop)
    position = start + 1
    rows: list[RawRow] = []
    for _ in document:
        # Walk the text again to learn where each element starts, so rows carry real line numbers.
        while text[position] in " \t\r\n,":
            position += 1
        value, stop = decoder.raw_decode(text, position)
        rows.append(_json_record(text.count("\n", 0, position) + 1, value, text[position:stop]))
        position = stop
    return rows


# --- Parquet ------------------------------------------------------------------------------------------------


def _parquet_rows(path: Path) -> RowStream:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise UnreadableFileError(path, f"not a readable Parquet file ({exc})") from exc
    return RowStream(path, "parquet", _parquet_records(parquet), list(parquet.schema_arrow.names))


def _parquet_records(parquet: Any) -> Iterator[RawRow]:
    index = 0
    with parquet:
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            for record in batch.to_pylist():
                # Row i is reported as line i + 2: where the same row would sit in a CSV file with a header.
                yield RawRow(line=index + 2, data=record)
                index += 1


# --- JSON-safe values ---------------------------------------------------------------------------------------


def json_safe(value: Any, *, non_finite_as_text: bool = False) -> Any:
    """A copy `json.dumps` accepts and UTF-8 can encode: dates as ISO text, NaN and infinities as None (or,
    with `non_finite_as_text`, as the text "nan", "inf", "-inf", so that a quarantined row keeps what was
    sent), a lone surrogate in text escaped as `\\ud800`, bytes as base64."""
    if isinstance(value, str):
        return value if value.isascii() else _utf8_safe(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float | Decimal):
        number = math.nan if isinstance(value, Decimal) and value.is_snan() else float(value)
        if math.isfinite(number):  # Decimal("1e400") is finite, but beyond any float
            return number
        return str(value) if non_finite_as_text else None
    if isinstance(value, dict):
        return {
            json_safe(str(key)): json_safe(item, non_finite_as_text=non_finite_as_text)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(item, non_finite_as_text=non_finite_as_text) for item in items]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _json_chars(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


def truncate_raw(raw: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """`raw` (JSON-safe) as it is when its JSON is at most `max_chars` long; otherwise a copy cut to about
    that size, each field in order: short values whole, long ones shortened (ending in an ellipsis), and
    fields past the budget left out. The copy holds `RAW_TRUNCATED_KEY` with the original's size, so no
    one mistakes it for the row as sent."""
    size = _json_chars(raw)
    if size <= max_chars:
        return raw
    budget = max(max_chars - _MARKER_CHARS, _MIN_VALUE_CHARS)
    # a field costs its key and value as JSON, with the quotes, `: ` and `, ` around them
    sizes = {key: _json_chars(value) + min(len(key), _MAX_KEY_CHARS) + 6 for key, value in raw.items()}
    fair = budget // max(len(raw), 1)
    small = sum(cost for cost in sizes.values() if cost <= fair)
    big = sum(1 for cost in sizes.values() if cost > fair)
    each = max((budget - small) // big, _MIN_VALUE_CHARS) if big else 0
    kept: dict[str, Any] = {}
    used = left_out = 0
    for key, value in raw.items():
        cost = min(sizes[key], each) if sizes[key] > fair else sizes[key]
        if used + cost > budget:
            left_out += 1
            continue
        short_key = key if len(key) <= _MAX_KEY_CHARS else key[: _MAX_KEY_CHARS - 1] + "…"
        kept[short_key] = value if sizes[key] <= fair else _cut(value, each)
        used += cost
    kept[RAW_TRUNCATED_KEY] = {"original_chars": size, "fields_left_out": left_out}
    return kept


def _cut(value: Any, chars: int) -> str:
    """The value as text, cut (ending in an ellipsis) so that its JSON, escapes and all, fits `chars`."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if _json_chars(text) <= chars:
        return text
    keep = max(chars - 3, 1)
    while True:
        cut = text[:keep] + "…"
        size = _json_chars(cut)
        if size <= chars or keep == 1:
            return cut
        keep = max(keep * chars // size - 1, 1)  # escaped characters take more room than they count


def _utf8_safe(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
