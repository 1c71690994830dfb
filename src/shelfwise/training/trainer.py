"""Training: read the store, fit every component, write one versioned bundle, make it current."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.answers.index import AnswerConfig, AnswerIndex
from shelfwise.customer_segments.segments import CustomerSegments, CustomerSegmentsConfig
from shelfwise.domain.answers import QAPair
from shelfwise.domain.errors import InvalidRequestError
from shelfwise.images.component import ProductImages, fit_product_images
from shelfwise.images.config import ImageConfig
from shelfwise.io.components import ComponentFormatError
from shelfwise.quality.assessment import StoreAssessment, assess_store
from shelfwise.quality.checks.images import image_checks
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.tiers import TierVerdict, blocked, refusal_message
from shelfwise.recommend.kinds import ITEM_EVENTS, RecommendationConfig, RecommendationModels
from shelfwise.search.config import SearchConfig
from shelfwise.search.learning import fit_search
from shelfwise.search.pipeline import SearchPipeline
from shelfwise.store import Store
from shelfwise.training.artifacts import ArtifactRegistry, DataWindow, Manifest
from shelfwise.training.finetune import FinetuneConfig, adapt_search_encoder, prune_encoders

SEARCH_DIR = "search"
RECOMMEND_DIR = "recommend"
ANSWERS_DIR = "answers"  # present when the shop has imported question-answer pairs
IMAGES_DIR = "images"
SEGMENTS_DIR = "segments"  # customer segments; absent from versions trained before they existed
ENCODERS_DIR = "encoders"  # fine-tuned encoders, under the data directory, kept while a version serves them


class TrainingConfig(BaseModel):
    """What `train` fits: the search pipeline, the recommendation models, and optionally a fine-tuned
    search encoder. The `training` branch of the settings tree."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    search: SearchConfig = Field(default_factory=SearchConfig)
    recommend: RecommendationConfig = Field(default_factory=RecommendationConfig)
    answers: AnswerConfig = Field(default_factory=AnswerConfig)
    images: ImageConfig = Field(
        default_factory=ImageConfig,
        description="Product images: encoded when any product has one and the `images` extra is installed.",
    )
    segments: CustomerSegmentsConfig = Field(default_factory=CustomerSegmentsConfig)
    finetune_encoder: FinetuneConfig | None = Field(
        default=None,
        description="Fine-tune the search encoder on the shop's search outcomes before indexing "
        "(`shelfwise train --finetune-encoder`); off by default, see bench/search_finetune.py.",
    )


class TrainingBlockedError(InvalidRequestError):
    """Training refused because blocking quality checks failed; `verdicts` says which."""

    def __init__(self, verdicts: Sequence[TierVerdict]) -> None:
        super().__init__(refusal_message(verdicts))
        self.verdicts = list(verdicts)


def train_bundle(
    store: Store,
    registry: ArtifactRegistry,
    config: TrainingConfig,
    *,
    force: bool = False,
    quality: QualityConfig | None = None,
    report_path: Path | None = None,
    embedding_cache: Path | None = None,
    answers: Sequence[QAPair] = (),
) -> Manifest:
    """Fit and commit a version. The quality gate runs first over what is stored: blocking checks refuse
    training unless `force`; bot traffic, duplicate and unjoinable events are left out of the fit.
    `embedding_cache` keeps product embeddings by text across versions (None: no cache)."""
    products = store.products()
    if not products:
        raise InvalidRequestError(
            "no products to train on: ingest a catalog first (shelfwise ingest products FILE)"
        )
    events = store.events_frame()
    started = time.perf_counter()
    images = fit_product_images(products, config.images, embedding_cache)
    image_seconds = time.perf_counter() - started
    started = time.perf_counter()
    quarantined = {source: store.count_quarantined(source) for source in ("products", "events")}
    image_flags = image_checks(products, images, quality or QualityConfig()) if images is not None else None
    assessment = assess_store(
        products,
        events,
        quarantined,
        quality,
        unjoined=store.count_unjoined_events(),
        image_flags=image_flags,
    )
    if report_path is not None:
        assessment.report.save(report_path)
    if blocked(assessment.report.tiers) and not force:
        raise TrainingBlockedError(assessment.report.tiers)
    events = events.filter(pl.Series(~assessment.excluded_events))
    quality_seconds = time.perf_counter() - started
    version = registry.new_version_id()
    # Written into a locked staging folder and renamed into place whole (see ArtifactRegistry).
    with registry.staging(version) as staging:
        timings: dict[str, float] = {"quality_gate_seconds": quality_seconds}
        if images is not None:
            images.save(staging / IMAGES_DIR)
            timings["images_fit_seconds"] = image_seconds

        search_config, finetuned = config.search, None
        if config.finetune_encoder is not None:
            started = time.perf_counter()
            search_config, finetuned = adapt_search_encoder(
                products, events, config.search, config.finetune_encoder, registry.root.parent / ENCODERS_DIR
            )
            timings["encoder_finetune_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        search = fit_search(products, events, search_config, embedding_cache)
        search.save(staging / SEARCH_DIR)
        timings["search_fit_seconds"] = time.perf_counter() - started

        started = time.perf_counter()
        recommend_config = config.recommend
        # The search encoder's product vectors (catalog order) give the transformer's items their text.
        text = (
            search.vectors.vectors
            if search.vectors is not None and len(search.vectors) == len(products)
            else None
        )
        recommender = RecommendationModels(recommend_config).fit(products, events, item_text_embeddings=text)
        recommender.save(staging / RECOMMEND_DIR)
        timings["recommend_fit_seconds"] = time.perf_counter() - started
        timings["sequential_trained"] = float(recommender.sequential is not None)

        if config.segments.enabled:
            started = time.perf_counter()
            previous = registry.current_version()
            segments = CustomerSegments(config.segments).fit(
                events,
                products,
                user_vectors=user_vectors(recommender, events),
                previous=load_segments(registry, previous) if previous is not None else None,
            )
            segments.save(staging / SEGMENTS_DIR)
            timings["segments_fit_seconds"] = time.perf_counter() - started

        if answers:
            started = time.perf_counter()
            answer_index = AnswerIndex(config.answers).use_cache(embedding_cache).fit(answers)
            answer_index.save(staging / ANSWERS_DIR)
            timings["answers_fit_seconds"] = time.perf_counter() - started

        timestamps = events.get_column("timestamp")
        manifest = Manifest(
            version=version,
            created_at=datetime.now(UTC),
            data=DataWindow(
                products=len(products),
                events=len(events),
                users=store.count_users(),
                first_event=timestamps.min() if len(events) else None,
                last_event=timestamps.max() if len(events) else None,
            ),
            components={
                SEARCH_DIR: {
                    **search_config.model_dump(mode="json"),
                    "fitted": search.components,
                    "encoder_finetune": finetuned.model_dump(mode="json") if finetuned else None,
                },
                RECOMMEND_DIR: recommend_config.model_dump(mode="json"),
                SEGMENTS_DIR: config.segments.model_dump(mode="json"),
                **(
                    {ANSWERS_DIR: {"pairs": len(answers), "ranker": answer_index.ranker is not None}}
                    if answers
                    else {}
                ),
            },
            metrics={key: round(value, 3) for key, value in timings.items()},
            forced=force and blocked(assessment.report.tiers),
            notes=_quality_notes(assessment, force),
        )
        if images is not None:
            manifest.components[IMAGES_DIR] = images.summary()
        manifest.components["quality"] = {
            "tiers": {verdict.tier: verdict.status for verdict in assessment.report.tiers},
            "excluded_events": assessment.excluded_counts,
            "warnings": [warning.check for warning in assessment.report.warnings],
        }
        registry.commit(staging, manifest)
    prune_encoders(registry.root.parent / ENCODERS_DIR, _served_encoders(registry))
    return manifest


def _served_encoders(registry: ArtifactRegistry) -> set[str]:
    models = (registry.manifest(v).components.get(SEARCH_DIR, {}) for v in registry.versions())
    return {str(search.get("encoder", {}).get("model", "")) for search in models}


def _quality_notes(assessment: StoreAssessment, force: bool) -> list[str]:
    notes = []
    tiers = assessment.report.tiers
    if force and blocked(tiers):
        failed = [f"{t.tier}: {', '.join(t.blocking_checks)}" for t in tiers if t.status == "blocked"]
        notes.append("forced over blocking quality checks — " + "; ".join(failed))
    for verdict in tiers:
        notes.append(f"tier {verdict.tier}: {verdict.status} ({verdict.message})")
    dropped = {name: count for name, count in assessment.excluded_counts.items() if count}
    if dropped:
        notes.append("events left out of training: " + ", ".join(f"{k} {v}" for k, v in dropped.items()))
    return notes


def load_bundle(
    registry: ArtifactRegistry, version: str
) -> tuple[SearchPipeline, RecommendationModels, Manifest]:
    root = registry.path(version)
    return (
        SearchPipeline.load(root / SEARCH_DIR),
        RecommendationModels.load(root / RECOMMEND_DIR).attach_images(load_images(registry, version)),
        registry.manifest(version),
    )


def load_images(registry: ArtifactRegistry, version: str) -> ProductImages | None:
    """The image vectors a version was trained with, or None when it encoded no images."""
    root = registry.path(version) / IMAGES_DIR
    return ProductImages.load(root) if root.is_dir() else None


def load_segments(registry: ArtifactRegistry, version: str) -> CustomerSegments | None:
    """The customer segments of a version; None for one trained before segments existed, or unreadable."""
    path = registry.path(version) / SEGMENTS_DIR
    if not path.is_dir():
        return None
    try:
        return CustomerSegments.load(path)
    except (ComponentFormatError, OSError, ValueError, KeyError):
        return None


def user_vectors(
    recommender: RecommendationModels, events: pl.DataFrame
) -> tuple[list[str], np.ndarray] | None:
    """What the sequential transformer makes of each known user's history (None when none was trained)."""
    if recommender.sequential is None:
        return None
    frame = events.filter(
        pl.col("user_id").is_not_null() & pl.col("event_type").is_in(ITEM_EVENTS)
    ).with_columns(
        item=pl.col("product_id").replace_strict(recommender.items.index, default=None, return_dtype=pl.Int64)
    )
    histories = (
        frame.drop_nulls("item").sort("timestamp").group_by("user_id", maintain_order=True).agg("item")
    )
    if not histories.height:
        return None
    users = histories.get_column("user_id").to_list()
    sequences = [np.asarray(items, dtype=np.int64) for items in histories.get_column("item").to_list()]
    transformer = recommender.sequential.sequential
    vectors = np.concatenate(
        [transformer.user_vectors(sequences[i : i + 512]) for i in range(0, len(sequences), 512)]
    )
    return users, vectors
