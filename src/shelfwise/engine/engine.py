"""The engine: composes the store, the online state, the quality gate, the trained bundle and the
search and recommendation pipelines. Surfaces (HTTP, CLI, Python) call this and nothing below it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, overload

from shelfwise.domain import (
    Event,
    Filters,
    Product,
    RecommendationKind,
    Recommendations,
    SearchResult,
)
from shelfwise.engine.errors import InvalidRequestError, NotFoundError, NotTrainedError
from shelfwise.io.readers import RawRow
from shelfwise.quality.quarantine import GateResult, IngestReport, gate_events, gate_file, gate_products
from shelfwise.recommend.kinds import RecommendationModels, RecommendRequest
from shelfwise.search.pipeline import SearchPipeline
from shelfwise.settings import Settings
from shelfwise.store import OnlineState, Store, open_online_state
from shelfwise.training.artifacts import ArtifactRegistry, Manifest
from shelfwise.training.trainer import TrainingConfig, load_bundle, train_bundle

MAX_RECOMMENDATIONS = 200
API_SOURCE = "<api>"

Rows = str | Path | Iterable[Mapping[str, Any]]


class Engine:
    """Open with `Engine.open(path_or_url)`; every method is safe to call from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store.open(settings.store_url)
        self.online: OnlineState = open_online_state(settings.online_url, settings.recent_events_per_user)
        self.registry = ArtifactRegistry(settings.artifacts_dir, keep=settings.artifacts_to_keep)
        self._lock = threading.RLock()
        self._search: SearchPipeline | None = None
        self._search_stale = True
        self._recommender: RecommendationModels | None = None
        self._manifest: Manifest | None = None
        self._load_current()

    @classmethod
    def open(cls, location: str | Path | None = None, settings: Settings | None = None) -> Engine:
        """A data directory (SQLite store inside it) or a database URL; None uses the settings alone."""
        settings = settings or Settings()
        if location is not None:
            text = str(location)
            if "://" in text:
                settings = settings.with_overrides(database_url=text)
            else:
                settings = settings.with_overrides(data_dir=Path(text))
        return cls(settings)

    def close(self) -> None:
        self.store.close()

    # ingestion ------------------------------------------------------------------------------------

    def ingest_products(self, source: Rows) -> IngestReport:
        """Upsert products by product_id; rows that fail the gate are quarantined with their reasons."""
        result = _gate(source, "products")
        self.store.upsert_products(result.accepted)
        self.store.add_quarantined(result.quarantined)
        with self._lock:
            self._search_stale = True
        return result.report()

    def ingest_events(self, source: Rows) -> IngestReport:
        """Append events; rows that fail the gate are quarantined with their reasons."""
        result = _gate(source, "events")
        self.store.add_events(result.accepted)
        self.store.add_quarantined(result.quarantined)
        for event in result.accepted:
            self.online.push(event.actor, event)
        return result.report()

    def record(self, event: Event) -> Event:
        """One real-time event: stored, and visible to the very next request of its user or session."""
        self.store.add_events([event])
        self.online.push(event.actor, event)
        return event

    def upsert_product(self, product: Product) -> Product:
        self.store.upsert_products([product])
        with self._lock:
            self._search_stale = True
        return product

    def delete_product(self, product_id: str) -> None:
        if not self.store.delete_product(product_id):
            raise NotFoundError(f"no product with product_id {product_id!r}")
        with self._lock:
            self._search_stale = True

    def get_product(self, product_id: str) -> Product:
        product = self.store.get_product(product_id)
        if product is None:
            raise NotFoundError(f"no product with product_id {product_id!r}")
        return product

    def forget_user(self, user_id: str) -> int:
        """Delete a user everywhere this engine keeps them: store and online state."""
        removed = self.store.forget_user(user_id)
        self.online.forget(f"user:{user_id}")
        return removed

    # training -------------------------------------------------------------------------------------

    def train(self, config: TrainingConfig | None = None) -> Manifest:
        config = config or TrainingConfig(trending_half_life_days=self.settings.trending_half_life_days)
        manifest = train_bundle(self.store, self.registry, config)
        self._load_current()
        return manifest

    def activate(self, version: str) -> Manifest:
        self.registry.activate(version)
        self._load_current()
        assert self._manifest is not None
        return self._manifest

    @property
    def manifest(self) -> Manifest | None:
        return self._manifest

    def _load_current(self) -> None:
        version = self.registry.current_version()
        if version is None:
            return
        search, recommender, manifest = load_bundle(self.registry, version)
        with self._lock:
            # Products changed since training are picked up by a rebuild on the next search.
            self._search, self._recommender, self._manifest = search, recommender, manifest
            changed = self.store.last_product_change()
            self._search_stale = changed is not None and changed > manifest.created_at.replace(tzinfo=None)

    # serving --------------------------------------------------------------------------------------

    def search_pipeline(self) -> SearchPipeline:
        with self._lock:
            if self._search is None or self._search_stale:
                config = self._search.config if self._search is not None else None
                self._search = SearchPipeline(config).fit(self.store.products())
                self._search_stale = False
            return self._search

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        filters: Filters | None = None,
        page: int = 1,
        page_size: int = 10,
    ) -> SearchResult:
        del (
            user_id
        )  # personalisation arrives with the AI search work; accepted now so callers need not change
        try:
            return self.search_pipeline().search(
                query, filters=filters, page=page, page_size=page_size, request_id=_request_id()
            )
        except ValueError as error:
            raise InvalidRequestError(str(error)) from error

    def history(self, *, user_id: str | None = None, session_id: str | None = None) -> list[Event]:
        """The actor's latest events, oldest first, from the online state (seeded from the store once)."""
        if user_id is None and session_id is None:
            return []
        actor = f"user:{user_id}" if user_id else f"session:{session_id}"
        limit = self.settings.recent_events_per_user
        events = self.online.recent(actor, limit)
        if events is None:
            events = self.store.history(user_id=user_id, session_id=session_id, limit=limit)
            self.online.seed(actor, events)
        return events

    def recommend(
        self,
        kind: RecommendationKind | str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        product_id: str | None = None,
        n: int = 10,
        filters: Filters | None = None,
    ) -> Recommendations:
        try:
            kind = RecommendationKind(kind)
        except ValueError as error:
            known = ", ".join(k.value for k in RecommendationKind)
            raise InvalidRequestError(
                f"unknown recommendation kind {kind!r}; expected one of {known}"
            ) from error
        if not 1 <= n <= MAX_RECOMMENDATIONS:
            raise InvalidRequestError(f"n must be between 1 and {MAX_RECOMMENDATIONS}, got {n}")
        if kind in (RecommendationKind.SIMILAR, RecommendationKind.BOUGHT_TOGETHER):
            if not product_id:
                raise InvalidRequestError(f"{kind.value} needs a product_id")
            self.get_product(product_id)
        recommender = self._recommender
        if recommender is None:
            raise NotTrainedError("no trained model yet: run `shelfwise train` (or POST /v1/train) first")
        search = self.search_pipeline()
        request = RecommendRequest(
            kind=kind,
            history=self.history(user_id=user_id, session_id=session_id),
            product_id=product_id,
            n=n,
            filters=filters,
        )
        items = recommender.recommend(request, resolve=search.product, text_neighbours=self._text_neighbours)
        return Recommendations(
            kind=kind, user_id=user_id, product_id=product_id, items=items, request_id=_request_id()
        )

    def _text_neighbours(self, product_id: str, n: int) -> list[tuple[str, float]]:
        """Products whose text matches this one's title: the fallback for items with no events yet."""
        search = self.search_pipeline()
        product = search.product(product_id)
        if product is None:
            return []
        result = search.search(product.title, page_size=min(n + 1, search.config.max_page_size))
        return [
            (hit.product.product_id, hit.score) for hit in result.hits if hit.product.product_id != product_id
        ]

    def stats(self) -> dict[str, Any]:
        return {
            "products": self.store.count_products(),
            "events": self.store.count_events(),
            "users": self.store.count_users(),
            "quarantined": self.store.count_quarantined(),
            "model_version": self._manifest.version if self._manifest else None,
        }


def _request_id() -> str:
    return uuid.uuid4().hex


@overload
def _gate(source: Rows, kind: Literal["products"]) -> GateResult[Product]: ...
@overload
def _gate(source: Rows, kind: Literal["events"]) -> GateResult[Event]: ...
def _gate(source: Rows, kind: Literal["products", "events"]) -> GateResult[Any]:
    if isinstance(source, str | Path):
        return gate_file(Path(source), kind)
    rows = [RawRow(line=i, data=dict(row), error=None) for i, row in enumerate(source, start=1)]
    if kind == "events":
        # An event sent live without a timestamp happened now; files must say when theirs happened.
        now = datetime.now(UTC).isoformat()
        for row in rows:
            if row.data is not None and not row.data.get("timestamp"):
                row.data["timestamp"] = now
    if kind == "products":
        products, quarantined = gate_products(rows, API_SOURCE)
        return GateResult(kind, API_SOURCE, products, quarantined, len(rows))
    events, quarantined = gate_events(rows, API_SOURCE)
    return GateResult(kind, API_SOURCE, events, quarantined, len(rows))
