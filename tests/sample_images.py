"""Small generated pictures for the image tests, and the skip (with its reason) where the `images` extra is
absent. Tests import it (`from sample_images import picture`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from shelfwise.images.encoder import missing_extra

MISSING_EXTRA = missing_extra()
needs_extra = pytest.mark.skipif(MISSING_EXTRA is not None, reason=str(MISSING_EXTRA))


def picture(kind: str, size: int = 160, fmt: str = "JPEG", quality: int = 90, shift: int = 0) -> bytes:
    """A product-like shot on white: `stripes` (a striped shirt-like block), `disc` (a round red thing),
    `shoe` (a dark low wedge), or `noise` (random pixels); encoded as `fmt`. `shift` moves the drawing
    right and down by that many pixels, so variants of one kind differ a little."""
    import numpy as np
    from PIL import Image, ImageChops, ImageDraw

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    s = size
    if kind == "stripes":
        for i, top in enumerate(range(s // 5, 4 * s // 5, s // 12)):
            draw.rectangle([s // 4, top, 3 * s // 4, top + s // 24], fill="navy" if i % 2 else "gold")
    elif kind == "disc":
        draw.ellipse([s // 5, s // 5, 4 * s // 5, 4 * s // 5], fill="crimson")
    elif kind == "shoe":
        draw.polygon(
            [(s // 8, 3 * s // 4), (7 * s // 8, 3 * s // 4), (7 * s // 8, s // 2), (s // 3, s // 3)],
            fill="black",
        )
    elif kind == "noise":
        pixels = np.random.default_rng(0).integers(0, 256, (s, s, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
    else:
        raise ValueError(kind)
    if shift:
        image = ImageChops.offset(image, shift, shift)
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()


def near_copy(data: bytes, crop: float = 0.05) -> bytes:
    """The same picture cropped by `crop` a side, shrunk and recompressed: what a re-upload looks like."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        w, h = image.size
        dx, dy = int(w * crop), int(h * crop)
        cropped = image.crop((dx, dy, w - dx, h - dy)).resize((w * 3 // 4, h * 3 // 4))
        out = io.BytesIO()
        cropped.convert("RGB").save(out, "JPEG", quality=60)
        return out.getvalue()


def fashion_folder(root: Path, per_type: int = 4) -> Path:
    """A small folder laid out like Fashion Product Images: styles.csv and images/ID.jpg, `per_type`
    products of each of three article types (each drawn as its own kind of picture), one row without a
    picture."""
    kinds = [
        ("Apparel", "Topwear", "Tshirts", "stripes", "Men", "Navy Blue"),
        ("Accessories", "Bags", "Handbags", "disc", "Women", "Red"),
        ("Footwear", "Shoes", "Casual Shoes", "shoe", "Men", "Black"),
    ]
    (root / "images").mkdir(parents=True)
    lines = [
        "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"
    ]
    for number in range(per_type * len(kinds)):
        master, sub, article, kind, gender, colour = kinds[number % len(kinds)]
        product_id = 10000 + number
        (root / "images" / f"{product_id}.jpg").write_bytes(picture(kind, shift=number // len(kinds) * 3))
        title = f"{colour} {article} {number}"
        lines.append(f"{product_id},{gender},{master},{sub},{article},{colour},Summer,2012,Casual,{title}")
    lines.append("19999,Men,Apparel,Topwear,Shirts,White,Summer,2012,Casual,Shirt without a picture")
    (root / "styles.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
