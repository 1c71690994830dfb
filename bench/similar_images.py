"""How far pictures help the `similar` kind: category agreement of the top 10 similar items on Fashion
Product Images, for several weights of the image cosine (`recommend.similar_image_weight`).

Two shops over the same catalog: without events (`similar` is then the closest titles, re-ordered by
picture) and with the fashion demo's simulated shoppers (co-views first, then titles). Agreement is the share
of the top 10 that share the product's article type (and its sub-category), averaged over every product
with a picture; coverage is the share of products that got 10. Prints one JSON line.

    SHELFWISE_DATA=../shared/data .venv/bin/python bench/similar_images.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from shelfwise.domain import RecommendationKind
from shelfwise.engine import Engine
from shelfwise.images.config import ImageConfig
from shelfwise.io.datasets import require_dataset
from shelfwise.io.demo.fashion import generate_fashion_shop
from shelfwise.settings import Settings
from shelfwise.training.trainer import TrainingConfig

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


def agreement(engine: Engine, product_ids: list[str], category: dict[str, str]) -> dict[str, float]:
    article = sub = full = 0.0
    for product_id in product_ids:
        items = engine.recommend(RecommendationKind.SIMILAR, product_id=product_id, n=10).items
        own = category[product_id].split(" > ")
        paths = [category[item.product.product_id].split(" > ") for item in items]
        article += sum(path == own for path in paths) / 10
        sub += sum(path[:2] == own[:2] for path in paths) / 10
        full += len(items) == 10
    n = len(product_ids)
    return {"article_type@10": round(article / n, 4), "sub_category@10": round(sub / n, 4), "full": full / n}


def measure(
    shop_events: list[dict[str, Any]], products: list[dict[str, Any]], folder: Path, scratch: Path, name: str
) -> dict[str, Any]:
    settings = Settings(data_dir=scratch / name, embedding_cache=scratch / "embeddings")
    with closing(Engine.open(settings=settings)) as engine:
        engine.ingest_products(products)
        if shop_events:
            engine.ingest_events(shop_events)
        config = TrainingConfig(images=ImageConfig(root=folder), search=settings.training.search)
        started = time.perf_counter()
        engine.train(config, force=True)
        seconds = time.perf_counter() - started
        recommender = engine.recommendation_models
        trained = recommender.config
        category = {p["product_id"]: p["category"] for p in products}
        ids = [pid for pid in category if recommender.images and recommender.images.vector(pid) is not None]
        figures: dict[str, Any] = {"train_seconds": round(seconds, 1), "products": len(ids)}
        for weight in WEIGHTS:
            recommender.config = trained.model_copy(update={"similar_image_weight": weight})
            figures[f"w={weight}"] = agreement(engine, ids, category)
        recommender.config = trained
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=400)
    args = parser.parse_args()
    folder = require_dataset("fashion-product-images", "styles.csv", root=Settings().shared_data)
    shop = generate_fashion_shop(folder, n_users=args.users)
    with tempfile.TemporaryDirectory(prefix="shelfwise-similar-images-") as scratch:
        figures = {
            "without_events": measure([], shop.products, folder, Path(scratch), "bare"),
            "with_events": measure(shop.events, shop.products, folder, Path(scratch), "events"),
            "events": len(shop.events),
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
