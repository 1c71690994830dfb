"""The search pipeline: filters inside retrieval, facets, paging, browse, explanations, persistence."""

from collections import Counter
from pathlib import Path

import pytest

from shelfwise.domain import Filters, Product, SearchResult
from shelfwise.index.catalog import price_band
from shelfwise.io.components import ComponentFormatError
from shelfwise.search import SearchConfig, SearchPipeline, clean_query


def catalog() -> list[Product]:
    products: list[Product] = []

    def add(title: str, brand: str, category: str, price: float | None, available: bool = True) -> None:
        products.append(
            Product(
                product_id=f"p{len(products):02d}",
                title=title,
                brand=brand,
                category=category,
                price=price,
                available=available,
            )
        )

    for i in range(4):
        add(f"Oak chair {i}", "Nordwood", "Furniture > Chairs > Dining", 40.0 + 30 * i)
        add(f"Mesh office chair model {i}", "Sitwell", "Furniture > Chairs > Office", 120.0 + 10 * i, i != 2)
        # Long titles: these chairs score below the others unless a filter singles them out.
        add(
            f"Comfy padded reclining lounge chair with extra wide armrests series {i}",
            "Comfy",
            "Garden > Chairs",
            300.0 + i,
            True,
        )
    for i in range(3):
        add(f"Pine table {i}", "Nordwood", "Furniture > Tables", 200.0 + 100 * i)
        add(f"Desk lamp {i}", "Glow", "Lighting > Lamps", 15.0 + i)
    add("Chair cushion", "Softy", "Furniture Outlet > Misc", None)
    add("Chair repair kit", "Fixit", "Tools", 9.5, available=False)
    return products


@pytest.fixture(scope="module")
def pipeline() -> SearchPipeline:
    return SearchPipeline().fit(catalog())


def chairs(predicate: object = None) -> list[Product]:
    keep = predicate if callable(predicate) else (lambda p: True)
    return [p for p in catalog() if "chair" in p.title.lower() and keep(p)]


def result_ids(result: SearchResult) -> list[str]:
    return [hit.product.product_id for hit in result.hits]


def test_hits_are_in_score_order_and_total_counts_every_match(pipeline: SearchPipeline) -> None:
    result = pipeline.search("chair", page_size=5)
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert result.total == len(chairs())
    assert len(result.hits) == 5


def test_a_filtered_page_is_full_when_enough_matches_exist(pipeline: SearchPipeline) -> None:
    unfiltered = pipeline.search("chair", page_size=4)
    assert all(hit.product.brand != "Comfy" for hit in unfiltered.hits)
    filtered = pipeline.search("chair", filters=Filters(brands=["comfy"]), page_size=4)
    assert len(filtered.hits) == 4
    assert {hit.product.brand for hit in filtered.hits} == {"Comfy"}
    assert filtered.total == len(chairs(lambda p: p.brand == "Comfy"))


def test_category_filter_matches_a_path_prefix_only(pipeline: SearchPipeline) -> None:
    result = pipeline.search("chair", filters=Filters(category="Furniture"), page_size=100)
    expected = chairs(lambda p: p.category.startswith("Furniture > "))
    assert sorted(result_ids(result)) == sorted(p.product_id for p in expected)
    assert "Furniture Outlet > Misc" not in {hit.product.category for hit in result.hits}
    office = pipeline.search("chair", filters=Filters(category="Furniture > Chairs > Office"), page_size=100)
    assert {hit.product.brand for hit in office.hits} == {"Sitwell"} and office.total == 4


def test_price_and_availability_filters(pipeline: SearchPipeline) -> None:
    priced = pipeline.search("chair", filters=Filters(price_min=50, price_max=130), page_size=100)
    expected = chairs(lambda p: p.price is not None and 50 <= p.price <= 130)
    assert sorted(result_ids(priced)) == sorted(p.product_id for p in expected)
    in_stock = pipeline.search("chair", filters=Filters(available=True), page_size=100)
    assert in_stock.total == len(chairs(lambda p: p.available))
    assert all(hit.product.available for hit in in_stock.hits)


def test_facets_count_all_matching_products_not_just_the_page(pipeline: SearchPipeline) -> None:
    result = pipeline.search("chair", filters=Filters(category="Furniture"), page_size=2)
    matching = chairs(lambda p: p.category.startswith("Furniture > "))
    facets = {name: {v.value: v.count for v in values} for name, values in result.facets.items()}
    assert facets["category"] == Counter(" > ".join(p.category_path[:2]) for p in matching)
    assert facets["brand"] == Counter(p.brand for p in matching)
    assert facets["price"] == Counter(price_band(p.price) for p in matching if p.price is not None)
    assert sum(facets["brand"].values()) == result.total > len(result.hits)


def test_pages_continue_each_other_without_duplicates(pipeline: SearchPipeline) -> None:
    whole = result_ids(pipeline.search("chair", page_size=9))
    first = pipeline.search("chair", page=1, page_size=3)
    second = pipeline.search("chair", page=2, page_size=3)
    third = pipeline.search("chair", page=3, page_size=3)
    assert result_ids(first) + result_ids(second) + result_ids(third) == whole
    assert len(set(whole)) == 9
    assert first.total == second.total == third.total
    beyond = pipeline.search("chair", page=10, page_size=10)
    assert beyond.hits == [] and beyond.total == first.total


def test_explanations_name_the_fields_and_the_query_words(pipeline: SearchPipeline) -> None:
    bm25_only = pipeline.variant(semantic=False, spelling=False)
    hit = next(
        h for h in bm25_only.search("nordwood chairs", page_size=20).hits if h.product.title.startswith("Oak")
    )
    assert set(hit.matched_fields) == {"title", "brand", "category"}
    details = {reason.detail.split(" ")[0]: reason for reason in hit.explanation.reasons}
    assert '"chairs"' in details["title"].detail and '"nordwood"' in details["brand"].detail
    assert all(
        reason.signal == "bm25" and (reason.contribution or 0) > 0 for reason in hit.explanation.reasons
    )
    assert sum(r.contribution or 0 for r in hit.explanation.reasons) == pytest.approx(hit.score, rel=1e-5)


def test_hybrid_explanations_add_meaning_similarity_to_the_bm25_terms(pipeline: SearchPipeline) -> None:
    hit = next(
        h for h in pipeline.search("nordwood chairs", page_size=20).hits if h.product.title.startswith("Oak")
    )
    signals = {reason.signal for reason in hit.explanation.reasons}
    assert {"bm25", "semantic"} <= signals
    lexical = sum(r.contribution or 0 for r in hit.explanation.reasons if r.signal == "bm25")
    position = [p.product_id for p in pipeline.catalog.products].index(hit.product.product_id)
    assert lexical == pytest.approx(float(pipeline.lexical.scores("nordwood chairs")[position]), rel=1e-5)


def test_empty_query_browses_the_filtered_catalog_by_title(pipeline: SearchPipeline) -> None:
    result = pipeline.search("   ", filters=Filters(brands=["Nordwood"]), page_size=100)
    nordwood = [p for p in catalog() if p.brand == "Nordwood"]
    assert result.total == len(nordwood)
    assert [h.product.title for h in result.hits] == sorted(p.title for p in nordwood)
    assert pipeline.search("").total == len(catalog())


def test_queries_are_cleaned_and_truncated() -> None:
    assert clean_query("oak\x00\tchair\u200b\n", 100) == "oak chair"
    assert clean_query("x" * 600, 512) == "x" * 512
    short = SearchPipeline(SearchConfig(max_query_chars=5)).fit(catalog())
    assert short.search("lamp chair").query == "lamp"
    assert {hit.product.brand for hit in short.search("lamp chair", page_size=100).hits} == {"Glow"}


def test_queries_without_known_words_find_nothing(pipeline: SearchPipeline) -> None:
    result = pipeline.search("zeppelin")
    assert result.total == 0 and result.hits == []


@pytest.mark.parametrize(
    ("page", "page_size", "message"),
    [(0, 10, "page must be >= 1"), (1, 0, "page_size must be between 1 and 100"), (1, 101, "got 101")],
)
def test_bad_page_arguments_raise(pipeline: SearchPipeline, page: int, page_size: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pipeline.search("chair", page=page, page_size=page_size)


def test_product_lookup_and_request_ids(pipeline: SearchPipeline) -> None:
    assert pipeline.product("p00") == catalog()[0]
    assert pipeline.product("nope") is None
    assert pipeline.search("chair", request_id="abc").request_id == "abc"
    assert pipeline.search("chair").request_id != pipeline.search("chair").request_id


def test_save_and_load_round_trip(pipeline: SearchPipeline, tmp_path: Path) -> None:
    loaded = SearchPipeline.load(pipeline.save(tmp_path / "search"))
    assert loaded.config == pipeline.config
    for query, filters in [
        ("chair", None),
        ("nordwood", Filters(price_max=250)),
        ("", Filters(category="Lighting")),
    ]:
        before = pipeline.search(query, filters=filters, page_size=7, request_id="r")
        after = loaded.search(query, filters=filters, page_size=7, request_id="r")
        assert after == before


def test_unfitted_or_missing_pipelines_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        SearchPipeline().search("chair")
    with pytest.raises(ComponentFormatError, match="no saved component"):
        SearchPipeline.load(tmp_path)
