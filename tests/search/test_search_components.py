"""Every fitted search part is a component saved in the one format, and a search reports its stages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from shelfwise.domain import Product
from shelfwise.domain.errors import NotTrainedError
from shelfwise.engine.engine import Engine
from shelfwise.index.catalog import Catalog
from shelfwise.index.lexical import LexicalIndex
from shelfwise.index.vector import VectorIndex
from shelfwise.io.components import MANIFEST_FILE, Component, ComponentFormatError
from shelfwise.search import SearchPipeline
from shelfwise.search.config import SearchConfig
from shelfwise.search.learning import train_ranker_from_judgements
from shelfwise.search.memory import SearchMemory
from shelfwise.search.personal import UserProfile
from shelfwise.search.ranker import LearnedRanker, RankerConfig
from shelfwise.search.rules import Rule, RuleSet
from shelfwise.search.spelling import SpellingConfig, SpellingCorrector
from shelfwise.search.stages import Stage, StageTimer
from shelfwise.search.suggest import Suggester

PARTS: dict[str, type[Component[Any]]] = {
    "catalog": Catalog,
    "lexical": LexicalIndex,
    "vectors": VectorIndex,
    "spelling": SpellingCorrector,
    "suggest": Suggester,
    "ranker": LearnedRanker,
    "memory": SearchMemory,
}


def shop() -> list[Product]:
    titles = {
        "c1": "Wireless door chime kit",
        "c2": "Doorbell button",
        "b1": "Bell pepper seeds",
        "h1": "Garden hose 50 ft",
        "h2": "Hose reel cart",
        "s1": "Rain shower head",
        "s2": "Shower curtain rod",
        "l1": "Brass desk lamp",
    }
    return [
        Product(product_id=pid, title=title, brand="Acme" if pid < "d" else "Other", price=20.0)
        for pid, title in titles.items()
    ]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> SearchPipeline:
    """Every part: dense retrieval, spelling, a search memory and a learned ranker."""
    config = SearchConfig(
        spelling=SpellingConfig(min_frequency=1),
        ranker=RankerConfig(min_queries=3, num_boost_round=10, min_data_in_leaf=2),
    )
    pipeline = SearchPipeline(config).fit(
        shop(),
        popularity=[float(i) for i in range(8)],
        embedding_cache=tmp_path_factory.mktemp("embeddings"),
        queries=["door bell", "hose"],
    )
    judged = {
        "door bell": {"c1": 2.0, "c2": 1.0},
        "wireless doorbell": {"c1": 2.0},
        "hose": {"h1": 2.0, "h2": 2.0},
        "shower": {"s1": 2.0},
    }
    train_ranker_from_judgements(pipeline, judged, validation_share=0.0)
    assert pipeline.ranker is not None and pipeline.memory is not None and pipeline.vectors is not None
    return pipeline


@pytest.fixture(scope="module")
def saved(fitted: SearchPipeline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fitted.save(tmp_path_factory.mktemp("saved") / "search")


def page(pipeline: SearchPipeline, query: str, **options: object) -> list[tuple[str, float, list[str]]]:
    result = pipeline.search(query, page_size=8, request_id="r", **options)  # type: ignore[arg-type]
    return [
        (hit.product.product_id, hit.score, [reason.detail for reason in hit.explanation.reasons])
        for hit in result.hits
    ]


# the one format ---------------------------------------------------------------------------------------


def test_the_pipeline_saves_each_part_as_a_component_in_its_own_directory(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["kind"] == "search_pipeline"
    assert manifest["parts"] == list(PARTS)
    assert manifest["state"]["components"]["memory_queries"] == 4
    assert sorted(path.name for path in saved.iterdir()) == sorted([MANIFEST_FILE, "arrays.npz", *PARTS])
    for name, kind in PARTS.items():
        part = json.loads((saved / name / MANIFEST_FILE).read_text(encoding="utf-8"))
        assert part["kind"] == kind.kind
    # Libraries with their own format write it natively beside the manifest.
    assert (saved / "ranker" / "ranker.txt").is_file()
    assert (saved / "lexical" / "title" / "params.index.json").is_file()


def test_a_loaded_pipeline_answers_exactly_as_the_fitted_one(fitted: SearchPipeline, saved: Path) -> None:
    loaded = SearchPipeline.load(saved)
    assert loaded.config == fitted.config
    assert loaded.components == fitted.components
    assert loaded.popularity is not None and loaded.popularity.tolist() == list(range(8))
    profile = UserProfile(user_id="u", brands={"acme": 1.0})
    rules = RuleSet(rules=[Rule(action="pin", query="hose", product_ids=["l1"], position=1)])
    # Queries training never encoded: it primes the query-vector cache with batch encodings, which a
    # freshly loaded pipeline's one-off (int8) query encodings differ from in the last digits.
    for query, options in [
        ("wireless chime", {}),
        ("garden hose reel", {"rules": rules}),
        ("showr head", {"profile": profile}),
        ("", {}),
    ]:
        assert page(loaded, query, **options) == page(fitted, query, **options)
    assert loaded.suggest("do") == fitted.suggest("do")


def test_every_search_config_is_frozen_and_forbids_unknown_keys() -> None:
    for kind in [*PARTS.values(), SearchPipeline]:
        config = kind.config_type.model_config
        assert config.get("extra") == "forbid" and config.get("frozen") is True, kind.__name__


def test_a_directory_of_another_kind_or_format_is_refused_naming_it(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(
        ComponentFormatError, match="holds a 'search_pipeline' component, not 'lexical_index'"
    ):
        LexicalIndex.load(saved)
    # What the previous code wrote: files of its own, and no component manifest.
    old = tmp_path / "old"
    old.mkdir()
    (old / "search_config.json").write_text("{}", encoding="utf-8")
    (old / "products.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(ComponentFormatError, match=str(old)):
        SearchPipeline.load(old)


def test_parts_that_disagree_on_the_catalog_are_refused(saved: Path, tmp_path: Path) -> None:
    copy = tmp_path / "search"
    shutil.copytree(saved, copy)
    shutil.rmtree(copy / "lexical")
    LexicalIndex().fit(shop()[:5]).save(copy / "lexical")
    with pytest.raises(ComponentFormatError, match="8 products but the lexical index covers 5"):
        SearchPipeline.load(copy)


def test_a_ranker_trained_on_other_features_is_refused(saved: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ranker"
    shutil.copytree(saved / "ranker", copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["state"]["features"] = manifest["state"]["features"][:-1]
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ComponentFormatError, match="other features"):
        LearnedRanker.load(copy)


def test_an_engine_whose_version_cannot_be_loaded_says_so_instead_of_failing(tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "data")
    registry = engine.registry
    version = registry.new_version_id()
    with registry.staging(version) as staging:
        (staging / "search").mkdir()
        (staging / "search" / "search_config.json").write_text("{}", encoding="utf-8")
        manifest = {
            "version": version,
            "created_at": "2024-01-01T00:00:00Z",
            "data": {"products": 0, "events": 0, "users": 0},
        }
        (staging / registry.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        staging.rename(registry.versions_dir / version)
    registry.activate(version)
    engine.close()

    reopened = Engine.open(tmp_path / "data")  # starts, serving nothing trained
    try:
        assert reopened.manifest is None
        assert reopened.load_error is not None and version in reopened.load_error
        with pytest.raises(NotTrainedError, match=f"model version {version} cannot be loaded"):
            reopened.recommend("trending")
        with pytest.raises(NotTrainedError, match="cannot be loaded"):
            reopened.activate(version)
    finally:
        reopened.close()


# stage hooks ------------------------------------------------------------------------------------------

HYBRID_STAGES = [
    Stage.FILTERS,
    Stage.QUERY_UNDERSTANDING,
    Stage.QUERY_ENCODING,
    Stage.LEXICAL,
    Stage.DENSE,
    Stage.MEMORY,
    Stage.FUSION,
    Stage.FEATURES,
    Stage.MEMORY_FEATURES,
    Stage.RANKER,
    Stage.PERSONALISATION,
    Stage.RULES,
    Stage.EXPLANATIONS,
    Stage.PAGE,
]


def stages_of(pipeline: SearchPipeline, query: str) -> list[str]:
    timer = StageTimer()
    hooked = pipeline.search(query, page_size=8, request_id="r", stages=timer)
    assert hooked == pipeline.search(query, page_size=8, request_id="r")  # the hook changes nothing
    assert all(seconds >= 0 for seconds in timer.seconds.values())
    return timer.order


def test_the_hybrid_path_reports_its_stages_in_order(fitted: SearchPipeline) -> None:
    assert stages_of(fitted, "door bell") == HYBRID_STAGES
    without_ranker = fitted.variant(ranker=False, memory=False)
    assert stages_of(without_ranker, "door bell") == [
        s
        for s in HYBRID_STAGES
        if s not in (Stage.MEMORY, Stage.FEATURES, Stage.MEMORY_FEATURES, Stage.RANKER)
    ]


def test_the_bm25_only_path_and_browsing_report_theirs(fitted: SearchPipeline) -> None:
    bm25 = fitted.variant(semantic=False, spelling=False, ranker=False, memory=False)
    assert stages_of(bm25, "door bell") == [
        Stage.FILTERS,
        Stage.LEXICAL,
        Stage.PERSONALISATION,
        Stage.RULES,
        Stage.EXPLANATIONS,
        Stage.PAGE,
    ]
    assert stages_of(fitted, "") == [Stage.FILTERS, Stage.BROWSE, Stage.PAGE]


def test_a_timer_adds_up_over_searches_and_starts_each_order_afresh(fitted: SearchPipeline) -> None:
    timer = StageTimer()
    for query in ("hose", "shower", "door bell"):
        timer.start()
        fitted.search(query, stages=timer)
    assert timer.calls[Stage.RANKER] == 3 and timer.calls[Stage.PAGE] == 3
    assert timer.order == HYBRID_STAGES
    assert timer.seconds[Stage.RANKER] > 0
    timer.reset()
    assert timer.seconds == {} and timer.order == []
