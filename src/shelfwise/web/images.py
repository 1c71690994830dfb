"""Product pictures: the catalog's own where it has them, else one SVG per category, drawn here, so the
demo shop needs no image files and no network (a department picks the drawing; the category its colours).

A product's `image_url` shows as it is when it is an http(s) URL or one of the drawings; a local file is
served by product id from `PICTURE_ROUTE`, and only when it lies under the configured image root
(`training.images.root`) with a picture's suffix: no path from a request is ever opened.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from urllib.parse import quote

from shelfwise.domain import Product
from shelfwise.images.sources import is_remote, local_path

DEMO_PICTURES = "/static/demo/"  # the drawings' route: the generated demo's image_url points there
PICTURE_ROUTE = "/pictures/"  # + a product id: that product's local picture file
PICTURE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
}

# Simple line drawings on a 200 x 200 canvas, one per department.
_ICONS: dict[str, str] = {
    "electronics": (
        '<rect x="62" y="38" width="76" height="124" rx="12"/>'
        '<rect x="72" y="54" width="56" height="86" rx="3" fill="#fff" fill-opacity=".35" stroke="none"/>'
        '<circle cx="100" cy="150" r="4"/>'
    ),
    "kitchen": (
        '<circle cx="88" cy="108" r="46"/><circle cx="88" cy="108" r="32" fill="#fff" fill-opacity=".3"/>'
        '<rect x="132" y="102" width="50" height="12" rx="6"/>'
    ),
    "home": (
        '<path d="M40 100 L100 46 L160 100"/><rect x="56" y="96" width="88" height="64" rx="4"/>'
        '<rect x="90" y="120" width="20" height="40" fill="#fff" fill-opacity=".35" stroke="none"/>'
    ),
    "furniture": (
        '<rect x="44" y="88" width="112" height="44" rx="10"/>'
        '<rect x="32" y="96" width="22" height="48" rx="8"/>'
        '<rect x="146" y="96" width="22" height="48" rx="8"/><path d="M52 144 v14 M148 144 v14"/>'
    ),
    "sports": (
        '<path d="M40 128 q10 -46 46 -50 l18 20 q26 4 48 14 q14 6 10 22 H44 q-6 0 -4 -6z"/>'
        '<path d="M40 140 H160" stroke-width="6"/>'
    ),
    "beauty": (
        '<rect x="74" y="76" width="52" height="88" rx="12"/>'
        '<rect x="86" y="50" width="28" height="26" rx="4"/>'
        '<rect x="84" y="104" width="32" height="30" rx="4" fill="#fff" fill-opacity=".35" stroke="none"/>'
    ),
    "toys": (
        '<rect x="46" y="100" width="50" height="50" rx="6"/>'
        '<rect x="104" y="100" width="50" height="50" rx="6"/>'
        '<rect x="75" y="50" width="50" height="50" rx="6"/><circle cx="100" cy="75" r="8" fill="#fff"/>'
    ),
    "pets": (
        '<ellipse cx="100" cy="124" rx="34" ry="28"/><circle cx="62" cy="84" r="13"/>'
        '<circle cx="86" cy="64" r="13"/><circle cx="114" cy="64" r="13"/><circle cx="138" cy="84" r="13"/>'
    ),
}
_DEFAULT_ICON = '<rect x="50" y="60" width="100" height="90" rx="8"/><path d="M50 84 H150 M100 60 V150"/>'
_PALETTES: dict[str, tuple[str, str]] = {
    "electronics": ("#dbeafe", "#1d4ed8"),
    "kitchen": ("#ffedd5", "#c2410c"),
    "home": ("#fef3c7", "#a16207"),
    "furniture": ("#ede9fe", "#6d28d9"),
    "sports": ("#dcfce7", "#15803d"),
    "beauty": ("#fce7f3", "#be185d"),
    "toys": ("#e0f2fe", "#0369a1"),
    "pets": ("#f5f5f4", "#57534e"),
}
_SLUG = re.compile(r"^[a-z0-9-]{1,80}$")


def valid_slug(slug: str) -> bool:
    return bool(_SLUG.match(slug))


def category_label(slug: str) -> str:
    """`kitchen-cookware` -> `Cookware`; the department alone when there is no sub-level."""
    words = slug.split("-")
    rest = words[1:] if len(words) > 1 and words[0] in _ICONS else words
    return " ".join(word.capitalize() for word in rest) or slug.capitalize()


def category_svg(slug: str) -> str:
    """The picture for one category slug (as the demo's image_url names it)."""
    department = slug.split("-")[0]
    background, ink = _PALETTES.get(department, ("#f1f5f9", "#334155"))
    # A stable small rotation of the accent, so sibling categories do not look identical.
    shade = int(hashlib.sha1(slug.encode()).hexdigest()[:2], 16) % 5
    icon = _ICONS.get(department, _DEFAULT_ICON)
    label = html.escape(category_label(slug))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" role="img" '
        f'aria-label="{label}">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#fff"/>'
        f'<stop offset="1" stop-color="{background}"/></linearGradient></defs>'
        '<rect width="200" height="200" fill="url(#g)"/>'
        f'<circle cx="{150 + shade * 6}" cy="{40 + shade * 4}" r="{18 + shade * 3}" fill="{background}"/>'
        f'<g fill="{ink}" fill-opacity=".85" stroke="{ink}" stroke-width="3" stroke-linecap="round" '
        f'stroke-linejoin="round">{icon}</g>'
        f'<text x="100" y="188" text-anchor="middle" font-family="system-ui, sans-serif" font-size="13" '
        f'fill="{ink}">{label}</text></svg>'
    )


def product_image_alt(title: str, category: str | None) -> str:
    return f"{title} ({category})" if category else title


def picture_src(product: Product, root: Path | None) -> str | None:
    """What an <img src> shows for `product`: its http(s) URL or drawing as it is; its local file through
    PICTURE_ROUTE when an image root is configured; without one, a path on the shop's own site (`/img/a.jpg`)
    as it is, and None for anything else (the page says there is no picture)."""
    location = product.image_url
    if not location:
        return None
    if is_remote(location) or location.startswith(DEMO_PICTURES):
        return location
    if root is None:
        return location if location.startswith("/") else None
    return f"{PICTURE_ROUTE}{quote(product.product_id, safe='')}"


def picture_file(product: Product, root: Path | None) -> Path | None:
    """The local file to serve as `product`'s picture: only an existing file inside `root` (symbolic links
    resolved) whose suffix is a picture's, else None."""
    location = product.image_url
    if not location or root is None or is_remote(location) or location.startswith(DEMO_PICTURES):
        return None
    base = root.resolve()
    path = local_path(location, base).resolve()
    if not path.is_relative_to(base) or path.suffix.lower() not in PICTURE_TYPES or not path.is_file():
        return None
    return path
