"""The catalogue of quality checks: every check has a stable name, a severity and what it does to a row.

Names are a public contract (reports, the JSON of `shelfwise quality check`, docs/quality.md): add new
ones, never rename. A row check fires on single rows; a dataset check is a share, a minimum or a trend and
is reported in the report's `warnings`, never on rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Severity(StrEnum):
    """How bad a firing check is, for people reading the report (the effect decides what happens)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Effect(StrEnum):
    """What a firing row check does to its row."""

    QUARANTINE = "quarantine"  # the row is not stored; it waits in quarantine to be fixed and retried
    EXCLUDE = "exclude"  # the row is stored but kept out of training (events only)
    REPAIR = "repair"  # the row was changed; the change is recorded
    FLAG = "flag"  # the row is accepted as it is and listed with the check
    NONE = "none"  # dataset checks: nothing happens to rows


Target = Literal["products", "events", "answers"]


@dataclass(frozen=True)
class CheckSpec:
    """One check of the catalogue: its stable name, what it looks at, its severity, its effect and a
    one-line description (the docs table and the reports show it)."""

    name: str
    target: Target
    severity: Severity
    effect: Effect
    description: str


def _spec(name: str, severity: Severity, effect: Effect, description: str) -> CheckSpec:
    target: Target = (
        "products"
        if name.startswith(("product.", "catalog."))
        else "answers"
        if name.startswith("qa.")
        else "events"
    )
    return CheckSpec(name, target, severity, effect, description)


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741
Q, X, R, F, N = Effect.QUARANTINE, Effect.EXCLUDE, Effect.REPAIR, Effect.FLAG, Effect.NONE

_ALL: tuple[CheckSpec, ...] = (
    # catalog rows
    _spec("product.unreadable_row", E, Q, "The record could not be split into fields (broken CSV or JSON)."),
    _spec("product.missing_required", E, Q, "product_id or title is missing."),
    _spec(
        "product.invalid_value", E, Q, "A field cannot be read as its type (price 'abc', available 'maybe')."
    ),
    _spec("product.negative_price", E, Q, "The price is below zero."),
    _spec(
        "product.duplicate_id",
        E,
        Q,
        "The product_id appears again; the newest row wins, this one is kept out.",
    ),
    _spec(
        "product.invalid_url",
        W,
        R,
        "image_url is not an http(s) URL or a path starting with '/' (javascript:, data:, a bare word): "
        "the field is dropped, the product kept.",
    ),
    _spec(
        "product.invalid_category", W, F, "The category path has an empty level or stray brackets or quotes."
    ),
    _spec("product.zero_price", W, F, "The price is 0, often a placeholder for 'unknown'."),
    _spec("product.price_outlier", W, F, "The price is far from its category's (MAD on log price)."),
    _spec("product.title_too_short", W, F, "The title has fewer than 2 words."),
    _spec("product.title_all_caps", W, F, "The title is written in capitals only."),
    _spec(
        "product.keyword_stuffing", W, F, "A word is repeated in the title, or the title is a list of terms."
    ),
    _spec(
        "product.duplicate_title", W, F, "Another product has the same title (the first one is not flagged)."
    ),
    _spec(
        "product.near_duplicate", W, F, "Another product's title is nearly the same (cosine of text vectors)."
    ),
    _spec(
        "product.category_mismatch", W, F, "The text reads like another category; the suggestion is given."
    ),
    _spec(
        "product.image_unreadable", W, F, "image_url could not be read (missing file, HTTP error, too large)."
    ),
    _spec("product.image_not_an_image", W, F, "image_url holds something no image format reads."),
    _spec("product.image_too_small", W, F, "The image is smaller than the minimum side in pixels."),
    _spec(
        "product.image_duplicate",
        W,
        F,
        "Another product shows the same or nearly the same picture (image vectors or perceptual hash).",
    ),
    _spec(
        "product.image_category_mismatch",
        W,
        F,
        "The picture looks like another category's pictures; the suggestion is given.",
    ),
    _spec("product.html_residue", I, R, "HTML tags or entities in text: entities unescaped, tags removed."),
    _spec("product.mojibake", I, R, "Broken encoding such as 'cafÃ©': fixed with ftfy."),
    _spec("product.doubled_whitespace", I, R, "Doubled or odd whitespace collapsed to single spaces."),
    _spec(
        "product.list_as_text",
        I,
        R,
        "A Python/JSON list stored as text: a category list becomes a path, "
        "an image list its first URL (the rest under attributes.images).",
    ),
    # catalog as a whole
    _spec("catalog.no_products", E, N, "No product was accepted."),
    _spec("catalog.quarantine_share", E, N, "Too large a share of product rows was quarantined."),
    _spec(
        "catalog.duplicate_share", W, N, "Too large a share of products are duplicates or near-duplicates."
    ),
    _spec(
        "catalog.coverage",
        W,
        N,
        "Share of products with a description, brand, image, attributes, price, "
        "category; warned below the threshold.",
    ),
    _spec("catalog.too_few_products", I, N, "Fewer products than semantic search needs to be useful."),
    # event rows
    _spec("event.unreadable_row", E, Q, "The record could not be split into fields (broken CSV or JSON)."),
    _spec(
        "event.missing_required", E, Q, "event_type, timestamp, user/session, product_id or query missing."
    ),
    _spec("event.invalid_value", E, Q, "A field cannot be read as its type (timestamp, quantity, price)."),
    _spec(
        "event.unknown_event_type", E, Q, "event_type is not view, click, add_to_cart, purchase or search."
    ),
    _spec(
        "event.unknown_product",
        W,
        X,
        "product_id is not in the catalog: stored unjoined, out of training and real-time features until "
        "the product arrives.",
    ),
    _spec(
        "event.future_timestamp", E, Q, "The timestamp is in the future (beyond the clock-skew allowance)."
    ),
    _spec("event.timestamp_before_shop", E, Q, "The timestamp is before the shop existed."),
    _spec(
        "event.duplicate", W, X, "Same actor, product and type within the duplicate window of an earlier one."
    ),
    _spec("event.bot", W, X, "The user's traffic looks automated (rate, regularity or breadth)."),
    _spec(
        "event.cart_without_view",
        W,
        F,
        "add_to_cart or purchase with no earlier view of the product in the session.",
    ),
    # events as a whole
    _spec("events.quarantine_share", E, N, "Too large a share of event rows was quarantined."),
    _spec(
        "events.unknown_product_share", E, N, "Too large a share of events name products not in the catalog."
    ),
    _spec("events.bot_share", E, N, "Too large a share of events comes from bots."),
    _spec("events.duplicate_share", W, N, "Too large a share of events are duplicates."),
    _spec("events.truncated_last_day", W, N, "The last day has far fewer events than the days before it."),
    _spec("events.stale", W, N, "The newest event is old: the data may have stopped flowing."),
    _spec("events.volume", I, N, "Events per day (the figure, for the report)."),
    _spec("events.bot_users", W, N, "The users whose traffic was excluded as automated, with the reason."),
    _spec("events.too_few_interactions", I, N, "Fewer interactions than personalisation needs."),
    _spec(
        "events.too_few_repeat_users", I, N, "Fewer users with 2+ interactions than personalisation needs."
    ),
    _spec("events.too_few_co_purchases", I, N, "Fewer co-purchased pairs than bought-together needs."),
    # question-answer pairs (shelfwise.quality.checks.answers)
    _spec("qa.empty", E, Q, "The question or the answer is missing, empty or white space only."),
    _spec(
        "qa.duplicate",
        E,
        Q,
        "The same question with the same answer was imported already (in this file or before): kept out.",
    ),
    _spec(
        "qa.language_mismatch",
        W,
        F,
        "The answer is written in another script than its question (a Chinese question, an English answer).",
    ),
)

CHECKS: dict[str, CheckSpec] = {spec.name: spec for spec in _ALL}


def spec(name: str) -> CheckSpec:
    """The catalogue entry of `name`; a KeyError naming the unknown check otherwise."""
    try:
        return CHECKS[name]
    except KeyError:
        raise KeyError(f"unknown quality check {name!r}") from None
