"""Image, text and both side by side on a product-image data set laid out like Fashion Product Images
(`styles.csv` with id, masterCategory, subCategory, articleType, productDisplayName, and `images/ID.jpg`).

- **Category accuracy**: leave-one-out 1-nearest-neighbour by cosine. Each product takes the label of its
  nearest other product, at each category level; the share that is right. `text` is the engine's
  sentence encoder on productDisplayName, `image` the image encoder, `both` the two unit vectors
  concatenated and scaled by 1/sqrt(2) (so its cosine is the mean of the two cosines).
- **Duplicates**: a seeded sample of pictures gets near-copies (a crop, a shrink, a heavy recompression,
  in turn) added as new products; the quality gate's duplicate finder runs over everything. Recall: the
  copies grouped with their original; false-positive rate: the original products grouped with any
  product but their own copy.
- **Mislabelled categories**: a seeded sample of products is given the category (`master > sub >
  article`) of a product from another subcategory; the gate's image-vs-category check runs. Precision and
  recall of its flags against the swapped products.
- **Throughput**: pictures encoded per second by the image encoder (decoded beforehand, no cache).
"""

from __future__ import annotations

import io
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain import Product
from shelfwise.images.component import ProductImages
from shelfwise.images.config import ImageConfig
from shelfwise.images.encoder import ImageEncoder, decode
from shelfwise.images.sources import ImageProblem
from shelfwise.quality.checks.images import duplicate_groups, image_checks
from shelfwise.quality.config import QualityConfig
from shelfwise.text.encoder import TextEncoder

LEVELS = ("masterCategory", "subCategory", "articleType")
TITLE = "productDisplayName"
PROTOCOL = (
    "leave-one-out 1-nearest-neighbour (cosine) category accuracy per level; both = concatenated unit "
    "vectors / sqrt(2); duplicates: seeded near-copies (crop 10%, shrink to 60%, JPEG quality 30, in turn) "
    "found by the quality gate's image duplicate finder; mislabelled: seeded category swaps across "
    "subcategories flagged by the gate's image-vs-category check"
)
Status = Callable[[str], None]
CHANGES = ("crop", "shrink", "recompress")  # the near-copies, in turn


class ImageEvalConfig(BaseModel):
    """What the evaluation samples: how many products, near-copies and swaps, and its seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int | None = Field(default=None, ge=10, description="Evaluate the first N products only.")
    duplicates: int = Field(default=100, ge=1, description="Pictures given a near-copy.")
    swaps: int = Field(default=50, ge=1, description="Products given another subcategory's category.")
    throughput_images: int = Field(default=64, ge=1, description="Pictures timed for images per second.")
    seed: int = 0


class EvalRow(BaseModel):
    name: str
    metrics: dict[str, float]


class DuplicateFigures(BaseModel):
    recall: float
    recall_by_change: dict[str, float]
    false_positive_rate: float
    copies: int
    originals: int


class MislabelFigures(BaseModel):
    precision: float
    recall: float
    swapped: int
    flagged: int


class ImageEvaluation(BaseModel):
    """The figures `shelfwise evaluate images --json` prints."""

    data: str
    products: int
    protocol: str = PROTOCOL
    rows: list[EvalRow]
    duplicates: DuplicateFigures
    mislabelled: MislabelFigures
    throughput: dict[str, float]
    majority: dict[str, float] = Field(description="Accuracy of always answering the commonest label.")


def read_catalog(data_dir: Path, limit: int | None = None) -> pl.DataFrame:
    """styles.csv rows whose image exists, with `image` (its absolute path) and the category path."""
    styles = data_dir / "styles.csv"
    if not styles.is_file():
        raise FileNotFoundError(f"{styles} does not exist: the data folder needs styles.csv and images/")
    frame = pl.read_csv(styles, infer_schema_length=0)  # every column as text: ids stay as written
    missing = [column for column in ("id", *LEVELS, TITLE) if column not in frame.columns]
    if missing:
        raise ValueError(f"{styles} lacks the column(s) {', '.join(missing)}")
    images = data_dir / "images"
    frame = frame.with_columns(
        pl.col("id").map_elements(lambda i: str(images / f"{i}.jpg"), return_dtype=pl.Utf8).alias("image"),
        pl.col(TITLE).fill_null(""),
    ).filter(pl.col("image").map_elements(lambda p: Path(p).is_file(), return_dtype=pl.Boolean))
    return frame.head(limit) if limit is not None else frame


def products_of(frame: pl.DataFrame) -> list[Product]:
    return [
        Product(
            product_id=row["id"],
            title=row[TITLE] or row["id"],
            category=" > ".join(row[level] or "?" for level in LEVELS),
            image_url=row["image"],
        )
        for row in frame.iter_rows(named=True)
    ]


def knn_accuracy(vectors: np.ndarray, labels: Sequence[str]) -> float:
    """Leave-one-out 1-NN accuracy of `labels` under cosine (rows are unit vectors)."""
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    truth = np.asarray(labels)
    return round(float(np.mean(truth[nearest] == truth)), 4)


def majority(labels: Sequence[str]) -> float:
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return round(float(counts.max() / len(labels)), 4)


def evaluate_images(
    data_dir: Path,
    config: ImageEvalConfig,
    *,
    image_config: ImageConfig | None = None,
    quality: QualityConfig | None = None,
    cache_dir: Path | None = None,
    status: Status = lambda _: None,
) -> ImageEvaluation:
    image_config = image_config or ImageConfig()
    quality = quality or QualityConfig()
    frame = read_catalog(data_dir, config.limit)
    products = products_of(frame)
    status(f"encoding {len(products):,} pictures (cached under {cache_dir})")
    images = ProductImages(image_config).fit(products, cache_dir)
    keep = [images.row(p.product_id) is not None for p in products]
    frame = frame.filter(pl.Series(keep))
    products = [p for p, kept in zip(products, keep, strict=True) if kept]
    image_vectors, _ = images.vectors_of([p.product_id for p in products])
    status(f"encoding {len(products):,} titles")
    text_vectors = TextEncoder(cache_dir=cache_dir).encode(frame.get_column(TITLE).to_list())
    both = np.hstack([text_vectors, image_vectors]) / math.sqrt(2)
    labels = {level: frame.get_column(level).fill_null("?").to_list() for level in LEVELS}
    rows = [
        EvalRow(name=name, metrics={level: knn_accuracy(vectors, labels[level]) for level in LEVELS})
        for name, vectors in (("text", text_vectors), ("image", image_vectors), ("both", both))
    ]
    rng = np.random.default_rng(config.seed)
    status(f"making {config.duplicates} near-copies")
    duplicates = _duplicates(products, images, image_config, quality, config, rng, cache_dir)
    status(f"swapping {config.swaps} categories")
    mislabelled = _mislabelled(products, images, frame, quality, config, rng)
    status(f"timing the encoder on {config.throughput_images} pictures")
    return ImageEvaluation(
        data=str(data_dir),
        products=len(products),
        rows=rows,
        duplicates=duplicates,
        mislabelled=mislabelled,
        throughput=_throughput(products[: config.throughput_images], image_config),
        majority={level: majority(labels[level]) for level in LEVELS},
    )


def near_copy(data: bytes, variant: int) -> bytes:
    """One of three re-uploads of a picture (`CHANGES[variant % 3]`): cropped by 10% a side, shrunk to
    60%, or saved at JPEG quality 30."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    out = io.BytesIO()
    if CHANGES[variant % 3] == "crop":
        dx, dy = width // 10, height // 10
        image.crop((dx, dy, width - dx, height - dy)).save(out, "JPEG", quality=90)
    elif CHANGES[variant % 3] == "shrink":
        image.resize((width * 3 // 5, height * 3 // 5)).save(out, "JPEG", quality=90)
    else:
        image.save(out, "JPEG", quality=30)
    return out.getvalue()


def _duplicates(
    products: list[Product],
    images: ProductImages,
    image_config: ImageConfig,
    quality: QualityConfig,
    config: ImageEvalConfig,
    rng: np.random.Generator,
    cache_dir: Path | None,
) -> DuplicateFigures:
    sources = sorted(rng.choice(len(products), min(config.duplicates, len(products)), replace=False).tolist())
    with tempfile.TemporaryDirectory(prefix="shelfwise-copies-") as scratch:
        copies = []
        for k, source in enumerate(sources):
            path = Path(scratch) / f"copy-{k}.jpg"
            path.write_bytes(near_copy(Path(str(products[source].image_url)).read_bytes(), k))
            copies.append(Product(product_id=f"copy-{k}", title="copy", image_url=str(path)))
        copied = ProductImages(image_config).fit(copies, cache_dir)
    n = len(products)
    ids = [p.product_id for p in products]
    vectors = np.vstack([images.vectors_of(ids)[0], copied.vectors_of([c.product_id for c in copies])[0]])
    hashes = np.concatenate([images.hashes_of(ids), copied.hashes_of([c.product_id for c in copies])])
    groups, _ = duplicate_groups(vectors, hashes, quality)
    group_of = {row: g for g, group in enumerate(groups) for row in group}
    copy_row = {n + k: source for k, source in enumerate(sources)}
    found = [row in group_of and group_of[row] == group_of.get(source) for row, source in copy_row.items()]
    own_copy = {source: row for row, source in copy_row.items()}
    false = 0
    for row in range(n):
        if row in group_of:
            others = set(groups[group_of[row]]) - {row, own_copy.get(row)}
            false += bool(others - set(copy_row) or any(copy_row[o] != row for o in others & set(copy_row)))
    return DuplicateFigures(
        recall=round(sum(found) / len(sources), 4),
        recall_by_change={
            change: round(float(np.mean(found[variant::3])), 4)
            for variant, change in enumerate(CHANGES)
            if found[variant::3]
        },
        false_positive_rate=round(false / n, 4),
        copies=len(sources),
        originals=n,
    )


def _mislabelled(
    products: list[Product],
    images: ProductImages,
    frame: pl.DataFrame,
    quality: QualityConfig,
    config: ImageEvalConfig,
    rng: np.random.Generator,
) -> MislabelFigures:
    subcategories = frame.get_column("subCategory").fill_null("?").to_list()
    swapped: set[int] = set()
    relabelled = list(products)
    for position in rng.permutation(len(products)).tolist():
        if len(swapped) == config.swaps:
            break
        donors = [i for i in range(len(products)) if subcategories[i] != subcategories[position]]
        donor = donors[int(rng.integers(len(donors)))]
        relabelled[position] = products[position].model_copy(update={"category": products[donor].category})
        swapped.add(position)
    flags = image_checks(relabelled, images, quality)
    flagged = set(flags.by_check.get("product.image_category_mismatch", {}))
    hits = len(flagged & swapped)
    return MislabelFigures(
        precision=round(hits / len(flagged), 4) if flagged else 0.0,
        recall=round(hits / len(swapped), 4) if swapped else 0.0,
        swapped=len(swapped),
        flagged=len(flagged),
    )


def _throughput(products: Sequence[Product], config: ImageConfig) -> dict[str, float]:
    pictures = [decode(Path(str(p.image_url)).read_bytes(), config) for p in products]
    usable = [picture for picture in pictures if not isinstance(picture, ImageProblem)]
    encoder = ImageEncoder(config)
    encoder.encode(usable[:1])  # the first call builds the session
    started = time.perf_counter()
    encoder.encode(usable)
    seconds = time.perf_counter() - started
    return {
        "images_per_second": round(len(usable) / seconds, 2) if seconds else 0.0,
        "images": float(len(usable)),
        "threads": float(encoder.threads),
        "batch_size": float(config.batch_size),
    }
