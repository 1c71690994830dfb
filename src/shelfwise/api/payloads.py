"""The shapes a JSON batch may come in."""

from __future__ import annotations

from typing import Any

JsonRows = list[dict[str, Any]] | dict[str, Any]


def as_rows(payload: JsonRows, key: str) -> list[dict[str, Any]]:
    """Accept a list of rows, one row, or {"<key>": [rows]}."""
    if isinstance(payload, dict):
        nested = payload.get(key)
        return list(nested) if isinstance(nested, list) else [payload]
    return payload
