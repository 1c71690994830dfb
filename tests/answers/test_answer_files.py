"""Q&A files in the Amazon product-Q&A layout (gzipped or not) and E-commerce Dialogue Corpus lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from shelfwise.answers.files import QAFileError, read_conversations, read_qa_pairs

AMAZON = [
    {"line_no": 0, "asin": "B01", "question": "Does it fit?", "answer": "Yes.", "questionType": "yes/no"},
    {"line_no": 1, "asin": "B02", "question": "How tall?", "answer": "12 inches."},
]


def test_amazon_rows_read_with_asin_as_product_and_line_no_as_pair_id(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(row) for row in AMAZON) + "\n")

    pairs = read_qa_pairs(path)

    assert [(p.pair_id, p.product_id, p.answer) for p in pairs] == [
        ("0", "B01", "Yes."),
        ("1", "B02", "12 inches."),
    ]


def test_a_broken_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps(AMAZON[0]) + "\n{not json\n")

    with pytest.raises(QAFileError, match="line 2"):
        read_qa_pairs(path)


def test_a_row_without_an_answer_is_named(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"question": "Why?"}) + "\n")

    with pytest.raises(QAFileError, match=r"line 1: .*answer"):
        read_qa_pairs(path)


def test_conversations_group_their_candidates_and_lose_the_corpus_segmentation(tmp_path: Path) -> None:
    path = tmp_path / "ecd.txt"
    path.write_text(
        "1\t你好 在 吗\t在 的 亲\t发货 了 吗\t已经 发货 了 哦\n"
        "0\t你好 在 吗\t在 的 亲\t发货 了 吗\t欢迎 光临\n"
        "1\t退货 怎么 办\t亲 可以 申请 退货 的\n"
        "0\t退货 怎么 办\tok 好 的\n",
        encoding="utf-8",
    )

    first, second = read_conversations(path)

    assert first.turns == ["你好在吗", "在的亲", "发货了吗"] and first.replies == ["已经发货了哦", "欢迎光临"]
    assert first.accepted == {0} and second.accepted == {0} and second.replies[1] == "ok 好的"
