"""The engine: composes the store, the online state, the quality gate, the trained bundle and the
search and recommendation pipelines. Surfaces (HTTP, CLI, Python) call this and nothing below it."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from shelfwise.audiences.audience import rank_audience
from shelfwise.audiences.targets import check_limits, resolve_target
from shelfwise.customer_segments.segments import CustomerSegments, Segment
from shelfwise.domain import (
    Event,
    Explanation,
    Filters,
    IngestReport,
    InvalidRequestError,
    NotFoundError,
    NotTrainedError,
    Product,
    QuarantinedRow,
    Reason,
    Recommendation,
    RecommendationKind,
    Recommendations,
    RetryResult,
    SearchResult,
)
from shelfwise.domain.audiences import Audience, AudienceMember
from shelfwise.domain.deletion import DeletionRecord, subject_digest
from shelfwise.domain.events import actor_key
from shelfwise.domain.ingest import Source
from shelfwise.domain.values import require_offset, require_text
from shelfwise.engine import forgetting, quarantine
from shelfwise.engine.access import KeyRing
from shelfwise.engine.answers import AnswerService
from shelfwise.engine.experiments import ExperimentService
from shelfwise.io.components import ComponentFormatError
from shelfwise.io.readers import RawRow
from shelfwise.quality import bounds
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.gate import (
    GatedFile,
    gate_event_file,
    gate_events,
    gate_live_event,
    gate_product_file,
    gate_products,
)
from shelfwise.quality.report import REPORT_FILE, QualityReport
from shelfwise.recommend.kinds import RecommendationModels, RecommendRequest
from shelfwise.search.personal import build_profile
from shelfwise.search.pipeline import SearchPipeline
from shelfwise.search.rules import Rule, RuleStore
from shelfwise.search.synonyms import SynonymError, SynonymSet, SynonymStore
from shelfwise.settings import Settings
from shelfwise.store import OnlineState, Store, StoredEvents, open_online_state
from shelfwise.store.answers import AnswerBook
from shelfwise.text import onnx_backend
from shelfwise.training.artifacts import ArtifactRegistry, Manifest
from shelfwise.training.trainer import TrainingConfig, load_bundle, load_segments, train_bundle

MAX_RECOMMENDATIONS = 200
MAX_SUGGESTIONS = 20
API_SOURCE = "<api>"

Rows = str | Path | Iterable[Mapping[str, Any]]

logger = logging.getLogger(__name__)

PRODUCT_KINDS = (  # the kinds asked about one product
    RecommendationKind.SIMILAR,
    RecommendationKind.SIMILAR_LOOKING,
    RecommendationKind.BOUGHT_TOGETHER,
)


class Engine:
    """Open with `Engine.open(path_or_url)`; every method is safe to call from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        onnx_backend.use_cache_root(settings.onnx_cache_dir)
        self.store = Store.open(settings.store_url)
        self.keys = KeyRing(settings, self.store.engine)
        self.online: OnlineState = open_online_state(settings.online_url, settings.recent_events_per_user)
        self.registry = ArtifactRegistry(settings.artifacts_dir, keep=settings.artifacts_to_keep)
        self._lock = threading.RLock()
        self._models_lock = threading.RLock()  # a training and a user deletion's model pass, one at a time
        self._retrain = forgetting.BackgroundRetrain(
            self.train, lambda error: forgetting.retrain_failed(self, error)
        )
        self.rules = RuleStore(settings.data_dir)
        self.synonyms = SynonymStore(settings.data_dir)
        self.answers = AnswerService(
            AnswerBook(self.store.engine), settings.embedding_cache_dir, settings.quality.limits
        )
        self.experiments = ExperimentService(self.store)
        self._search: SearchPipeline | None = None
        self._search_stale = True
        self._catalog_ids: set[str] | None = None
        self._recommender: RecommendationModels | None = None
        self._segments: CustomerSegments | None = None
        self._manifest: Manifest | None = None
        self._load_error: str | None = None
        self._load_current()
        if self.store.deletions.pending():
            self._retrain.request()  # a process stopped before the retrain a deletion started

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
        """Release the store's and the online state's connections, after a retrain for a user deletion has
        finished; the engine is not used afterwards."""
        self.wait_for_deletions()
        self.store.close()
        self.online.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ingestion ------------------------------------------------------------------------------------

    def ingest_products(self, source: Rows, *, from_request: bool = False) -> IngestReport:
        """Upsert products by product_id after the quality gate: safe repairs are applied and recorded,
        rows that fail are quarantined with every reason. The ingest limits apply (`from_request`: those
        of one HTTP request too); see shelfwise.quality.bounds."""
        return self._ingest(_gate_products(source, self.quality_config, from_request), from_request)

    def ingest_events(self, source: Rows, *, from_request: bool = False) -> IngestReport:
        """Append events after the quality gate, each once: events already stored (the same event_id, or
        the same event: a retried batch, a re-run import) are counted as duplicates and not stored again.
        Events dated in the future or before the shop opened are quarantined; events naming products not
        in the catalog are stored unjoined, out of training and of the real-time features until their
        product arrives; bot traffic and repeats are stored but kept out of training (training re-runs
        those checks over everything stored). Limits as for `ingest_products`; a single event is gated
        against its actor's recent events (`gate_live_event`)."""
        gated = _gate_events(source, self.quality_config, self.catalog_ids(), self._earlier, from_request)
        return self._ingest(gated, from_request)

    def _ingest(self, result: GatedFile, from_request: bool) -> IngestReport:
        bounds.refuse_mostly_unreadable(result, self.quality_config.limits)
        written = self.store_gated(result)
        report = self._quarantine(result, from_request).report(result.ingest_report())
        return _with_writes(report, written)

    def _quarantine(self, result: GatedFile, from_request: bool) -> bounds.QuarantineShare:
        """Keep what the quarantine has room for of the rows `result` quarantined."""
        if not result.quarantined:
            return bounds.QuarantineShare([])
        stored = self.store.count_quarantined(result.quarantined[0].source)
        share = bounds.share_quarantine(
            result.quarantined, stored, self.quality_config.limits, from_request=from_request
        )
        self.store.add_quarantined(share.kept)
        return share

    def store_gated(self, result: GatedFile) -> StoredEvents | None:
        """Store the rows a gate pass let through (accepted, repaired, excluded) and make them visible:
        products to the next search (joining the events that waited for them), events to the next request
        of their user or session; what was written, for events."""
        if result.kind == "products":
            self.store.upsert_products(result.stored)
            self._catalog_changed()
            self._join_waiting([product.product_id for product in result.stored])
            return None
        written = self.store.add_events(result.stored, self.catalog_ids())
        for event in written.joined:
            self.online.push(event.actor, event)
        return written

    def _join_waiting(self, product_ids: Sequence[str] | None) -> None:
        """Join stored events waiting for these products (None: any in the catalog); the online history of
        each actor concerned is dropped, to be read again from the store with them on the next request."""
        for actor in self.store.join_events(product_ids):
            self.online.forget(actor)

    def catalog_ids(self) -> set[str]:
        """Every product id, cached until the catalog changes: events are joined against it on each ingest."""
        with self._lock:
            if self._catalog_ids is None:
                self._catalog_ids = self.store.product_ids()
            return self._catalog_ids

    def _catalog_changed(self) -> None:
        with self._lock:
            self._search_stale = True
            self._catalog_ids = None

    @property
    def quality_config(self) -> QualityConfig:
        """The checks and thresholds the quality gate runs with on ingestion, retries and training (the
        `quality` settings)."""
        return self.settings.quality

    def quality_report(self) -> QualityReport | None:
        """The latest quality report: of the last training run, or of `shelfwise quality check`."""
        path = self.settings.data_dir / REPORT_FILE
        return QualityReport.load(path) if path.exists() else None

    # quarantine -----------------------------------------------------------------------------------

    def quarantined(
        self,
        source: Source | None = None,
        *,
        ids: Sequence[int] | None = None,
        offset: int = 0,
        limit: int | None = 100,
    ) -> list[QuarantinedRow]:
        """Rows the quality gate quarantined, oldest first, each with its id and reasons (`ids`: those)."""
        require_offset(offset)
        return self.store.quarantined(source=source, ids=ids, offset=offset, limit=limit)

    def quarantined_row(self, entry_id: int) -> QuarantinedRow:
        """One quarantined row by its id; NotFoundError when there is none (it was released or never was)."""
        found = self.store.quarantined(ids=[entry_id])
        if not found:
            raise NotFoundError(f"no quarantined row with id {entry_id}")
        return found[0]

    def quarantine_reasons(
        self, source: Source | None = None
    ) -> dict[tuple[str, tuple[str, ...]], list[int]]:
        """The ids of the quarantined rows by their source and reasons, without the rows themselves."""
        return self.store.quarantine_reasons(source)

    def count_quarantined(self, source: Source | None = None) -> int:
        """How many rows are quarantined, of one source or of both."""
        return self.store.count_quarantined(source)

    def discard_quarantined(self, source: Source, ids: Sequence[int] | None = None) -> int:
        """Delete quarantined rows for good (those of `ids`, or every row of `source`), to make room
        under `quality.limits.max_quarantined_per_source`; returns how many were deleted."""
        return self.store.discard_quarantined(source, ids)

    def export_quarantine(self, path: Path, source: Source) -> int:
        """Write one source's quarantined rows (CSV or JSON lines by suffix) to fix and retry as a file."""
        return quarantine.export_rows(self.store, path, source)

    def retry_quarantined(self, source: Source, ids: Sequence[int] | None = None) -> RetryResult:
        """Retry quarantined rows as they are stored (after the quality settings changed, for example)."""
        found = self.store.quarantined(source=source, ids=ids, limit=None)
        items, not_retryable = quarantine.stored_items(found)
        released, still = self._retry(source, items, f"quarantine ({source})")
        return RetryResult(
            source=source,
            tried=len(found),
            released=released,
            still_quarantined=still,
            not_retryable=not_retryable,
        )

    def retry_quarantine_file(self, source: Source, path: Path) -> RetryResult:
        """Retry rows fixed in an exported file; rows without a `_quarantine_id` are simply ingested."""
        items, unreadable = quarantine.file_items(path)
        released, still = self._retry(source, items, str(path))
        return RetryResult(
            source=source,
            tried=len(items) + unreadable,
            released=released,
            still_quarantined=still,
            not_retryable=unreadable,
        )

    def _retry(self, source: Source, items: Sequence[quarantine.RetryItem], label: str) -> tuple[int, int]:
        def gate(rows: list[RawRow], file: str) -> GatedFile:
            """The gate of this source, joined against the catalog as it is now."""
            if source == "products":
                return gate_products(rows, file, self.quality_config)
            return gate_events(rows, file, self.quality_config, self.catalog_ids())

        max_raw = self.quality_config.limits.max_raw_chars
        return quarantine.retry(self.store, source, items, label, gate, self.store_gated, max_raw)

    # real-time events and single products ---------------------------------------------------------

    def record(self, event: Event) -> Event:
        """One real-time event through the same quality gate as `ingest_events` (and POST /v1/events):
        stored, and visible to the very next request of its user or session; sent again (a retry after a
        lost response, with the same event_id or timestamp) it is stored once. An event the gate
        quarantines (a timestamp in the future or before the shop opened) is kept in quarantine, as those
        are, and refused with InvalidRequestError naming every reason; one naming a product not in the
        catalog is stored unjoined, as with files. A lone event is checked against its actor's recent
        events (`gate_live_event`): a repeat is a duplicate, a cart after a view has its view; bot traffic
        shows only across many events and is left out of training by training."""
        result = _gate_events(
            [event.model_dump(mode="json")], self.quality_config, self.catalog_ids(), self._earlier, True
        )
        self.store_gated(result)
        if result.quarantined:
            self._quarantine(result, from_request=True)
            reasons = "; ".join(reason for row in result.quarantined for reason in row.reasons)
            raise InvalidRequestError(f"event refused by the quality gate: {reasons}")
        return result.stored[0]

    def _earlier(self, event: Event) -> list[Event]:
        """The recent events a live event is checked against: its actor's."""
        return self.history(user_id=event.user_id, session_id=event.session_id)

    def delete_product(self, product_id: str) -> None:
        """Remove a product from the catalog (its events stay); NotFoundError when there is none."""
        require_text("product_id", product_id)
        if not self.store.delete_product(product_id):
            raise NotFoundError(f"no product with product_id {product_id!r}")
        self._catalog_changed()

    def get_product(self, product_id: str) -> Product:
        """One product by product_id; NotFoundError when there is none."""
        require_text("product_id", product_id)
        product = self.store.get_product(product_id)
        if product is None:
            raise NotFoundError(f"no product with product_id {product_id!r}")
        return product

    def products(self, *, offset: int = 0, limit: int | None = None) -> list[Product]:
        """A page of the catalog in product_id order; `limit` None reads to the end."""
        require_offset(offset)
        return self.store.products(offset=offset, limit=limit)

    def count_products(self) -> int:
        """How many products the catalog holds."""
        return self.store.count_products()

    def count_events(self) -> int:
        """How many events are stored (quarantined rows not included)."""
        return self.store.count_events()

    def events_frame(self) -> pl.DataFrame:
        """Every stored event as a frame, oldest first: for analytics over the whole history."""
        return self.store.events_frame()

    def known_users(self, user_ids: Sequence[str]) -> set[str]:
        """Those of `user_ids` that have any stored event."""
        return self.store.known_users(user_ids)

    def most_active_users(self, n: int) -> list[tuple[str, int]]:
        """The `n` users with the most stored events, with their event counts, most active first."""
        return self.store.most_active_users(n)

    def forget_user(self, user_id: str) -> DeletionRecord:
        """Delete a user everywhere this engine keeps them (shelfwise.engine.forgetting): at once from the
        store, the online state, the quality report and every kept model version; a served version that
        only a retrain can clean is retrained in the background. Returns the deletion record."""
        require_text("user_id", user_id)
        with self._models_lock:
            record, retrain = forgetting.forget_user(self, user_id)
            self._load_current()  # the served version, as cleaned
        if retrain:
            self._retrain.request()
        return record

    def deletions(self, user_id: str) -> list[DeletionRecord]:
        """The records of this user's deletions, oldest first; NotFoundError when there is none."""
        found = self.store.deletions.of_subject(subject_digest(user_id))
        if not found:
            raise NotFoundError(f"no deletion of user {user_id!r} on record")
        return found

    def pending_deletions(self) -> list[DeletionRecord]:
        """Deletions whose served model awaits its retrain, oldest first."""
        return self.store.deletions.pending()

    def wait_for_deletions(self, timeout: float | None = None) -> None:
        """Until the background retrain for user deletions (if one runs) has finished."""
        self._retrain.wait(timeout)

    # training -------------------------------------------------------------------------------------

    def train(self, config: TrainingConfig | None = None, *, force: bool = False) -> Manifest:
        """Train a new version. The quality gate's tiers run first: when a blocking check fails this
        raises TrainingBlockedError naming each one, unless `force`, which the manifest records."""
        config = config or self.settings.training
        self._join_waiting(None)  # events whose product another process added join before training
        with self._models_lock:
            deleted = self.store.deletions.pending()  # users this training cannot see any more
            manifest = train_bundle(
                self.store,
                self.registry,
                config,
                force=force,
                quality=self.quality_config,
                report_path=self.settings.data_dir / REPORT_FILE,
                embedding_cache=self.settings.embedding_cache_dir,
                answers=self.answers.book.pairs(),
            )
            self._load_current()
            forgetting.finish_deletions(self, deleted, manifest.version)
        return manifest

    def activate(self, version: str) -> Manifest:
        """Serve a kept trained version (a roll back, or forward again); KeyError when it is not kept,
        NotTrainedError when it cannot be loaded (saved by an older shelfwise), the version served before
        staying current."""
        previous = self.registry.current_version()
        self.registry.activate(version)
        self._load_current()
        if self._manifest is None:
            refused = self._not_trained()
            if previous is not None and previous != version:
                self.registry.activate(previous)
                self._load_current()
            raise refused
        return self._manifest

    @property
    def manifest(self) -> Manifest | None:
        """The manifest of the version being served; None before the first training."""
        return self._manifest

    def current_version(self) -> str | None:
        """The version the artifact registry marks current (what the last `train` or `activate` chose)."""
        return self.registry.current_version()

    def model_versions(self) -> list[Manifest]:
        """The manifests of every kept trained version, newest first."""
        manifests = []
        for version in reversed(self.registry.versions()):
            try:
                manifests.append(self.registry.manifest(version))
            except (OSError, ValueError):
                continue  # a version being pruned as we list
        return manifests

    def _not_trained(self) -> NotTrainedError:
        return NotTrainedError(
            self._load_error or "no trained model yet: run `shelfwise train` (or POST /v1/train) first"
        )

    @property
    def load_error(self) -> str | None:
        """Why the current version could not be loaded (None when it was, or there is none)."""
        return self._load_error

    def _load_current(self) -> None:
        version = self.registry.current_version()
        if version is None:
            return
        try:
            search, recommender, manifest = load_bundle(self.registry, version)
        except ComponentFormatError as error:
            # A version another shelfwise saved: serve as if untrained (search over the catalog) and say
            # why recommendations are missing, rather than fail to start.
            message = f"model version {version} cannot be loaded: {error}; train a new version"
            logger.error(message)
            with self._lock:
                self._search, self._recommender, self._manifest = None, None, None
                self._search_stale, self._load_error, self._segments = True, message, None
            return
        segments = load_segments(self.registry, version)
        self.answers.load(self.registry.path(version))
        with self._lock:
            self._load_error, self._segments = None, segments
            # Products changed since training are picked up by a rebuild on the next search.
            self._search, self._recommender, self._manifest = search, recommender, manifest
            changed = self.store.last_product_change()
            self._search_stale = changed is not None and changed > manifest.created_at.replace(tzinfo=None)

    # serving --------------------------------------------------------------------------------------

    @property
    def recommendation_models(self) -> RecommendationModels:
        """The serving version's recommendation models; NotTrainedError before the first training."""
        recommender = self._recommender
        if recommender is None:
            raise self._not_trained()
        return recommender

    def search_pipeline(self) -> SearchPipeline:
        """The search pipeline being served, refitted over the catalog first when products changed since
        it was fitted (the trained ranker is kept: its features do not depend on the catalog)."""
        with self._lock:
            if self._search is None or self._search_stale:
                previous = self._search
                config = previous.config if previous is not None else None
                cache = self.settings.embedding_cache_dir
                self._search = SearchPipeline(config).fit(self.store.products(), embedding_cache=cache)
                if previous is not None:
                    self._search.attach_ranker(previous.ranker)  # its features do not depend on the catalog
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
        """One page of results for `query` (empty browses the filtered catalog), with facets and an
        explanation per hit; personalised by the user's history when `user_id` is given, and with the
        merchandising rules and synonyms in force. InvalidRequestError for a bad page or filter."""
        pipeline = self.search_pipeline()
        profile = None
        if user_id:
            history = self.history(user_id=user_id)
            recommender = self._recommender
            # The recommendation models' view of the history joins the category, brand and price shares
            # where it is weighted (off by default: see shelfwise.search.personal).
            weight = pipeline.config.personal_model_weight
            scores = recommender.history_affinity(history) if recommender is not None and weight > 0 else None
            profile = build_profile(
                user_id, history, pipeline.product, model_scores=scores, model_weight=weight
            )
        try:
            return pipeline.search(
                query,
                filters=filters,
                page=page,
                page_size=page_size,
                request_id=_request_id(),
                profile=profile,
                rules=self.rules.load(),
                synonyms=self.synonyms.load(),
            )
        except ValueError as error:
            raise InvalidRequestError(str(error)) from error

    def suggest(self, prefix: str, n: int = 8) -> list[str]:
        """Autocomplete: popular past queries, then product titles, starting with `prefix`."""
        if not 1 <= n <= MAX_SUGGESTIONS:
            raise InvalidRequestError(f"n must be between 1 and {MAX_SUGGESTIONS}, got {n}")
        return self.search_pipeline().suggest(prefix, n)

    def list_rules(self) -> list[Rule]:
        """The merchandising rules in force."""
        return self.rules.load().rules

    def add_rule(self, rule: Rule) -> Rule:
        """Add a rule, or replace the one with its rule_id; the next search applies it."""
        return self.rules.add(rule)

    def delete_rule(self, rule_id: str) -> None:
        """Remove a rule by rule_id; NotFoundError when there is none."""
        if not self.rules.delete(rule_id):
            raise NotFoundError(f"no merchandising rule with rule_id {rule_id!r}")

    def synonyms_text(self) -> str:
        """The synonyms file as the shop wrote it (see shelfwise.search.synonyms for the format)."""
        return self.synonyms.text()

    def set_synonyms(self, text: str) -> SynonymSet:
        """Replace the synonyms; a wrong line is refused with its number and nothing changes."""
        try:
            return self.synonyms.replace(text)
        except SynonymError as error:
            raise InvalidRequestError(str(error)) from error

    def history(self, *, user_id: str | None = None, session_id: str | None = None) -> list[Event]:
        """The actor's latest events, oldest first, from the online state (seeded from the store once)."""
        if user_id is None and session_id is None:
            return []
        require_text("user_id", user_id)
        require_text("session_id", session_id)
        actor = actor_key(user_id, session_id)
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
        segment: str | None = None,
    ) -> Recommendations:
        """`n` products of one kind for a user, a session or a product, filtered by `filters`, each with
        its reason; `segment` (trending only): what that customer segment's members engage with lately.
        InvalidRequestError for an unknown kind, a missing product_id or a segment with another kind,
        NotFoundError for an unknown product or segment, NotTrainedError before the first training."""
        for name, value in (("user_id", user_id), ("session_id", session_id), ("product_id", product_id)):
            require_text(name, value)
        try:
            kind = RecommendationKind(kind)
        except ValueError as error:
            known = ", ".join(k.value for k in RecommendationKind)
            raise InvalidRequestError(
                f"unknown recommendation kind {kind!r}; expected one of {known}"
            ) from error
        if not 1 <= n <= MAX_RECOMMENDATIONS:
            raise InvalidRequestError(f"n must be between 1 and {MAX_RECOMMENDATIONS}, got {n}")
        if kind in PRODUCT_KINDS:
            if not product_id:
                raise InvalidRequestError(f"{kind.value} needs a product_id")
            self.get_product(product_id)
        recommender = self._recommender
        if recommender is None:
            raise self._not_trained()
        if segment is not None:
            return self._segment_trending(kind, segment, n, filters or Filters())
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

    def _segment_trending(
        self, kind: RecommendationKind, segment_id: str, n: int, filters: Filters
    ) -> Recommendations:
        require_text("segment", segment_id)
        if kind is not RecommendationKind.TRENDING:
            raise InvalidRequestError(f"segment applies to trending only, not to {kind.value}")
        segments = self.customer_segments()
        self.segment(segment_id)  # NotFoundError for an unknown one
        search = self.search_pipeline()
        items = []
        products = (search.product(product_id) for product_id in segments.trending(segment_id))
        for rank, product in enumerate(p for p in products if p is not None and filters.matches(p)):
            if rank == n:
                break
            reason = Reason(signal="segment-trending", detail=f"popular lately with the segment {segment_id}")
            items.append(
                Recommendation(
                    product=product, score=1.0 / (rank + 1), explanation=Explanation(reasons=[reason])
                )
            )
        return Recommendations(
            kind=kind, user_id=None, product_id=None, items=items, request_id=_request_id()
        )

    # customer segments ----------------------------------------------------------------------------

    def customer_segments(self) -> CustomerSegments:
        """The served version's customer segments; NotTrainedError before a training that fitted them."""
        segments = self._segments
        if segments is None:
            if self._recommender is None:
                raise self._not_trained()
            raise NotTrainedError("the served model version has no customer segments: train a new version")
        return segments

    def segments(self) -> list[Segment]:
        """Every customer segment with its description and size (see shelfwise.customer_segments)."""
        return self.customer_segments().segments()

    def segment(self, segment_id: str) -> Segment:
        """One segment by id; NotFoundError when the served version has none of that id."""
        require_text("segment_id", segment_id)
        for found in self.segments():
            if found.segment_id == segment_id:
                return found
        raise NotFoundError(f"no customer segment {segment_id!r}")

    def segment_members(self, segment_id: str) -> set[str]:
        """The user ids in a segment (to stay within, for audiences and experiments); NotFoundError when
        there is no such segment."""
        self.segment(segment_id)
        return self.customer_segments().members(segment_id)

    def user_segments(self, user_id: str) -> list[Segment]:
        """The segments a user is in; NotFoundError when the served version segmented no such user."""
        require_text("user_id", user_id)
        ids = self.customer_segments().of_user(user_id)
        if not ids:
            raise NotFoundError(f"user {user_id!r} is in no customer segment (unknown to the last training)")
        return [found for found in self.segments() if found.segment_id in ids]

    def audience(
        self,
        *,
        product_id: str | None = None,
        category: str | None = None,
        product_ids: Sequence[str] | None = None,
        size: int = 1000,
        exclude_buyers_days: float = 30.0,
        segment: str | None = None,
        within: Collection[str] | None = None,
    ) -> Audience:
        """The `size` users most likely to act next on one product, a category or a campaign's products
        (`shelfwise.audiences`), leaving out users who bought one of them in the last
        `exclude_buyers_days` and users outside the customer `segment` (by its id) or the set `within`,
        when given. Computed from the store
        and the serving models on each call and kept nowhere, so a deleted user is in no later audience.
        InvalidRequestError / NotFoundError say what was wrong; NotTrainedError before training."""
        for name, value in (
            ("product_id", product_id),
            ("category", category),
            *(("products", p) for p in product_ids or ()),
        ):
            require_text(name, value)
        check_limits(size, exclude_buyers_days)
        if segment is not None:
            require_text("segment", segment)
            in_segment = self.segment_members(segment)
            within = in_segment if within is None else in_segment & set(within)
        models = self.recommendation_models
        target = resolve_target(models, product_id=product_id, category=category, product_ids=product_ids)
        ranked = rank_audience(
            models,
            self.store.events_frame(),
            target.product_ids,
            size=size,
            exclude_buyers_days=exclude_buyers_days,
            now=datetime.now(UTC),
            within=within,
        )
        members = [
            AudienceMember(rank=rank, user_id=user, score=score)
            for rank, (user, score) in enumerate(zip(ranked.user_ids, ranked.scores, strict=True), start=1)
        ]
        return Audience(
            target=target.label,
            product_ids=target.product_ids,
            size=size,
            exclude_buyers_days=exclude_buyers_days,
            excluded_buyers=ranked.excluded_buyers,
            candidates=ranked.candidates,
            model_version=self._manifest.version if self._manifest else None,
            members=members,
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
        """Counts of products, events, users and quarantined rows, and the version being served."""
        return {
            "products": self.store.count_products(),
            "events": self.store.count_events(),
            "users": self.store.count_users(),
            "quarantined": self.store.count_quarantined(),
            "model_version": self._manifest.version if self._manifest else None,
        }


def _with_writes(report: IngestReport, written: StoredEvents | None) -> IngestReport:
    """The gate's report with what storing found: events already stored, and events stored unjoined."""
    if written is None:
        return report
    return report.model_copy(update={"unjoined": len(written.unjoined), "duplicates": written.duplicates})


def _request_id() -> str:
    return uuid.uuid4().hex


def _api_rows(source: Iterable[Mapping[str, Any]], config: QualityConfig, from_request: bool) -> list[RawRow]:
    rows = [RawRow(line=i, data=dict(row), error=None) for i, row in enumerate(source, start=1)]
    if from_request:
        bounds.check_request_rows(len(rows), config.limits)
    return rows


def _gate_products(source: Rows, config: QualityConfig, from_request: bool) -> GatedFile:
    if isinstance(source, str | Path):
        return gate_product_file(Path(source), config)
    return gate_products(_api_rows(source, config, from_request), API_SOURCE, config)


def _gate_events(
    source: Rows,
    config: QualityConfig,
    catalog_ids: set[str],
    earlier: Callable[[Event], Sequence[Event]],
    from_request: bool,
) -> GatedFile:
    if isinstance(source, str | Path):
        return gate_event_file(Path(source), config, catalog_ids)
    rows = _api_rows(source, config, from_request)
    # An event sent live without a timestamp happened now; files must say when theirs happened.
    now = datetime.now(UTC).isoformat()
    for row in rows:
        if row.data is not None and not row.data.get("timestamp"):
            row.data["timestamp"] = now
    if len(rows) == 1:  # one event sent live: checked against its actor's recent events, row-wise
        return gate_live_event(rows[0], API_SOURCE, config, catalog_ids, earlier)
    return gate_events(rows, API_SOURCE, config, catalog_ids)
