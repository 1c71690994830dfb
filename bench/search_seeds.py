"""How far the learned ranker's seed moves Home Depot relevance, on a pipeline that
`bench/search_latency.py --work DIR` built and kept.

    .venv/bin/python bench/search_seeds.py DIR/pipeline --seeds 1,2,7

The training queries' pools (with each query's own search memory left out, as in training) and the
held-out queries' pools are computed once; then, per seed, a ranker with the pipeline's configuration is
trained as `train_ranker_from_judgements` does (early stopping on a fixed random 20% of the training queries,
then refitted on all) and scored on the held-out queries. Prints one JSON line per seed and a summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from harness import shared_data
from shelfwise.evaluation.search_ablation import split_qrels
from shelfwise.evaluation.search_eval import judgements
from shelfwise.io.datasets import load_homedepot
from shelfwise.metrics import ndcg_at_k, recall_at_k
from shelfwise.search import SearchPipeline
from shelfwise.search.learning import judgement_labels, query_groups, split_groups
from shelfwise.search.ranker import LearnedRanker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("--seeds", default="1,2,7")
    args = parser.parse_args()
    pipeline = SearchPipeline.load(args.pipeline)
    train, held_out = split_qrels(load_homedepot(shared_data())[1], 0.5)
    trained_on, scored = judgements(train), judgements(held_out)
    groups = query_groups(pipeline, judgement_labels(trained_on))
    fit_part, validation = split_groups(groups, 0.2)
    mask = np.ones(len(pipeline.catalog), dtype=bool)
    ids = pipeline.catalog.product_ids
    pipeline.prime_query_vectors(list(scored))
    relevant = {q: gains for q, gains in scored.items() if any(g > 0 for g in gains.values())}
    pools = {q: pipeline.training_pool(q, mask) for q in relevant}
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        config = pipeline.config.ranker.model_copy(update={"seed": seed})
        ranker = LearnedRanker(config).fit(fit_part, validation)
        ndcg, recall = [], []
        for query, gains in relevant.items():
            positions, features = pools[query]
            head = min(len(positions), config.rerank_depth)
            scores = ranker.predict(features[:head]) if head else np.zeros(0)
            order = np.lexsort((positions[:head], -scores))
            ranked = [ids[int(p)] for p in np.concatenate([positions[:head][order], positions[head:]])]
            ndcg.append(ndcg_at_k(ranked, gains, 10))
            recall.append(recall_at_k(ranked, gains, 100))
        row = {"seed": seed, "ndcg_at_10": float(np.mean(ndcg)), "recall_at_100": float(np.mean(recall))}
        results.append(row)
        print(json.dumps(row), flush=True)
    recalls = [r["recall_at_100"] for r in results]
    # Share of each query's relevant products in its pool at all: the most any ranker can reach.
    in_pool = [
        recall_at_k([ids[int(p)] for p in pools[query][0]], gains, len(ids))
        for query, gains in relevant.items()
    ]
    summary = {
        "queries": len(relevant),
        "recall_mean": float(np.mean(recalls)),
        "recall_min": min(recalls),
        "pool_recall": float(np.mean(in_pool)),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
