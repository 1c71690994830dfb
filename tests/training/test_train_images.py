"""Training with product images: they are encoded, checked by the quality gate and saved with the
version; a shop without images trains as before."""

from __future__ import annotations

from pathlib import Path

from sample_images import needs_extra, picture
from sample_shop import catalog_rows, event_rows
from shelfwise.engine import Engine
from shelfwise.settings import Settings
from shelfwise.training.trainer import IMAGES_DIR, load_images


@needs_extra
def test_images_are_encoded_checked_and_saved_with_the_version(tmp_path: Path) -> None:
    shop = tmp_path / "import"
    (shop / "img").mkdir(parents=True)
    kinds = ["stripes", "disc", "shoe"]
    for kind in kinds:
        (shop / "img" / f"{kind}.jpg").write_bytes(picture(kind))
    (shop / "img" / "broken.jpg").write_bytes(b"not a picture")
    rows = catalog_rows()
    for row, name in zip(rows, ["stripes", "disc", "shoe", "stripes", "broken"], strict=False):
        row["image_url"] = f"/img/{name}.jpg"
    settings = Settings(data_dir=tmp_path / "data", training={"images": {"root": str(shop)}})

    with Engine(settings) as engine:
        engine.ingest_products(rows)
        engine.ingest_events(event_rows())
        manifest = engine.train()
        report = engine.quality_report()
        images = load_images(engine.registry, manifest.version)

    summary = manifest.components[IMAGES_DIR]
    assert (summary["vectors"], summary["encoded"], summary["problems"]) == (4, 3, {"not_an_image": 1})
    assert images is not None and images.product_ids == ["p1", "p2", "p3", "p4"]
    assert report is not None
    assert report.checks["product.image_not_an_image"] == 1
    assert report.checks["product.image_duplicate"] == 1  # p4 shows p1's picture


def test_a_shop_without_images_saves_no_image_component(tmp_path: Path) -> None:
    with Engine(Settings(data_dir=tmp_path / "data")) as engine:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows())
        manifest = engine.train()
        assert IMAGES_DIR not in manifest.components
        assert load_images(engine.registry, manifest.version) is None
