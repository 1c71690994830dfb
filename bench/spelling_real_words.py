"""Spelling on Home Depot queries: how many queries the catalog-only speller and the dictionary-aware one
change, and the NDCG@10 of BM25 on a sample of the changed queries searched as typed, as the catalog-only
speller corrects them and as the dictionary-aware one does (applied fixes only; suggestions are not searched).

    SHELFWISE_DATA=/work/shared/data python bench/spelling_real_words.py --sample 300
"""

from __future__ import annotations

import argparse
import json
import random

import numpy as np

from harness import shared_data
from shelfwise.domain import Product
from shelfwise.evaluation.search_eval import judgements
from shelfwise.io.datasets import load_homedepot
from shelfwise.metrics import ndcg_at_k
from shelfwise.search import SearchConfig, SearchPipeline
from shelfwise.search.spelling import SpellingConfig, SpellingCorrector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    products_frame, qrels = load_homedepot(shared_data())
    products = [
        Product(product_id=str(product_id), title=title) for product_id, title in products_frame.iter_rows()
    ]
    config = SearchConfig(semantic=False, spelling=SpellingConfig(enabled=False))
    bm25 = SearchPipeline(config).fit(products)
    texts = [p.title for p in products]  # the speller learns what the pipeline would give it: titles here
    catalog_only = SpellingCorrector(SpellingConfig(dictionary_language=None)).fit(texts)
    aware = SpellingCorrector().fit(texts)
    judged = {q: g for q, g in judgements(qrels).items() if any(v > 0 for v in g.values())}
    old = {q: catalog_only.correct(q) for q in judged}
    new = {q: aware.correct(q) for q in judged}
    changed = sorted(q for q in judged if old[q].changed or new[q].changed)
    sample = random.Random(args.seed).sample(changed, min(args.sample, len(changed)))

    def ndcg(text: str, gains: dict[str, float]) -> float:
        ranked = [hit.product.product_id for hit in bm25.search(text, page_size=10).hits]
        return ndcg_at_k(ranked, gains, 10)

    typed, by_old, by_new = [], [], []
    for query in sample:
        gains = judged[query]
        typed.append(ndcg(query, gains))
        by_old.append(ndcg(old[query].text, gains))
        by_new.append(ndcg(new[query].text, gains))
    differ = [q for q in sample if old[q].text != new[q].text]
    print(
        json.dumps(
            {
                "queries": len(judged),
                "changed_by_catalog_only": sum(c.changed for c in old.values()),
                "changed_by_dictionary_aware": sum(c.changed for c in new.values()),
                "suggested_by_dictionary_aware": sum(c.suggestion is not None for c in new.values()),
                "sample": len(sample),
                "ndcg10_as_typed": round(float(np.mean(typed)), 4),
                "ndcg10_catalog_only": round(float(np.mean(by_old)), 4),
                "ndcg10_dictionary_aware": round(float(np.mean(by_new)), 4),
                "sample_where_they_differ": len(differ),
                "examples_kept_as_typed": [
                    f"{q} (was -> {old[q].text})" for q in differ if not new[q].changed
                ][:15],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
