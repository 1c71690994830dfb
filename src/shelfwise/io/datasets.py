"""Public data sets for benchmarks and tests, read from a shared folder that is never part of the repository.

The folder is given by the caller (the settings' `shared_data`, which $SHELFWISE_DATA sets: this module reads
no environment), else `../shared/data` next to the repository. Each loader returns polars DataFrames with ids
as text, whatever their spelling in the source files.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

HOMEDEPOT = "homedepot-search"
AMAZON_BEAUTY = "amazon-beauty"
MOVIELENS_100K = "movielens-100k"
CHINESE_ECOMMERCE = "chinese-ecommerce-text"


class DatasetMissing(FileNotFoundError):
    """A data set (or one of its files) is not where shelfwise looks for it."""


def repository_root(start: Path | None = None) -> Path | None:
    """The nearest folder above `start` (default: this file) holding pyproject.toml, or None."""
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def shared_data_dir(configured: Path | None = None) -> Path:
    """`configured` (pass `Settings().shared_data`), else `<repository root>/../shared/data`, else
    `./../shared/data`."""
    if configured is not None:
        return configured.expanduser()
    root = repository_root()
    base = root if root is not None else Path.cwd()
    return (base / ".." / "shared" / "data").resolve()


def require_dataset(name: str, *files: str, root: Path | None = None) -> Path:
    """The folder of data set `name` under `root` (see `shared_data_dir`), checked to hold `files`;
    DatasetMissing says where it looked."""
    folder = shared_data_dir(root) / name
    if not folder.is_dir():
        raise DatasetMissing(
            f"data set {name!r} not found at {folder}; set SHELFWISE_DATA (the settings' shared_data) "
            f"to the folder that holds {name}/"
        )
    for file in files:
        if not (folder / file).is_file():
            raise DatasetMissing(f"data set {name!r} at {folder} has no {file}")
    return folder


def load_homedepot(root: Path | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(products: product_id, title), (qrels: query, product_id, gain in 0..2) of Home Depot search."""
    folder = require_dataset(HOMEDEPOT, "products.csv", "qrels.csv", root=root)
    products = pl.read_csv(folder / "products.csv", schema_overrides={"product_id": pl.Utf8})
    qrels = pl.read_csv(
        folder / "qrels.csv", schema_overrides={"query": pl.Utf8, "product_id": pl.Utf8, "gain": pl.Float64}
    )
    return products.select("product_id", "title"), qrels.select("query", "product_id", "gain")


def load_amazon_beauty(root: Path | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(interactions: user_id, item_id, position), (items: item_id, asin, title, s3rec_attribute_ids).

    `position` is each user's chronological order (the source has no timestamps)."""
    folder = require_dataset(AMAZON_BEAUTY, "interactions.csv", "items.csv", root=root)
    interactions = pl.read_csv(
        folder / "interactions.csv",
        schema_overrides={"user_id": pl.Utf8, "item_id": pl.Utf8, "position": pl.Int64},
    )
    items = pl.read_csv(
        folder / "items.csv",
        schema_overrides={
            "item_id": pl.Utf8,
            "asin": pl.Utf8,
            "title": pl.Utf8,
            "s3rec_attribute_ids": pl.Utf8,
        },
    )
    return interactions, items


def load_movielens_100k(root: Path | None = None) -> pl.DataFrame:
    """Interactions: user_id, item_id (text), rating (float), timestamp (epoch seconds, int64)."""
    folder = require_dataset(MOVIELENS_100K, "ml-100k.inter", root=root)
    frame = read_recbole_atomic(folder / "ml-100k.inter")
    return frame.select(
        pl.col("user_id").cast(pl.Utf8),
        pl.col("item_id").cast(pl.Utf8),
        pl.col("rating").cast(pl.Float64),
        pl.col("timestamp").cast(pl.Float64).cast(pl.Int64),
    )


def read_recbole_atomic(path: Path) -> pl.DataFrame:
    """A RecBole atomic file: tab-separated, headers typed as `name:type`; the `:type` suffixes are dropped.

    Every column is read as text first, so ids keep leading zeros; callers cast what they need."""
    frame = pl.read_csv(path, separator="\t", infer_schema=False, quote_char=None)
    return frame.rename({name: name.split(":", 1)[0] for name in frame.columns})


def load_chinese_product_titles(root: Path | None = None) -> pl.DataFrame:
    """The 4,987 Chinese product titles of the e-commerce NER data (Ding et al., ACL 2019), with the words
    annotated in each: product_id (`train-0`, `dev-0`, ...), title, products and brands (lists of text).

    Product words are the head products the title sells (HC tags), brands its brand names (HP tags)."""
    folder = require_dataset(
        CHINESE_ECOMMERCE, *(f"ner/{split}_texts.tsv" for split in ("train", "dev", "test")), root=root
    )
    rows: list[dict[str, object]] = []
    for split in ("train", "dev", "test"):
        frame = pl.read_csv(
            folder / "ner" / f"{split}_texts.tsv", separator="\t", infer_schema=False, quote_char=None
        )
        for index, (title, tags) in enumerate(frame.select("text", "char_tags").iter_rows()):
            spans = tagged_spans(title, tags.split(" "))
            rows.append(
                {
                    "product_id": f"{split}-{index}",
                    "title": title,
                    "products": spans.get("HC", []),
                    "brands": spans.get("HP", []),
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "product_id": pl.Utf8,
            "title": pl.Utf8,
            "products": pl.List(pl.Utf8),
            "brands": pl.List(pl.Utf8),
        },
    )


def tagged_spans(text: str, tags: list[str]) -> dict[str, list[str]]:
    """BIOES character tags (`B-HC`, `I-HC`, `E-HC`, `S-HP`, `O`) -> the tagged strings by type, in order,
    without surrounding spaces. A span that never reaches its `E-` tag is dropped, as are blank ones (the
    source tags a few spaces)."""
    if len(tags) != len(text):
        raise ValueError(f"{len(tags)} tags for {len(text)} characters in {text!r}")
    spans: dict[str, list[str]] = {}
    start: int | None = None
    for position, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        span = None
        if prefix == "S":
            span, start = text[position], None
        elif prefix == "B":
            start = position
        elif prefix == "E" and start is not None:
            span, start = text[start : position + 1], None
        elif prefix != "I":
            start = None
        if span is not None and span.strip():
            spans.setdefault(kind, []).append(span.strip())
    return spans
