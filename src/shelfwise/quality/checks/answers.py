"""Checks over imported question-answer pairs (and asked questions): empty, duplicate, language mismatch.

A pair whose question or answer is empty, or that repeats a pair already imported, is kept out with the
check that fired and the line it came from; a pair whose answer is in another script than its question is
kept and listed. Nothing is stored unless it passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shelfwise.domain.answers import QAPair
from shelfwise.text.analysis import normalise
from shelfwise.text.cjk import CJK_CHARS

Script = Literal["cjk", "latin"]
_CJK = re.compile(f"[{CJK_CHARS}]")
_LETTER = re.compile(f"[^\\W\\d_{CJK_CHARS}]")
# A text is CJK when at least this share of its letters are CJK characters (one carries about a word).
CJK_LETTER_SHARE = 0.2


def script(text: str) -> Script | None:
    """Which script a text is mostly written in; None when it has no letters."""
    cjk, letters = len(_CJK.findall(text)), len(_LETTER.findall(text))
    if not cjk and not letters:
        return None
    return "cjk" if cjk / (cjk + letters) >= CJK_LETTER_SHARE else "latin"


@dataclass(frozen=True)
class RejectedPair:
    """A row kept out: where it was (1-based row of the file or request), the checks, a message."""

    row: int
    checks: list[str]
    message: str


@dataclass
class CheckedPairs:
    accepted: list[QAPair] = field(default_factory=list)
    rejected: list[RejectedPair] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)  # pair_id -> checks


def pair_key(question: str, answer: str) -> tuple[str, str]:
    """What makes two pairs the same: their question and answer, case and white space aside."""
    return normalise(question), normalise(answer)


def check_pairs(
    rows: Iterable[tuple[int, Mapping[str, Any]]], known: set[tuple[str, str]], next_id: int
) -> CheckedPairs:
    """Check the (row number, values) of Q&A rows against each other and the `known` pair keys;
    `next_id` numbers the pairs that come without a pair_id."""
    checked = CheckedPairs()
    seen = set(known)
    for number, values in rows:
        question, answer = values.get("question"), values.get("answer")
        if (
            not isinstance(question, str)
            or not question.strip()
            or not isinstance(answer, str)
            or not answer.strip()
        ):
            problems = [
                f"the {name} is " + ("empty" if isinstance(text, str) or text is None else "not text")
                for name, text in (("question", question), ("answer", answer))
                if not isinstance(text, str) or not text.strip()
            ]
            message = f"row {number}: {' and '.join(problems)}"
            checked.rejected.append(RejectedPair(number, ["qa.empty"], message))
            continue
        key = pair_key(question, answer)
        if key in seen:
            checked.rejected.append(
                RejectedPair(
                    number, ["qa.duplicate"], f"row {number}: this question and answer were imported already"
                )
            )
            continue
        seen.add(key)
        product = values.get("product_id")
        pair = QAPair(
            pair_id=str(values.get("pair_id") or f"qa-{next_id + len(checked.accepted)}"),
            question=" ".join(question.split()),
            answer=" ".join(answer.split()),
            product_id=None if product is None or str(product).strip() == "" else str(product),
        )
        asked, answered = script(pair.question), script(pair.answer)
        if asked is not None and answered is not None and asked != answered:
            checked.flagged.setdefault(pair.pair_id, []).append("qa.language_mismatch")
        checked.accepted.append(pair)
    return checked
