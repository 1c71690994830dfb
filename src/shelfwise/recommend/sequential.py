"""A SASRec-class causal transformer over item sequences: what comes next depends on what came last.

The model reads the latest `max_length` items of a history and predicts the next one over the whole catalog.
It is trained with softmax cross-entropy at every position (full softmax, or a sampled softmax over shared
uniform negatives), which beats SASRec's original binary loss by a wide margin. An item is represented by
its ID embedding plus a learned projection of its text embedding when one is given, so items with few or no
interactions still get a vector from their title. The same item vectors score the output (tied weights).

Scoring re-reads the history every time, so a fresh event changes the next recommendation without a refit.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from shelfwise.metrics import leave_one_out_at_k
from shelfwise.recommend.base import ScoringComponent, rank_targets
from shelfwise.recommend.cooccurrence import check_item_indices
from shelfwise.recommend.interactions import Interactions

logger = logging.getLogger(__name__)
Validation = tuple[Sequence[np.ndarray], np.ndarray]
# Called after every epoch with (epochs done, most epochs, a status line: loss and validation NDCG@10);
# the command line draws it as a progress bar.
EpochProgress = Callable[[int, int, str], None]
PAD = 0  # item index i is token i + 1
VALIDATION_CUTOFF = 10


class SequentialConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_length: int = Field(default=50, ge=2, description="Latest history items the model reads.")
    hidden: int = Field(default=128, ge=8, description="Width of item vectors and transformer layers.")
    layers: int = Field(default=2, ge=1)
    heads: int = Field(default=1, ge=1)
    dropout: float = Field(default=0.5, ge=0, lt=1, description="On embeddings, attention and layer outputs.")
    learning_rate: float = Field(default=2e-3, gt=0)
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW decoupled weight decay.")
    batch_size: int = Field(default=128, ge=1, description="Sequences per optimisation step.")
    negatives: int = Field(
        default=1024,
        ge=0,
        description="Uniform negatives shared by a step's sampled softmax; 0: full softmax (slow on CPU).",
    )
    max_epochs: int = Field(default=200, ge=1)
    max_seconds: float | None = Field(
        default=480.0,
        gt=0,
        description="Stops training after this many CPU seconds of the process (wall time on an idle core). "
        "480 leaves the blend and its re-ranker (about 90 s on Amazon Beauty) inside 10 minutes.",
    )
    patience: int = Field(default=10, ge=1, description="Epochs without a better validation NDCG@10 to stop.")
    min_epochs: int = Field(default=1, ge=1, description="Epochs before early stopping may trigger.")
    lr_decay: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="After `decay_patience` epochs without a better validation NDCG@10, training resumes "
        "from the best weights with the learning rate times this; 1: a constant learning rate.",
    )
    decay_patience: int = Field(default=3, ge=1, description="Stale epochs before the learning rate decays.")
    validation_users: int = Field(
        default=2000, ge=0, description="Held-out users' last items for early stopping when none are given."
    )
    validation_sample: int = Field(
        default=10_000,
        ge=1,
        description="Validation cases ranked after each epoch (a fixed random sample); fewer are noisier.",
    )
    every_window: bool = Field(
        default=True, description="Train on every window of a long history, not only its latest one."
    )
    text_dropout: float = Field(default=0.1, ge=0, lt=1, description="Dropout on the text projection.")
    seed: int = 42
    threads: int = Field(
        default=1,
        ge=1,
        description="torch CPU threads; on a shared 2-core machine 1 trains 3x faster than 2 (measured).",
    )


def _left_padded(sequences: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Tokens (item + 1) of each sequence's last `length` items, right-aligned, PAD on the left."""
    out = np.zeros((len(sequences), length), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        tail = np.asarray(sequence, dtype=np.int64)[-length:]
        if len(tail):
            out[row, length - len(tail) :] = tail + 1
    return out


class _Block(nn.Module):
    """Pre-norm causal self-attention and a position-wise feed-forward, each with a residual."""

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.feed_norm = nn.LayerNorm(hidden)
        self.feed = nn.Sequential(
            nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden)
        )
        self.dropout = nn.Dropout(dropout)
        self.attention_dropout = dropout

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        q, k, v = self.qkv(self.attention_norm(x)).chunk(3, dim=-1)
        shape = (batch, length, self.heads, hidden // self.heads)
        q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=allowed, dropout_p=self.attention_dropout if self.training else 0.0
        )
        x = x + self.dropout(self.out(attended.transpose(1, 2).reshape(batch, length, hidden)))
        return x + self.dropout(self.feed(self.feed_norm(x)))


class SequenceTransformer(nn.Module):
    """Item sequences in, one hidden state per position out; `item_vectors` scores them against items."""

    def __init__(self, n_items: int, config: SequentialConfig, text: torch.Tensor | None) -> None:
        super().__init__()
        hidden = config.hidden
        if hidden % config.heads:
            raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({config.heads})")
        self.item_embedding = nn.Embedding(n_items + 1, hidden, padding_idx=PAD)
        nn.init.normal_(self.item_embedding.weight, std=hidden**-0.5)
        with torch.no_grad():
            self.item_embedding.weight[PAD].zero_()
        self.max_length = config.max_length
        self.position_embedding = nn.Embedding(config.max_length, hidden)
        self.text: torch.Tensor | None
        self.register_buffer("text", text)
        self.text_projection = nn.Linear(text.shape[1], hidden) if text is not None else None
        self.text_dropout = nn.Dropout(config.text_dropout)
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            _Block(hidden, config.heads, config.dropout) for _ in range(config.layers)
        )
        self.final_norm = nn.LayerNorm(hidden)

    def item_vectors(self, tokens: torch.Tensor | None = None) -> torch.Tensor:
        """Vectors of `tokens`; by default of every token (row 0 padding, row i + 1 item i)."""
        if tokens is None:
            if self.text is None:
                return self.item_embedding.weight
            tokens = torch.arange(self.item_embedding.num_embeddings)
        vectors = self.item_embedding(tokens)
        if self.text is not None and self.text_projection is not None:
            projected = self.text_dropout(self.text_projection(self.text[tokens]))
            vectors = vectors + projected * (tokens != PAD).unsqueeze(1)
        return vectors

    def forward(
        self, tokens: torch.Tensor, vectors: torch.Tensor | None = None, real: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Hidden states; `tokens` index rows of `vectors` (default: every token's); `real`: not padding."""
        vectors = self.item_vectors() if vectors is None else vectors
        length = tokens.shape[1]
        real = tokens != PAD if real is None else real
        # Positions count back from the newest item, so a short padded batch lines up with a full window.
        positions = torch.arange(self.max_length - length, self.max_length, device=tokens.device)
        x = vectors[tokens] * math.sqrt(vectors.shape[1]) + self.position_embedding(positions)
        x = self.embedding_dropout(x) * real.unsqueeze(-1)
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        # Padding attends only to itself (a fully masked row would be NaN); real items never attend padding.
        allowed = (causal & real.unsqueeze(1)) | torch.eye(length, dtype=torch.bool)
        allowed = allowed.unsqueeze(1)
        for block in self.blocks:
            x = block(x, allowed)
        hidden_states: torch.Tensor = self.final_norm(x)
        return hidden_states


class SequentialRecommender(ScoringComponent[SequentialConfig]):
    """ItemScorer over item sequences; `fit(data, item_text_embeddings=..., validation=...)`.

    Saved as a component: its weights (and the text buffer it was trained with) are numpy arrays in
    arrays.npz, never torch.save, which pickles."""

    kind: ClassVar[str] = "sasrec"
    config_type: ClassVar[type[SequentialConfig]] = SequentialConfig
    accepts_validation: bool = True

    def __init__(
        self,
        config: SequentialConfig | None = None,
        item_text_embeddings: np.ndarray | None = None,
        *,
        progress: EpochProgress | None = None,
    ) -> None:
        super().__init__(config)
        # Used by fit() when it is given none, so evaluation can call the plain fit(data).
        self.item_text_embeddings = item_text_embeddings
        self.progress = progress
        self._network: SequenceTransformer | None = None
        self._n_items = 0
        self._item_cache: torch.Tensor | None = None
        self.history: list[dict[str, float]] = []
        self.validation: Validation | None = None

    # training -------------------------------------------------------------------------------------

    def fit(
        self,
        data: Interactions,
        item_text_embeddings: np.ndarray | None = None,
        validation: Validation | None = None,
        init_from: SequenceTransformer | None = None,
    ) -> Self:
        """Trains on every user's sequence; early-stops on `validation` (histories, next items), or, when
        not given, on the last item of up to `validation_users` users, held out of training.

        `init_from` continues training that network (its weights and text buffer; it is trained in place)
        instead of a fresh one: fine-tuning a model warm-started from another catalog (`bench/transfer.py`).
        """
        config = self.config
        torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        sequences = [s for s in _collapse_repeats(data.sequences()) if len(s) >= 2]
        if validation is None:
            sequences, validation = _hold_out_last(sequences, config.validation_users, rng)
        if validation is not None:
            validation = _sample(validation, config.validation_sample, rng)
        # Kept so that a blend built on this model can tune itself on the same held-out items.
        self.validation = validation
        if not sequences:
            raise ValueError("no user has the 2 interactions the sequential model needs to learn from")
        if item_text_embeddings is None:
            item_text_embeddings = self.item_text_embeddings
        text = _text_tensor(item_text_embeddings, data.n_items)
        self._n_items = data.n_items
        if init_from is not None:
            _check_network(init_from, data.n_items, config)
            self._network = init_from
        else:
            self._network = SequenceTransformer(data.n_items, config, text)
        self._item_cache = None
        self.history = []
        self._train(sequences, validation, rng)
        return self

    def _train(
        self, sequences: list[np.ndarray], validation: Validation | None, rng: np.random.Generator
    ) -> None:
        network = self.network
        config = self.config
        optimiser = torch.optim.AdamW(
            network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        batches = _length_buckets(sequences, config.max_length + 1, config.batch_size, config.every_window)
        best: tuple[float, dict[str, Any]] | None = None
        stale = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        for epoch in range(1, config.max_epochs + 1):
            loss = self._epoch(batches, optimiser, rng)
            valid_ndcg = self._validate(validation) if validation is not None else -loss
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            self.history.append(
                {
                    "epoch": epoch,
                    "loss": loss,
                    "valid_ndcg": valid_ndcg,
                    "seconds": elapsed,
                    "cpu_seconds": cpu,
                    "learning_rate": float(optimiser.param_groups[0]["lr"]),
                }
            )
            if best is None or valid_ndcg > best[0]:
                best, stale = (valid_ndcg, copy.deepcopy(network.state_dict())), 0
            else:
                stale += 1
                if config.lr_decay < 1 and stale % config.decay_patience == 0:
                    # A plateau: smaller steps from the best weights find a better optimum.
                    network.load_state_dict(best[1])
                    for group in optimiser.param_groups:
                        group["lr"] *= config.lr_decay
            status = f"loss {loss:.3f}  valid NDCG@10 {valid_ndcg:.4f}  best {best[0]:.4f}"
            if self.progress is not None:
                self.progress(epoch, config.max_epochs, status)
            if stale >= config.patience and epoch >= config.min_epochs:
                break
            logger.info("sasrec epoch %d: %s (%.0f s, %.0f CPU s)", epoch, status, elapsed, cpu)
            # CPU time, not wall time: on a shared machine the same budget buys the same training.
            if config.max_seconds is not None and cpu >= config.max_seconds:
                break
        if best is not None:
            network.load_state_dict(best[1])
        network.eval()
        self._item_cache = None

    def _epoch(
        self, batches: list[np.ndarray], optimiser: torch.optim.Optimizer, rng: np.random.Generator
    ) -> float:
        network = self.network
        network.train()
        total, count = 0.0, 0
        for batch in rng.permutation(len(batches)):
            tokens = torch.from_numpy(batches[batch])
            positions = tokens[:, 1:] != PAD
            if self.config.negatives:
                loss = self._sampled_loss(tokens, positions)
            else:
                vectors = network.item_vectors()
                states = network(tokens[:, :-1], vectors)[positions]
                loss = F.cross_entropy(states @ vectors[1:].T, tokens[:, 1:][positions] - 1)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * int(positions.sum())
            count += int(positions.sum())
        return total / max(count, 1)

    def _sampled_loss(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Softmax over the target and uniform negatives shared by the batch.

        Only the vectors of the batch's tokens and negatives are computed: with text embeddings, projecting
        the whole catalog at every step would cost more than the transformer itself."""
        network = self.network
        negatives = torch.randint(1, self._n_items + 1, (self.config.negatives,))
        needed, local = torch.unique(torch.cat([tokens.flatten(), negatives]), return_inverse=True)
        vectors = network.item_vectors(needed)
        local_tokens = local[: tokens.numel()].view_as(tokens)
        local_negatives = local[tokens.numel() :]
        states = network(local_tokens[:, :-1], vectors, real=tokens[:, :-1] != PAD)[positions]
        targets = tokens[:, 1:][positions]
        positive = (states * vectors[local_tokens[:, 1:][positions]]).sum(-1, keepdim=True)
        negative = states @ vectors[local_negatives].T
        # A sampled negative that is the target itself would push the target against itself.
        negative = negative.masked_fill(negatives.unsqueeze(0) == targets.unsqueeze(1), float("-inf"))
        logits = torch.cat([positive, negative], dim=1)
        return F.cross_entropy(logits, torch.zeros(len(targets), dtype=torch.long))

    def _validate(self, validation: Validation) -> float:
        """Mean NDCG@10 of the validation targets, ranked as the evaluation protocol ranks them."""
        self.network.eval()
        self._item_cache = None
        histories, targets = validation
        ranks = rank_targets(self, histories, targets, batch=512)
        self._item_cache = None
        return float(np.mean(leave_one_out_at_k(ranks, VALIDATION_CUTOFF).ndcg)) if len(ranks) else 0.0

    @classmethod
    def from_network(cls, network: SequenceTransformer, config: SequentialConfig | None = None) -> Self:
        """A fitted recommender around an already-built network, e.g. one warm-started from another
        catalog and scored zero-shot (`bench/transfer.py`)."""
        model = cls(config)
        n_items = network.item_embedding.num_embeddings - 1
        _check_network(network, n_items, model.config)
        network.eval()
        model._network, model._n_items = network, n_items
        return model

    # scoring --------------------------------------------------------------------------------------

    @property
    def network(self) -> SequenceTransformer:
        if self._network is None:
            raise RuntimeError("SequentialRecommender is not fitted: call fit() or load() first")
        return self._network

    @property
    def n_items(self) -> int:
        self.network  # noqa: B018 - raises when not fitted
        return self._n_items

    def _vectors(self) -> torch.Tensor:
        if self._item_cache is None:
            with torch.inference_mode():
                self._item_cache = self.network.item_vectors()
        return self._item_cache

    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Logits of every item as the next one; an empty history scores from position information only."""
        with torch.inference_mode():
            last = self._last_states(histories)
            return (last @ self._vectors()[1:].T).numpy().astype(np.float32)

    def user_vectors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(len(histories), hidden): what the network makes of each history, the state it scores the next
        item from; shoppers with similar tastes and habits lie close (customer segments cluster them)."""
        with torch.inference_mode():
            return self._last_states(histories).numpy().astype(np.float32)

    def _last_states(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        flat = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories]) if histories else None
        if flat is not None:
            check_item_indices(flat, self.n_items)
        network = self.network
        was_training = network.training
        network.eval()
        vectors = self._vectors()
        # As in training: a view, cart and purchase of one item in a row are one step.
        steps = _collapse_repeats([np.asarray(h, dtype=np.int64) for h in histories])
        longest = max((len(h) for h in steps), default=1)
        tokens = torch.from_numpy(_left_padded(steps, min(max(longest, 1), self.config.max_length)))
        # A history that is all padding still yields a (position-only) state at the last slot.
        last: torch.Tensor = network(tokens, vectors)[:, -1, :]
        network.train(was_training)
        return last

    def text_embeddings(self) -> np.ndarray | None:
        """The item text embeddings the model was trained with (one row per item), or None."""
        if self._network is None or self._network.text is None:
            return None
        return self._network.text[1:].numpy().copy()  # row 0 of the buffer is the padding token

    def item_vectors(self) -> np.ndarray:
        """(n_items, hidden) learned item vectors, e.g. for nearest-neighbour look-ups."""
        return self._vectors()[1:].numpy().copy()

    # persistence ----------------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {f"param.{k}": v.detach().numpy() for k, v in self.network.state_dict().items()}
        return {"n_items": self._n_items}, arrays

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        # Scoring runs on the process's torch threads, which the `threads` settings own (shelfwise.threads:
        # one per request when serving, where extra threads only add synchronisation between requests).
        n_items = int(values["n_items"])
        state = {k.removeprefix("param."): torch.from_numpy(v) for k, v in arrays.items()}
        network = SequenceTransformer(n_items, self.config, state.get("text"))
        network.load_state_dict(state)
        network.eval()
        self._network, self._n_items, self._item_cache = network, n_items, None


def _check_network(network: SequenceTransformer, n_items: int, config: SequentialConfig) -> None:
    """A network handed in from outside must fit the catalog and the config that will drive it."""
    rows, hidden = network.item_embedding.weight.shape
    if rows != n_items + 1:
        raise ValueError(f"network has item embeddings for {rows - 1} items; the data has {n_items}")
    if hidden != config.hidden or network.max_length != config.max_length:
        raise ValueError(
            f"network has hidden={hidden}, max_length={network.max_length}; the config says "
            f"hidden={config.hidden}, max_length={config.max_length}"
        )
    if len(network.blocks) != config.layers:
        raise ValueError(f"network has {len(network.blocks)} layers; the config says {config.layers}")


def _collapse_repeats(sequences: list[np.ndarray]) -> list[np.ndarray]:
    """Consecutive repeats of one item (view, cart, buy) are one step of the journey."""
    collapsed = []
    for sequence in sequences:
        if len(sequence) > 1:
            keep = np.ones(len(sequence), dtype=bool)
            keep[1:] = sequence[1:] != sequence[:-1]
            sequence = sequence[keep]
        collapsed.append(sequence)
    return collapsed


def _hold_out_last(
    sequences: list[np.ndarray], users: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], Validation | None]:
    """Moves the last item of up to `users` sequences (of 3+ items) into a validation set."""
    eligible = [i for i, s in enumerate(sequences) if len(s) >= 3]
    if users == 0 or len(eligible) < 10:
        return sequences, None
    chosen = set(rng.choice(eligible, size=min(users, len(eligible) // 5 or 1), replace=False).tolist())
    histories, targets, kept = [], [], []
    for i, sequence in enumerate(sequences):
        if i in chosen:
            histories.append(sequence[:-1])
            targets.append(int(sequence[-1]))
            kept.append(sequence[:-1])
        else:
            kept.append(sequence)
    return kept, (histories, np.asarray(targets, dtype=np.int64))


def _sample(validation: Validation, size: int, rng: np.random.Generator) -> Validation:
    histories, targets = validation
    if len(targets) <= size:
        return validation
    chosen = np.sort(rng.choice(len(targets), size=size, replace=False))
    return [histories[i] for i in chosen], np.asarray(targets)[chosen]


def _windows(sequence: np.ndarray, length: int, every_window: bool) -> list[np.ndarray]:
    """The last `length` items, and with `every_window` the earlier ones too, in windows overlapping by
    one item so that each item is a target exactly once."""
    if not every_window or len(sequence) <= length:
        return [sequence[-length:]]
    ends = range(len(sequence), 1, -(length - 1))
    return [sequence[max(0, end - length) : end] for end in ends]


def _length_buckets(
    sequences: list[np.ndarray], length: int, batch_size: int, every_window: bool = True
) -> list[np.ndarray]:
    """Padded token batches of similar-length sequences, so little compute goes to padding."""
    tails = [window for s in sequences for window in _windows(s, length, every_window)]
    order = np.argsort([len(t) for t in tails], kind="stable")
    batches = []
    for start in range(0, len(order), batch_size):
        members = [tails[i] for i in order[start : start + batch_size]]
        batches.append(_left_padded(members, max(len(m) for m in members)))
    return batches


def _text_tensor(embeddings: np.ndarray | None, n_items: int) -> torch.Tensor | None:
    if embeddings is None:
        return None
    if embeddings.ndim != 2 or embeddings.shape[0] != n_items:
        raise ValueError(
            f"item_text_embeddings has shape {embeddings.shape}; expected ({n_items}, dim), one row per item"
        )
    if not np.isfinite(embeddings).all():
        raise ValueError("item_text_embeddings holds NaN or infinite values")
    padded = np.vstack([np.zeros((1, embeddings.shape[1]), np.float32), embeddings.astype(np.float32)])
    return torch.from_numpy(padded)
