"""Reading question-answer pairs and conversations from files (docs/data-format.md, "Questions and answers").

Q&A pairs are JSON lines, gzipped or not: `question`, `answer`, and optionally `product_id` and `pair_id`.
The Amazon product Q&A files (McAuley & Yang) read as they are: `asin` is the product id and `line_no`
the pair id. Conversations for response selection are the E-commerce Dialogue Corpus's tab-separated
lines: `label`, the turns of the conversation, the candidate reply.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shelfwise.domain.answers import QAPair
from shelfwise.text.cjk import HAN_CHARS

# The fields a Q&A row may carry, each with the other names it is read under.
QA_FIELDS: dict[str, tuple[str, ...]] = {
    "question": ("question",),
    "answer": ("answer",),
    "product_id": ("product_id", "asin"),
    "pair_id": ("pair_id", "line_no"),
}


class QAFileError(ValueError):
    """A Q&A or conversation file that cannot be read, with the file and the line."""


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        raise QAFileError(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise QAFileError(f"{path}: cannot be read as UTF-8 text (gzipped or not): {error}") from error


def qa_row_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's values under their canonical names (`asin` -> `product_id`, `line_no` -> `pair_id`)."""
    found: dict[str, Any] = {}
    for name, aliases in QA_FIELDS.items():
        for alias in aliases:
            if row.get(alias) is not None:
                found[name] = row[alias]
                break
    return found


def read_qa_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) of every record of a Q&A file; QAFileError naming the line of the first
    one that is not a JSON object."""
    rows = []
    for number, line in _lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise QAFileError(f"{path}, line {number}: not valid JSON ({error.msg})") from error
        if not isinstance(row, dict):
            raise QAFileError(f"{path}, line {number}: a Q&A row is a JSON object")
        rows.append((number, row))
    if not rows:
        raise QAFileError(f"{path}: no question-answer pairs")
    return rows


def read_qa_pairs(path: Path) -> list[QAPair]:
    """Every pair of a Q&A file, in order, as it is (for evaluation); QAFileError naming the line of the
    first broken record. The engine's import checks each row instead (shelfwise.quality.checks.answers)."""
    pairs = []
    for number, row in read_qa_rows(path):
        values = qa_row_values(row)
        question, answer = values.get("question"), values.get("answer")
        if not isinstance(question, str) or not isinstance(answer, str):
            raise QAFileError(f"{path}, line {number}: a Q&A row needs a `question` and an `answer` text")
        product = values.get("product_id")
        pairs.append(
            QAPair(
                pair_id=str(values.get("pair_id", number - 1)),
                question=question,
                answer=answer,
                product_id=None if product is None else str(product),
            )
        )
    return pairs


@dataclass(frozen=True)
class Conversation:
    """One conversation and its candidate replies; `accepted` indexes the true ones."""

    turns: list[str]
    replies: list[str]
    accepted: frozenset[int]


_SPACE_IN_HAN = re.compile(f"(?<=[{HAN_CHARS}]) +(?=[{HAN_CHARS}])")


def unsegment(text: str) -> str:
    """The corpus's Chinese as people write it: the spaces its word segmentation put between Han
    characters removed, so that shelfwise's own segmentation is what is measured."""
    return _SPACE_IN_HAN.sub("", text)


def read_conversations(path: Path) -> list[Conversation]:
    """The E-commerce Dialogue Corpus's `label \\t turn ... \\t reply` lines, grouped by conversation
    (consecutive lines with the same turns)."""
    conversations: list[Conversation] = []
    current: tuple[str, ...] | None = None
    replies: list[str] = []
    accepted: set[int] = set()
    for number, line in _lines(path):
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3 or fields[0] not in ("0", "1"):
            raise QAFileError(
                f"{path}, line {number}: expected `label<TAB>turn...<TAB>reply` with label 0 or 1"
            )
        turns = tuple(unsegment(turn) for turn in fields[1:-1])
        if turns != current:
            if current is not None:
                conversations.append(Conversation(list(current), replies, frozenset(accepted)))
            current, replies, accepted = turns, [], set()
        if fields[0] == "1":
            accepted.add(len(replies))
        replies.append(unsegment(fields[-1]))
    if current is not None:
        conversations.append(Conversation(list(current), replies, frozenset(accepted)))
    if not conversations:
        raise QAFileError(f"{path}: no conversations")
    return conversations
