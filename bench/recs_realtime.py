"""Real-time recommendations on a generated shop: event accepted -> changed for-you, and page diversity.

    .venv/bin/python bench/recs_realtime.py [--products 1500] [--users 500] [--trials 300]

Builds a demo shop in a temporary directory, trains the engine (transformer included when the data meets its
minimums), then for each trial records one view for a user (or an anonymous session) through
`Engine.record` and asks for `for-you` at once. Reports the time to accept the event, the time from accepted
to the next response, how often that response changed, and, over many users' for-you pages, intra-list
category diversity and catalog coverage with and without the per-category cap. One JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from shelfwise.domain import Event, EventType, RecommendationKind
from shelfwise.engine import Engine
from shelfwise.io.demo import write_demo_shop
from shelfwise.recommend.diversity import catalog_coverage, intra_list_diversity
from shelfwise.recommend.kinds import RecommendationConfig
from shelfwise.recommend.sequential import SequentialConfig
from shelfwise.search.config import SearchConfig
from shelfwise.training.trainer import TrainingConfig


def percentiles(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
    }


def ids(engine: Engine, who: dict[str, str]) -> list[str]:
    page = engine.recommend(
        RecommendationKind.FOR_YOU, n=10, user_id=who.get("user_id"), session_id=who.get("session_id")
    )
    return [item.product.product_id for item in page.items]


def realtime_trials(engine: Engine, users: list[str], products: list[str], trials: int) -> dict[str, Any]:
    rng = random.Random(0)
    accept, respond, changed = [], [], 0
    for trial in range(trials):
        anonymous = trial % 2 == 1
        who = {"session_id": f"bench-session-{trial}"} if anonymous else {"user_id": rng.choice(users)}
        before = ids(engine, who)
        event = Event(event_type=EventType.VIEW, product_id=rng.choice(products), **who)
        started = time.perf_counter()
        engine.record(event)
        accepted = time.perf_counter()
        after = ids(engine, who)
        done = time.perf_counter()
        accept.append((accepted - started) * 1000)
        respond.append((done - accepted) * 1000)
        changed += after != before
    return {
        "trials": trials,
        "record_event": percentiles(accept),
        "accepted_to_changed_response": percentiles(respond),
        "responses_changed": changed / trials,
    }


def diversity(engine: Engine, users: list[str], catalog_size: int) -> dict[str, float]:
    pages = []
    categories = []
    for user in users:
        page = engine.recommend(RecommendationKind.FOR_YOU, user_id=user, n=10).items
        pages.append([item.product.product_id for item in page])
        categories.append(intra_list_diversity([item.product.category for item in page]))
    return {
        "intra_list_diversity": round(float(np.mean(categories)), 4),
        "catalog_coverage": round(catalog_coverage(pages, catalog_size), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1500)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--max-seconds", type=float, default=90.0, help="transformer budget, CPU seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shelfwise-realtime-") as scratch:
        products_path, events_path = write_demo_shop(
            Path(scratch) / "shop", n_products=args.products, n_users=args.users
        )
        with closing(Engine.open(Path(scratch) / "data")) as engine:
            engine.ingest_products(products_path)
            engine.ingest_events(events_path)
            config = TrainingConfig(
                search=SearchConfig(semantic=False),
                recommend=RecommendationConfig(sequential=SequentialConfig(max_seconds=args.max_seconds)),
            )
            started = time.perf_counter()
            engine.train(config)
            train_seconds = time.perf_counter() - started
            recommender = engine._recommender
            assert recommender is not None
            events = engine.store.events_frame()
            users = sorted({u for u in events.get_column("user_id").drop_nulls().to_list()})
            products = recommender.items.ids
            figures: dict[str, Any] = {
                "products": len(products),
                "events": len(events),
                "users": len(users),
                "train_seconds": round(train_seconds, 1),
                "transformer": recommender.sequential is not None,
                **realtime_trials(engine, users, list(products), args.trials),
            }
            sample = users[:300]
            figures["diversity_capped"] = diversity(engine, sample, len(products))
            capped = recommender.config
            cap = capped.max_per_category
            # The config is frozen: serve an uncapped copy for this measure, then the trained one again.
            recommender.config = capped.model_copy(update={"max_per_category": None})
            figures["diversity_uncapped"] = diversity(engine, sample, len(products))
            recommender.config = capped
            figures["max_per_category"] = cap
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
