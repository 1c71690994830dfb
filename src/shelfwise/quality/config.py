"""Thresholds of the quality gate, one pydantic model so a shop can tune them in its settings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IngestLimits(BaseModel):
    """Bounds on what one ingest may cost, so that one bad request or file cannot flood the store. Rows
    over a quarantine bound are still counted, with their reasons, in the ingest report."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_request_rows: int = Field(
        default=10_000, ge=1, description="Rows one HTTP request may send; more is refused (413)."
    )
    max_quarantined_per_request: int = Field(
        default=1_000, ge=0, description="Quarantined rows one HTTP request may add to the quarantine."
    )
    max_quarantined_per_source: int = Field(
        default=100_000,
        ge=0,
        description="Rows the quarantine keeps per source (products, events); past it rows are counted only.",
    )
    refuse_invalid_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="A batch or file with a larger share of rows that cannot be read is refused whole.",
    )
    refuse_min_invalid_rows: int = Field(
        default=100, ge=1, description="...once at least this many rows cannot be read."
    )
    max_raw_chars: int = Field(
        default=20_000,
        ge=200,
        description="A quarantined row larger than this (as JSON) is kept cut short, marked with its size.",
    )


class QualityConfig(BaseModel):
    """Every threshold of the checks and tiers, with its default; a shop tunes them in its settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # text hygiene
    min_title_words: int = Field(default=2, ge=1)
    all_caps_min_letters: int = Field(default=6, ge=1, description="Shorter all-caps titles (USB, TV) pass.")
    stuffing_repeats: int = Field(default=3, ge=2, description="A title word this many times is stuffing.")
    stuffing_separators: int = Field(default=6, ge=2, description="This many comma/pipe terms is a list.")
    # prices
    outlier_mad: float = Field(default=5.0, gt=0, description="Robust z-score on log price to flag.")
    outlier_min_group: int = Field(default=8, ge=3)
    # duplicates and categories
    text_encoder: Literal["tfidf", "minilm"] = Field(
        default="tfidf", description="Vectors for near-duplicates and category checks; minilm needs weights."
    )
    near_duplicate_cosine: float = Field(default=0.8, gt=0, le=1)
    category_depth: int = Field(
        default=2, ge=1, description="Category levels compared by the mismatch check."
    )
    category_min_group: int = Field(default=5, ge=2)
    category_margin: float = Field(
        default=0.1, ge=0, description="How much closer the other category must be."
    )
    category_min_similarity: float = Field(default=0.2, ge=0, le=1)
    # product images (checked at training time, where the images are encoded)
    image_duplicate_cosine: float = Field(
        default=0.99, gt=0, le=1, description="Image vectors at least this close are the same picture."
    )
    image_duplicate_hash_bits: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Nearest pictures whose perceptual hashes differ in at most this many of 64 bits are "
        "the same picture too.",
    )
    image_category_neighbours: int = Field(
        default=15, ge=3, description="Nearest pictures that vote on what a picture shows."
    )
    image_category_vote: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="Share of those neighbours that must agree on another category (with none in the "
        "product's own) to flag it.",
    )
    # events
    clock_skew_seconds: float = Field(default=300.0, ge=0)
    shop_opened: datetime | None = Field(default=None, description="Events before this are refused.")
    earliest_timestamp: datetime = Field(default=datetime(2000, 1, 1))
    duplicate_window_seconds: float = Field(default=5.0, ge=0)
    bot_max_events_per_minute: int = Field(default=60, ge=1)
    bot_regular_min_events: int = Field(default=30, ge=3)
    bot_regular_max_cv: float = Field(default=0.05, ge=0, description="Gap spread below this is a metronome.")
    bot_max_products_per_session: int = Field(default=200, ge=1)
    truncated_day_ratio: float = Field(default=0.3, gt=0, lt=1)
    stale_days: float = Field(default=30.0, gt=0)
    # dataset shares that block training
    max_quarantine_share: float = Field(default=0.3, gt=0, le=1)
    max_duplicate_share: float = Field(default=0.2, gt=0, le=1)
    max_unknown_product_share: float = Field(default=0.2, gt=0, le=1)
    max_bot_share: float = Field(default=0.2, gt=0, le=1)
    min_coverage: float = Field(default=0.5, ge=0, le=1)
    # tier minimums (Amazon Personalize: 1,000 interactions and 25 users with 2 or more)
    min_products_semantic: int = Field(default=50, ge=1)
    min_interactions: int = Field(default=1000, ge=0)
    min_repeat_users: int = Field(default=25, ge=0)
    min_co_purchase_pairs: int = Field(default=50, ge=0)
    # what one ingest may cost
    limits: IngestLimits = Field(default_factory=IngestLimits)
