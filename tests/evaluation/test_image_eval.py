"""`shelfwise evaluate images` on a tiny generated data set in the Fashion Product Images layout."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sample_images import needs_extra, picture
from shelfwise.cli.main import app

runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})
KINDS = {
    "stripes": ("Apparel", "Topwear", "Tshirts", "Striped cotton tshirt"),
    "disc": ("Accessories", "Jewellery", "Pendant", "Round red pendant"),
    "shoe": ("Footwear", "Shoes", "Casual Shoes", "Black casual shoes"),
}


def _data_set(root: Path, per_kind: int = 8) -> Path:
    (root / "images").mkdir(parents=True)
    with (root / "styles.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["id", "gender", "masterCategory", "subCategory", "articleType", "productDisplayName"]
        )
        for k, (kind, (master, sub, article, title)) in enumerate(KINDS.items()):
            for i in range(per_kind):
                product_id = 1000 + 100 * k + i
                (root / "images" / f"{product_id}.jpg").write_bytes(picture(kind, shift=3 * i))
                writer.writerow([product_id, "Unisex", master, sub, article, f"{title} {i}"])
        writer.writerow([9999, "Men", "Apparel", "Topwear", "Shirts", "A shirt whose picture is missing"])
    return root


@needs_extra
@pytest.mark.model
def test_evaluate_images_json_reports_text_image_and_both(tmp_path: Path) -> None:
    data = _data_set(tmp_path / "fashion")
    result = runner.invoke(
        app,
        ["evaluate", "images", "--data", str(data), "--json", "--copies", "6", "--swaps", "3"],
        env={"SHELFWISE_DATA_DIR": str(tmp_path / "shelfwise")},
    )
    assert result.exit_code == 0, result.output
    figures = json.loads([line for line in result.output.splitlines() if line.strip()][-1])

    assert figures["products"] == 24  # the row without a picture is left out
    rows = {row["name"]: row["metrics"] for row in figures["rows"]}
    assert list(rows) == ["text", "image", "both"]
    for metrics in rows.values():
        assert set(metrics) == {"masterCategory", "subCategory", "articleType"}
    assert rows["image"]["articleType"] == 1.0  # three very different drawings
    assert figures["duplicates"]["copies"] == 6
    assert 0 <= figures["duplicates"]["false_positive_rate"] <= 1
    assert figures["mislabelled"]["swapped"] == 3
    assert figures["throughput"]["images_per_second"] > 0


def test_evaluate_images_names_a_folder_without_styles(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "images", "--data", str(tmp_path)])
    assert result.exit_code != 0
    assert "styles.csv" in result.output
