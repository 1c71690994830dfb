"""Session-based recommendation on YooChoose (RecSys Challenge 2015, 100k-click sample): Recall@20, MRR@20.

    .venv/bin/python bench/recs_sessions.py [--max-seconds 240]

The standard session protocol (GRU4Rec, session-rec): anonymous sessions only, models fit on train_full;
every test click after a session's first is predicted from the clicks before it in its session, ranked over
every training item (items already clicked are NOT excluded: re-clicks are real next clicks here); test
clicks on items unseen in training are dropped, then sessions shorter than 2. The transformer's epochs and
the blend's co-occurrence share are chosen by fitting on train_tr and validating on train_valid, then the
transformer is refitted on train_full for that many epochs. Prints a table on stderr and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from harness import shared_data
from shelfwise.recommend.base import ItemScorer, rank_targets
from shelfwise.recommend.blend import SequentialBlend
from shelfwise.recommend.cooccurrence import CoOccurrence
from shelfwise.recommend.interactions import Interactions, Vocabulary
from shelfwise.recommend.popularity import Popularity
from shelfwise.recommend.sequential import SequentialConfig, SequentialRecommender

CUTOFF = 20
FILES = {
    "train_full": "yoochoose-clicks-100k_train_full.txt",
    "train_tr": "yoochoose-clicks-100k_train_tr.txt",
    "train_valid": "yoochoose-clicks-100k_train_valid.txt",
    "test": "yoochoose-clicks-100k_test.txt",
}


def read(name: str) -> pl.DataFrame:
    path = shared_data() / "yoochoose-sessions" / FILES[name]
    if not path.is_file():
        sys.exit(f"{path} is missing: set SHELFWISE_DATA to the folder holding yoochoose-sessions/")
    frame = pl.read_csv(path, separator="\t", schema_overrides={"SessionId": pl.Utf8, "ItemId": pl.Utf8})
    return frame.rename({"SessionId": "user_id", "ItemId": "product_id", "Time": "timestamp"})


def next_click_cases(frame: pl.DataFrame, items: Vocabulary) -> tuple[list[np.ndarray], np.ndarray]:
    """(prefix, next click) for every click after the first of each session, on known items only."""
    data = Interactions.from_frame(frame, items=items)
    histories, targets = [], []
    for session in data.sequences():
        for position in range(1, len(session)):
            histories.append(session[:position])
            targets.append(int(session[position]))
    return histories, np.asarray(targets, dtype=np.int64)


def session_metrics(
    scorer: ItemScorer, histories: Sequence[np.ndarray], targets: np.ndarray
) -> dict[str, float]:
    ranks = rank_targets(scorer, histories, targets, exclude_history=False, batch=512)
    hit = ranks < CUTOFF
    return {
        "recall_at_20": float(hit.mean()),
        "mrr_at_20": float(np.where(hit, 1.0 / (ranks + 1.0), 0.0).mean()),
        "cases": len(targets),
    }


def sample(cases: tuple[list[np.ndarray], np.ndarray], size: int) -> tuple[list[np.ndarray], np.ndarray]:
    histories, targets = cases
    chosen = np.sort(
        np.random.default_rng(0).choice(len(targets), size=min(size, len(targets)), replace=False)
    )
    return [histories[i] for i in chosen], targets[chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=240.0, help="transformer budget, CPU seconds")
    parser.add_argument("--config", default="{}", help="JSON overrides of SequentialConfig")
    args = parser.parse_args()
    started = time.perf_counter()
    frames = {name: read(name) for name in FILES}
    items = Vocabulary.of(frames["train_full"].get_column("product_id").unique(maintain_order=True).to_list())
    config = SequentialConfig(**{"max_seconds": args.max_seconds, "dropout": 0.2, **json.loads(args.config)})

    # Tuning: fit on train_tr, choose epochs and the blend share on train_valid's next clicks.
    tune_data = Interactions.from_frame(frames["train_tr"], items=items)
    valid = sample(next_click_cases(frames["train_valid"], items), 4000)
    tuned = SequentialRecommender(config).fit(tune_data, validation=valid)
    best_epoch = int(np.argmax([h["valid_ndcg"] for h in tuned.history])) + 1
    tune_blend = SequentialBlend(tuned, CoOccurrence().fit(tune_data), fit_components=False).fit(
        tune_data, validation=valid
    )

    data = Interactions.from_frame(frames["train_full"], items=items)
    final = SequentialRecommender(config.model_copy(update={"max_epochs": best_epoch, "validation_users": 0}))
    final.fit(data)
    cooccurrence = CoOccurrence().fit(data)
    blend = SequentialBlend(final, cooccurrence, tune_blend.config, fit_components=False)
    histories, targets = next_click_cases(frames["test"], items)
    models: dict[str, ItemScorer] = {
        "sasrec": final,
        "co-occurrence": cooccurrence,
        "default (blend)": blend,
        "popularity": Popularity().fit(data),
    }
    rows = {name: session_metrics(model, histories, targets) for name, model in models.items()}
    table = Table(title=f"YooChoose 100k sessions: {len(targets):,} next clicks, {len(items):,} items ranked")
    for header in ("model", "Recall@20", "MRR@20"):
        table.add_column(header, justify="left" if header == "model" else "right")
    for name, row in rows.items():
        table.add_row(name, f"{row['recall_at_20']:.4f}", f"{row['mrr_at_20']:.4f}")
    Console(stderr=True).print(table)
    figures: dict[str, Any] = {
        "dataset": "yoochoose-clicks-100k",
        "protocol": "next click within a session, ranked over all training items, no history exclusion",
        "train_sessions": data.n_users,
        "items": len(items),
        "test_cases": len(targets),
        "models": [{"name": name, **row} for name, row in rows.items()],
        "sasrec_epochs": best_epoch,
        "blend_weight": tune_blend.config.cooccurrence_weight,
        "blend_temperature": tune_blend.config.temperature,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
