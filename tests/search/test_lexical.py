"""Fielded BM25: field weights, stemming, masks inside retrieval, exact fusion, paging, persistence."""

from pathlib import Path

import bm25s
import numpy as np
import pytest

from shelfwise.domain import Product
from shelfwise.index.lexical import FieldWeights, LexicalIndex, LexicalIndexConfig
from shelfwise.io.components import ComponentFormatError


def catalog() -> list[Product]:
    return [
        Product(product_id="p0", title="Oak dining chair", brand="Nordwood", category="Furniture > Seating"),
        Product(product_id="p1", title="Desk lamp", description="Bright light for a desk"),
        Product(product_id="p2", title="Reading light", description="Clip-on lamp with a warm lamp shade"),
        Product(product_id="p3", title="Garden bench", brand="Nordwood", category="Garden > Benches"),
        Product(product_id="p4", title="Office chairs, set of two", brand="Sitwell"),
        Product(product_id="p5", title="Kitchen table", brand="Nordwood", description="Seats four chairs"),
        Product(product_id="p6", title="Wall clock", category="Decor > Clocks"),
    ]


def fitted(**config: object) -> LexicalIndex:
    return LexicalIndex(LexicalIndexConfig.model_validate(config)).fit(catalog())


def ids(positions: np.ndarray) -> list[str]:
    products = catalog()
    return [products[int(p)].product_id for p in positions]


def test_brand_query_finds_the_brands_products_through_the_brand_field() -> None:
    matches = fitted().search("nordwood", k=10)
    assert sorted(ids(matches.positions)) == ["p0", "p3", "p5"]
    assert all([m.field for m in hit] == ["brand"] for hit in matches.field_matches)


def test_title_outweighs_description_by_default_and_weights_can_flip_it() -> None:
    default = fitted().search("lamp", k=10)
    assert ids(default.positions)[0] == "p1"  # "lamp" in its title
    description_first = fitted(weights=FieldWeights(title=1.0, description=10.0)).search("lamp", k=10)
    assert ids(description_first.positions)[0] == "p2"  # "lamp" twice in its description


def test_stemming_matches_plural_and_singular() -> None:
    stemmed = set(ids(fitted().search("chairs", k=10).positions))
    unstemmed = set(ids(fitted(stemmer_language=None).search("chairs", k=10).positions))
    assert {"p0", "p4", "p5"} <= stemmed
    assert "p0" not in unstemmed  # its title says "chair": only the stemmer makes "chairs" match it
    assert "p4" in unstemmed


def test_unknown_or_stopword_only_queries_give_no_hits() -> None:
    index = fitted()
    for query in ("zeppelin", "the of and", "", "!!!"):
        matches = index.search(query, k=5)
        assert len(matches) == 0 and matches.total == 0


def test_fused_scores_equal_the_weighted_sum_of_per_field_bm25() -> None:
    config = LexicalIndexConfig()
    index = LexicalIndex(config).fit(catalog())
    query = "nordwood chairs lamp"
    expected = np.zeros(len(catalog()), dtype=np.float64)
    fields = {
        "title": [p.title for p in catalog()],
        "brand": [p.brand or "" for p in catalog()],
        "category": [p.category or "" for p in catalog()],
        "description": [p.description or "" for p in catalog()],
    }
    for name, texts in fields.items():
        reference = bm25s.BM25(k1=config.k1, b=config.b)
        reference.index([index.analyzer.analyze(t) for t in texts], show_progress=False)
        terms = [t for t in index.analyzer.analyze(query) if t in reference.vocab_dict]
        if terms:
            expected += config.weights.of(name) * reference.get_scores(terms)
    np.testing.assert_allclose(index.scores(query), expected, rtol=1e-5)


def test_mask_is_applied_inside_retrieval_so_the_page_stays_full() -> None:
    index = fitted()
    unfiltered = ids(index.search("chairs", k=1).positions)
    mask = np.array([p.product_id in {"p4", "p5"} for p in catalog()])
    assert unfiltered[0] not in {"p4", "p5"}
    filtered = index.search("chairs", k=2, mask=mask)
    assert sorted(ids(filtered.positions)) == ["p4", "p5"]
    assert filtered.total == 2
    assert index.search("chairs", k=1).total == 3


def test_offset_pages_continue_without_overlap_even_with_ties() -> None:
    twins = [Product(product_id=f"t{i}", title="Brass hinge") for i in range(7)]
    index = LexicalIndex().fit(twins)
    whole = list(index.search("hinge", k=7).positions)
    pages = [list(index.search("hinge", k=3, offset=offset).positions) for offset in (0, 3, 6)]
    assert [position for page in pages for position in page] == whole
    assert sorted(whole) == list(range(7))


def test_field_matches_name_fields_and_query_words_with_contributions() -> None:
    matches = fitted().search("Nordwood chairs", k=10)
    first = ids(matches.positions).index("p0")
    by_field = {m.field: m for m in matches.field_matches[first]}
    assert set(by_field) == {"title", "brand"}
    assert set(by_field["title"].terms) == {"chairs"}  # quoted as typed, matched as the stem "chair"
    assert set(by_field["brand"].terms) == {"nordwood"}
    assert sum(m.contribution for m in by_field.values()) == pytest.approx(float(matches.scores[first]))


def test_fields_without_any_text_are_not_indexed() -> None:
    index = LexicalIndex().fit(
        [Product(product_id="a", title="Hammer"), Product(product_id="b", title="Saw")]
    )
    assert index.fields == ["title"]
    zero_brand = fitted(weights=FieldWeights(brand=0.0))
    assert "brand" not in zero_brand.fields
    assert zero_brand.search("nordwood", k=5).total == 0


def test_save_and_load_give_identical_results(tmp_path: Path) -> None:
    index = fitted(k1=1.1, b=0.6)
    loaded = LexicalIndex.load(index.save(tmp_path / "lexical"))
    assert loaded.config == index.config
    for query in ("nordwood chairs", "lamp", "garden"):
        before, after = index.search(query, k=5), loaded.search(query, k=5)
        np.testing.assert_array_equal(before.positions, after.positions)
        np.testing.assert_array_equal(before.scores, after.scores)
        assert before.field_matches == after.field_matches


def test_bad_arguments_are_rejected_clearly(tmp_path: Path) -> None:
    index = fitted()
    with pytest.raises(ValueError, match="mask must be a bool array"):
        index.search("lamp", k=3, mask=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="must be >= 0"):
        index.search("lamp", k=-1)
    with pytest.raises(RuntimeError, match="not fitted"):
        LexicalIndex().search("lamp", k=3)
    with pytest.raises(ComponentFormatError, match="no saved component"):
        LexicalIndex.load(tmp_path)
