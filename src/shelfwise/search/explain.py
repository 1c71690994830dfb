"""Explanations of search hits: which field matched which query words, worth how much."""

from __future__ import annotations

from shelfwise.domain import Explanation, Reason
from shelfwise.index.lexical import FieldMatch

BM25_SIGNAL = "bm25"
BROWSE_SIGNAL = "browse"


def explain_lexical(matches: list[FieldMatch]) -> Explanation:
    """One reason per matched field, best first, e.g. `title matched "chairs" (+4.21), "oak" (+2.10)`."""
    return Explanation(
        reasons=[
            Reason(signal=BM25_SIGNAL, detail=_field_detail(match), contribution=match.contribution)
            for match in matches
        ]
    )


def explain_browse() -> Explanation:
    return Explanation(
        reasons=[Reason(signal=BROWSE_SIGNAL, detail="no query: matching products listed by title")]
    )


def _field_detail(match: FieldMatch) -> str:
    terms = sorted(match.terms.items(), key=lambda item: -item[1])
    quoted = ", ".join(f'"{word}" (+{score:.2f})' for word, score in terms)
    return f"{match.field} matched {quoted}"
