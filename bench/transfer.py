"""Start a sequential model for a new catalog (another shop, another category) from one already trained.

The transformer of `sequential` sees items only through their vectors, and an item's vector is its ID
embedding plus a projection of its text embedding. What it learned about order (the transformer blocks, the
positional embeddings, the final norm) and about how titles map into its vector space (the text projection)
does not depend on which items exist, so it carries over to a catalog it never saw: a new item's vector
starts from the projection of its own title. Its ID embedding starts as what the source learned for the
items whose titles are most like its own (the source puts much of an item's identity there, not only in the
text projection), or as zero, or as small random values.

Two uses:
- zero-shot: score the new catalog at once, before it has any interactions to train on;
- fine-tuning: continue training on the new catalog's sequences, usually for fewer epochs than from scratch.

Items the two catalogs share (the same external id in both vocabularies) keep their trained ID embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.recommend.interactions import Interactions, Vocabulary
from shelfwise.recommend.sequential import (
    SequenceTransformer,
    SequentialConfig,
    SequentialRecommender,
    Validation,
    _text_tensor,
)

# Learned parameters that belong to a catalog's items, not to the model of order: never copied across.
ITEM_PARAMETERS = frozenset({"item_embedding.weight", "text"})


class TransferConfig(BaseModel):
    """How a source model starts a target catalog, and how long it then trains on the target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    new_item_init: Literal["neighbours", "zero", "random"] = Field(
        default="neighbours",
        description="ID embedding of a target item the source never saw: the similarity-weighted mean of "
        "the ID embeddings of the source items with the most similar texts; zero (its vector is then its "
        "text's projection alone); or random like a fresh model's.",
    )
    neighbours: int = Field(default=10, ge=1, description="Source items averaged by 'neighbours'.")
    neighbour_temperature: float = Field(
        default=0.05, gt=0, description="Softmax temperature over the neighbours' cosine similarities."
    )
    fine_tune: bool = Field(default=True, description="Train on the target's sequences; False: zero-shot.")
    max_epochs: int = Field(default=40, ge=1, description="Fine-tuning epochs at most (early-stopped).")
    learning_rate: float | None = Field(default=None, gt=0, description="None: the source's learning rate.")
    patience: int | None = Field(default=None, ge=1, description="None: the source's patience.")
    max_seconds: float | None = Field(default=300.0, gt=0, description="Fine-tuning budget, CPU seconds.")
    seed: int = 42

    def fine_tune_config(self, source: SequentialConfig) -> SequentialConfig:
        """The source's configuration (its architecture must not change) with the fine-tuning schedule."""
        update: dict[str, object] = {
            "max_epochs": self.max_epochs,
            "max_seconds": self.max_seconds,
            "seed": self.seed,
        }
        if self.learning_rate is not None:
            update["learning_rate"] = self.learning_rate
        if self.patience is not None:
            update["patience"] = self.patience
        return SequentialConfig.model_validate(source.model_dump() | update)


def shared_items(source: Vocabulary, target: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """(target indices, source indices) of the items both catalogs hold under the same external id."""
    pairs = [(t, s) for t, key in enumerate(target.ids) if (s := source.get(key)) is not None]
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    target_idx, source_idx = zip(*pairs, strict=True)
    return np.asarray(target_idx, np.int64), np.asarray(source_idx, np.int64)


def warm_start(
    source: SequentialRecommender,
    target_text: np.ndarray,
    *,
    target_items: Vocabulary | None = None,
    source_items: Vocabulary | None = None,
    config: TransferConfig | None = None,
) -> SequenceTransformer:
    """A network for the target catalog (one row of `target_text` per target item) whose every
    item-independent weight is a copy of the source's; the source is left untouched.

    With both vocabularies given, target items that the source also holds keep their source ID embedding."""
    config = config or TransferConfig()
    source_network = source.network
    if source_network.text is None or source_network.text_projection is None:
        raise ValueError(
            "the source model was trained without item text embeddings; only text carries to new items"
        )
    if target_text.ndim != 2 or target_text.shape[1] != source_network.text.shape[1]:
        raise ValueError(
            f"target text embeddings have shape {target_text.shape}; the source's have dimension "
            f"{source_network.text.shape[1]} (encode both catalogs with the same text model)"
        )
    n_items = target_text.shape[0]
    torch.manual_seed(config.seed)
    network = SequenceTransformer(n_items, source.config, _text_tensor(target_text, n_items))
    copied = {k: v for k, v in source_network.state_dict().items() if k not in ITEM_PARAMETERS}
    missing, unexpected = network.load_state_dict(copied, strict=False)
    if set(missing) != ITEM_PARAMETERS or unexpected:
        raise RuntimeError(f"source and target networks differ: missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        embedding = network.item_embedding.weight
        if config.new_item_init == "zero":
            embedding.zero_()
        elif config.new_item_init == "neighbours":
            embedding[1:] = _neighbour_embeddings(source_network, target_text, config)
        embedding[0].zero_()  # padding
        if target_items is not None and source_items is not None:
            if len(target_items) != n_items:
                raise ValueError(f"target vocabulary has {len(target_items)} items, text has {n_items} rows")
            target_idx, source_idx = shared_items(source_items, target_items)
            source_embedding = source_network.item_embedding.weight
            embedding[torch.from_numpy(target_idx + 1)] = source_embedding[torch.from_numpy(source_idx + 1)]
    return network


def _neighbour_embeddings(
    source: SequenceTransformer, target_text: np.ndarray, config: TransferConfig
) -> torch.Tensor:
    """Each target item's guess at an ID embedding: what the source learned for its text look-alikes.

    The source learns much of an item's identity in its ID embedding, not only through the text projection,
    so a new item whose ID embedding is zero misses that part; its nearest source items by text supply it."""
    assert source.text is not None  # checked by the caller
    source_text = F.normalize(source.text[1:], dim=1)
    target = F.normalize(torch.from_numpy(np.ascontiguousarray(target_text, np.float32)), dim=1)
    k = min(config.neighbours, source_text.shape[0])
    result = torch.empty(target.shape[0], source.item_embedding.weight.shape[1])
    source_embedding = source.item_embedding.weight.detach()[1:]
    for start in range(0, target.shape[0], 4096):  # bounded memory for large catalogs
        similarity = target[start : start + 4096] @ source_text.T
        top, index = similarity.topk(k, dim=1)
        weights = torch.softmax(top / config.neighbour_temperature, dim=1)
        result[start : start + 4096] = (weights.unsqueeze(-1) * source_embedding[index]).sum(dim=1)
    return result


class TransferredRecommender:
    """ItemScorer for a target catalog started from a trained source model: `fit(data, validation=...)`
    warm-starts from the source, then fine-tunes on `data` (or, with `fine_tune=False`, only warm-starts:
    zero-shot). Scores and item vectors come from the resulting `SequentialRecommender` (`model`)."""

    accepts_validation: bool = True

    def __init__(
        self,
        source: SequentialRecommender,
        item_text_embeddings: np.ndarray,
        config: TransferConfig | None = None,
        *,
        source_items: Vocabulary | None = None,
    ) -> None:
        self.source = source
        self.item_text_embeddings = item_text_embeddings
        self.config = config or TransferConfig()
        self.source_items = source_items
        self.name = "sasrec-transfer" if self.config.fine_tune else "sasrec-zero-shot"
        self._model: SequentialRecommender | None = None

    @property
    def model(self) -> SequentialRecommender:
        if self._model is None:
            raise RuntimeError("TransferredRecommender is not fitted: call fit() first")
        return self._model

    def fit(self, data: Interactions, validation: Validation | None = None) -> Self:
        """Warm-starts over `data`'s item vocabulary; fine-tunes on its sequences unless zero-shot."""
        if self.item_text_embeddings.shape[0] != data.n_items:
            raise ValueError(
                f"item_text_embeddings has {self.item_text_embeddings.shape[0]} rows; "
                f"the data has {data.n_items} items"
            )
        network = warm_start(
            self.source,
            self.item_text_embeddings,
            target_items=data.items,
            source_items=self.source_items,
            config=self.config,
        )
        if not self.config.fine_tune:
            self._model = SequentialRecommender.from_network(network, self.source.config)
            return self
        tuned = SequentialRecommender(self.config.fine_tune_config(self.source.config))
        self._model = tuned.fit(data, validation=validation, init_from=network)
        return self

    @property
    def history(self) -> list[dict[str, float]]:
        """Fine-tuning epochs (empty for zero-shot)."""
        return self.model.history

    def score(self, history: np.ndarray) -> np.ndarray:
        return self.model.score(history)

    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self.model.score_batch(histories)

    def item_vectors(self) -> np.ndarray:
        return self.model.item_vectors()
