"""The parts of AI search that need no model: vector index, spelling, rules, autocomplete, ranker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.domain import Filters, Product
from shelfwise.index.vector import VectorIndex
from shelfwise.search.features import FEATURE_NAMES
from shelfwise.search.learning import split_groups
from shelfwise.search.personal import build_profile
from shelfwise.search.ranker import LearnedRanker, RankerConfig, RankingGroup
from shelfwise.search.rules import Rule, RuleSet, RuleStore
from shelfwise.search.spelling import SpellingConfig, SpellingCorrector, damerau_levenshtein
from shelfwise.search.suggest import Suggester


def unit_rows(count: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_vector_index_finds_the_nearest_rows_within_the_mask_and_round_trips(tmp_path: Path) -> None:
    vectors = unit_rows(50, 8)
    index = VectorIndex().fit(vectors, model="m")
    expected = np.argsort(-(vectors @ vectors[7]))
    assert index.search(vectors[7], k=3).positions.tolist() == expected[:3].tolist()
    mask = np.ones(50, dtype=bool)
    mask[expected[:2]] = False
    assert index.search(vectors[7], k=2, mask=mask).positions.tolist() == expected[2:4].tolist()
    loaded = VectorIndex.load(index.save(tmp_path / "v"))
    np.testing.assert_array_equal(loaded.vectors, vectors)
    assert loaded.model == "m"
    with pytest.raises(ValueError, match="expects"):
        index.search(np.ones(3, dtype=np.float32), k=1)


def test_damerau_levenshtein_counts_a_transposition_as_one_edit() -> None:
    assert damerau_levenshtein("drill", "drlil", 2) == 1
    assert damerau_levenshtein("kitten", "sitting", 2) == 3  # above the limit: limit + 1
    assert damerau_levenshtein("bulb", "bulb", 1) == 0


CATALOG_TEXT = [
    "cordless drill kit",
    "cordless drill driver",
    "kitchen floor tiles",
    "porcelain floor tiles",
    "deckover wood coating",
    "deckover concrete coating",
    "shower head chrome",
    "rain shower head",
]


def test_spelling_fixes_unknown_words_joins_and_leaves_known_ones(tmp_path: Path) -> None:
    speller = SpellingCorrector().fit(CATALOG_TEXT)
    fixed = speller.correct("cordles dril")
    assert fixed.text == "cordless drill" and fixed.changes == {"cordles": "cordless", "dril": "drill"}
    assert speller.correct("kitchen floor tikles").changes == {"tikles": "tiles"}
    assert speller.correct("deck over paint").changes == {"deck over": "deckover"}
    assert speller.correct("drills").changed is False  # its stem is a catalog word
    assert speller.correct("zzzz").changed is False
    loaded = SpellingCorrector.load(speller.save(tmp_path))
    assert loaded.correct("cordles dril").text == "cordless drill"


PRODUCTS = [
    Product(product_id="a", title="Oak chair", brand="Nordwood", category="Furniture > Chairs", price=50),
    Product(product_id="b", title="Pine table", brand="Nordwood", category="Furniture > Tables", price=200),
    Product(product_id="c", title="Desk lamp", brand="Glow", category="Lighting > Lamps", price=15),
]


def test_rules_match_their_query_and_category_and_target_products() -> None:
    rule = Rule(action="boost", query="oak chair", brands=["glow"], when_category="Furniture")
    assert rule.applies("Oak  Chair", Filters(category="Furniture > Chairs"))
    assert not rule.applies("oak chair", None)
    assert not rule.applies("oak chairs", Filters(category="Furniture"))
    contains = Rule(action="bury", query="chair", match="contains", categories=["Furniture > Tables"])
    assert contains.applies("red chair sale", None) and not contains.applies("chairs", None)
    assert [p.product_id for p in PRODUCTS if contains.targets(p)] == ["b"]
    assert RuleSet(rules=[rule, contains]).applicable("chair", None) == [contains]


def test_rules_refuse_a_rule_without_targets_or_a_pin_without_products() -> None:
    with pytest.raises(ValueError, match="target"):
        Rule(action="boost", query="x")
    with pytest.raises(ValueError, match="pin"):
        Rule(action="pin", brands=["Glow"])


def test_rule_store_adds_replaces_and_deletes(tmp_path: Path) -> None:
    store = RuleStore(tmp_path)
    first = store.add(Rule(rule_id="r1", action="pin", product_ids=["a"]))
    store.add(Rule(rule_id="r2", action="bury", brands=["Glow"]))
    store.add(first.model_copy(update={"position": 3}))
    assert [(r.rule_id, r.position) for r in RuleStore(tmp_path).load().rules] == [("r2", 1), ("r1", 3)]
    assert store.delete("r2") and not store.delete("r2")
    assert [r.rule_id for r in store.load().rules] == ["r1"]


def test_suggest_puts_popular_queries_before_titles(tmp_path: Path) -> None:
    suggester = Suggester().fit(
        ["Oak chair", "Oak table", "Pine table"], ["oak bed", "oak chair", "oak chair", "pine"]
    )
    assert suggester.suggest("OAK", 3) == ["oak chair", "oak bed", "Oak table"]
    assert suggester.suggest("", 3) == [] and suggester.suggest("zebra") == []
    assert Suggester.load(suggester.save(tmp_path)).suggest("oak", 3) == suggester.suggest("oak", 3)


def test_profile_shares_follow_event_weights() -> None:
    from shelfwise.domain import Event, EventType

    events = [
        Event(user_id="u", event_type=EventType.PURCHASE, product_id="a"),
        Event(user_id="u", event_type=EventType.VIEW, product_id="c"),
        Event(user_id="u", event_type=EventType.VIEW, product_id="missing"),
    ]
    by_id = {p.product_id: p for p in PRODUCTS}
    profile = build_profile("u", events, by_id.get)
    assert profile.categories == pytest.approx({"furniture": 5 / 6, "lighting": 1 / 6})
    assert profile.affinity(by_id["b"]) > profile.affinity(by_id["c"])
    assert profile.reasons(by_id["b"]) == ["you often look at Furniture", "you like Nordwood"]


def synthetic_groups(count: int, seed: int) -> list[RankingGroup]:
    """Relevance is driven by the `title_coverage` feature; the rest is noise."""
    rng = np.random.default_rng(seed)
    column = FEATURE_NAMES.index("title_coverage")
    groups = []
    for _ in range(count):
        features = rng.normal(size=(20, len(FEATURE_NAMES))).astype(np.float32)
        labels = np.clip(np.round(features[:, column] * 1.5), 0, 3).astype(np.int32)
        groups.append(RankingGroup(features=features, labels=labels))
    return groups


def test_ranker_learns_the_informative_feature_and_explains_with_it(tmp_path: Path) -> None:
    config = RankerConfig(num_boost_round=60, min_data_in_leaf=5, min_queries=10)
    ranker = LearnedRanker(config).fit(synthetic_groups(80, 1), synthetic_groups(20, 2))
    # Early stopping watched the 20 validation queries; the final model learnt from all 100.
    assert ranker.meta["refitted_on_validation"] and ranker.meta["train_queries"] == 100
    assert ranker.meta["best_iteration"] >= ranker.meta["early_stopping_iteration"]
    test = synthetic_groups(10, 3)
    features = np.vstack([group.features for group in test])
    predicted = ranker.predict(features)
    column = FEATURE_NAMES.index("title_coverage")
    # The scores follow the relevance the feature drives (flat where every label is 0), not the noise.
    relevance = np.clip(features[:, column] * 1.5, 0, 3)
    assert np.corrcoef(predicted, relevance)[0, 1] > 0.9
    contributions = ranker.contributions(features)
    assert contributions.shape == (200, len(FEATURE_NAMES) + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), predicted, rtol=1e-4, atol=1e-4)
    assert (
        np.abs(contributions[:, column]).mean()
        > np.abs(np.delete(contributions[:, :-1], column, 1)).max(1).mean()
    )
    loaded = LearnedRanker.load(ranker.save(tmp_path))
    np.testing.assert_allclose(loaded.predict(features), predicted, rtol=1e-6)


def test_path_contributions_add_up_to_the_score_and_match_treeshap_on_single_splits() -> None:
    train, valid, test = synthetic_groups(80, 1), synthetic_groups(20, 2), synthetic_groups(10, 3)
    features = np.vstack([group.features for group in test])
    for leaves, depth in ((2, 1), (15, 5)):
        config = RankerConfig(
            num_boost_round=40, min_data_in_leaf=5, min_queries=10, num_leaves=leaves, max_depth=depth
        )
        path = LearnedRanker(config).fit(train, valid)
        shap = LearnedRanker(config.model_copy(update={"explanation": "shap"}))
        shap.model, shap.meta = path.model, path.meta
        by_path, by_shap = path.contributions(features), shap.contributions(features)
        np.testing.assert_allclose(by_path.sum(axis=1), path.predict(features), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(by_path[:, -1], by_shap[:, -1], rtol=1e-9, atol=1e-9)
        if depth == 1:  # one split per tree: the path and TreeSHAP agree exactly
            np.testing.assert_allclose(by_path, by_shap, rtol=1e-6, atol=1e-9)
        else:  # deeper trees share credit differently, but not the score
            assert not np.allclose(by_path, by_shap, atol=1e-3)


def test_spelling_only_suggests_a_fix_for_a_real_word_the_catalog_lacks() -> None:
    speller = SpellingCorrector().fit([*CATALOG_TEXT, "hair conditioner", "hair conditioner", "oak table"])
    doubtful = speller.correct("oak chair")  # "chair" is English: the shopper wants a chair
    assert not doubtful.changed and doubtful.text == "oak chair"
    assert doubtful.suggested == {"chair": "hair"} and doubtful.suggestion == "oak hair"
    assert speller.correct("hair condtioner").changes == {"condtioner": "conditioner"}  # no English word
    catalog_only = SpellingConfig(dictionary_language=None)
    without_dictionary = SpellingCorrector(catalog_only).fit(["hair mask", "hair mask"])
    assert without_dictionary.correct("chair").changes == {"chair": "hair"}


def test_spelling_refuses_a_language_it_has_no_dictionary_for() -> None:
    with pytest.raises(ValueError, match="no general dictionary for 'xx'"):
        SpellingConfig(dictionary_language="xx")


def test_ranker_refuses_too_few_labelled_queries() -> None:
    with pytest.raises(ValueError, match="at least 30"):
        LearnedRanker().fit(synthetic_groups(5, 1))


def test_spelling_joins_next_to_a_word_known_only_by_its_stem() -> None:
    speller = SpellingCorrector().fit(["shower head", "shower", "showershead", "showershead"])
    assert speller.knows("showers") and "showers" not in speller.frequency
    assert speller.correct("showers head").changes == {"showers head": "showershead"}


def test_without_refit_the_ranker_keeps_its_early_stopped_model() -> None:
    config = RankerConfig(num_boost_round=60, min_data_in_leaf=5, min_queries=10, refit=False)
    ranker = LearnedRanker(config).fit(synthetic_groups(80, 1), synthetic_groups(20, 2))
    assert not ranker.meta["refitted_on_validation"] and ranker.meta["train_queries"] == 80
    assert ranker.meta["best_iteration"] == ranker.meta["early_stopping_iteration"]


def test_the_refit_keeps_within_the_tree_budget() -> None:
    config = RankerConfig(num_boost_round=12, min_data_in_leaf=5, min_queries=10)
    ranker = LearnedRanker(config).fit(synthetic_groups(80, 1), synthetic_groups(20, 2))
    stopped = ranker.meta["early_stopping_iteration"]
    # 100 queries against the 80 early stopping saw: 1.25 times the rounds, but never past the budget.
    assert ranker.meta["best_iteration"] == min(12, round(stopped * 1.25))
    assert ranker.booster.current_iteration() <= 12


def test_early_stopping_watches_a_fixed_random_share_of_the_queries_not_the_last_ones() -> None:
    groups = synthetic_groups(100, 4)
    train, validation = split_groups(groups, 0.2)
    assert len(train) == 80 and len(validation) == 20
    assert {id(g) for g in train} | {id(g) for g in validation} == {id(g) for g in groups}
    assert {id(g) for g in validation} != {id(g) for g in groups[80:]}  # not the tail
    again = split_groups(groups, 0.2)[1]
    assert [id(g) for g in again] == [id(g) for g in validation]  # the same split every time
