"""The personalisation evaluation: held-back search sessions, hand-computed metrics, and on a small
generated shop, the behaviour it measures (a user's department moves up an ambiguous query's results)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shelfwise.domain import Event, EventType
from shelfwise.engine import Engine
from shelfwise.experiments.personal_search import (
    BASELINE,
    PersonalEvalConfig,
    SearchSession,
    bucket_of,
    evaluate_personal_search,
    is_validation_user,
    run_demo_evaluation,
    score_rankings,
    search_sessions,
)
from shelfwise.io.demo import generate_demo_shop
from shelfwise.recommend.kinds import RecommendationConfig
from shelfwise.search.config import SearchConfig
from shelfwise.search.personal import UserProfile
from shelfwise.training.trainer import TrainingConfig, load_bundle

pytestmark = [pytest.mark.slow]

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
QUICK = TrainingConfig(
    search=SearchConfig(semantic=False), recommend=RecommendationConfig(sequential_enabled=False)
)


def event(kind: EventType, minute: float, product: str | None = None, **fields: str | None) -> Event:
    values = {"user_id": "u", "session_id": "s1", "query": "lamp" if kind is EventType.SEARCH else None}
    values.update(fields)
    return Event(event_type=kind, product_id=product, timestamp=T0 + timedelta(minutes=minute), **values)


def test_a_search_session_is_the_click_after_a_search_with_the_history_before_it() -> None:
    events = [
        event(EventType.SEARCH, -60, session_id="s0"),  # before the cut: trained on, not held back
        event(EventType.CLICK, -59, "p9", session_id="s0"),
        event(EventType.VIEW, -30, "p1", session_id="s0"),
        event(EventType.SEARCH, 0),
        event(EventType.CLICK, 1, "p2"),
        event(EventType.VIEW, 1.5, "p2"),
        event(EventType.CLICK, 2, "p3"),  # a later click in the session is not the search's outcome
        event(EventType.ADD_TO_CART, 3, "p2"),
        event(EventType.PURCHASE, 9, "p2"),
        event(EventType.SEARCH, 10, session_id="s2"),  # no product within 30 minutes: no outcome
        event(EventType.CLICK, 45, "p4", session_id="s2"),
        event(EventType.SEARCH, 50, user_id=None, session_id="anon"),  # anonymous: no user to personalise
        event(EventType.CLICK, 51, "p5", user_id=None, session_id="anon"),
    ]
    sessions = search_sessions(events, since=T0 - timedelta(minutes=1))
    assert len(sessions) == 1
    session = sessions[0]
    assert (session.user_id, session.query, session.target, session.gain) == ("u", "lamp", "p2", 3.0)
    assert [e.product_id for e in session.history] == [None, "p9", "p1"]
    assert session.history_items == 2
    assert [e.product_id for e in search_sessions(events, T0, max_history=1)[0].history] == ["p1"]


def session(user: str, target: str, items: int = 0, gain: float = 1.0) -> SearchSession:
    history = tuple(event(EventType.VIEW, -i - 1, f"h{i}", user_id=user) for i in range(items))
    return SearchSession(user, "q", T0, target, gain, history)


def test_metrics_agree_with_a_hand_computed_case() -> None:
    sessions = [session("a", "x"), session("b", "y", gain=3.0), session("c", "z")]
    rankings = [["x", "p", "q"], ["p", "q", "y"], ["p"] * 10 + ["z"]]
    scores = score_rankings(rankings, sessions, k=10)
    # One relevant product: NDCG@10 = 1 / log2(rank + 1) whatever its gain; beyond 10 everything is 0.
    assert scores.ndcg == pytest.approx([1.0, 1 / math.log2(4), 0.0])
    assert scores.mrr == pytest.approx([1.0, 1 / 3, 0.0])
    assert scores.hr == [1.0, 1.0, 0.0]
    figures = scores.figures()
    assert figures.sessions == 3
    assert figures.ndcg_at_10 == pytest.approx((1 + 0.5) / 3, abs=1e-4)
    assert figures.mrr_at_10 == pytest.approx((1 + 1 / 3) / 3, abs=1e-4)
    assert figures.hr_at_10 == pytest.approx(2 / 3, abs=1e-4)


def test_weights_are_chosen_on_validation_users_and_reported_on_the_others() -> None:
    users = [f"user{i}" for i in range(40)]
    validation = [u for u in users if is_validation_user(u, 0.5)]
    test_users = [u for u in users if not is_validation_user(u, 0.5)]
    assert validation and test_users
    sessions = [session(u, "t", items=i % 3 * 20) for i, u in enumerate(users)]

    def rank(s: SearchSession, profile: UserProfile | None, weight: float) -> list[str]:
        # Personalisation at weight 1 puts the target first for every user; weight 2 only for test users,
        # so choosing on the test users would pick 2 and choosing on validation users picks 1.
        if weight == 1 or (weight == 2 and s.user_id in test_users):
            return ["t", "o"]
        return ["o", "p", "t"]

    config = PersonalEvalConfig(validation_share=0.5, personal_weights=(0, 1, 2), model_weights=(0,))
    result = evaluate_personal_search(sessions, rank, lambda s: UserProfile(s.user_id), config)
    rows = {row.name: row for row in result.rows}
    assert result.chosen == "shares (personal_weight=1)" == result.chosen_shares_only
    assert (result.validation_sessions, result.test_sessions) == (len(validation), len(test_users))
    assert rows[BASELINE].test.ndcg_at_10 == pytest.approx(0.5)  # rank 3 everywhere
    assert rows["shares (personal_weight=2)"].validation.ndcg_at_10 == pytest.approx(0.5)
    assert rows["shares (personal_weight=1)"].test_ndcg_delta == pytest.approx(0.5)
    assert rows["shares (personal_weight=1)"].test_ndcg_delta_ci95 == pytest.approx(0.0)
    buckets = {b.bucket: b for b in result.buckets}
    assert buckets["all"].sessions == len(test_users)
    assert sum(b.sessions for name, b in buckets.items() if name != "all") == len(test_users)
    assert set(buckets) <= {"all", "0", "1-9", "10-49", "50+"}
    assert buckets["all"].chosen.hr_at_10 == 1.0


def test_history_buckets_have_readable_edges() -> None:
    edges = (1, 10, 50)
    assert [bucket_of(n, edges) for n in (0, 1, 9, 10, 49, 50, 500)] == [
        "0",
        "1-9",
        "1-9",
        "10-49",
        "10-49",
        "50+",
        "50+",
    ]


@pytest.fixture(scope="module")
def shop_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    shop = generate_demo_shop(n_products=300, n_users=80)
    with Engine.open(tmp_path_factory.mktemp("shop")) as engine:
        engine.ingest_products(shop.products)
        engine.ingest_events(shop.events)
        engine.train(QUICK)
        yield engine


def kitchen_history(engine: Engine) -> list[str]:
    """Products of one department only, none of the shop's own cross-department brand."""
    products = engine.store.products()
    return [
        p.product_id for p in products if p.category_path[0] == "Kitchen" and p.brand != "Everyday Basics"
    ][:6]


def test_a_users_department_moves_up_an_ambiguous_query(shop_engine: Engine) -> None:
    query = "everyday basics"  # the shop's own brand: products in every department
    plain_hits = shop_engine.search(query).hits
    plain = [h.product.category_path[0] for h in plain_hits]
    assert "Kitchen" in plain and len(set(plain)) >= 3
    history = kitchen_history(shop_engine)
    for product_id in history:
        shop_engine.record(Event(user_id="cook", event_type=EventType.VIEW, product_id=product_id))
    shop_engine.record(Event(user_id="cook", event_type=EventType.PURCHASE, product_id=history[0]))

    personal = shop_engine.search(query, user_id="cook").hits
    departments = [h.product.category_path[0] for h in personal]
    assert departments.index("Kitchen") < plain.index("Kitchen")
    # Every Kitchen hit of the plain page rises or stays; none falls off the page.
    before = {h.product.product_id: i for i, h in enumerate(plain_hits) if plain[i] == "Kitchen"}
    after = [h.product.product_id for h in personal]
    assert all(pid in after and after.index(pid) <= rank for pid, rank in before.items())
    assert sum(after.index(pid) for pid in before) < sum(before.values())
    kitchen_hit = personal[departments.index("Kitchen")]
    reasons = [r for r in kitchen_hit.explanation.reasons if r.signal == "personal"]
    assert reasons and "you often look at Kitchen" in reasons[0].detail
    assert reasons[0].contribution is not None and reasons[0].contribution > 0
    # A shopper the engine has never seen gets the same results as no user at all.
    stranger = shop_engine.search(query, user_id="nobody").hits
    assert [h.product.product_id for h in stranger] == [
        h.product.product_id for h in shop_engine.search(query).hits
    ]


def test_the_models_view_of_the_history_reaches_the_explanation(
    shop_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = shop_engine.search_pipeline()  # the model term is off by default: switch it on
    monkeypatch.setattr(pipeline, "config", pipeline.config.model_copy(update={"personal_model_weight": 0.5}))
    history = kitchen_history(shop_engine)
    for product_id in history:
        shop_engine.record(Event(user_id="baker", event_type=EventType.VIEW, product_id=product_id))
    assert shop_engine.manifest is not None
    _, models, _ = load_bundle(shop_engine.registry, shop_engine.manifest.version)
    scores = models.history_affinity(shop_engine.history(user_id="baker"))
    best = max(scores, key=lambda product_id: scores[product_id])
    assert scores[best] == 1.0 and all(0 < value <= 1 for value in scores.values())
    title = shop_engine.get_product(best).title
    hits = shop_engine.search(title, user_id="baker", page_size=20).hits
    hit = next(h for h in hits if h.product.product_id == best)
    detail = next(r.detail for r in hit.explanation.reasons if r.signal == "personal")
    assert "fits what you looked at lately" in detail and "% of this boost" in detail


def test_the_demo_evaluation_runs_end_to_end_on_a_small_shop(tmp_path: Path) -> None:
    shop = generate_demo_shop(n_products=200, n_users=60)
    config = PersonalEvalConfig(held_out_days=14, personal_weights=(0, 1), model_weights=(0, 0.5))
    result = run_demo_evaluation(tmp_path, config, shop=shop, training=QUICK)
    assert result.sessions == result.validation_sessions + result.test_sessions > 10
    assert [row.name for row in result.rows] == [
        BASELINE,
        "shares (personal_weight=1)",
        "shares + model (personal_weight=1, model_weight=0.5)",
    ]
    assert all(0 <= row.test.ndcg_at_10 <= row.test.hr_at_10 <= 1 for row in result.rows)
    assert result.buckets[0].bucket == "all" and result.buckets[0].sessions == result.test_sessions
