"""`shelfwise evaluate answers` and `shelfwise evaluate replies`: answer ranking on real questions.

With --json the last line printed on stdout is one JSON object whose `rows` list starts with the
engine's default, followed by its peers (bm25, encoder) and the fusion without the ranker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from shelfwise.answers.files import QAFileError, read_conversations, read_qa_pairs
from shelfwise.cli.context import CliError, current_settings, stderr_console, stdout_console
from shelfwise.evaluation.answers_eval import AnswerEvaluation, evaluate_answers, evaluate_replies

JsonFlag = Annotated[bool, typer.Option("--json", help="End the output with one line of JSON figures.")]


def render_answers(evaluation: AnswerEvaluation, title: str) -> Table:
    table = Table(title=title, caption=evaluation.protocol)
    names = list(evaluation.rows[0].metrics)
    table.add_column("ranking", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right")
    for row in evaluation.rows:
        intervals = row.intervals or {}
        cells = [
            f"{row.metrics[name]:.4f}"
            + (f" [{intervals[name][0]:.3f}, {intervals[name][1]:.3f}]" if name in intervals else "")
            for name in names
        ]
        table.add_row(row.name, *cells)
    return table


def _print(evaluation: AnswerEvaluation, as_json: bool, title: str) -> None:
    console = stderr_console() if as_json else stdout_console()
    console.print(render_answers(evaluation, title))
    if as_json:
        typer.echo(json.dumps(evaluation.model_dump(mode="json"), ensure_ascii=False))


def evaluate_answers_command(
    qa: Annotated[Path, typer.Option(help="Q&A pairs, JSON lines (gzipped or not): question, answer, asin.")],
    as_json: JsonFlag = False,
    within: Annotated[
        str,
        typer.Option(
            help="`all`: among every answer in the file; `product`: among the same product's answers."
        ),
    ] = "all",
) -> None:
    """Rank each question's real answer among the answers in QA: MRR@10, Recall@1, Recall@5 of the
    engine's default (BM25 + encoder fused, re-ranked by a cross-fitted ranker) beside BM25 and the
    encoder alone."""
    if within not in ("all", "product"):
        raise CliError(f"--within must be `all` or `product`, not {within!r}")
    scope: Literal["all", "product"] = "all" if within == "all" else "product"
    try:
        pairs = read_qa_pairs(qa)
    except QAFileError as error:
        raise CliError(str(error)) from error
    console = stderr_console()
    evaluation = evaluate_answers(
        pairs,
        scope=scope,
        cache_dir=current_settings().embedding_cache_dir,
        note=lambda message: console.print(message, soft_wrap=True),
    )
    _print(evaluation, as_json, f"Answer ranking on {qa} ({within})")


def evaluate_replies_command(
    test: Annotated[Path, typer.Option(help="Conversations: label<TAB>turn…<TAB>reply lines (ECD format).")],
    train: Annotated[Path, typer.Option(help="Training conversations in the same format, for the ranker.")],
    as_json: JsonFlag = False,
    seed: Annotated[int, typer.Option(help="Seed of the candidates' shuffle and of the tie-breaks.")] = 7,
) -> None:
    """Choose each conversation's reply among its candidates: R10@1, R10@2, R10@5 with 95% intervals."""
    try:
        test_conversations, train_conversations = read_conversations(test), read_conversations(train)
    except QAFileError as error:
        raise CliError(str(error)) from error
    console = stderr_console()
    evaluation = evaluate_replies(
        test_conversations,
        train_conversations,
        cache_dir=current_settings().embedding_cache_dir,
        seed=seed,
        note=lambda message: console.print(message, soft_wrap=True),
    )
    _print(evaluation, as_json, f"Reply selection on {test}")
