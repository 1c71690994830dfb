"""Search evaluation on a hand-made catalog whose NDCG, recall and MRR are worked out by hand."""

import math

import polars as pl
import pytest

from shelfwise.cli.render import render_search_evaluation
from shelfwise.domain import Filters, Hit, Product, SearchResult
from shelfwise.evaluation.search_eval import evaluate_search
from shelfwise.search import SearchPipeline

PRODUCTS = [
    Product(product_id="1", title="Red apple"),
    Product(product_id="2", title="Green apple"),
    Product(product_id="3", title="Banana"),
    Product(product_id="4", title="Apple banana smoothie with extra banana"),
]


def qrels() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "query": ["apple", "apple", "apple", "banana", "banana", "cherry"],
            "product_id": [2, 1, 3, 3, 4, 1],  # integers on purpose: ids are compared as strings
            "gain": [2.0, 1.0, 2.0, 1.0, 0.0, 0.0],
        }
    )


class RecordingSearcher:
    """Ranks every product in catalog order and remembers the page sizes it was asked for."""

    def __init__(self) -> None:
        self.page_sizes: list[int] = []

    def search(
        self, query: str, filters: Filters | None = None, page: int = 1, page_size: int = 10
    ) -> SearchResult:
        self.page_sizes.append(page_size)
        hits = [Hit(product=p, score=1.0) for p in PRODUCTS[:page_size]]
        return SearchResult(
            query=query, total=len(PRODUCTS), page=page, page_size=page_size, hits=hits, request_id="r"
        )


def test_known_ndcg_recall_and_mrr_on_a_tiny_catalog() -> None:
    evaluation = evaluate_search(SearchPipeline().fit(PRODUCTS), qrels(), k=3, depth=3, keep_per_query=True)
    # "apple" ranks 1, 2 (tied scores, position order), then 4 (longer title); 3 (gain 2) is never retrieved.
    apple_ndcg = (1 + 3 / math.log2(3)) / (3 + 3 / math.log2(3) + 1 / 2)
    apple_recall = 2 / 3
    # "banana" ranks 3 first (short title), then 4 (gain 0): ideal is the same single relevant product.
    banana_ndcg = 1.0
    assert evaluation.queries == 2 and evaluation.skipped_queries == 1  # "cherry" has no positive gain
    assert evaluation.ndcg_at_10 == pytest.approx((apple_ndcg + banana_ndcg) / 2)
    assert evaluation.recall_at_100 == pytest.approx((apple_recall + 1.0) / 2)
    assert evaluation.mrr_at_10 == pytest.approx(1.0)
    assert evaluation.per_query is not None
    assert {q.query: q.judged for q in evaluation.per_query} == {"apple": 3, "banana": 2}


def test_cut_offs_and_page_size_follow_k_and_depth() -> None:
    searcher = RecordingSearcher()
    evaluation = evaluate_search(searcher, qrels(), k=1, depth=2)
    assert searcher.page_sizes == [2, 2]
    # Catalog order: "apple" sees 1 (gain 1) then 2 (gain 2); "banana" sees neither 3 nor 4 in the top 2.
    apple_ndcg_at_1 = 1 / 3
    assert evaluation.ndcg_at_10 == pytest.approx(apple_ndcg_at_1 / 2)
    assert evaluation.recall_at_100 == pytest.approx((2 / 3 + 0) / 2)
    assert evaluation.mrr_at_10 == pytest.approx(0.5)
    assert evaluation.latency_p99_ms >= evaluation.latency_p50_ms >= 0
    assert evaluation.per_query is None


def test_bad_qrels_and_cut_offs_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"lack the column\(s\) \['gain'\]"):
        evaluate_search(RecordingSearcher(), qrels().drop("gain"))
    with pytest.raises(ValueError, match="empty"):
        evaluate_search(RecordingSearcher(), qrels().head(0))
    with pytest.raises(ValueError, match="no query"):
        evaluate_search(RecordingSearcher(), qrels().filter(pl.col("gain") == 0))
    with pytest.raises(ValueError, match="k <= depth"):
        evaluate_search(RecordingSearcher(), qrels(), k=20, depth=10)


def test_rendered_table_labels_the_actual_cut_offs() -> None:
    evaluation = evaluate_search(RecordingSearcher(), qrels(), k=5, depth=50)
    table = render_search_evaluation(evaluation)
    labels = list(table.columns[0].cells)
    assert "NDCG@5" in labels and "Recall@50" in labels and "MRR@5" in labels
