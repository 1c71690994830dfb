"""The hybrid pipeline end to end on a small catalog with the real MiniLM encoder."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shelfwise.domain import Filters, Product
from shelfwise.search import SearchPipeline
from shelfwise.search.config import SearchConfig
from shelfwise.search.features import FEATURE_NAMES, pool_centroids
from shelfwise.search.learning import event_groups, fit_search, train_ranker_from_judgements
from shelfwise.search.personal import UserProfile
from shelfwise.search.ranker import RankerConfig
from shelfwise.search.rules import Rule, RuleSet
from shelfwise.search.spelling import SpellingConfig


def shop() -> list[Product]:
    rows = [
        ("s1", "Velvet sofa", "Comfy", "Furniture > Sofas", 899.0),
        ("s2", "Leather sofa", "Comfy", "Furniture > Sofas", 1299.0),
        ("s3", "Corner sofa bed", "Sleepwell", "Furniture > Sofas", 799.0),
        ("t1", "Oak dining table", "Woodcraft", "Furniture > Tables", 499.0),
        ("t2", "Walnut coffee table", "Woodcraft", "Furniture > Tables", 249.0),
        ("k1", "Stainless steel frying pan", "Chefline", "Kitchen > Cookware", 39.0),
        ("k2", "Cast iron skillet", "Chefline", "Kitchen > Cookware", 45.0),
        ("k3", "Cordless kettle", "Boilit", "Kitchen > Appliances", 29.0),
        ("l1", "Brass desk lamp", "Glow", "Lighting > Lamps", 59.0),
        ("l2", "Rain shower head", "Aqua", "Bathroom > Showers", 89.0),
    ]
    return [
        Product(product_id=pid, title=title, brand=brand, category=category, price=price)
        for pid, title, brand, category, price in rows
    ]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> SearchPipeline:
    # A ten-product shop has each word once: let single occurrences be spelling fixes.
    config = SearchConfig(spelling=SpellingConfig(min_frequency=1))
    return SearchPipeline(config).fit(shop(), embedding_cache=tmp_path_factory.mktemp("embeddings"))


def ids(result: object) -> list[str]:
    return [hit.product.product_id for hit in result.hits]  # type: ignore[attr-defined]


def test_a_query_without_a_shared_word_finds_products_by_meaning(pipeline: SearchPipeline) -> None:
    result = pipeline.search("couch")
    assert ids(result)[0] in {"s1", "s2", "s3"}
    assert result.hits[0].explanation.reasons[0].signal == "semantic"
    assert pipeline.variant(semantic=False).search("couch").hits == []


def test_a_misspelt_query_is_corrected_and_says_so(pipeline: SearchPipeline) -> None:
    result = pipeline.search("leathr sofa")
    assert result.query == "leathr sofa" and result.corrected_query == "leather sofa"
    assert ids(result)[0] == "s2"
    assert any(r.signal == "spelling" and "leathr" in r.detail for r in result.hits[0].explanation.reasons)
    assert pipeline.search("leather sofa").corrected_query is None


def test_filters_apply_inside_hybrid_retrieval(pipeline: SearchPipeline) -> None:
    result = pipeline.search("sofa", filters=Filters(price_max=850))
    assert set(ids(result)) == {"s3"} or set(ids(result)) <= {"s3", "t1", "t2", "k1", "k2", "k3", "l1", "l2"}
    assert all((hit.product.price or 0) <= 850 for hit in result.hits)
    assert "s3" in ids(result)


def test_rules_pin_boost_bury_and_filter(pipeline: SearchPipeline) -> None:
    plain = ids(pipeline.search("sofa", page_size=3))
    pinned = pipeline.search(
        "sofa", page_size=3, rules=RuleSet(rules=[Rule(action="pin", query="sofa", product_ids=["l1"])])
    )
    assert ids(pinned)[0] == "l1" and ids(pinned)[1:] == plain[:2]
    assert "pinned" in pinned.hits[0].explanation.reasons[-1].detail
    buried = ids(pipeline.search("sofa", rules=RuleSet(rules=[Rule(action="bury", product_ids=[plain[0]])])))
    assert buried.index(plain[0]) > 0
    boosted = ids(
        pipeline.search(
            "sofa", rules=RuleSet(rules=[Rule(action="boost", query="sofa", brands=["Sleepwell"])])
        )
    )
    assert boosted[0] == "s3"
    filtered = pipeline.search(
        "table",
        rules=RuleSet(rules=[Rule(action="filter", query="table", categories=["Furniture > Tables"])]),
    )
    assert set(ids(filtered)) == {"t1", "t2"}
    other = pipeline.search(
        "kettle", rules=RuleSet(rules=[Rule(action="pin", query="sofa", product_ids=["l1"])])
    )
    assert "l1" not in ids(other)


def test_personalisation_moves_the_users_brand_up_and_explains_it(pipeline: SearchPipeline) -> None:
    plain = ids(pipeline.search("sofa"))
    fan = plain[-1]
    brand = next(p.brand for p in shop() if p.product_id == fan)
    assert brand is not None
    profile = UserProfile(user_id="u", brands={brand.lower(): 1.0})
    strong = pipeline.variant()
    strong.config = strong.config.model_copy(update={"personal_weight": 10.0})
    personal = strong.search("sofa", profile=profile)
    assert ids(personal).index(fan) < plain.index(fan)
    hit = next(h for h in personal.hits if h.product.product_id == fan)
    assert any(r.signal == "personal" and brand in r.detail for r in hit.explanation.reasons)


@pytest.fixture(scope="module", params=["bm25 config", "ablation's bm25 row"])
def bm25_only(request: pytest.FixtureRequest, pipeline: SearchPipeline) -> SearchPipeline:
    """Fielded BM25 alone: fitted so (no encoder, no spelling), or the ablation's view of the hybrid one."""
    if request.param == "bm25 config":
        config = SearchConfig(semantic=False, spelling=SpellingConfig(enabled=False))
        lexical = SearchPipeline(config).fit(shop())
    else:
        lexical = pipeline.variant(semantic=False, spelling=False, ranker=False)
    assert lexical.vectors is None and lexical.speller is None and lexical.ranker is None
    return lexical


def test_rules_pin_boost_and_bury_on_the_bm25_only_path(bm25_only: SearchPipeline) -> None:
    plain = ids(bm25_only.search("sofa"))
    assert plain[:3] == ["s1", "s2", "s3"]  # the shortest titles first; "Corner sofa bed" last
    pinned = bm25_only.search(
        "sofa", page_size=3, rules=RuleSet(rules=[Rule(action="pin", query="sofa", product_ids=["l1"])])
    )
    assert ids(pinned) == ["l1", *plain[:2]]
    assert "pinned" in pinned.hits[0].explanation.reasons[-1].detail
    buried = ids(bm25_only.search("sofa", rules=RuleSet(rules=[Rule(action="bury", product_ids=["s1"])])))
    assert buried == [*plain[1:3], "s1"]
    boosted = bm25_only.search(
        "sofa", rules=RuleSet(rules=[Rule(action="boost", query="sofa", brands=["Sleepwell"])])
    )
    assert ids(boosted)[0] == "s3"
    assert boosted.hits[0].explanation.reasons[-1].signal == "rule"
    assert boosted.hits[0].explanation.reasons[0].signal == "bm25"


def test_a_rule_that_moves_nothing_leaves_the_bm25_page_as_it_was(bm25_only: SearchPipeline) -> None:
    plain = bm25_only.search("table", page_size=2, page=1)
    idle = bm25_only.search(
        "table", page_size=2, rules=RuleSet(rules=[Rule(action="boost", brands=["No Such Brand"])])
    )
    assert [(h.product.product_id, h.score) for h in idle.hits] == [
        (h.product.product_id, h.score) for h in plain.hits
    ]


def test_a_user_profile_reorders_the_bm25_only_path(bm25_only: SearchPipeline) -> None:
    plain = ids(bm25_only.search("sofa"))
    assert plain[-1] == "s3"
    profile = UserProfile(user_id="u", brands={"sleepwell": 1.0})
    strong = bm25_only.variant()
    strong.config = strong.config.model_copy(update={"personal_weight": 10.0})
    personal = strong.search("sofa", profile=profile)
    assert ids(personal)[0] == "s3" and sorted(ids(personal)) == sorted(plain)
    reasons = personal.hits[0].explanation.reasons
    assert any(r.signal == "personal" and "Sleepwell" in r.detail for r in reasons)


def test_save_and_load_keep_every_part(pipeline: SearchPipeline, tmp_path: Path) -> None:
    loaded = SearchPipeline.load(pipeline.save(tmp_path / "search"))
    assert loaded.vectors is not None and loaded.speller is not None and loaded.suggester is not None
    assert ids(loaded.search("leathr couch")) == ids(pipeline.search("leathr couch"))
    assert loaded.suggest("cor") == ["Cordless kettle", "Corner sofa bed"]


def test_without_a_working_encoder_search_falls_back_to_bm25(tmp_path: Path) -> None:
    config = SearchConfig.model_validate({"encoder": {"model": str(tmp_path / "no-model")}})
    fallback = SearchPipeline(config).fit(shop())
    assert fallback.vectors is None
    assert ids(fallback.search("sofa"))[0].startswith("s")


def search_events(pairs: list[tuple[str, str]], repeats: int) -> pl.DataFrame:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for r in range(repeats):
        for i, (query, product) in enumerate(pairs):
            at = start + timedelta(hours=r * 100 + i)
            session = f"s{r}-{i}"
            rows.append((None, session, "search", None, query, at))
            rows.append((None, session, "purchase", product, None, at + timedelta(minutes=2)))
    return pl.DataFrame(
        rows,
        schema={
            "user_id": pl.Utf8,
            "session_id": pl.Utf8,
            "event_type": pl.Utf8,
            "product_id": pl.Utf8,
            "query": pl.Utf8,
            "timestamp": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


def test_search_events_label_the_bought_product_and_train_a_ranker(pipeline: SearchPipeline) -> None:
    pairs = [("sofa", "s3"), ("table", "t2"), ("pan", "k2"), ("lamp", "l1"), ("kettle", "k3")]
    groups = event_groups(pipeline, search_events(pairs, 2))
    # A query with a single candidate has nothing to rank and makes no group; the candidates are the
    # pool a ranker would order, dense tail included.
    mask = np.ones(len(pipeline.catalog), dtype=bool)
    pools = [len(pipeline.training_pool(q, mask)[0]) for q, _ in pairs]
    assert len(groups) == sum(size > 1 for size in pools) >= 2
    assert max(pools) > max(len(pipeline.search(q).hits) for q, _ in pairs)
    assert all(group.labels.max() == 3 and (group.labels == 3).sum() == 1 for group in groups)

    more = [("leather sofa", "s2"), ("velvet sofa", "s1"), ("oak table", "t1"), ("coffee table", "t2")]
    config = SearchConfig(ranker=RankerConfig(min_queries=4, num_boost_round=20, min_data_in_leaf=2))
    fitted = fit_search(shop(), search_events(pairs + more, 2), config)
    assert fitted.ranker is not None and fitted.ranker.meta["source"] == "events"
    hit = fitted.search("sofa").hits[0]
    assert any(r.signal == "ranker" for r in hit.explanation.reasons)


def test_judgements_train_a_ranker_that_is_used_for_ranking(pipeline: SearchPipeline) -> None:
    judged = {q: {p: 2.0} for q, p in [("sofa", "s3"), ("table", "t2"), ("pan", "k2"), ("lamp", "l1")]}
    twin = pipeline.variant()
    twin.config = twin.config.model_copy(
        update={"ranker": RankerConfig(min_queries=3, num_boost_round=10, min_data_in_leaf=2)}
    )
    ranker = train_ranker_from_judgements(twin, judged, validation_share=0.0)
    assert twin.ranker is ranker and pipeline.ranker is None
    scores = [hit.score for hit in twin.search("sofa").hits]
    assert scores == sorted(scores, reverse=True)
    assert np.isfinite(scores).all()


def feature(pipeline: SearchPipeline, query: str, name: str) -> dict[str, float]:
    mask = np.ones(len(pipeline.catalog), dtype=bool)
    positions, features = pipeline.training_pool(query, mask)
    column = FEATURE_NAMES.index(name)
    ids = pipeline.catalog.product_ids
    return {ids[int(p)]: float(v) for p, v in zip(positions, features[:, column], strict=True)}


def test_word_trigram_features_see_a_typo_that_bm25_misses(pipeline: SearchPipeline) -> None:
    unspelt = pipeline.variant(spelling=False)
    worst_word = feature(unspelt, "leathr sofa", "word_trigram_min")
    # "leathr" matches no title word in BM25, but shares most of its trigrams with "leather".
    assert worst_word["s2"] > 0.4 > worst_word["s1"]
    head_word = feature(unspelt, "leathr sofa", "word_trigram_head")
    assert head_word["s1"] == head_word["s2"] == 1.0  # "sofa" itself
    title_share = feature(unspelt, "velvet sofa", "title_share_matched")
    assert title_share["s1"] == 1.0 and title_share["s2"] == 0.5


def test_pool_scores_are_also_seen_relative_to_the_query(pipeline: SearchPipeline) -> None:
    percentile = feature(pipeline, "leather sofa", "bm25_percentile")
    z = feature(pipeline, "leather sofa", "bm25_z")
    assert max(percentile, key=percentile.__getitem__) == max(z, key=z.__getitem__) == "s2"
    assert all(0.0 <= v < 1.0 for v in percentile.values())
    assert abs(float(np.mean(list(z.values())))) < 1e-5


def test_with_a_ranker_the_dense_tail_joins_but_gibberish_still_finds_nothing(
    pipeline: SearchPipeline,
) -> None:
    judged = {q: {p: 2.0} for q, p in [("sofa", "s3"), ("table", "t2"), ("pan", "k2"), ("lamp", "l1")]}
    ranked = pipeline.variant()
    ranked.config = ranked.config.model_copy(
        update={"ranker": RankerConfig(min_queries=3, num_boost_round=10, min_data_in_leaf=2)}
    )
    train_ranker_from_judgements(ranked, judged, validation_share=0.0)
    fused_only = len(pipeline.search("velvet sofa", page_size=20).hits)
    # Every product is among the ten-product shop's 200 nearest: the ranker sees and orders all of them.
    assert fused_only < len(ranked.search("velvet sofa", page_size=20).hits) == len(shop())
    assert ranked.search("qxzv wkpj").hits == []
    without_tail = ranked.variant()
    fusion = without_tail.config.fusion.model_copy(update={"ranked_dense_tail": False})
    without_tail.config = without_tail.config.model_copy(update={"fusion": fusion})
    assert len(without_tail.search("velvet sofa", page_size=20).hits) == fused_only


def test_candidates_are_compared_with_the_kind_of_product_the_query_finds_first() -> None:
    # 30 candidates in fused order: the first ten are one kind of product (near axis 0), the rest another
    # (near axis 1); BM25 favours the last ten instead.
    rng = np.random.default_rng(3)
    kinds = np.repeat([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [10, 20], axis=0)
    vectors = kinds + 0.05 * rng.standard_normal((30, 3))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    bm25 = np.r_[np.zeros(20), np.full(10, 5.0)].astype(np.float32)
    fused, lexical = pool_centroids(vectors.astype(np.float32), bm25).T
    assert fused[:10].min() > 0.9 > 0.2 > fused[10:].max()
    assert lexical[20:].min() > 0.9 > 0.2 > lexical[:10].max()
    assert not pool_centroids(None, bm25).any()


def test_concurrent_searches_through_a_small_query_vector_cache_match_one_at_a_time(
    pipeline: SearchPipeline,
) -> None:
    queries = ["sofa", "couch", "oak table", "kettle", "lamp", "frying pan", "shower", "leathr sofa"]
    small = pipeline.variant()
    small.config = small.config.model_copy(update={"query_vector_cache": 2})
    expected = {q: [(h.product.product_id, h.score) for h in small.search(q).hits] for q in queries}
    found: dict[tuple[int, str], list[tuple[str, float]]] = {}

    def work(worker: int) -> None:
        for query in queries[worker:] + queries[:worker]:
            found[worker, query] = [(h.product.product_id, h.score) for h in small.search(query).hits]

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4 * len(queries)
    assert all(hits == expected[query] for (_, query), hits in found.items())
