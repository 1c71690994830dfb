from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import torch

from sample_shop import catalog_rows
from shelfwise.domain import Product
from shelfwise.engine import Engine
from shelfwise.search.config import SearchConfig
from shelfwise.text.encoder import DEFAULT_MODEL, EncoderConfig, TextEncoder, product_text
from shelfwise.training.finetune import (
    EncoderFinetuner,
    FinetuneConfig,
    TrainingPair,
    attribute_pairs,
    build_pairs,
    pack_batches,
    positive_rank_share,
)
from shelfwise.training.trainer import TrainingConfig

pytestmark = [pytest.mark.slow, pytest.mark.model]

TITLES = [
    "Stainless steel kitchen sink",
    "Cordless drill with two batteries",
    "Ceramic floor tile, white",
    "Garden hose, 50 ft",
    "LED ceiling light fixture",
    "Exterior wood stain, cedar",
    "Copper pipe fitting, 1/2 in.",
    "Vinyl window blinds",
    "Toilet flapper replacement",
    "Ladder, aluminium, 6 ft",
    "Smoke detector, battery powered",
    "Paint roller kit",
]
# Made-up words a shop's customers might use (house brands, part codes): the base model cannot know them.
CODES = [
    "blorvik",
    "quenzal",
    "traffo",
    "mizzlet",
    "dorrant",
    "yabbok",
    "sprenzo",
    "kolvane",
    "vintrop",
    "glaxer",
    "pumbrel",
    "zeffick",
]


def torch_encoder(model: str = DEFAULT_MODEL) -> TextEncoder:
    """PyTorch float32 where the encoder offers a backend choice: exporting each model to ONNX first would
    cost more than the whole test; the fine-tuned directory loads the same way either way."""
    backend = {"backend": "torch"} if "backend" in EncoderConfig.model_fields else {}
    return TextEncoder(EncoderConfig(model=model, **backend))


def catalog() -> list[Product]:
    return [Product(product_id=f"p{i}", title=title) for i, title in enumerate(TITLES)]


def code_pairs(products: list[Product]) -> list[TrainingPair]:
    return [
        TrainingPair(
            anchor=code, positive=product_text(product), product_id=product.product_id, source="judgements"
        )
        for code, product in zip(CODES, products, strict=True)
    ]


def events(rows: list[tuple[str, str, str | None, str | None, int]]) -> pl.DataFrame:
    start = datetime(2026, 1, 1)
    return pl.DataFrame(
        [
            {
                "user_id": user,
                "session_id": None,
                "event_type": kind,
                "product_id": product,
                "query": query,
                "timestamp": start + timedelta(minutes=minute),
            }
            for user, kind, product, query, minute in rows
        ],
        schema={
            "user_id": pl.Utf8,
            "session_id": pl.Utf8,
            "event_type": pl.Utf8,
            "product_id": pl.Utf8,
            "query": pl.Utf8,
            "timestamp": pl.Datetime("us"),
        },
    )


def test_judged_pairs_keep_gains_at_the_threshold_and_events_add_what_searches_led_to() -> None:
    products = catalog()
    judged = {"kitchen sink": {"p0": 2.0, "p2": 1.0, "p3": 0.33}, "drill": {"p1": 1.33, "unknown": 2.0}}
    searches = events(
        [
            ("u1", "search", None, "hose", 0),
            ("u1", "click", "p3", None, 1),
            ("u1", "purchase", "p3", None, 2),
            ("u2", "search", None, "light", 0),
            ("u2", "view", "p4", None, 1),  # a view is not a search outcome
            ("u3", "search", None, "stain", 0),
            ("u3", "click", "p5", None, 90),  # past the attribution window
        ]
    )
    pairs = build_pairs(products, searches, judged, FinetuneConfig(min_gain=1.33))
    found = {(pair.anchor, pair.product_id, pair.source) for pair in pairs}
    assert found == {
        ("kitchen sink", "p0", "judgements"),
        ("drill", "p1", "judgements"),
        ("hose", "p3", "events"),
    }
    assert next(p for p in pairs if p.product_id == "p0").positive == product_text(products[0])


def test_without_query_signal_the_catalog_attributes_teach_and_the_positive_leaves_them_out() -> None:
    products = [
        Product(product_id="a", title="Velvet sofa", category="Furniture > Sofas", brand="Comfy"),
        Product(product_id="b", title="Oak table", category="Furniture > Tables"),
        Product(product_id="c", title="Plain thing"),
    ]
    pairs = build_pairs(products, events=None, judged=None)
    assert pairs == attribute_pairs(products)
    assert {(p.anchor, p.product_id) for p in pairs} == {
        ("Sofas", "a"),
        ("Comfy Sofas", "a"),
        ("Tables", "b"),
    }
    assert all("Sofas" not in p.positive and "Comfy" not in p.positive for p in pairs if p.product_id == "a")
    assert build_pairs(products, judged=None, config=FinetuneConfig(attribute_fallback=False)) == []


def test_batches_hold_no_false_in_batch_negative() -> None:
    # Anchors with several positives, and products that are positives of several anchors.
    pairs = [
        TrainingPair(anchor=f"q{q}", positive=f"doc {d}", product_id=str(d), source="judgements")
        for q in range(30)
        for d in {q % 17, (q * 7) % 17, (q + 3) % 17}
    ]
    positives_of: dict[str, set[str]] = {}
    for pair in pairs:
        positives_of.setdefault(pair.anchor, set()).add(pair.positive)
    batches = pack_batches(pairs, batch_size=8, seed=3)
    placed = [index for batch in batches for index in batch]
    assert len(placed) == len(set(placed))
    # Only what can form no batch is left out: leftovers clash pairwise, so no two could share a batch.
    left = [pairs[i] for i in sorted(set(range(len(pairs))) - set(placed))]
    assert len(left) <= 3
    for a, b in itertools.combinations(left, 2):
        assert (
            a.anchor == b.anchor
            or b.positive in positives_of[a.anchor]
            or a.positive in positives_of[b.anchor]
        )
    for batch in batches:
        assert 2 <= len(batch) <= 8
        anchors = [pairs[i].anchor for i in batch]
        for i in batch:
            others = [pairs[j] for j in batch if j != i]
            # No other pair's positive is a positive of this anchor, and no anchor repeats.
            assert all(other.positive not in positives_of[pairs[i].anchor] for other in others)
        assert len(set(anchors)) == len(anchors)


def test_finetuning_teaches_the_pairs_and_the_saved_directory_serves_through_text_encoder(
    tmp_path: Path,
) -> None:
    products = catalog()
    pairs = code_pairs(products)
    candidates = [product_text(p) for p in products]
    before = positive_rank_share(torch_encoder(), pairs, candidates)
    config = FinetuneConfig(
        batch_size=12, epochs=15, learning_rate=2e-4, warmup_share=0.1, seed=7, max_seconds=None, threads=1
    )
    tuner = EncoderFinetuner(config).fit(pairs)
    path = tuner.save(tmp_path / "encoder")

    loaded = torch_encoder(str(path))
    after = positive_rank_share(loaded, pairs, candidates)
    assert before <= 0.35
    assert after >= before + 0.4
    assert tuner.report is not None
    assert tuner.report.steps == 15
    assert tuner.report.stopped_by == "epochs"
    assert tuner.report.last_loss < tuner.report.first_loss
    assert EncoderFinetuner.load_report(path).pairs == len(pairs)
    assert loaded.dim == torch_encoder().dim


def test_a_step_budget_stops_training_and_leaves_the_served_base_model_untouched() -> None:
    base = torch_encoder().model
    weights = [parameter.detach().clone() for parameter in base.parameters()]
    pairs = code_pairs(catalog())
    tuner = EncoderFinetuner(
        FinetuneConfig(batch_size=4, epochs=5, max_steps=2, max_seconds=None, learning_rate=1e-3)
    ).fit(pairs)
    assert tuner.report is not None
    assert (tuner.report.steps, tuner.report.stopped_by) == (2, "max_steps")
    assert all(torch.equal(a, b.detach()) for a, b in zip(weights, base.parameters(), strict=True))
    assert not all(torch.equal(a, b.detach()) for a, b in zip(weights, tuner.model.parameters(), strict=True))


def test_training_with_finetune_serves_an_adapted_encoder_and_reuses_it_for_the_same_signal(
    tmp_path: Path, open_engine: Callable[[Path], Engine]
) -> None:
    engine = open_engine(tmp_path / "data")
    engine.ingest_products(catalog_rows())
    start = datetime(2026, 10, 1)
    searches = [("chairs for eating", "p1"), ("something to fry eggs", "p5"), ("mobile", "p8")]
    engine.ingest_events(
        [
            row
            for user in range(6)
            for minute, (query, product) in enumerate(searches)
            for row in (
                {
                    "user_id": f"u{user}",
                    "event_type": "search",
                    "query": query,
                    "timestamp": (start + timedelta(hours=user, minutes=10 * minute)).isoformat(),
                },
                {
                    "user_id": f"u{user}",
                    "event_type": "click",
                    "product_id": product,
                    "timestamp": (start + timedelta(hours=user, minutes=10 * minute + 1)).isoformat(),
                },
            )
        ]
    )
    encoder = torch_encoder().config
    config = TrainingConfig(
        search=SearchConfig(encoder=encoder),
        finetune_encoder=FinetuneConfig(min_pairs=3, batch_size=4, max_steps=2, max_seconds=None),
    )
    first = engine.train(config, force=True)
    search = first.components["search"]
    assert search["encoder_finetune"]["pairs_by_source"] == {"events": 3}
    served = Path(search["encoder"]["model"])
    assert served.parent == tmp_path / "data" / "encoders"
    assert engine.search_pipeline().config.encoder.model == str(served)
    assert engine.search("mobile").hits  # the adapted encoder serves queries

    second = engine.train(config, force=True)
    assert second.components["search"]["encoder"]["model"] == str(served)  # same signal: no new model
