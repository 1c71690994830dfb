"""An ONNX Runtime copy (float32 or int8) of a sentence-transformers BERT-style model: the fast path.

PyTorch spends most of a one-query encode in framework overhead; the same network exported to ONNX gives
PyTorch's vectors (to 1e-4, tests/text/test_onnx_backend.py) with less overhead, and dynamically quantised
to int8 encodes a short query in a few milliseconds on one thread, with cosine similarity >= 0.98 to the
float32 vectors. `bench/search_latency.py` measures the whole path (indexing 54,667 titles, per-query
latency) and `bench/search_variants.py` what the int8 queries cost in relevance. The export runs once from
the local weights (no download) and is kept in a cache directory keyed by the model's files, so later
processes just load it.

Only mean or CLS pooling over a Transformer module is supported, which covers the MiniLM family; other
models keep the PyTorch backend (`OnnxUnsupported` says why).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_MODEL_FILES = {True: "model_int8.onnx", False: "model.onnx"}
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_EXPORT_LOCK = threading.Lock()


class OnnxUnsupported(RuntimeError):
    """The model cannot take the ONNX path; the caller falls back to PyTorch."""


_cache_root: Path | None = None
_batch_threads: int | None = None


def use_cache_root(root: Path | None) -> None:
    """Where this process exports ONNX copies of encoders (the engine sets it from its settings,
    `onnx_cache`); None goes back to the default, ~/.cache/shelfwise-onnx. Exports are keyed by the
    model's fingerprint, so every engine of a process can share one folder."""
    global _cache_root
    _cache_root = root


def use_threads(threads: int | None) -> None:
    """How many threads a batch encode may use in this process (set from the `threads` settings at start,
    see shelfwise.threads); None: every core. A single query always runs on the encoder's own `threads`."""
    global _batch_threads
    _batch_threads = threads


def batch_threads() -> int:
    """The threads of a batch encode: what `use_threads` chose, else every core."""
    return _batch_threads or os.cpu_count() or 1


def default_cache_root() -> Path:
    """The folder `use_cache_root` chose, else ~/.cache/shelfwise-onnx."""
    return _cache_root or Path.home() / ".cache" / "shelfwise-onnx"


def _pooling_mode(model_dir: Path) -> str:
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        raise OnnxUnsupported(f"{model_dir}: no modules.json, not a sentence-transformers model directory")
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k not in ("Normalize",) for k in kinds[2:]):
        raise OnnxUnsupported(f"{model_dir}: modules {kinds} are not Transformer + Pooling (+ Normalize)")
    pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    pooling = json.loads((model_dir / pooling_dir / "config.json").read_text(encoding="utf-8"))
    # Older sentence-transformers write one flag per mode; newer ones (6.x here) write "pooling_mode": "mean".
    if pooling.get("pooling_mode_mean_tokens") or pooling.get("pooling_mode") == "mean":
        return "mean"
    if pooling.get("pooling_mode_cls_token") or pooling.get("pooling_mode") == "cls":
        return "cls"
    raise OnnxUnsupported(f"{model_dir}: pooling {pooling} is neither mean nor CLS")


def _fingerprint(model_dir: Path, max_seq_length: int) -> str:
    """Changes when the weights change, so a fine-tuned model saved over an old one is re-exported."""
    digest = hashlib.blake2b(digest_size=10)
    digest.update(str(model_dir.resolve()).encode())
    digest.update(str(max_seq_length).encode())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def export(model_dir: Path, target: Path, quantize: bool = True) -> Path:
    """Export the Transformer module of `model_dir` to ONNX in `target`, its weights quantised to int8
    when `quantize` (else float32: the PyTorch vectors to rounding, still several times faster)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    network = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    sample = tokenizer(["a sample query", "a longer sample product title"], padding=True, return_tensors="pt")
    types = sample.get("token_type_ids", torch.zeros_like(sample["input_ids"]))
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as scratch:
        float_model = Path(scratch) / _MODEL_FILES[False]
        quantised = Path(scratch) / _MODEL_FILES[True]
        axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python control flow in the HF code
            torch.onnx.export(
                _LastHiddenState(network),
                (sample["input_ids"], sample["attention_mask"], types),
                str(float_model),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        if not quantize:
            # Renaming into place is atomic: a concurrent process sees either no model or a whole one.
            os.replace(float_model, target / _MODEL_FILES[False])
            return target / _MODEL_FILES[False]
        quantizer_logger = logging.getLogger()  # onnxruntime advises pre-processing on the root logger
        level = quantizer_logger.level
        quantizer_logger.setLevel(logging.ERROR)
        try:
            quantize_dynamic(str(float_model), str(quantised), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            quantizer_logger.setLevel(level)
        os.replace(quantised, target / _MODEL_FILES[True])
    return target / _MODEL_FILES[True]


class OnnxSentenceEncoder:
    """Tokenise with the model's fast tokenizer, run the ONNX network (int8 when `quantize`), pool."""

    def __init__(
        self,
        model_dir: str | Path,
        max_seq_length: int = 128,
        threads: int = 1,
        cache_root: Path | None = None,
        quantize: bool = True,
    ) -> None:
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        self.pooling = _pooling_mode(self.model_dir)
        tokenizer_file = self.model_dir / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise OnnxUnsupported(f"{self.model_dir}: no tokenizer.json (a fast tokenizer is needed)")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(max_seq_length)
        self.tokenizer.enable_padding()
        self.quantize = quantize
        root = cache_root or default_cache_root()
        self.path = self._exported(root / _fingerprint(self.model_dir, max_seq_length))
        self.threads = threads
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _exported(self, directory: Path) -> Path:
        model = directory / _MODEL_FILES[self.quantize]
        if model.is_file():
            return model
        with _EXPORT_LOCK:
            if not model.is_file():
                logger.info("exporting %s to ONNX in %s (once)", self.model_dir, directory)
                export(self.model_dir, directory, self.quantize)
        return model

    def _session(self, threads: int) -> Any:
        with self._lock:
            if threads not in self._sessions:
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                self._sessions[threads] = onnxruntime.InferenceSession(
                    str(self.path), options, providers=["CPUExecutionProvider"]
                )
            return self._sessions[threads]

    @cached_property
    def dim(self) -> int:
        return int(self.encode(["dimension probe"]).shape[1])

    def encode(self, texts: list[str], batch_size: int = 128, threads: int | None = None) -> np.ndarray:
        """Pooled float32 vectors, not normalised (the caller normalises, as for PyTorch)."""
        # One thread for a single query (no thread hand-off latency), the process's share for batches.
        session = self._session(threads or (self.threads if len(texts) == 1 else batch_threads()))
        chunks = [
            self._encode_batch(session, texts[start : start + batch_size])
            for start in range(0, len(texts), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)

    def _encode_batch(self, session: Any, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]
        if self.pooling == "cls":
            return np.ascontiguousarray(hidden[:, 0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled.astype(np.float32)
