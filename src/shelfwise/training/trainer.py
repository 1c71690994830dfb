"""Training: read the store, fit every component, write one versioned bundle, make it current."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from shelfwise.engine.errors import InvalidRequestError
from shelfwise.recommend.kinds import RecommendationConfig, RecommendationModels
from shelfwise.search.pipeline import SearchConfig, SearchPipeline
from shelfwise.store import Store
from shelfwise.training.artifacts import ArtifactRegistry, DataWindow, Manifest

SEARCH_DIR = "search"
RECOMMEND_DIR = "recommend"


class TrainingConfig(BaseModel):
    search: SearchConfig = Field(default_factory=SearchConfig)
    recommend: RecommendationConfig = Field(default_factory=RecommendationConfig)
    trending_half_life_days: float | None = Field(
        default=None, gt=0, description="Overrides recommend.trending.half_life_days when set."
    )

    def recommendation_config(self) -> RecommendationConfig:
        if self.trending_half_life_days is None:
            return self.recommend
        trending = self.recommend.trending.model_copy(update={"half_life_days": self.trending_half_life_days})
        return self.recommend.model_copy(update={"trending": trending})


def train_bundle(store: Store, registry: ArtifactRegistry, config: TrainingConfig) -> Manifest:
    products = store.products()
    if not products:
        raise InvalidRequestError(
            "no products to train on: ingest a catalog first (shelfwise ingest products FILE)"
        )
    events = store.events_frame()
    version = registry.new_version_id()
    staging = registry.staging(version)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    search = SearchPipeline(config.search).fit(products)
    search.save(staging / SEARCH_DIR)
    timings["search_fit_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    recommend_config = config.recommendation_config()
    RecommendationModels(recommend_config).fit(products, events).save(staging / RECOMMEND_DIR)
    timings["recommend_fit_seconds"] = time.perf_counter() - started

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
            SEARCH_DIR: config.search.model_dump(mode="json"),
            RECOMMEND_DIR: recommend_config.model_dump(mode="json"),
        },
        metrics={key: round(value, 3) for key, value in timings.items()},
    )
    registry.commit(staging, manifest)
    return manifest


def load_bundle(
    registry: ArtifactRegistry, version: str
) -> tuple[SearchPipeline, RecommendationModels, Manifest]:
    root = registry.path(version)
    return (
        SearchPipeline.load(root / SEARCH_DIR),
        RecommendationModels.load(root / RECOMMEND_DIR),
        registry.manifest(version),
    )
