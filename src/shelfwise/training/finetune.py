"""Domain adaptation of the text encoder: fine-tune a copy on the shop's own (query, product) signal.

Training pairs come from what the shop knows: judged (query, product) pairs with a high enough gain, and
searches followed by a click, add-to-cart or purchase (the same attribution the learned ranker uses). A shop
with neither gets (pseudo-query, product text) pairs from its catalog: the category leaf and brand as the
query, the product text without them as the positive, so titles move towards the words shoppers browse by.

The loss is MultipleNegativesRankingLoss (InfoNCE with in-batch negatives, as in sentence-transformers with
its defaults: cosine similarity times `scale`, cross-entropy against the matched positive). Every other
positive in a batch serves as a negative, so batches are packed to hold no false negative: no anchor twice,
no product twice, and no product that is a known positive of another anchor in the same batch.

The loop is written here rather than through `SentenceTransformerTrainer` so it needs no `datasets` or
`accelerate`, embeds queries and products in separate forward passes (a merged pass pads short queries to
title length), and stops at a time budget with the learning rate already decayed to zero.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain import Product
from shelfwise.search.config import SearchConfig
from shelfwise.text.encoder import DEFAULT_MODEL, EncoderConfig, TextEncoder, choose_encoder, product_text
from shelfwise.text.multilingual import USEM3_MODEL
from shelfwise.training.artifacts import STAGING_PREFIX, remove_stale, staging_folder

logger = logging.getLogger(__name__)

REPORT_FILE = "finetune.json"
LOG_EVERY_STEPS = 25

PairSource = Literal["judgements", "events", "attributes"]


class TrainingPair(BaseModel):
    """One (anchor, positive) example: a query (or pseudo-query) and the product text it should find."""

    model_config = ConfigDict(frozen=True)

    anchor: str
    positive: str
    product_id: str
    source: PairSource


class FinetuneConfig(BaseModel):
    """What to learn from and how long: defaults fit 'minutes on two CPU cores' for a 50,000-product shop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_model: str = Field(default=DEFAULT_MODEL, description="The encoder to start from (copied).")
    min_gain: float = Field(
        default=1.33, ge=0, description="Judged pairs at or above this gain are positives."
    )
    min_event_label: int = Field(
        default=1,
        ge=1,
        le=3,
        description="Search outcomes at or above this label: 1 click, 2 cart, 3 purchase.",
    )
    attribute_fallback: bool = Field(
        default=True, description="With no query pairs, learn from category/brand -> product text pairs."
    )
    max_pairs: int = Field(default=50_000, ge=1, description="A seeded sample beyond this many pairs.")
    min_pairs: int = Field(default=200, ge=2, description="Fewer pairs than this: the encoder is kept as is.")
    batch_size: int = Field(default=32, ge=2, le=1024)
    epochs: int = Field(default=1, ge=1)
    max_steps: int | None = Field(default=None, ge=1)
    max_seconds: float | None = Field(
        default=300.0, gt=0, description="Training time budget; the learning rate reaches zero at it."
    )
    learning_rate: float = Field(default=5e-5, gt=0)
    warmup_share: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)
    scale: float = Field(default=20.0, gt=0, description="Inverse temperature of the in-batch softmax.")
    max_seq_length: int = Field(default=64, ge=8, le=512)
    seed: int = 0
    threads: int | None = Field(default=None, ge=1, description="torch threads while training; None keeps.")


class FinetuneReport(BaseModel):
    base_model: str
    pairs: int
    pairs_by_source: dict[str, int]
    anchors: int
    batches_per_epoch: int
    steps: int
    seconds: float = Field(description="Wall-clock training time.")
    cpu_seconds: float = Field(
        description="CPU time of this process while training: robust to busy machines."
    )
    stopped_by: Literal["epochs", "max_steps", "max_seconds"]
    first_loss: float
    last_loss: float = Field(description="Mean loss over the last tenth of the steps.")
    config: FinetuneConfig


# training pairs --------------------------------------------------------------------------------------


def _texts_by_id(products: Sequence[Product]) -> dict[str, str]:
    return {product.product_id: product_text(product) for product in products}


def judged_pairs(
    judged: Mapping[str, Mapping[str, float]], products: Sequence[Product], min_gain: float
) -> list[TrainingPair]:
    """(query, product text) for every judged product at or above `min_gain`, best gains first per query."""
    texts = _texts_by_id(products)
    pairs: list[TrainingPair] = []
    for query, gains in judged.items():
        for product_id, gain in sorted(gains.items(), key=lambda item: (-item[1], item[0])):
            if gain >= min_gain and product_id in texts and query.strip():
                pairs.append(
                    TrainingPair(
                        anchor=query, positive=texts[product_id], product_id=product_id, source="judgements"
                    )
                )
    return pairs


def event_pairs(events: pl.DataFrame, products: Sequence[Product], min_label: int) -> list[TrainingPair]:
    """(query, product text) for each product a search led to (click, cart or purchase) at `min_label`+."""
    if events.is_empty() or "query" not in events.columns:
        return []
    from shelfwise.search.learning import search_outcomes

    labelled, _ = search_outcomes(events)
    texts = _texts_by_id(products)
    return [
        TrainingPair(anchor=query, positive=texts[product_id], product_id=product_id, source="events")
        for query, labels in sorted(labelled.items())
        for product_id, label in sorted(labels.items())
        if label >= min_label and product_id in texts
    ]


def attribute_pairs(products: Sequence[Product]) -> list[TrainingPair]:
    """(category leaf, and brand + leaf) -> the product text without them: what a shop without search
    logs knows about which words find which products. The positive leaves the attribute out, or the pair
    would be learnt by string matching alone."""
    pairs: list[TrainingPair] = []
    for product in products:
        leaf = product.category_path[-1] if product.category_path else None
        if leaf is None and not product.brand:
            continue
        bare = product_text(product.model_copy(update={"category": None, "brand": None}))
        anchors = [leaf] if leaf else []
        if product.brand:
            anchors.append(f"{product.brand} {leaf}" if leaf else product.brand)
        pairs.extend(
            TrainingPair(anchor=anchor, positive=bare, product_id=product.product_id, source="attributes")
            for anchor in anchors
        )
    return pairs


def build_pairs(
    products: Sequence[Product],
    events: pl.DataFrame | None = None,
    judged: Mapping[str, Mapping[str, float]] | None = None,
    config: FinetuneConfig | None = None,
) -> list[TrainingPair]:
    """Query pairs from judgements and search outcomes; catalog attribute pairs only where there are none."""
    config = config or FinetuneConfig()
    pairs = judged_pairs(judged, products, config.min_gain) if judged else []
    if events is not None:
        pairs += event_pairs(events, products, config.min_event_label)
    if not pairs and config.attribute_fallback:
        pairs = attribute_pairs(products)
    unique = list(dict.fromkeys(pairs))  # the same (query, product) from judgements and events counts once
    if len(unique) > config.max_pairs:
        unique = random.Random(config.seed).sample(unique, config.max_pairs)
    return unique


def pack_batches(pairs: Sequence[TrainingPair], batch_size: int, seed: int) -> list[list[int]]:
    """Indexes of `pairs` in batches with no false in-batch negative: within a batch every anchor and every
    positive is distinct, and no positive belongs to another anchor of the batch. Pairs that cannot be
    placed without a conflict wait for a later batch; a pair that clashes with every pair left is dropped
    (it could never have an in-batch negative)."""
    positives_of: dict[str, set[str]] = {}
    for pair in pairs:
        positives_of.setdefault(pair.anchor, set()).add(pair.positive)
    waiting = list(range(len(pairs)))
    random.Random(seed).shuffle(waiting)
    batches: list[list[int]] = []
    while waiting:
        batch: list[int] = []
        anchors: set[str] = set()
        positives: set[str] = set()
        blocked: set[str] = set()  # positives of the anchors already in the batch
        deferred: list[int] = []
        for position, index in enumerate(waiting):
            if len(batch) == batch_size:
                deferred.extend(waiting[position:])
                break
            pair = pairs[index]
            own = positives_of[pair.anchor]
            clash = (
                pair.anchor in anchors
                or pair.positive in positives
                or pair.positive in blocked
                or not own.isdisjoint(positives)
            )
            if clash:
                deferred.append(index)
                continue
            batch.append(index)
            anchors.add(pair.anchor)
            positives.add(pair.positive)
            blocked |= own
        waiting = deferred
        if len(batch) >= 2:
            batches.append(batch)
        # else: the lone pair clashes with every pair still waiting, so it can never have a negative.
    return batches


# fine-tuning -----------------------------------------------------------------------------------------


def _learning_rate_factor(progress: float, warmup: float) -> float:
    """Linear warm-up to 1 over the first `warmup` of progress, then linear decay to 0 at progress 1."""
    if progress < warmup:
        return max(progress / warmup, 0.01)
    return max(0.0, (1.0 - progress) / (1.0 - warmup))


class EncoderFinetuner:
    """A copy of the base encoder, fitted on (anchor, positive) pairs; `save(dir)` writes a
    sentence-transformers directory that `EncoderConfig(model=dir)` loads."""

    def __init__(self, config: FinetuneConfig | None = None) -> None:
        self.config = config or FinetuneConfig()
        self.model: Any = None
        self.report: FinetuneReport | None = None

    def fit(self, pairs: Sequence[TrainingPair]) -> Self:
        import torch

        config = self.config
        batches = pack_batches(pairs, config.batch_size, config.seed)
        if not batches:
            raise ValueError("no training pairs that form a batch: need two pairs with different anchors")
        previous_threads = torch.get_num_threads()
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        try:
            torch.manual_seed(config.seed)
            base = TextEncoder(EncoderConfig(model=config.base_model)).model
            model = copy.deepcopy(base)  # the shared, loaded base stays untouched for serving
            model.max_seq_length = config.max_seq_length
            cpu_started = time.process_time()
            steps, stopped_by, losses, seconds = self._train(model, pairs, batches)
            cpu_seconds = time.process_time() - cpu_started
        finally:
            torch.set_num_threads(previous_threads)
        model.eval()
        self.model = model
        tail = losses[-max(1, len(losses) // 10) :]
        sources: dict[str, int] = {}
        for pair in pairs:
            sources[pair.source] = sources.get(pair.source, 0) + 1
        self.report = FinetuneReport(
            base_model=config.base_model,
            pairs=len(pairs),
            pairs_by_source=sources,
            anchors=len({pair.anchor for pair in pairs}),
            batches_per_epoch=len(batches),
            steps=steps,
            seconds=round(seconds, 3),
            cpu_seconds=round(cpu_seconds, 3),
            stopped_by=stopped_by,
            first_loss=losses[0],
            last_loss=float(np.mean(tail)),
            config=config,
        )
        return self

    def _train(
        self, model: Any, pairs: Sequence[TrainingPair], batches: list[list[int]]
    ) -> tuple[int, Literal["epochs", "max_steps", "max_seconds"], list[float], float]:
        import torch
        import torch.nn.functional as F

        config = self.config
        planned = config.epochs * len(batches)
        step_bound = config.max_steps is not None and config.max_steps < planned
        if config.max_steps is not None:
            planned = min(planned, config.max_steps)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        order = random.Random(config.seed + 1)
        model.train()
        losses: list[float] = []
        started = time.perf_counter()
        step = 0
        for _ in range(config.epochs):
            epoch = list(batches)
            order.shuffle(epoch)
            for batch in epoch:
                elapsed = time.perf_counter() - started
                progress = step / planned
                if config.max_seconds is not None:
                    # The schedule follows whichever budget runs out first, so a timed stop is a decayed one.
                    progress = max(progress, elapsed / config.max_seconds)
                if step >= planned:
                    return step, "max_steps" if step_bound else "epochs", losses, elapsed
                if progress >= 1.0:
                    return step, "max_seconds", losses, elapsed
                for group in optimizer.param_groups:
                    group["lr"] = config.learning_rate * _learning_rate_factor(progress, config.warmup_share)
                anchors = _embed(model, [pairs[i].anchor for i in batch])
                positives = _embed(model, [pairs[i].positive for i in batch])
                scores = F.normalize(anchors, dim=-1) @ F.normalize(positives, dim=-1).T * config.scale
                loss = F.cross_entropy(scores, torch.arange(len(batch)))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(float(loss.detach()))
                step += 1
                if step % LOG_EVERY_STEPS == 0:
                    recent = float(np.mean(losses[-LOG_EVERY_STEPS:]))
                    logger.info("fine-tuning step %d/%d: loss %.3f, %.0f s", step, planned, recent, elapsed)
        return step, "epochs", losses, time.perf_counter() - started

    def save(self, directory: str | Path) -> Path:
        """The model as a sentence-transformers directory plus `finetune.json` (what it learnt from).
        Give every fitted model its own directory: embedding caches key vectors by the model's name."""
        if self.model is None or self.report is None:
            raise RuntimeError("the fine-tuner is not fitted: call fit(pairs) first")
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save(str(path))
        (path / REPORT_FILE).write_text(self.report.model_dump_json(indent=2))
        return path

    @staticmethod
    def load_report(directory: str | Path) -> FinetuneReport:
        return FinetuneReport.model_validate(json.loads((Path(directory) / REPORT_FILE).read_text()))


def _embed(model: Any, texts: list[str]) -> Any:
    """Sentence embeddings with gradients; `preprocess` in sentence-transformers 6, `tokenize` before."""
    prepare = getattr(model, "preprocess", None) or model.tokenize
    features = prepare(texts)
    return model(features)["sentence_embedding"]


def finetune_encoder(
    pairs: Sequence[TrainingPair], directory: str | Path, config: FinetuneConfig | None = None
) -> tuple[EncoderConfig, FinetuneReport]:
    """Fit, save into `directory`, and return the encoder config that serves it."""
    tuner = EncoderFinetuner(config).fit(pairs)
    path = tuner.save(directory)
    assert tuner.report is not None
    return EncoderConfig(model=str(path)), tuner.report


def positive_rank_share(
    encoder: TextEncoder, pairs: Sequence[TrainingPair], candidates: Sequence[str]
) -> float:
    """Share of pairs whose positive is the most similar of `candidates` to their anchor (cosine)."""
    if not pairs:
        return math.nan
    documents = encoder.encode(list(candidates))
    queries = encoder.encode([pair.anchor for pair in pairs])
    best = np.argmax(queries @ documents.T, axis=1)
    index = {text: i for i, text in enumerate(candidates)}
    return float(np.mean([best[i] == index[pair.positive] for i, pair in enumerate(pairs)]))


def fingerprint(pairs: Sequence[TrainingPair], config: FinetuneConfig) -> str:
    """Names a fitted model by what it learnt from: embedding caches key vectors by the model's path, so a
    model trained on other pairs must live under another name."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(config.model_dump_json(exclude={"threads"}).encode())
    for pair in pairs:
        digest.update(f"{pair.anchor}\x00{pair.positive}\x01".encode())
    return digest.hexdigest()


def adapted_encoder(
    pairs: Sequence[TrainingPair], encoder: EncoderConfig, config: FinetuneConfig, root: str | Path
) -> tuple[EncoderConfig, FinetuneReport]:
    """`encoder` fine-tuned on `pairs` under `root/<fingerprint>`, reusing a model fitted on the same pairs
    and config; written to a temporary name and renamed, so a half-written model is never served."""
    config = config.model_copy(update={"base_model": encoder.model})
    path = Path(root) / f"ft-{fingerprint(pairs, config)}"
    if not (path / REPORT_FILE).exists():
        with staging_folder(Path(root) / f"{STAGING_PREFIX}{path.name}-{os.getpid()}") as staging:
            EncoderFinetuner(config).fit(pairs).save(staging)
            shutil.rmtree(path, ignore_errors=True)
            staging.rename(path)
    return encoder.model_copy(update={"model": str(path)}), EncoderFinetuner.load_report(path)


def adapt_search_encoder(
    products: Sequence[Product],
    events: pl.DataFrame,
    search: SearchConfig,
    config: FinetuneConfig,
    root: str | Path,
) -> tuple[SearchConfig, FinetuneReport | None]:
    """`search` with its encoder fine-tuned on the shop's pairs, or unchanged (report None) where there is
    nothing to learn from: no dense retrieval, an encoder that is not a sentence-transformers model (the
    multilingual one), or fewer than `config.min_pairs` pairs."""
    if not search.semantic:
        return search, None
    encoder, _ = choose_encoder(search.encoder, [product_text(p) for p in products])
    if encoder.model == USEM3_MODEL:
        logger.info("encoder fine-tuning skipped: %s is not a sentence-transformers model", encoder.model)
        return search, None
    pairs = build_pairs(products, events, config=config)
    if len(pairs) < config.min_pairs:
        logger.info("encoder fine-tuning skipped: %d pairs, fewer than %d", len(pairs), config.min_pairs)
        return search, None
    adapted, report = adapted_encoder(pairs, encoder, config, root)
    return search.model_copy(update={"encoder": adapted}), report


def prune_encoders(root: str | Path, in_use: set[str]) -> None:
    """Fine-tuned models under `root` that no kept artifact version serves any more are deleted."""
    folder = Path(root)
    if not folder.is_dir():
        return
    remove_stale(folder)  # what a killed fine-tuning left
    kept = {str(Path(path).resolve()) for path in in_use}
    for path in folder.glob("ft-*"):
        if str(path.resolve()) not in kept:
            shutil.rmtree(path, ignore_errors=True)
