"""Audiences measured over time: build each product's audience from the history before a cut and check
it against the users who bought the product after it.

Protocol, stated once:
- The models train on the history only. Candidates are the named users with item history.
- Evaluated products: up to `products` drawn (seeded) from those bought after the cut by at least
  `min_buyers` candidates who had not bought them in the `exclude_buyers_days` before the cut; those who
  had are left out of that product's ranking, as the engine leaves them out.
- For each product every remaining candidate is ranked; precision and recall of the top `size` against
  the users who bought it after the cut, and AUC (the chance that a buyer outranks a non-buyer, ties
  counted half). Figures are means over the products.
- Peers: the user's activity alone (popularity of user: most item events first), and last category (users
  whose latest item shares the product's category first, then by activity); with a transformer, the
  co-occurrence part alone too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict
from scipy.stats import rankdata

from shelfwise.audiences.audience import SCORING_BATCH, next_action_shares, recent_buyers, user_histories
from shelfwise.domain import Event, EventType, Product
from shelfwise.io.demo import DemoShop
from shelfwise.recommend.blend import share_rows
from shelfwise.recommend.kinds import RecommendationConfig, RecommendationModels
from shelfwise.recommend.sequential import EpochProgress


class AudienceMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)
    precision: float
    recall: float
    auc: float


class AudienceRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    metrics: AudienceMetrics


class AudienceEvaluation(BaseModel):
    protocol: str
    candidates: int
    products: int
    mean_buyers: float  # buyers after the cut per evaluated product
    size: int
    rows: list[AudienceRow]


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half; nan without both classes."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate_audiences(
    products: Sequence[Product],
    history: pl.DataFrame,
    future: pl.DataFrame,
    *,
    config: RecommendationConfig | None = None,
    item_text_embeddings: np.ndarray | None = None,
    size: int = 100,
    n_products: int = 50,
    min_buyers: int = 5,
    exclude_buyers_days: float = 30.0,
    seed: int = 0,
    progress: EpochProgress | None = None,
) -> AudienceEvaluation:
    """`history` and `future` are event frames (user_id, session_id, event_type, product_id, timestamp);
    a purchase in `future` makes its user a buyer of its product."""
    models = RecommendationModels(config).fit(products, history, item_text_embeddings, progress=progress)
    users = user_histories(history, models.items, models.config.recent_history)
    index = {user: row for row, user in enumerate(users.user_ids)}
    cut = history.get_column("timestamp").max()
    if not isinstance(cut, datetime):
        raise ValueError("the history has no timestamps")
    buyers = (
        future.filter(
            (pl.col("event_type") == EventType.PURCHASE.value)
            & pl.col("user_id").is_in(list(users.user_ids))
            & pl.col("product_id").is_in(list(models.items.ids))
        )
        .group_by("product_id")
        .agg(pl.col("user_id").unique())
    )
    positives: dict[str, np.ndarray] = {}
    allowed: dict[str, np.ndarray] = {}
    for product_id, buyer_ids in buyers.iter_rows():
        excluded = recent_buyers(history, [product_id], cut - timedelta(days=exclude_buyers_days))
        keep = np.ones(len(users.user_ids), dtype=bool)
        keep[[index[u] for u in excluded if u in index]] = False
        positive = np.zeros(len(users.user_ids), dtype=bool)
        positive[[index[u] for u in buyer_ids]] = True
        positive &= keep
        if positive.sum() >= min_buyers:
            positives[product_id], allowed[product_id] = positive, keep
    if not positives:
        raise ValueError(f"no product was bought after the cut by {min_buyers} or more users with history")
    chosen = sorted(positives)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(chosen, size=min(n_products, len(chosen)), replace=False).tolist())
    columns = np.array([models.items.index[p] for p in chosen], dtype=np.int64)
    scorers: list[tuple[str, Callable[[Sequence[np.ndarray]], np.ndarray]]] = [
        (f"for-you share ({_scorer_name(models)})", lambda h: next_action_shares(models, h)[:, columns])
    ]
    if models.sequential is not None:
        scorers.append(
            ("co-occurrence share", lambda h: share_rows(models.cooccurrence.score_batch(h))[:, columns])
        )
    scores = {name: _batched(scorer, users.histories, len(columns)) for name, scorer in scorers}
    activity = users.activity.astype(np.float64)
    scores["popularity of user"] = np.repeat(activity[:, None], len(columns), axis=1)
    categories = [product.category or "" for product in models.catalog.products]
    last = np.array([categories[int(h[-1])] for h in users.histories], dtype=object)
    tie_break = activity / (activity.max() + 1)
    scores["last category"] = np.column_stack(
        [(last == categories[int(c)]).astype(np.float64) + tie_break for c in columns]
    )
    rows = [
        AudienceRow(name=name, metrics=_metrics(matrix, chosen, positives, allowed, size))
        for name, matrix in scores.items()
    ]
    mean_buyers = float(np.mean([positives[p].sum() for p in chosen]))
    return AudienceEvaluation(
        protocol=(
            f"models trained on the history before the cut; {len(chosen)} products bought afterwards by "
            f">= {min_buyers} of the {len(users.user_ids)} users with history (seed {seed}); each product's "
            f"buyers of the {exclude_buyers_days:g} days before the cut left out; precision and recall of "
            f"the top {size} and AUC against its buyers after the cut, means over products"
        ),
        candidates=len(users.user_ids),
        products=len(chosen),
        mean_buyers=mean_buyers,
        size=size,
        rows=rows,
    )


def _scorer_name(models: RecommendationModels) -> str:
    return models.sequential.kind if models.sequential is not None else models.cooccurrence.kind


def _batched(
    scorer: Callable[[Sequence[np.ndarray]], np.ndarray], histories: list[np.ndarray], width: int
) -> np.ndarray:
    result = np.zeros((len(histories), width), dtype=np.float64)
    for start in range(0, len(histories), SCORING_BATCH):
        chunk = histories[start : start + SCORING_BATCH]
        result[start : start + len(chunk)] = scorer(chunk)
    return result


def _metrics(
    scores: np.ndarray,
    products: list[str],
    positives: dict[str, np.ndarray],
    allowed: dict[str, np.ndarray],
    size: int,
) -> AudienceMetrics:
    precisions, recalls, aucs = [], [], []
    for column, product_id in enumerate(products):
        keep = allowed[product_id]
        column_scores, positive = scores[keep, column], positives[product_id][keep]
        top = np.argsort(-column_scores, kind="stable")[:size]
        hits = int(positive[top].sum())
        precisions.append(hits / len(top))
        recalls.append(hits / int(positive.sum()))
        aucs.append(auc(column_scores, positive))
    return AudienceMetrics(
        precision=float(np.mean(precisions)), recall=float(np.mean(recalls)), auc=float(np.nanmean(aucs))
    )


Split = tuple[list[Product], pl.DataFrame, pl.DataFrame]  # products, history, future
EVENT_SCHEMA: dict[str, Any] = {
    "user_id": pl.Utf8,
    "session_id": pl.Utf8,
    "event_type": pl.Utf8,
    "product_id": pl.Utf8,
    "timestamp": pl.Datetime("us"),
}


def event_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Event rows as the store's frame holds them (naive UTC timestamps), oldest first."""
    return pl.DataFrame(
        [{name: row.get(name) for name in EVENT_SCHEMA} for row in rows], schema=EVENT_SCHEMA
    ).sort("timestamp", maintain_order=True)


def demo_shop_split(shop: DemoShop, held_out_days: float) -> Split:
    """The generated shop's products, its events before the cut, and those after it."""
    events = [Event.model_validate({k: v for k, v in row.items() if v is not None}) for row in shop.events]
    rows = [
        {**event.model_dump(), "timestamp": event.timestamp.astimezone(UTC).replace(tzinfo=None)}
        for event in events
    ]
    frame = event_frame(rows)
    cut = frame.get_column("timestamp").max() - timedelta(days=held_out_days)  # type: ignore[operator]
    products = [Product.model_validate(row) for row in shop.products]
    return products, frame.filter(pl.col("timestamp") < cut), frame.filter(pl.col("timestamp") >= cut)


def beauty_split(interactions: pl.DataFrame, items: pl.DataFrame) -> Split:
    """Amazon Beauty (a review is taken as a purchase; positions, not times): every user's last review is
    the future, the rest the history. An item's category is its set of anonymised S3-Rec attributes (the
    data's categories and brand), so "last category" means the same kind of product of the same brand."""
    products = [
        Product(product_id=item, title=title or item, category=attributes or None)
        for item, title, attributes in items.select("item_id", "title", "s3rec_attribute_ids").iter_rows()
    ]
    epoch = datetime(2020, 1, 1)
    frame = interactions.sort(["user_id", "position"]).with_columns(
        pl.lit(EventType.PURCHASE.value).alias("event_type"),
        pl.col("item_id").alias("product_id"),
        pl.lit(None, dtype=pl.Utf8).alias("session_id"),
        (pl.lit(epoch) + pl.duration(seconds=pl.col("position"))).alias("timestamp"),
        (pl.col("position") == pl.col("position").max().over("user_id")).alias("last"),
    )
    columns = list(EVENT_SCHEMA)
    return (
        products,
        frame.filter(~pl.col("last")).select(columns).cast(EVENT_SCHEMA),  # type: ignore[arg-type]
        frame.filter(pl.col("last")).select(columns).cast(EVENT_SCHEMA),  # type: ignore[arg-type]
    )
