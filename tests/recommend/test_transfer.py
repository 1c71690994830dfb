"""A sequential model trained on one catalog starts another through item text: warm start, zero-shot,
fine-tuning, on small generated catalogs whose target item texts mirror the source's.

Transfer is research code that only `bench/recs_transfer.py` runs, so it lives in bench/ (`bench/transfer.py`)
and this module imports it from there."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from shelfwise.recommend.interactions import Interactions, Vocabulary
from shelfwise.recommend.sequential import SequentialConfig, SequentialRecommender

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from transfer import ITEM_PARAMETERS, TransferConfig, TransferredRecommender, warm_start  # noqa: E402

N_ITEMS = 40
TEXT_DIM = 32
CONFIG = SequentialConfig(
    hidden=32,
    layers=1,
    dropout=0.1,
    max_epochs=25,
    patience=25,
    batch_size=64,
    max_length=8,
)
SOURCE_IDS = [f"s{i}" for i in range(N_ITEMS)]
TARGET_IDS = [f"t{i}" for i in range(N_ITEMS)]
# Target item PERMUTATION[i] is source item i under another id and a slightly different title.
PERMUTATION = np.random.default_rng(7).permutation(N_ITEMS)


def followed(users: int, seed: int) -> list[list[int]]:
    """Two random items from 30..39, then A then A + 1 for an even A below 30: 'A is followed by A + 1'."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(users):
        noise = [int(i) for i in rng.choice(np.arange(30, N_ITEMS), size=2, replace=False)]
        first = int(rng.integers(15)) * 2
        sequences.append([*noise, first, first + 1])
    return sequences


def interactions(sequences: list[list[int]], ids: list[str]) -> Interactions:
    rows = [
        {"user_id": f"u{u}", "product_id": ids[item], "timestamp": float(k)}
        for u, sequence in enumerate(sequences)
        for k, item in enumerate(sequence)
    ]
    return Interactions.from_frame(pl.DataFrame(rows), items=Vocabulary.of(ids))


@pytest.fixture(scope="module")
def source_text() -> np.ndarray:
    text = np.random.default_rng(3).normal(size=(N_ITEMS, TEXT_DIM)).astype(np.float32)
    return text / np.linalg.norm(text, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def target_text(source_text: np.ndarray) -> np.ndarray:
    noisy = source_text + 0.05 * np.random.default_rng(4).normal(size=source_text.shape).astype(np.float32)
    mirrored = np.empty_like(noisy)
    mirrored[PERMUTATION] = noisy
    return mirrored


@pytest.fixture(scope="module")
def source(source_text: np.ndarray) -> SequentialRecommender:
    data = interactions(followed(240, seed=0), SOURCE_IDS)
    return SequentialRecommender(CONFIG, item_text_embeddings=source_text).fit(data)


def next_item_ranks(
    scorer: TransferredRecommender | SequentialRecommender, mapping: np.ndarray
) -> np.ndarray:
    """0-based rank of A + 1 after the history (31, A), for each even A below 30, items named by
    `mapping`, the history items excluded as evaluation does."""
    histories = [mapping[[31, first]] for first in range(0, 30, 2)]
    scores = scorer.score_batch(histories)
    for row, history in enumerate(histories):
        scores[row, history] = -np.inf
    targets = mapping[np.arange(1, 30, 2)]
    return np.array([(scores[row] > scores[row, t]).sum() for row, t in enumerate(targets)])


def next_item_accuracy(scorer: TransferredRecommender | SequentialRecommender, mapping: np.ndarray) -> float:
    """Share of 'A is followed by A + 1' rules the scorer gets right (the next item ranked first)."""
    return float(np.mean(next_item_ranks(scorer, mapping) == 0))


def test_warm_start_copies_the_model_of_order_and_gives_new_items_their_own_text(
    source: SequentialRecommender, target_text: np.ndarray
) -> None:
    before = copy.deepcopy(source.network.state_dict())
    network = warm_start(source, target_text, config=TransferConfig(new_item_init="zero"))
    source_state, state = source.network.state_dict(), network.state_dict()
    copied = [key for key in source_state if key not in ITEM_PARAMETERS]
    assert any(key.startswith("blocks.") for key in copied) and "text_projection.weight" in copied
    assert "position_embedding.weight" in copied
    for key in copied:
        torch.testing.assert_close(state[key], source_state[key], rtol=0, atol=0)
    assert network.text is not None
    np.testing.assert_array_equal(network.text[1:].numpy(), target_text)
    # With "zero", unseen items start from their text alone.
    assert not network.item_embedding.weight.detach().any()
    # By default, from the ID embeddings of their text look-alikes: here each target item's mirror.
    guessed = warm_start(source, target_text).item_embedding.weight.detach()[1:]
    mirrors = source.network.item_embedding.weight.detach()[1:]
    torch.testing.assert_close(guessed[PERMUTATION], mirrors, atol=0.05, rtol=0.05)
    # The copies are independent: fine-tuning the target leaves the source as it was.
    tuned = TransferredRecommender(source, target_text, TransferConfig(max_epochs=2))
    tuned.fit(interactions(followed(60, seed=5), TARGET_IDS))
    for key, value in source.network.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    tuned_state = tuned.model.network.state_dict()
    assert not torch.equal(tuned_state["blocks.0.qkv.weight"], source_state["blocks.0.qkv.weight"])


def test_items_the_source_knows_keep_their_id_embedding_and_new_ones_start_at_zero_or_random(
    source: SequentialRecommender, source_text: np.ndarray
) -> None:
    # A target catalog holding source items 0..19 under the same ids, and 25 new items.
    ids = SOURCE_IDS[:20] + [f"new{i}" for i in range(25)]
    text = np.vstack([source_text[:20], source_text[:25]])
    network = warm_start(
        source,
        text,
        target_items=Vocabulary.of(ids),
        source_items=Vocabulary.of(SOURCE_IDS),
        config=TransferConfig(new_item_init="zero"),
    )
    embedding, source_embedding = network.item_embedding.weight.detach(), source.network.item_embedding.weight
    torch.testing.assert_close(embedding[1:21], source_embedding[1:21].detach())
    assert not embedding[21:].any() and not embedding[0].any()
    random = warm_start(
        source,
        text,
        target_items=Vocabulary.of(ids),
        source_items=Vocabulary.of(SOURCE_IDS),
        config=TransferConfig(new_item_init="random"),
    )
    new_rows = random.item_embedding.weight.detach()[21:]
    assert new_rows.abs().min() > 0 and 0.05 < float(new_rows.std()) < 1.0
    zero_shot = SequentialRecommender.from_network(network, source.config)
    assert zero_shot.score_batch([np.array([0, 21])]).shape == (1, 45)


def test_zero_shot_on_a_mirrored_catalog_beats_random_and_fine_tuning_learns_it(
    source: SequentialRecommender, target_text: np.ndarray
) -> None:
    assert next_item_accuracy(source, np.arange(N_ITEMS)) >= 0.8
    target = interactions(followed(120, seed=1), TARGET_IDS)
    zero_shot = TransferredRecommender(source, target_text, TransferConfig(fine_tune=False)).fit(target)
    assert zero_shot.name == "sasrec-zero-shot" and zero_shot.history == []
    # Random ranking gets a rule right 1 time in 38; the target's own sequences were never seen.
    assert next_item_accuracy(zero_shot, PERMUTATION) >= 0.8
    # Through the text projection alone (zero ID embeddings) less carries over, still far above random,
    # whose mean reciprocal rank over 38 candidates is about 0.11.
    text_only = TransferredRecommender(
        source, target_text, TransferConfig(fine_tune=False, new_item_init="zero")
    ).fit(target)
    assert float(np.mean(1 / (next_item_ranks(text_only, PERMUTATION) + 1))) >= 0.2
    tuned = TransferredRecommender(source, target_text, TransferConfig(max_epochs=10)).fit(target)
    assert next_item_accuracy(tuned, PERMUTATION) >= 0.8
    assert 1 <= len(tuned.history) <= 10


def test_mismatches_are_refused_with_a_reason(
    source: SequentialRecommender, source_text: np.ndarray, target_text: np.ndarray
) -> None:
    with pytest.raises(ValueError, match="same text model"):
        warm_start(source, target_text[:, :16])
    no_text = SequentialRecommender(CONFIG.model_copy(update={"max_epochs": 1}))
    no_text.fit(interactions(followed(40, seed=2), SOURCE_IDS))
    with pytest.raises(ValueError, match="without item text"):
        warm_start(no_text, target_text)
    with pytest.raises(ValueError, match="39 rows"):
        TransferredRecommender(source, target_text[:39]).fit(interactions(followed(20, seed=3), TARGET_IDS))
    # sequential.fit(init_from=...) and from_network check the network against the data and config.
    network = warm_start(source, source_text[:30])
    with pytest.raises(ValueError, match="embeddings for 30 items; the data has 40"):
        SequentialRecommender(CONFIG).fit(interactions(followed(20, seed=3), SOURCE_IDS), init_from=network)
    with pytest.raises(ValueError, match="hidden=32"):
        SequentialRecommender.from_network(network, CONFIG.model_copy(update={"hidden": 64}))
