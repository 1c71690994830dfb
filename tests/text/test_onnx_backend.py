"""The int8 ONNX copy of the bundled encoder: close to PyTorch's vectors, exported once, reused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shelfwise.text.encoder import EncoderConfig, TextEncoder
from shelfwise.text.onnx_backend import (
    OnnxSentenceEncoder,
    OnnxUnsupported,
    default_cache_root,
    use_cache_root,
    use_threads,
)

pytestmark = [pytest.mark.slow, pytest.mark.model]

TEXTS = [
    "rain shower head",
    "l bracket",
    "Behr Premium 1 gal. DeckOver Wood and Concrete Coating",
    "36 in. white bathroom vanity with marble top",
    "cordless drill",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Exports go to a folder of this module's own, and the process default is restored after."""
    root = tmp_path_factory.mktemp("onnx")
    use_cache_root(root)
    yield root
    use_cache_root(None)


def test_onnx_vectors_match_pytorch_and_int8_stays_close(onnx_cache: Path) -> None:
    assert default_cache_root() == onnx_cache
    same = TextEncoder(EncoderConfig(backend="onnx"))
    fast = TextEncoder(EncoderConfig(backend="onnx-int8"))
    exact = TextEncoder(EncoderConfig(backend="torch"))
    assert fast.name == "all-MiniLM-L6-v2+onnx-int8" and exact.name == "all-MiniLM-L6-v2"
    a, b = fast.encode(TEXTS), exact.encode(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(same.encode(TEXTS), b, atol=1e-4)
    assert (a * b).sum(axis=1).min() >= 0.98
    assert np.argmax(a[1:] @ fast.encode_one("shower head for rain"), axis=0) == np.argmax(
        b[1:] @ exact.encode_one("shower head for rain"), axis=0
    )
    # One-off queries run the int8 copy under the float32 backend (int8_queries, on by default).
    np.testing.assert_allclose(same.encode_one(TEXTS[2]), fast.encode_one(TEXTS[2]), atol=1e-6)
    exact_query = TextEncoder(EncoderConfig(backend="onnx", int8_queries=False)).encode_one(TEXTS[2])
    np.testing.assert_allclose(exact_query, b[2], atol=1e-4)
    # Each backend runs its own exported file (made once per process and model, then reused).
    assert same._onnx is not None and same._onnx.path.name == "model.onnx" and same._onnx.path.is_file()
    assert fast._onnx is not None and fast._onnx.path.name == "model_int8.onnx" and fast._onnx.path.is_file()


def test_batches_run_on_the_threads_the_process_was_given(onnx_cache: Path) -> None:
    """The `threads` settings reach ONNX Runtime's session options (shelfwise.threads applies them)."""
    exported = TextEncoder(EncoderConfig(backend="onnx-int8"))._onnx
    assert exported is not None
    encoder = OnnxSentenceEncoder(exported.model_dir, cache_root=onnx_cache)  # no session opened yet
    use_threads(1)
    try:
        encoder.encode(TEXTS)
        encoder.encode(TEXTS[:1])
    finally:
        use_threads(None)
    options = {threads: s.get_session_options() for threads, s in encoder._sessions.items()}
    assert list(options) == [1], "batch and single query both on one thread"
    assert (options[1].intra_op_num_threads, options[1].inter_op_num_threads) == (1, 1)


def test_a_model_directory_without_mean_or_cls_pooling_is_refused(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]'
    )
    with pytest.raises(OnnxUnsupported, match="not Transformer \\+ Pooling"):
        OnnxSentenceEncoder(tmp_path, cache_root=tmp_path / "cache")
