"""Checks over the parsed catalog: text hygiene, prices, duplicates, categories, coverage.

They run over a polars frame of the products that parsed, one row per product, and flag rows by their
position in that frame. Nothing here changes a product; repairs happen before parsing (quality.repairs).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from shelfwise.domain import Product
from shelfwise.quality.categories import category_key, mislabelled
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.duplicates import identical_titles, near_duplicates
from shelfwise.quality.flags import DatasetWarning, Flags
from shelfwise.quality.schemas import validate_products
from shelfwise.quality.text_vectors import encode_minilm, tfidf
from shelfwise.text.analysis import words

COVERAGE_FIELDS = ("description", "brand", "image_url", "attributes", "price", "category")
_SEPARATORS = re.compile(r"[,|;/]")
_OUTLIER_DEPTHS = (2, 1, 0)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def products_frame(products: Sequence[Product]) -> pl.DataFrame:
    """The parsed products as one polars frame, the shape the catalog checks run over."""
    return pl.DataFrame(
        {
            "product_id": [p.product_id for p in products],
            "title": [p.title for p in products],
            "description": [p.description for p in products],
            "category": [p.category for p in products],
            "brand": [p.brand for p in products],
            "price": [p.price for p in products],
            "image_url": [p.image_url for p in products],
            "attributes": [len(p.attributes) for p in products],
        },
        schema={
            "product_id": pl.Utf8,
            "title": pl.Utf8,
            "description": pl.Utf8,
            "category": pl.Utf8,
            "brand": pl.Utf8,
            "price": pl.Float64,
            "image_url": pl.Utf8,
            "attributes": pl.Int64,
        },
    )


def check_catalog(frame: pl.DataFrame, config: QualityConfig) -> Flags:
    """Every row-level catalog check over the frame."""
    flags = validate_products(frame)
    titles = frame.get_column("title").to_list()
    flags.merge(_title_checks(titles, config))
    flags.merge(_price_outliers(frame, config))
    flags.merge(_duplicates(titles, frame.get_column("product_id").to_list(), config))
    flags.merge(_categories(frame, config))
    return flags


def _title_checks(titles: list[str], config: QualityConfig) -> Flags:
    flags = Flags()
    for position, title in enumerate(titles):
        tokens = title.split()
        if len(tokens) < config.min_title_words:
            flags.add("product.title_too_short", [position], f"{len(tokens)} word(s)")
        letters = _LETTER.findall(title)
        if len(letters) >= config.all_caps_min_letters and title.upper() == title and title.lower() != title:
            flags.add("product.title_all_caps", [position])
        stuffing = _stuffing(title, config)
        if stuffing:
            flags.add("product.keyword_stuffing", [position], stuffing)
    return flags


def _stuffing(title: str, config: QualityConfig) -> str:
    counts = Counter(word for word in words(title) if len(word) >= 3 and not word.isdigit())
    if counts:
        word, repeats = counts.most_common(1)[0]
        if repeats >= config.stuffing_repeats:
            return f"{word!r} {repeats} times"
    terms = len(_SEPARATORS.findall(title)) + 1
    return f"{terms} separated terms" if terms >= config.stuffing_separators else ""


def _price_outliers(frame: pl.DataFrame, config: QualityConfig) -> Flags:
    """Robust z-score of log price within a category (the deepest of two levels with enough prices)."""
    flags = Flags()
    prices = frame.get_column("price").to_numpy()
    categories = frame.get_column("category").to_list()
    positive = np.flatnonzero(np.nan_to_num(prices.astype(np.float64), nan=0.0) > 0)
    if len(positive) < config.outlier_min_group:
        return flags
    logs = np.log(prices[positive].astype(np.float64))
    groups: dict[str, list[int]] = {}
    for depth in _OUTLIER_DEPTHS:
        for k, position in enumerate(positive.tolist()):
            key = _price_group(categories[position], depth)
            groups.setdefault(key, []).append(k)
    chosen: dict[int, str] = {}
    for k, position in enumerate(positive.tolist()):
        for depth in _OUTLIER_DEPTHS:
            key = _price_group(categories[position], depth)
            if len(groups[key]) >= config.outlier_min_group:
                chosen[k] = key
                break
    stats: dict[str, tuple[float, float]] = {}
    for key in set(chosen.values()):
        values = logs[groups[key]]
        median = float(np.median(values))
        mad = float(np.median(np.abs(values - median))) * 1.4826
        stats[key] = (median, max(mad, 0.05))  # a category of one price still allows a 5% spread
    for k, key in chosen.items():
        median, mad = stats[key]
        z = abs(logs[k] - median) / mad
        if z > config.outlier_mad:
            typical = math.exp(median)
            flags.add(
                "product.price_outlier",
                [int(positive[k])],
                f"{prices[positive[k]]:g} vs median {typical:.2f} in {key.split(':', 1)[1]} (z={z:.1f})",
            )
    return flags


def _price_group(category: str | None, depth: int) -> str:
    # Depth 0 is the whole catalog: the last resort for a product whose category is too small.
    return f"{depth}:{(category_key(category, depth) if depth else 'the catalog') or '(none)'}"


def _duplicates(titles: list[str], ids: list[str], config: QualityConfig) -> Flags:
    flags = Flags()
    for group in identical_titles(titles):
        first = group.positions[0]
        for position in group.positions[1:]:
            flags.add("product.duplicate_title", [position], f"same title as product {ids[first]!r}")
    for near in near_duplicates(titles, config.near_duplicate_cosine):
        first = near.positions[0]
        for position in near.positions[1:]:
            flags.add(
                "product.near_duplicate",
                [position],
                f"near-duplicate of product {ids[first]!r} "
                f"(group of {len(near.positions)}, cosine ≥ {near.cosine})",
            )
    return flags


def _categories(frame: pl.DataFrame, config: QualityConfig) -> Flags:
    flags = Flags()
    categories = frame.get_column("category").to_list()
    if sum(category is not None for category in categories) < 2 * config.category_min_group:
        return flags
    texts = [
        f"{title} {title} {(description or '')[:300]}"  # the title twice: it names the product
        for title, description in zip(
            frame.get_column("title").to_list(), frame.get_column("description").to_list(), strict=True
        )
    ]
    vectors = _text_vectors(texts, config)
    for found in mislabelled(
        vectors,
        categories,
        depth=config.category_depth,
        min_group=config.category_min_group,
        margin=config.category_margin,
        min_similarity=config.category_min_similarity,
    ):
        flags.add(
            "product.category_mismatch",
            [found.position],
            f"reads like {found.suggested!r} ({found.suggested_similarity}) rather than "
            f"{found.label!r} ({found.own_similarity})",
        )
    return flags


def _text_vectors(texts: list[str], config: QualityConfig) -> sp.csr_matrix:
    if config.text_encoder == "minilm":
        return encode_minilm(texts)
    return tfidf([words(text) for text in texts], min_df=2, max_df_share=0.8)


def catalog_warnings(
    frame: pl.DataFrame, flags: Flags, rows_read: int, quarantined: int, config: QualityConfig
) -> list[DatasetWarning]:
    """The catalog's dataset warnings: nothing accepted, too much quarantined, too many duplicates, low
    field coverage, too few products for semantic search."""
    warnings: list[DatasetWarning] = []
    accepted = frame.height
    if accepted == 0:
        warnings.append(DatasetWarning("catalog.no_products", "no product was accepted", 0.0, 1.0))
        return warnings
    share = quarantined / rows_read if rows_read else 0.0
    if share > config.max_quarantine_share:
        warnings.append(
            DatasetWarning(
                "catalog.quarantine_share",
                f"{share:.0%} of product rows were quarantined (at most {config.max_quarantine_share:.0%})",
                share,
                config.max_quarantine_share,
            )
        )
    duplicated = len(
        set(flags.by_check.get("product.duplicate_title", {}))
        | set(flags.by_check.get("product.near_duplicate", {}))
    )
    if duplicated / accepted > config.max_duplicate_share:
        warnings.append(
            DatasetWarning(
                "catalog.duplicate_share",
                f"{duplicated / accepted:.0%} of products duplicate another's title",
                duplicated / accepted,
                config.max_duplicate_share,
            )
        )
    coverage = coverage_shares(frame)
    low = {name: value for name, value in coverage.items() if value < config.min_coverage}
    if low:
        listed = ", ".join(f"{name} {value:.0%}" for name, value in low.items())
        warnings.append(
            DatasetWarning(
                "catalog.coverage",
                f"few products have: {listed} (at least {config.min_coverage:.0%} wanted)",
                min(low.values()),
                config.min_coverage,
                {"coverage": coverage},
            )
        )
    if accepted < config.min_products_semantic:
        warnings.append(
            DatasetWarning(
                "catalog.too_few_products",
                f"{accepted} products; semantic search wants at least {config.min_products_semantic}",
                float(accepted),
                float(config.min_products_semantic),
            )
        )
    return warnings


def coverage_shares(frame: pl.DataFrame) -> dict[str, float]:
    """The share of products that have each optional field (attributes: at least one), to 4 places."""
    if frame.height == 0:
        return dict.fromkeys(COVERAGE_FIELDS, 0.0)
    shares: dict[str, float] = {}
    for name in COVERAGE_FIELDS:
        column = frame.get_column(name)
        present = (column > 0).sum() if name == "attributes" else column.is_not_null().sum()
        shares[name] = round(float(present) / frame.height, 4)
    return shares
