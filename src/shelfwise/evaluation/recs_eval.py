"""Recommenders side by side under leave-one-out with full ranking (see `protocols`).

Every model is fitted on the same training split and ranked over the same item set. Where several
candidate configurations are given for a model, the one with the best validation NDCG@10 is reported on
test: test targets never choose anything. By default the model tested is the one fitted on the training
split (as SASRec and S3-Rec do); `refit_for_test` refits it on everything but the test targets first, which
raises every model's figures by roughly a tenth on Amazon Beauty.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.evaluation.protocols import (
    LeaveOneOutMetrics,
    LeaveOneOutSplit,
    evaluate_split,
    leave_one_out,
)
from shelfwise.evaluation.segments import SegmentMetrics, segment_masks
from shelfwise.recommend.als import ALS
from shelfwise.recommend.base import ItemScorer, rank_targets
from shelfwise.recommend.blend import SequentialBlend
from shelfwise.recommend.cooccurrence import CoOccurrence
from shelfwise.recommend.interactions import Interactions, Vocabulary
from shelfwise.recommend.itemknn import ItemKNN
from shelfwise.recommend.kinds import RecommendationConfig, sequential_trainable
from shelfwise.recommend.popularity import Popularity
from shelfwise.recommend.sequential import EpochProgress, SequentialRecommender

ORDER_COLUMNS = ("position", "timestamp")
PROTOCOL = (
    "leave-one-out (last item test, previous validation), full ranking over all items, "
    "history items excluded except the target, pessimistic ties"
)

ModelCandidates = ItemScorer | Sequence[ItemScorer]


class RecsDatasetStats(BaseModel):
    users: int
    items: int
    interactions: int
    evaluated_users: int
    items_without_interactions: int = Field(description="Catalog items nobody interacted with; still ranked.")
    dropped_interactions: int = Field(description="Rows whose item is not in the items frame.")
    order: str


class RecsModelResult(BaseModel):
    name: str
    model: str
    config: dict[str, Any]
    hr_at_10: float
    ndcg_at_10: float
    mrr: float | None
    valid_hr_at_10: float
    valid_ndcg_at_10: float
    candidates: int = Field(description="Configurations compared on validation; the best is reported.")
    refit_for_test: bool = False
    fit_seconds: float
    eval_seconds: float
    segments: list[SegmentMetrics] = Field(
        default_factory=list, description="Test figures on long-tail targets and short histories."
    )
    tuning: dict[str, float] = Field(
        default_factory=dict,
        description="What the model weighed on validation: for the blend, the NDCG@10 of each share and "
        "temperature, and the re-ranker against the mix on validation cases it did not train on.",
    )
    reranked: bool | None = Field(default=None, description="Whether the blend kept its learned re-ranker.")


class RecsEvaluation(BaseModel):
    model_config = ConfigDict(frozen=True)

    protocol: str = PROTOCOL
    dataset: RecsDatasetStats
    rows: list[RecsModelResult]

    def row(self, name: str) -> RecsModelResult:
        for result in self.rows:
            if result.name == name:
                return result
        raise KeyError(f"no model named {name!r}; evaluated: {[r.name for r in self.rows]}")


def default_models(
    train: Interactions | None = None,
    config: RecommendationConfig | None = None,
    item_text_embeddings: np.ndarray | None = None,
    *,
    sequential: bool | None = None,
    progress: EpochProgress | None = None,
) -> dict[str, ModelCandidates]:
    """The engine's "for you" recommender as the "default" row, next to its parts and the baselines.

    As in the engine (`RecommendationModels.fit`), the default is the transformer blended with
    co-occurrence when `train` meets the engine's minimums for the transformer, and co-occurrence alone
    otherwise. `sequential=False` skips the transformer (minutes on real data): the default row would then
    not be what the engine serves, so the co-occurrence row keeps its own name and there is no "default".
    The blend reuses the two fitted models listed before it, so the transformer trains once; `progress`
    hears of its epochs.
    """
    config = config if config is not None else RecommendationConfig()
    baselines: dict[str, ModelCandidates] = {"popularity": Popularity(), "item-knn": ItemKNN(), "als": ALS()}
    cooccurrence = CoOccurrence(config.cooccurrence)
    if sequential is False:
        return {"co-occurrence": cooccurrence, **baselines}
    if sequential is None and (train is None or not sequential_trainable(config, train)):
        return {"default": cooccurrence, **baselines}
    transformer = SequentialRecommender(
        config.sequential, item_text_embeddings=item_text_embeddings, progress=progress
    )
    # In evaluation the protocol's validation targets always tune the blend, however few.
    blend_config = config.blend.model_copy(update={"min_validation_cases": 1})
    blend = SequentialBlend(transformer, cooccurrence, blend_config, fit_components=False)
    return {"sasrec": transformer, "co-occurrence": cooccurrence, "default": blend, **baselines}


def _require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks column(s) {missing}; it has {frame.columns}")
    for column in columns:
        nulls = frame.get_column(column).null_count()
        if nulls:
            raise ValueError(f"{what} frame has {nulls} null value(s) in column {column!r}")


def _order_column(frame: pl.DataFrame, order: str | None) -> str:
    if order is not None:
        return order
    for candidate in ORDER_COLUMNS:
        if candidate in frame.columns:
            return candidate
    raise ValueError(
        f"interactions need an order column, one of {ORDER_COLUMNS}; columns are {frame.columns}"
    )


def _config_of(scorer: ItemScorer) -> dict[str, Any]:
    config = getattr(scorer, "config", None)
    return config.model_dump(mode="json") if isinstance(config, BaseModel) else {}


def _fit_and_validate(
    scorer: ItemScorer, split: LeaveOneOutSplit, batch: int
) -> tuple[LeaveOneOutMetrics, float, float]:
    started = time.perf_counter()
    if getattr(scorer, "accepts_validation", False):
        # Early stopping and blend weights read the validation targets; test targets choose nothing.
        scorer.fit(split.train, validation=(split.valid_histories, split.valid_targets))  # type: ignore[call-arg]
    else:
        scorer.fit(split.train)
    fitted = time.perf_counter()
    valid = evaluate_split(scorer, split, on="valid", batch=batch)
    return valid, fitted - started, time.perf_counter() - fitted


def evaluate_model(
    name: str,
    candidates: ModelCandidates,
    split: LeaveOneOutSplit,
    *,
    refit_for_test: bool = False,
    batch: int = 1024,
) -> RecsModelResult:
    """Fits each candidate on the training split, keeps the best on validation, reports it on test."""
    options = [candidates] if isinstance(candidates, ItemScorer) else list(candidates)
    if not options:
        raise ValueError(f"model {name!r} has no candidate configurations")
    if len({id(scorer) for scorer in options}) != len(options):
        raise ValueError(
            f"model {name!r} lists one scorer object twice; give each candidate its own instance"
        )
    tried = [(scorer, *_fit_and_validate(scorer, split, batch)) for scorer in options]
    # Ties keep the earlier candidate, so listing the default first favours it.
    best, valid, fit_seconds, valid_seconds = max(tried, key=lambda t: t[1].ndcg_at_10)
    if refit_for_test:
        refit_started = time.perf_counter()
        best.fit(split.train_with_valid)
        fit_seconds += time.perf_counter() - refit_started
    started = time.perf_counter()
    ranks = rank_targets(best, split.test_histories, split.test_targets, batch=batch)
    test = LeaveOneOutMetrics.from_ranks(ranks)
    segments = [
        SegmentMetrics(segment=segment, metrics=LeaveOneOutMetrics.from_ranks(ranks[mask]))
        for segment, mask in segment_masks(split).items()
        if segment != "all"
    ]
    return RecsModelResult(
        name=name,
        model=best.name,
        config=_config_of(best),
        hr_at_10=test.hr_at_10,
        ndcg_at_10=test.ndcg_at_10,
        mrr=test.mrr,
        valid_hr_at_10=valid.hr_at_10,
        valid_ndcg_at_10=valid.ndcg_at_10,
        candidates=len(options),
        refit_for_test=refit_for_test,
        fit_seconds=round(fit_seconds, 3),
        eval_seconds=round(valid_seconds + time.perf_counter() - started, 3),
        segments=segments,
        tuning={str(k): float(v) for k, v in getattr(best, "validation_ndcg", {}).items()},
        reranked=getattr(best, "reranker", None) is not None if hasattr(best, "reranker") else None,
    )


def build_interactions(
    interactions: pl.DataFrame, items: pl.DataFrame | None, *, user: str, item: str, order: str
) -> tuple[Interactions, int]:
    """Interactions over the items frame's vocabulary (or the items seen), and how many rows fell out."""
    _require_columns(interactions, [user, item, order], "interactions")
    vocabulary = None
    if items is not None:
        _require_columns(items, [item], "items")
        vocabulary = Vocabulary.of(items.get_column(item).cast(pl.Utf8).to_list())
    data = Interactions.from_frame(interactions, user=user, item=item, time=order, items=vocabulary)
    return data, len(interactions) - len(data)


def item_texts(items: pl.DataFrame, *, item: str = "item_id", text: str = "title") -> list[str] | None:
    """Each catalog item's text in the evaluation's item order (first row of a repeated id), or None
    when the items frame has no `text` column."""
    if text not in items.columns:
        return None
    unique = items.unique(subset=[item], keep="first", maintain_order=True)
    return unique.get_column(text).cast(pl.Utf8).fill_null("").to_list()


def evaluate_recs(
    interactions: pl.DataFrame,
    items: pl.DataFrame | None = None,
    *,
    user: str = "user_id",
    item: str = "item_id",
    order: str | None = None,
    models: Mapping[str, ModelCandidates] | None = None,
    refit_for_test: bool = False,
    batch: int = 1024,
    config: RecommendationConfig | None = None,
    item_text_embeddings: np.ndarray | None = None,
    sequential: bool | None = None,
    progress: EpochProgress | None = None,
) -> RecsEvaluation:
    """HR@10, NDCG@10 and MRR on test (and validation) for each model, ranked over every item.

    `order` is the column giving each user's chronology: "position" or "timestamp" when not given.
    `items`, when given, is the full catalog: items nobody interacted with are still ranked.
    `models` maps a row name to a scorer, or to candidate scorers tuned on validation.
    `refit_for_test` refits the chosen model on training + validation interactions before testing.
    Without `models`, `default_models` of the training split, `config`, `item_text_embeddings` (one row per
    item of the vocabulary: the items frame's order when given) and `sequential` are evaluated, with
    `progress` told of the transformer's epochs.
    """
    order_column = _order_column(interactions, order)
    data, dropped = build_interactions(interactions, items, user=user, item=item, order=order_column)
    split = leave_one_out(data)
    if len(split) == 0:
        raise ValueError("no user has the 3 interactions leave-one-out needs; nothing to evaluate")
    if models is None:
        models = default_models(
            split.train, config, item_text_embeddings, sequential=sequential, progress=progress
        )
    rows = [
        evaluate_model(name, candidates, split, refit_for_test=refit_for_test, batch=batch)
        for name, candidates in models.items()
    ]
    # The default is listed first, whatever order its parts had to be fitted in.
    rows.sort(key=lambda row: row.name != "default")
    stats = RecsDatasetStats(
        users=data.n_users,
        items=data.n_items,
        interactions=len(data),
        evaluated_users=len(split),
        items_without_interactions=data.n_items - len(np.unique(data.item_idx)),
        dropped_interactions=dropped,
        order=order_column,
    )
    return RecsEvaluation(dataset=stats, rows=rows)
