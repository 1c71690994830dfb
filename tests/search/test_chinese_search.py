"""Chinese and mixed Chinese/English catalogs: segmentation in BM25, spelling that leaves Chinese alone,
and the search pipeline choosing the multilingual encoder for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.domain import Product
from shelfwise.index.lexical import LexicalIndex, LexicalIndexConfig
from shelfwise.io.datasets import DatasetMissing, load_chinese_product_titles
from shelfwise.search import SearchPipeline
from shelfwise.search.config import SearchConfig
from shelfwise.search.spelling import SpellingConfig, SpellingCorrector
from shelfwise.text.cjk import is_han_word
from shelfwise.text.encoder import DEFAULT_MODEL, EncoderConfig, TextEncoder
from shelfwise.text.multilingual import USEM3_MODEL

pytestmark = [pytest.mark.slow, pytest.mark.model]


def shop() -> list[Product]:
    rows = [
        ("c1", "Apple iPhone 15 手机壳 透明硅胶防摔", "Apple", "手机配件"),
        ("c2", "Apple iPhone 15 Pro 手机 256G 黑色", "Apple", "手机"),
        ("c3", "华为 Mate 60 手机壳 磨砂", "华为", "手机配件"),
        ("c4", "耐克男士运动鞋 透气跑步鞋", "耐克", "鞋"),
        ("c5", "女士高跟鞋 真皮 黑色", None, "鞋"),
        ("c6", "不锈钢保温杯 500ml 商务水杯", "膳魔师", "厨房"),
        ("c7", "儿童积木玩具 益智拼装", "乐高", "玩具"),
        ("c8", "纯棉女士连衣裙 夏季 碎花", None, "女装"),
    ]
    return [
        Product(product_id=pid, title=title, brand=brand, category=category)
        for pid, title, brand, category in rows
    ]


def ids(products: list[Product], positions: np.ndarray) -> list[str]:
    return [products[int(p)].product_id for p in positions]


@pytest.fixture(scope="module")
def lexical() -> LexicalIndex:
    return LexicalIndex().fit(shop())


def test_chinese_titles_are_indexed_as_words_and_latin_words_keep_stemming() -> None:
    terms = LexicalIndexConfig().analyzer().analyze("Apple iPhone 15 手机壳 透明")
    assert terms[:3] == ["appl", "iphon", "15"]
    assert "手机" in terms and "透明" in terms
    assert "手" not in terms and "透" not in terms  # words, not single characters
    assert LexicalIndexConfig().analyzer().analyze("Running shoes") == ["run", "shoe"]


def test_letters_glued_to_chinese_are_a_word_of_their_own() -> None:
    assert LexicalIndexConfig(cjk_analysis="jieba").analyzer().analyze("iphone手机壳") == [
        "iphon",
        "手机",
        "壳",
    ]


def test_a_chinese_query_finds_the_chinese_product(lexical: LexicalIndex) -> None:
    products = shop()
    assert ids(products, lexical.search("运动鞋", k=3).positions)[0] == "c4"
    assert ids(products, lexical.search("保温杯", k=3).positions)[0] == "c6"
    assert ids(products, lexical.search("连衣裙", k=3).positions) == ["c8"]


def test_a_shorter_word_finds_the_longer_one_in_the_index(lexical: LexicalIndex) -> None:
    products = shop()
    assert ids(products, lexical.search("跑步", k=3).positions) == ["c4"]


def test_mixed_queries_match_both_scripts(lexical: LexicalIndex) -> None:
    products = shop()
    assert ids(products, lexical.search("iphone 手机壳", k=3).positions)[0] == "c1"
    assert ids(products, lexical.search("华为手机壳", k=3).positions)[0] == "c3"
    assert ids(products, lexical.search("apple 手机", k=3).positions)[:2] == ["c2", "c1"]


def test_the_index_reloads_with_its_chinese_analysis(lexical: LexicalIndex, tmp_path: Path) -> None:
    loaded = LexicalIndex.load(lexical.save(tmp_path / "lexical"))
    np.testing.assert_array_equal(
        loaded.search("透明手机壳", k=5).positions, lexical.search("透明手机壳", k=5).positions
    )


def test_spelling_leaves_chinese_alone_and_still_fixes_the_latin_words() -> None:
    speller = SpellingCorrector(SpellingConfig(min_frequency=1)).fit(p.title for p in shop())
    assert not any(is_han_word(word) for word in speller.frequency)
    for query in ["红色手机壳", "透明 手机壳", "手机 壳", "男士跑步鞋子"]:
        assert not speller.correct(query).changed, query
    assert speller.correct("iphnoe 手机壳").text == "iphone 手机壳"
    assert speller.correct("iphnoe手机壳").text == "iphone 手机壳"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> SearchPipeline:
    return SearchPipeline().fit(shop(), embedding_cache=tmp_path_factory.mktemp("embeddings"))


def test_the_default_pipeline_picks_the_multilingual_encoder_and_says_so(pipeline: SearchPipeline) -> None:
    assert pipeline.components["dense"] == USEM3_MODEL
    assert "auto" in pipeline.components["dense_choice"]
    assert pipeline.config.encoder.model == USEM3_MODEL
    assert SearchConfig().encoder.model == "auto"


def test_the_pipeline_finds_chinese_products_by_words_and_by_meaning(pipeline: SearchPipeline) -> None:
    assert pipeline.search("跑步鞋").hits[0].product.product_id == "c4"
    assert pipeline.search("iphone 手机壳").hits[0].product.product_id == "c1"
    # No shared word: 球鞋 (sneakers), and the English word, reach the running shoes by meaning alone.
    for query in ["球鞋", "sneakers"]:
        assert pipeline.variant(semantic=False).search(query).hits == []
        found = pipeline.search(query)
        assert found.hits and found.hits[0].product.product_id == "c4", query


def test_a_saved_pipeline_serves_queries_with_the_encoder_it_chose(
    pipeline: SearchPipeline, tmp_path: Path
) -> None:
    loaded = SearchPipeline.load(pipeline.save(tmp_path / "search"))
    assert loaded.config.encoder.model == USEM3_MODEL
    assert loaded.search("球鞋").hits[0].product.product_id == "c4"


def test_an_english_catalog_keeps_minilm() -> None:
    products = [Product(product_id="e1", title="Velvet sofa"), Product(product_id="e2", title="Oak table")]
    english = SearchPipeline(SearchConfig(spelling=SpellingConfig(enabled=False))).fit(products)
    # Exactly what an explicit MiniLM config gives (same model, backend and cached vectors).
    assert english.config.encoder == EncoderConfig(model=DEFAULT_MODEL)
    assert english.components["dense"] == TextEncoder(EncoderConfig()).name
    assert english.components["dense"].startswith(DEFAULT_MODEL)
    assert english.search("couch").hits[0].product.product_id == "e1"


@pytest.mark.shared_data
def test_real_chinese_titles_segment_into_words_and_their_product_words_find_them(
    shared_data: Path,
) -> None:
    try:
        titles = load_chinese_product_titles(shared_data)
    except DatasetMissing as missing:
        pytest.skip(f"shared data absent: {missing}")
    products = [
        Product(product_id=pid, title=title) for pid, title in titles.select("product_id", "title").rows()
    ]
    words = [
        w for p in products[:500] for w in LexicalIndexConfig(cjk_analysis="jieba").analyzer().words(p.title)
    ]
    han = [w for w in words if is_han_word(w)]
    assert sum(len(w) >= 2 for w in han) / len(han) > 0.7

    index = LexicalIndex().fit(products)
    annotated = [
        (i, word)
        for i, row in enumerate(titles.get_column("products").to_list()[:300])
        for word in row[:1]
        if len(word) >= 2 and is_han_word(word)
    ]
    has_it = [{w for w in row} for row in titles.get_column("products").to_list()]
    found = 0
    for _, word in annotated:
        top = index.search(word, k=10).positions
        found += any(word in has_it[int(p)] for p in top)
    assert found / len(annotated) > 0.95
