"""Tune search settings on the training half of the Home Depot judgements only, never on the held-out half.

    .venv/bin/python bench/search_validation.py DIR/pipeline [--fusion JSON] [--ranker JSON] [--seeds 7,1,2]

DIR is what `bench/search_latency.py --work DIR` kept. The training-half queries (split by query hash, as
`shelfwise evaluate search` splits them) are ranked as the ranker's training sees them, each with its own
search memory left out, then shuffled (a fixed seed) and cut 60/20/20: a ranker is trained on the
first 60% with early stopping on the next 20%, and scored on the last 20% with the same metrics as the
evaluation (Recall@100 counts every relevant product of the query, in the pool or not). `--fusion` and
`--ranker` override `FusionConfig` and `RankerConfig` fields, e.g. `--ranker '{"num_boost_round": 1000}'`;
one ranker is trained per seed, since the seed alone moves these figures by a few thousandths. Prints one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness import shared_data
from shelfwise.evaluation.search_ablation import split_qrels
from shelfwise.evaluation.search_eval import judgements
from shelfwise.io.datasets import load_homedepot
from shelfwise.metrics import ndcg_at_k, recall_at_k
from shelfwise.search import SearchPipeline
from shelfwise.search.learning import judgement_labels
from shelfwise.search.ranker import LearnedRanker, RankingGroup


def ranked_pools(pipeline: SearchPipeline, labelled: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    ids = pipeline.catalog.product_ids
    mask = np.ones(len(pipeline.catalog), dtype=bool)
    pipeline.prime_query_vectors(list(labelled))
    pools = []
    for query, labels in labelled.items():
        positions, features = pipeline.training_pool(query, mask)
        head = min(len(positions), pipeline.config.ranker.rerank_depth)
        products = [ids[int(p)] for p in positions[:head]]
        pools.append(
            {
                "query": query,
                "products": products,
                "features": features[:head],
                "labels": np.array([labels.get(p, 0) for p in products], dtype=np.int32),
            }
        )
    return pools


def pool_recall(pools: list[dict[str, Any]], judged: dict[str, dict[str, float]]) -> float:
    """Share of each query's relevant products in its pool at all (every one counts, pooled or not):
    the most any ranker can reach."""
    return round(float(np.mean([recall_at_k(p["products"], judged[p["query"]], 10**9) for p in pools])), 4)


def groups_of(pools: list[dict[str, Any]]) -> list[RankingGroup]:
    return [RankingGroup(p["features"], p["labels"]) for p in pools if len(p["labels"]) > 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("--fusion", type=json.loads, default={})
    parser.add_argument(
        "--ranker", type=json.loads, action="append", help="one or more: each is trained and scored"
    )
    parser.add_argument("--seeds", default="7,1,2")
    args = parser.parse_args()
    started = time.perf_counter()
    pipeline = SearchPipeline.load(args.pipeline)
    pipeline.config = pipeline.config.model_copy(
        update={"fusion": pipeline.config.fusion.model_copy(update=args.fusion)}
    )
    train, _ = split_qrels(load_homedepot(shared_data())[1], 0.5)
    judged = judgements(train)
    pools = ranked_pools(pipeline, judgement_labels(judged))
    # How the judgements' own order sorts queries by difficulty, which the shuffle below undoes.
    in_given_order = {
        "first_60_percent": pool_recall(pools[: int(len(pools) * 0.6)], judged),
        "last_20_percent": pool_recall(pools[int(len(pools) * 0.8) :], judged),
    }
    # A fixed random order: the judgements' own order sorts queries by difficulty (see `split_groups`).
    pools = [pools[i] for i in np.random.default_rng(0).permutation(len(pools))]
    results = [
        score_rankers(pipeline, pools, judged, overrides, args.seeds) for overrides in args.ranker or [{}]
    ]
    scored = pools[int(len(pools) * 0.8) :]
    figures = {
        "fusion": args.fusion,
        "scored_queries": len(scored),
        "mean_pool": round(float(np.mean([len(p["products"]) for p in pools])), 1),
        "pool_recall": pool_recall(scored, judged),
        "pool_recall_in_given_order": in_given_order,
        "rankers": results,
        "seconds": round(time.perf_counter() - started),
    }
    print(json.dumps(figures))


def score_rankers(
    pipeline: SearchPipeline,
    pools: list[dict[str, Any]],
    judged: dict[str, dict[str, float]],
    overrides: dict[str, Any],
    seeds: str,
) -> dict[str, Any]:
    fit_end, stop_end = int(len(pools) * 0.6), int(len(pools) * 0.8)
    scored = pools[stop_end:]
    config = pipeline.config.ranker.model_copy(update={"refit": False, **overrides})
    runs = []
    for seed in (int(s) for s in seeds.split(",")):
        ranker = LearnedRanker(config.model_copy(update={"seed": seed})).fit(
            groups_of(pools[:fit_end]), groups_of(pools[fit_end:stop_end])
        )
        recall, ndcg = [], []
        for pool in scored:
            scores = ranker.predict(pool["features"]) if len(pool["products"]) else np.zeros(0)
            order = np.lexsort((np.arange(len(scores)), -scores))
            ranked = [pool["products"][i] for i in order]
            recall.append(recall_at_k(ranked, judged[pool["query"]], 100))
            ndcg.append(ndcg_at_k(ranked, judged[pool["query"]], 10))
        runs.append(
            {
                "seed": seed,
                "trees": ranker.meta["best_iteration"],
                "recall_at_100": round(float(np.mean(recall)), 4),
                "ndcg_at_10": round(float(np.mean(ndcg)), 4),
            }
        )
    return {
        "ranker": overrides,
        "runs": runs,
        "mean_recall_at_100": round(float(np.mean([r["recall_at_100"] for r in runs])), 4),
        "mean_ndcg_at_10": round(float(np.mean([r["ndcg_at_10"] for r in runs])), 4),
    }


if __name__ == "__main__":
    main()
