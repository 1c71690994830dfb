"""Does knowing who searches help? Search with and without `user_id` on held-back search sessions.

Protocol (the demo shop, `shelfwise evaluate personal`):
- The demo generator's shoppers search with words of a product they want (its noun, brand and noun,
  colour and noun, ...; 15% with a typo) and click a result: that product or one like it. A *search
  session* is one such search by a known user and the first product the shopper then clicked, carted or
  bought in the same session within 30 minutes; its gain is the strongest of those events on that
  product in the session (click 1, cart 2, purchase 3). These are the generator's own search events and
  outcomes, not queries derived after the fact.
- Every search in the last `held_out_days` of the log is held back; the search pipeline (indexes, learned
  ranker) and the recommendation models are trained on the events before that cut only.
- At a held-back search the shopper's history is their events before it (including those after the cut:
  the engine's online state sees them live), capped at the engine's `recent_events_per_user`, and the
  profile is built from it exactly as `Engine.search` builds it.
- Each session is searched over the whole catalog without a user (the baseline) and with the profile
  under each (personal_weight, model_weight) pair; figures are NDCG@10, MRR@10 and HR@10 of the clicked
  product. Users are split by a hash of their id: the pair with the best NDCG@10 on the validation users
  is chosen, and every figure is reported on the other users.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain import Event, EventType
from shelfwise.engine import Engine
from shelfwise.experiments.scratch import scratch_settings
from shelfwise.io.demo import DemoShop, generate_demo_shop
from shelfwise.metrics import hit_rate_at_k, mrr_at_k, ndcg_at_k
from shelfwise.recommend.kinds import RecommendationModels
from shelfwise.search.learning import ATTRIBUTION_WINDOW, EVENT_LABELS
from shelfwise.search.personal import MODEL_WEIGHT, UserProfile, build_profile
from shelfwise.search.pipeline import SearchPipeline
from shelfwise.settings import Settings
from shelfwise.training.trainer import TrainingConfig

BASELINE = "no user"


class PersonalEvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    held_out_days: float = Field(
        default=14.0, gt=0, description="Searches in the log's last days are held back."
    )
    validation_share: float = Field(
        default=1 / 3,
        gt=0,
        lt=1,
        description="Share of users (by a hash of the id) the weights are tuned on.",
    )
    personal_weights: tuple[float, ...] = Field(default=(0.0, 0.5, 1.0, 2.0), description="Swept.")
    model_weights: tuple[float, ...] = Field(
        default=(0.0, 0.5, 1.0),
        description="Weights of the recommendation-model term swept; 0 = shares only.",
    )
    k: int = Field(default=10, ge=1)
    history_buckets: tuple[int, ...] = Field(
        default=(1, 10, 50), description="Lower edges of the history-length buckets after the empty one."
    )
    max_history: int = Field(
        default=200, ge=1, description="Events of history kept, as the online state does."
    )


@dataclass(frozen=True)
class SearchSession:
    user_id: str
    query: str
    timestamp: datetime
    target: str
    gain: float
    history: tuple[Event, ...]  # the user's events before the search, oldest first

    @property
    def history_items(self) -> int:
        return sum(1 for e in self.history if e.product_id is not None)


def search_sessions(events: Iterable[Event], since: datetime, max_history: int = 200) -> list[SearchSession]:
    """The searches by known users at or after `since` that led to a product, with the history before each.

    `events` must be in time order (ties in log order)."""
    ordered = list(events)
    by_session: dict[str, list[int]] = {}
    for i, event in enumerate(ordered):
        if event.session_id is not None:
            by_session.setdefault(event.session_id, []).append(i)
    history: dict[str, list[Event]] = {}
    sessions = []
    for i, event in enumerate(ordered):
        if event.user_id is None:
            continue
        seen = history.setdefault(event.user_id, [])
        if event.event_type is EventType.SEARCH and event.timestamp >= since and event.query:
            outcome = _outcome(ordered, by_session.get(event.session_id or "", []), i)
            if outcome is not None:
                target, gain = outcome
                sessions.append(
                    SearchSession(
                        event.user_id, event.query, event.timestamp, target, gain, tuple(seen[-max_history:])
                    )
                )
        seen.append(event)
    return sessions


def _outcome(events: list[Event], members: list[int], search: int) -> tuple[str, float] | None:
    """(first product engaged with after the search, strongest label on it), within the session and window."""
    start = events[search].timestamp
    target: str | None = None
    gain = 0
    for j in members:
        event = events[j]
        if j <= search:
            continue
        if event.event_type is EventType.SEARCH or event.timestamp - start > ATTRIBUTION_WINDOW:
            break  # a new search is a new intent
        if event.product_id is None or event.event_type.value not in EVENT_LABELS:
            continue  # a view follows the click; it adds nothing
        target = target or event.product_id
        if event.product_id == target:
            gain = max(gain, EVENT_LABELS[event.event_type.value])
    return (target, float(gain)) if target is not None else None


def is_validation_user(user_id: str, share: float) -> bool:
    """Stable across runs and machines: a hash of the id, not a random draw."""
    digest = hashlib.blake2b(f"personal:{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


# --- metrics -------------------------------------------------------------------------------------------


class Figures(BaseModel):
    sessions: int
    ndcg_at_10: float
    mrr_at_10: float
    hr_at_10: float


class SessionScores(BaseModel):
    ndcg: list[float]
    mrr: list[float]
    hr: list[float]

    def figures(self, mask: Sequence[bool] | None = None) -> Figures:
        chosen = [True] * len(self.ndcg) if mask is None else list(mask)

        def mean(values: list[float]) -> float:
            kept = [v for v, keep in zip(values, chosen, strict=True) if keep]
            return round(float(np.mean(kept)), 4) if kept else 0.0

        return Figures(
            sessions=sum(chosen), ndcg_at_10=mean(self.ndcg), mrr_at_10=mean(self.mrr), hr_at_10=mean(self.hr)
        )


def score_rankings(
    rankings: Sequence[Sequence[str]], sessions: Sequence[SearchSession], k: int
) -> SessionScores:
    """Per-session NDCG@k, MRR@k and HR@k of each session's target in its ranking."""
    ndcg, mrr, hr = [], [], []
    for ranked, session in zip(rankings, sessions, strict=True):
        gains = {session.target: session.gain}
        ndcg.append(ndcg_at_k(ranked, gains, k))
        mrr.append(mrr_at_k(ranked, gains, k))
        rank = list(ranked[:k]).index(session.target) if session.target in ranked[:k] else k
        hr.append(hit_rate_at_k(rank, k))
    return SessionScores(ndcg=ndcg, mrr=mrr, hr=hr)


def paired_delta(treated: Sequence[float], baseline: Sequence[float]) -> tuple[float, float]:
    """(mean difference, half-width of its 95% normal interval) over paired sessions."""
    diff = np.asarray(treated, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    if len(diff) < 2:
        return float(diff.mean()) if len(diff) else 0.0, math.nan
    return float(diff.mean()), float(1.96 * diff.std(ddof=1) / math.sqrt(len(diff)))


# --- the sweep -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    personal_weight: float
    model_weight: float

    @property
    def name(self) -> str:
        if self.personal_weight == 0:
            return BASELINE
        terms = "shares + model" if self.model_weight > 0 else "shares"
        model = f", model_weight={self.model_weight:g}" if self.model_weight > 0 else ""
        return f"{terms} (personal_weight={self.personal_weight:g}{model})"


def variants(config: PersonalEvalConfig) -> list[Variant]:
    """The baseline first, then every (personal_weight > 0, model_weight) pair."""
    found = [Variant(0.0, 0.0)]
    for weight in config.personal_weights:
        if weight > 0:
            found += [Variant(weight, model) for model in config.model_weights]
    return found


Ranker = Callable[[SearchSession, UserProfile | None, float], list[str]]


def pipeline_ranker(pipeline: SearchPipeline, k: int) -> Ranker:
    """Top-k product ids from the production pipeline at a given personal_weight (one twin per weight)."""
    twins: dict[float, SearchPipeline] = {}

    def rank(session: SearchSession, profile: UserProfile | None, weight: float) -> list[str]:
        twin = twins.get(weight)
        if twin is None:
            twin = pipeline.variant()
            twin.config = pipeline.config.model_copy(update={"personal_weight": weight})
            twins[weight] = twin
        result = twin.search(session.query, page_size=k, profile=profile if weight > 0 else None)
        return [hit.product.product_id for hit in result.hits]

    return rank


class VariantRow(BaseModel):
    name: str
    personal_weight: float
    model_weight: float
    validation: Figures
    test: Figures
    test_ndcg_delta: float = Field(description="Mean paired NDCG@10 change against no user, test users.")
    test_ndcg_delta_ci95: float


class BucketRow(BaseModel):
    bucket: str
    sessions: int
    baseline: Figures
    chosen: Figures
    shares_only: Figures
    ndcg_delta: float
    ndcg_delta_ci95: float


class PersonalEvaluation(BaseModel):
    protocol: str
    sessions: int
    validation_sessions: int
    test_sessions: int
    rows: list[VariantRow]
    chosen: str
    chosen_shares_only: str
    buckets: list[BucketRow]
    profile_ms_mean: float = Field(description="Building one profile (model term included), milliseconds.")
    notes: list[str] = Field(default_factory=list)


ProfileBuilder = Callable[[SearchSession], UserProfile]


def profile_builder(pipeline: SearchPipeline, models: RecommendationModels | None) -> ProfileBuilder:
    """The profile `Engine.search` would build at that moment: shares and the models' history affinity."""

    def build(session: SearchSession) -> UserProfile:
        scores = models.history_affinity(session.history) if models is not None else None
        return build_profile(session.user_id, session.history, pipeline.product, model_scores=scores)

    return build


def evaluate_personal_search(
    sessions: Sequence[SearchSession],
    rank: Ranker,
    build: ProfileBuilder,
    config: PersonalEvalConfig | None = None,
    advance: Callable[[], None] | None = None,
) -> PersonalEvaluation:
    """Every session ranked under every variant; tuned on validation users, reported on the others."""
    config = config or PersonalEvalConfig()
    swept = variants(config)
    rankings: dict[Variant, list[list[str]]] = {v: [] for v in swept}
    profile_seconds = 0.0
    for session in sessions:
        started = time.perf_counter()
        profile = build(session)
        profile_seconds += time.perf_counter() - started
        for variant in swept:
            weighted = replace(profile, model_weight=variant.model_weight)
            rankings[variant].append(rank(session, weighted, variant.personal_weight))
            if advance is not None:
                advance()
    scores = {v: score_rankings(rankings[v], sessions, config.k) for v in swept}
    validation = [is_validation_user(s.user_id, config.validation_share) for s in sessions]
    test = [not v for v in validation]
    baseline = scores[swept[0]]
    rows = []
    for variant in swept:
        delta, ci = paired_delta(_masked(scores[variant].ndcg, test), _masked(baseline.ndcg, test))
        rows.append(
            VariantRow(
                name=variant.name,
                personal_weight=variant.personal_weight,
                model_weight=variant.model_weight,
                validation=scores[variant].figures(validation),
                test=scores[variant].figures(test),
                test_ndcg_delta=round(delta, 4),
                test_ndcg_delta_ci95=round(ci, 4),
            )
        )
    chosen = _best(swept, rows, lambda v: True)
    shares_only = _best(swept, rows, lambda v: v.model_weight == 0)
    buckets = _buckets(sessions, test, baseline, scores[chosen], scores[shares_only], config)
    return PersonalEvaluation(
        protocol=_protocol(config),
        sessions=len(sessions),
        validation_sessions=sum(validation),
        test_sessions=sum(test),
        rows=rows,
        chosen=chosen.name,
        chosen_shares_only=shares_only.name,
        buckets=buckets,
        profile_ms_mean=round(1000 * profile_seconds / max(len(sessions), 1), 3),
    )


def _masked(values: list[float], mask: list[bool]) -> list[float]:
    return [v for v, keep in zip(values, mask, strict=True) if keep]


def _best(swept: list[Variant], rows: list[VariantRow], allowed: Callable[[Variant], bool]) -> Variant:
    """Best validation NDCG@10 among the allowed variants; ties keep the earlier (smaller) one."""
    best = swept[0]
    best_value = rows[0].validation.ndcg_at_10
    for variant, row in zip(swept, rows, strict=True):
        if allowed(variant) and row.validation.ndcg_at_10 > best_value:
            best, best_value = variant, row.validation.ndcg_at_10
    return best


def bucket_of(items: int, edges: Sequence[int]) -> str:
    """'0', '1-9', '10-49', '50+' for edges (1, 10, 50)."""
    if items < edges[0]:
        return "0" if edges[0] == 1 else f"0-{edges[0] - 1}"
    for low, high in pairwise(edges):
        if items < high:
            return f"{low}-{high - 1}"
    return f"{edges[-1]}+"


def _buckets(
    sessions: Sequence[SearchSession],
    test: list[bool],
    baseline: SessionScores,
    chosen: SessionScores,
    shares_only: SessionScores,
    config: PersonalEvalConfig,
) -> list[BucketRow]:
    labels = [bucket_of(s.history_items, config.history_buckets) for s in sessions]
    order = ["0" if config.history_buckets[0] == 1 else f"0-{config.history_buckets[0] - 1}"]
    order += [bucket_of(edge, config.history_buckets) for edge in config.history_buckets]
    rows = []
    for label in ["all", *order]:
        mask = [keep and (label == "all" or own == label) for keep, own in zip(test, labels, strict=True)]
        if not any(mask):
            continue
        delta, ci = paired_delta(_masked(chosen.ndcg, mask), _masked(baseline.ndcg, mask))
        rows.append(
            BucketRow(
                bucket=label,
                sessions=sum(mask),
                baseline=baseline.figures(mask),
                chosen=chosen.figures(mask),
                shares_only=shares_only.figures(mask),
                ndcg_delta=round(delta, 4),
                ndcg_delta_ci95=round(ci, 4),
            )
        )
    return rows


def _protocol(config: PersonalEvalConfig) -> str:
    return (
        f"Searches by known users in the last {config.held_out_days:g} days held back; search and "
        f"recommendation models trained on the events before. Each held-back search ranked over the whole "
        f"catalog without and with the user's profile (history before the search, at most "
        f"{config.max_history} events); target = the product the shopper then clicked, carted or bought. "
        f"Weights chosen by NDCG@{config.k} on {config.validation_share:.0%} of the users (hash of the id); "
        f"figures on the other users. Default model_weight in the engine: {MODEL_WEIGHT:g}."
    )


# --- the demo shop -------------------------------------------------------------------------------------


def run_demo_evaluation(
    scratch: Path,
    config: PersonalEvalConfig | None = None,
    *,
    settings: Settings | None = None,
    training: TrainingConfig | None = None,
    shop: DemoShop | None = None,
    status: Callable[[str], None] | None = None,
    advance: Callable[[], None] | None = None,
) -> PersonalEvaluation:
    """Generate the demo shop (or take `shop`), train a throwaway engine under `scratch` on the events
    before the cut, and evaluate the held-back searches."""
    config = config or PersonalEvalConfig()
    shop = shop or generate_demo_shop()
    say = status or (lambda _: None)
    events = demo_events(shop.events)
    cut = cut_time(events, config.held_out_days)
    with Engine(scratch_settings(settings or Settings(), scratch)) as engine:
        say(f"Ingesting {len(shop.products):,} products and the events before {cut:%Y-%m-%d %H:%M}")
        engine.ingest_products(shop.products)
        engine.ingest_events(
            [row for row, event in zip(shop.events, events, strict=True) if event.timestamp < cut]
        )
        say("Training on the events before the cut")
        manifest = engine.train(training)
        pipeline, models = engine.search_pipeline(), engine.recommendation_models
    sessions = search_sessions(events, cut, config.max_history)
    known = [s for s in sessions if pipeline.product(s.target) is not None]
    say(f"Searching {len(known):,} held-back sessions under {len(variants(config))} variants")
    evaluation = evaluate_personal_search(
        known, pipeline_ranker(pipeline, config.k), profile_builder(pipeline, models), config, advance
    )
    evaluation.notes += [
        f"demo shop: {len(shop.products):,} products, {len(shop.users):,} users, {len(events):,} events; "
        f"{manifest.data.events:,} events before the cut trained on",
        f"components: {pipeline.components}; transformer trained: {models.sequential is not None}",
    ]
    if len(known) < len(sessions):
        evaluation.notes.append(f"{len(sessions) - len(known)} sessions dropped: target not in the catalog")
    return evaluation


def demo_events(rows: Sequence[dict[str, Any]]) -> list[Event]:
    """The generator's rows as events, in log order (the generator writes them sorted by time)."""
    return [Event.model_validate({k: v for k, v in row.items() if v is not None}) for row in rows]


def cut_time(events: Sequence[Event], held_out_days: float) -> datetime:
    return max(e.timestamp for e in events) - timedelta(days=held_out_days)
