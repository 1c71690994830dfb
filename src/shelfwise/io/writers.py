"""Writing rows out as CSV or JSON lines (chosen by the file's suffix), for files a person edits and
sends back, such as an export of quarantined rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shelfwise.io.readers import json_safe

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")


def write_rows(path: Path, records: Sequence[Mapping[str, Any]], columns: Sequence[str] = ()) -> int:
    """Write `records`; a CSV header names `columns` first, then every other key in order of appearance.
    Nested values become JSON text in a CSV cell. Returns the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in JSON_LINES_SUFFIXES:
        with path.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(json_safe(dict(record)), ensure_ascii=False) + "\n")
        return len(records)
    header = list(columns)
    for record in records:
        header.extend(key for key in record if key not in header)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({key: _cell(value) for key, value in record.items()})
    return len(records)


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
