"""The fashion demo shop: the real products of a Fashion Product Images folder (here a small one laid out
the same way) with deterministic simulated shoppers, and `shelfwise demo --shop fashion` over it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sample_images import fashion_folder, needs_extra
from shelfwise.cli.main import app
from shelfwise.engine import Engine
from shelfwise.io.demo.fashion import FashionFolderError, fashion_products, generate_fashion_shop

runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fashion_folder(tmp_path_factory.mktemp("data") / "fashion-product-images")


def test_products_are_the_rows_with_a_picture(folder: Path) -> None:
    products = fashion_products(folder)
    assert len(products) == 12 and "19999" not in {p["product_id"] for p in products}
    first = products[0]
    assert first["category"] == "Apparel > Topwear > Tshirts"
    assert first["image_url"] == "/images/10000.jpg"
    assert first["attributes"] == {
        "gender": "Men",
        "colour": "Navy Blue",
        "season": "Summer",
        "usage": "Casual",
    }
    assert first["price"] > 0 and fashion_products(folder)[0]["price"] == first["price"]
    assert len(fashion_products(folder, n_products=5)) == 5


def test_the_same_seed_gives_the_same_shoppers(folder: Path) -> None:
    one, two = generate_fashion_shop(folder, n_users=30), generate_fashion_shop(folder, n_users=30)
    assert one.events == two.events and one.events
    kinds = {event["event_type"] for event in one.events}
    assert {"view", "search"} <= kinds
    assert generate_fashion_shop(folder, n_users=30, seed=8).events != one.events
    ids = {p["product_id"] for p in one.products}
    assert {event["product_id"] for event in one.events} - {None} <= ids


def test_a_folder_without_styles_is_refused_with_where(tmp_path: Path) -> None:
    with pytest.raises(FashionFolderError, match=r"styles\.csv"):
        fashion_products(tmp_path)


def test_demo_without_the_folder_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELFWISE_DATA", str(tmp_path / "nowhere"))
    result = runner.invoke(
        app, ["demo", "--shop", "fashion", "--no-serve", "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 1
    assert "No fashion shop" in result.output and "nowhere" in result.output
    assert not (tmp_path / "d" / "fashion-shop").exists()


@needs_extra
@pytest.mark.slow  # ingests, encodes the pictures and trains through the CLI
def test_demo_fashion_shop_serves_real_pictures(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELFWISE_DATA", str(folder.parent))
    data = tmp_path / "demo"
    result = runner.invoke(
        app, ["demo", "--shop", "fashion", "--no-serve", "--data-dir", str(data), "--users", "40"]
    )
    assert result.exit_code == 0, result.output
    assert not (data / "demo-shop").exists()  # the generated shop's store is untouched
    with Engine.open(data / "fashion-shop") as engine:
        assert engine.count_products() == 12 and engine.count_events() > 0
        assert engine.manifest is not None and engine.manifest.components["images"]["vectors"] == 12
        looks = engine.recommend("similar-looking", product_id="10000", n=3).items
        assert {item.product.category for item in looks} == {"Apparel > Topwear > Tshirts"}
