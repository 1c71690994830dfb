"""Text vectors for the fuzzy checks: TF-IDF over words or character n-grams, L2-normalised, sparse.

The MiniLM sentence encoder reads meaning better, but runs at about 200 titles a second on two cores;
TF-IDF takes a second for 100,000 titles, so it is the default and the encoder is a setting. Words are
shelfwise.text.analysis's `alnum` rule; sentence vectors come from shelfwise.text.encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from shelfwise.text.analysis import words
from shelfwise.text.encoder import DEFAULT_MODEL, EncoderConfig, TextEncoder

# all-MiniLM-L6-v2 as the quality checks have always read it: PyTorch, the model's own 256-token limit
# (a title twice and 300 characters of description can pass the 128 that search uses).
MINILM = EncoderConfig(model=DEFAULT_MODEL, backend="torch", max_seq_length=256, batch_size=128)


@lru_cache(maxsize=200_000)
def _word_grams(word: str, n: int) -> tuple[str, ...]:
    padded = f" {word} "
    return tuple(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))


def char_ngrams(text: str, n: int = 3) -> list[str]:
    """The character n-grams of each word of `text`: typo-tolerant tokens for near-duplicate titles."""
    grams: list[str] = []
    for word in words(text):
        grams.extend(_word_grams(word, n))
    return grams


def count_matrix(tokens: Sequence[Sequence[str]]) -> sp.csr_matrix:
    """Token counts, one row per document, columns in order of first appearance."""
    vocabulary: dict[str, int] = {}
    lookup = vocabulary.setdefault
    indptr = [0]
    indices: list[int] = []
    for doc in tokens:
        indices.extend([lookup(token, len(vocabulary)) for token in doc])
        indptr.append(len(indices))
    counts = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
        shape=(len(tokens), max(1, len(vocabulary))),
    )
    counts.sum_duplicates()
    return counts


def tfidf(tokens: Sequence[Sequence[str]], min_df: int = 1, max_df_share: float = 1.0) -> sp.csr_matrix:
    """Rows of L2-normalised TF-IDF (sublinear tf, smooth idf); tokens outside the df bounds are dropped."""
    return tfidf_from_counts(count_matrix(tokens), min_df, max_df_share)


def tfidf_from_counts(counts: sp.csr_matrix, min_df: int = 1, max_df_share: float = 1.0) -> sp.csr_matrix:
    """`tfidf` from a count matrix already built (so several weightings can share one count pass)."""
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    keep = (df >= min_df) & (df <= max(1, max_df_share * n_docs))
    idf = np.where(keep, np.log((1 + n_docs) / (1 + df)) + 1.0, 0.0).astype(np.float32)
    matrix = counts.copy()
    matrix.data = (1.0 + np.log(matrix.data)) * idf[matrix.indices]
    matrix.eliminate_zeros()
    return normalise_rows(matrix)


def normalise_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit length (empty rows stay empty), so dot products are cosines."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)


def pair_cosines(matrix: sp.csr_matrix, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine of row left[k] with row right[k], for rows already L2-normalised."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(matrix[left].multiply(matrix[right]).sum(axis=1)).ravel()


def encode_minilm(texts: Sequence[str]) -> sp.csr_matrix:
    """L2-normalised all-MiniLM-L6-v2 sentence vectors (`MINILM`), one row per text."""
    return sp.csr_matrix(TextEncoder(MINILM).encode(texts))
