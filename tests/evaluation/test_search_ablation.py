"""The query split behind `shelfwise evaluate search`: by query, stable, never mixing a query's rows."""

from __future__ import annotations

import polars as pl

from shelfwise.evaluation.search_ablation import is_held_out, positive_queries, split_qrels


def qrels(queries: int) -> pl.DataFrame:
    rows = [(f"query {i}", f"p{i}-{j}", float(j % 3)) for i in range(queries) for j in range(3)]
    return pl.DataFrame(rows, schema=["query", "product_id", "gain"], orient="row")


def test_split_keeps_every_row_of_a_query_on_one_side() -> None:
    train, test = split_qrels(qrels(400), 0.5)
    assert train.height + test.height == 1200
    assert not set(train["query"]) & set(test["query"])
    assert 120 < test["query"].n_unique() < 280  # about half, from a hash


def test_split_is_stable_and_follows_the_share() -> None:
    assert [is_held_out(f"q{i}", 0.3) for i in range(50)] == [is_held_out(f"q{i}", 0.3) for i in range(50)]
    held = sum(is_held_out(f"q{i}", 0.2) for i in range(2000))
    assert 300 < held < 500
    assert all(is_held_out(f"q{i}", 0.5) for i in range(200) if is_held_out(f"q{i}", 0.2))


def test_positive_queries_counts_queries_with_a_relevant_product() -> None:
    assert positive_queries(qrels(10)) == 10
    assert positive_queries(qrels(10).filter(pl.col("gain") == 0)) == 0
    assert positive_queries(qrels(0)) == 0
