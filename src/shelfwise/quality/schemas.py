"""Pandera schemas over the parsed catalog and events: the declarative part of the checks.

Each schema check maps to a stable check name; a failure case becomes a flag on its row. Types and
required fields are first enforced by the parser (it reports the field and the value), so these schemas
hold the rules that are about values: URLs, category paths, prices, timestamps.
"""

from __future__ import annotations

from datetime import datetime

import pandera.polars as pa
import polars as pl

from shelfwise.quality.flags import Flags

# An image a page may load, never javascript: or data:: an http(s) URL (any case), a path on the shop's own
# site (`/img/a.jpg`), or a picture's path relative to the import's folder (`img/a.jpg`, read under
# training.images.root; each part starts with a letter or digit, so none is `..`). No look-around: polars
# runs this pattern too.
URL_PATTERN = (
    r"^(?:(?i:https?)://[^\s/$.?#][^\s]*|/[^\s]*"
    r"|\w[\w.\-]*(?:/\w[\w.\-]*)*\.(?i:jpe?g|png|webp|gif))$"
)
CATEGORY_PATTERN = r"^[^\[\]{}\"|]+$"

# (column, pandera check) -> check name
_PRODUCT_RULES: dict[tuple[str, int], str] = {
    ("image_url", 0): "product.invalid_url",
    ("category", 0): "product.invalid_category",
    ("price", 0): "product.zero_price",
    ("title", -1): "product.missing_required",
    ("product_id", -1): "product.missing_required",
}


def product_schema() -> pa.DataFrameSchema:
    """The pandera rules on product values: image URLs, category paths, positive prices."""
    return pa.DataFrameSchema(
        {
            "product_id": pa.Column(str, nullable=False),
            "title": pa.Column(str, nullable=False),
            "image_url": pa.Column(str, pa.Check.str_matches(URL_PATTERN), nullable=True),
            "category": pa.Column(str, pa.Check.str_matches(CATEGORY_PATTERN), nullable=True),
            "price": pa.Column(float, pa.Check.gt(0), nullable=True),
        },
        strict=False,
    )


def event_schema(not_after: datetime, not_before: datetime) -> pa.DataFrameSchema:
    """The pandera rule on event times: between `not_before` (the shop opened) and `not_after` (now,
    with the allowed clock skew)."""
    return pa.DataFrameSchema(
        {
            "timestamp": pa.Column(
                pl.Datetime("us", "UTC"),
                [pa.Check.le(not_after), pa.Check.ge(not_before)],
                nullable=False,
            ),
        },
        strict=False,
    )


_EVENT_RULES: dict[tuple[str, int], str] = {
    ("timestamp", 0): "event.future_timestamp",
    ("timestamp", 1): "event.timestamp_before_shop",
}


def validate(frame: pl.DataFrame, schema: pa.DataFrameSchema, rules: dict[tuple[str, int], str]) -> Flags:
    """Flags for every failure case; a failure no rule names is a bug and raises."""
    flags = Flags()
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        for column, number, index, value in zip(
            cases.get_column("column").to_list(),
            cases.get_column("check_number").to_list(),
            cases.get_column("index").to_list(),
            cases.get_column("failure_case").to_list(),
            strict=True,
        ):
            key = (column, -1 if number is None else int(number))
            if key not in rules or index is None:
                raise RuntimeError(f"schema failure with no check name: {column} #{number}") from None
            flags.add(rules[key], [int(index)], f"{column}: {value!r}")
    return flags


def validate_products(frame: pl.DataFrame) -> Flags:
    """Flags for the product rows that break `product_schema`."""
    return validate(frame, product_schema(), _PRODUCT_RULES)


def validate_events(frame: pl.DataFrame, not_after: datetime, not_before: datetime) -> Flags:
    """Flags for the event rows that break `event_schema`."""
    return validate(frame, event_schema(not_after, not_before), _EVENT_RULES)
