"""Safe repairs of product text, applied to a raw row before it is parsed; every change is recorded.

Only repairs that cannot change what a product is are made: unescaping HTML entities and removing tags,
fixing mojibake (ftfy's encoding fixer only, never its quote or width normalisation), collapsing
whitespace, and turning a list stored as text into the value the field expects.
"""

from __future__ import annotations

import ast
import html
import json
import re
from dataclasses import dataclass
from typing import Any

import ftfy

from shelfwise.io.parsing import field_key

TEXT_FIELDS = ("title", "description", "brand", "category")
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>|&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,5});")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]{2,}|[\t\u00a0\r\n]")
_DESCRIPTION_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_LIST_TEXT = re.compile(r"^\s*\[.*\]\s*$", re.DOTALL)
_SHOWN = 80


@dataclass(frozen=True)
class Repair:
    """One safe change the gate made to a field, kept so the report can show before and after."""

    check: str
    field: str
    before: str
    after: str

    def describe(self) -> str:
        """`field: 'before' -> 'after'`, long texts shortened, for the report's details."""
        return f"{self.field}: {_short(self.before)!r} -> {_short(self.after)!r}"


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def parse_list_text(text: str) -> list[str] | None:
    """`"['a', 'b']"` or `'["a", "b"]'` as a list of non-empty strings; None when it is not one."""
    if not _LIST_TEXT.match(text):
        return None
    value: Any
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    if not isinstance(value, list) or not all(isinstance(item, str | int | float) for item in value):
        return None
    return [str(item).strip() for item in value if str(item).strip()]


def fix_mojibake(text: str) -> str:
    """Text decoded with the wrong encoding (`cafÃ©`) put right, by ftfy."""
    # Mojibake needs non-ASCII characters; skipping plain ASCII keeps ftfy off nine rows in ten.
    return text if text.isascii() else ftfy.fix_encoding(text)


def fix_html(text: str) -> str:
    """HTML tags removed and entities unescaped (`&amp;` -> `&`)."""
    if not _HTML.search(text):
        return text
    unescaped = html.unescape(_TAG.sub(" ", text))
    return _TAG.sub(" ", unescaped).strip()  # entities may have hidden tags (&lt;b&gt;)


def fix_whitespace(text: str, field: str) -> str:
    """Runs of spaces made one and the ends stripped (descriptions keep their line breaks)."""
    pattern = _DESCRIPTION_SPACES if field == "description" else _SPACES
    return pattern.sub(" ", text).strip() if pattern.search(text) else text


def repair_product_row(data: dict[str, Any]) -> tuple[dict[str, Any], list[Repair]]:
    """The row with safe repairs made, and the repairs; the input dict is not changed."""
    repaired = dict(data)
    repairs: list[Repair] = []
    keys = {field_key(str(name)): name for name in data}
    for field in (*TEXT_FIELDS, "image_url"):
        name = keys.get(field)
        value = repaired.get(name) if name is not None else None
        if name is None or not isinstance(value, str) or not value.strip():
            continue
        new = _repair_field(field, value, repaired, keys, repairs)
        repaired[name] = new
    return repaired, repairs


def _repair_field(
    field: str, value: str, row: dict[str, Any], keys: dict[str, Any], repairs: list[Repair]
) -> str:
    def step(check: str, new: str) -> None:
        nonlocal value
        if new != value:
            repairs.append(Repair(check, field, value, new))
            value = new

    if field in ("category", "image_url"):
        items = parse_list_text(value)
        if items is not None:
            if field == "category":
                step("product.list_as_text", " > ".join(items))
            else:
                step("product.list_as_text", items[0] if items else "")
                if len(items) > 1 and "images" not in keys:
                    row["images"] = items
    if field == "image_url":
        return value
    step("product.mojibake", fix_mojibake(value))
    step("product.html_residue", fix_html(value))
    step("product.doubled_whitespace", fix_whitespace(value, field))
    return value
