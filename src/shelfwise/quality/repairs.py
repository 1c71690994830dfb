"""Safe repairs of product text, applied to a raw row before it is parsed; every change is recorded.

Only repairs that cannot change what a product is are made: unescaping HTML entities and removing tags
(`shelfwise.quality.markup`), fixing mojibake (ftfy's encoding fixer only, never its quote or width
normalisation), collapsing whitespace, turning a list stored as text into the value the field expects,
and dropping an image URL that is neither http(s) nor a path on the shop's own site (`javascript:`,
`data:`, a bare word): a page must never load it.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

import ftfy

from shelfwise.io.parsing import field_key
from shelfwise.quality.markup import has_markup, plain_text
from shelfwise.quality.schemas import URL_PATTERN

TEXT_FIELDS = ("title", "description", "brand", "category")
_IMAGE_URL = re.compile(URL_PATTERN)
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
    """Entities unescaped once and markup removed, script and style bodies with it (see `plain_text`)."""
    return plain_text(text) if has_markup(text) else text


def is_image_url(value: str) -> bool:
    """An http(s) URL or a path on the shop's own site (`/img/a.jpg`): what a page may load as an image."""
    return _IMAGE_URL.match(value.strip()) is not None


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
                safe = [item for item in items if is_image_url(item)]
                step("product.list_as_text", (safe or items or [""])[0])
                if len(items) > 1 and "images" not in keys:
                    row["images"] = safe
                    if len(safe) < len(items):
                        repairs.append(Repair("product.invalid_url", "images", repr(items), repr(safe)))
    if field == "image_url":
        if not is_image_url(value):
            step("product.invalid_url", "")  # dropped: the row is kept without an image
        return value
    step("product.mojibake", fix_mojibake(value))
    step("product.html_residue", fix_html(value))
    step("product.doubled_whitespace", fix_whitespace(value, field))
    return value
