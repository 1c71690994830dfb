"""Synonyms the shop edits: the file format, its errors, reloading, and their effect on search."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sample_shop import catalog_rows
from shelfwise.domain import Product
from shelfwise.search import SearchConfig, SearchPipeline
from shelfwise.search.synonyms import SynonymError, SynonymSet, SynonymStore

TEXT = """
# living room
sofa, couch, settee
tv => television   # one way
frying pan, skillet
"""


def test_two_way_groups_expand_every_member_and_one_way_rules_only_their_left_side() -> None:
    synonyms = SynonymSet.parse(TEXT)
    assert len(synonyms.rules) == 3
    assert synonyms.expand("green COUCH") == ["sofa", "settee"]
    assert synonyms.expand("tv stand") == ["television"]
    assert synonyms.expand("television stand") == []  # one way: the right side does not expand back
    assert synonyms.expand("cast iron skillet") == ["frying pan"]
    assert synonyms.expand("frying pans") == []  # whole words only: no guessing at plurals here
    assert synonyms.expand("sofabed") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sofa, couch\nlonely\n", "line 2: 'lonely' names one word"),
        ("a => b => c\n", "line 1: more than one '=>'"),
        ("sofa, , couch\n", "line 1: an empty word between commas"),
        ("\n\n => tv\n", "line 3: an empty word"),
    ],
)
def test_a_wrong_line_is_an_error_naming_its_number(text: str, message: str) -> None:
    with pytest.raises(SynonymError, match=message):
        SynonymSet.parse(text)


def test_the_store_rereads_an_edited_file_and_keeps_the_last_good_set_when_broken(tmp_path: Path) -> None:
    store = SynonymStore(tmp_path)
    assert not store.load() and store.text() == ""
    store.replace("sofa, couch")
    assert store.load().expand("couch") == ["sofa"]
    store.path.write_text("sofa, couch\ntv, television\n", encoding="utf-8")
    os.utime(store.path, ns=(1, 10**18))  # a later modification time than the write above
    assert store.load().expand("tv") == ["television"]
    store.path.write_text("sofa, couch\nbroken\n", encoding="utf-8")
    os.utime(store.path, ns=(1, 2 * 10**18))
    assert store.load().expand("tv") == ["television"]
    assert store.error is not None and "line 2" in store.error
    with pytest.raises(SynonymError, match="line 1"):
        store.replace("only-one-word\n")
    assert "broken" in store.text()  # a refused replacement writes nothing


def test_synonyms_let_a_query_find_products_that_use_the_other_word() -> None:
    products = [Product.model_validate(row) for row in catalog_rows()]
    pipeline = SearchPipeline(SearchConfig(semantic=False)).fit(products)
    assert pipeline.search("couch").total == 0
    synonyms = SynonymSet.parse("sofa, couch")
    found = pipeline.search("couch", synonyms=synonyms)
    assert {hit.product.product_id for hit in found.hits} == {"p3", "p4"}
    configured = SearchPipeline(SearchConfig(semantic=False, synonyms=[["couch", "sofa"]])).fit(products)
    assert {hit.product.product_id for hit in configured.search("couch").hits} == {"p3", "p4"}
