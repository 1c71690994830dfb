"""Explanations of search hits: which fields matched which words, worth how much, and what else moved them."""

from __future__ import annotations

import math

import numpy as np

from shelfwise.domain import Explanation, Reason
from shelfwise.index.lexical import FieldMatch
from shelfwise.search.features import FEATURE_NAMES
from shelfwise.search.spelling import Correction

BM25_SIGNAL = "bm25"
BROWSE_SIGNAL = "browse"

# (signal, detail, contribution): a personal boost or a merchandising rule that moved a hit.
Adjustment = tuple[str, str, float]


def explain_browse() -> Explanation:
    return Explanation(
        reasons=[Reason(signal=BROWSE_SIGNAL, detail="no query: matching products listed by title")]
    )


def _field_detail(match: FieldMatch) -> str:
    terms = sorted(match.terms.items(), key=lambda item: -item[1])
    quoted = ", ".join(f'"{word}" (+{score:.2f})' for word, score in terms)
    return f"{match.field} matched {quoted}"


SEMANTIC_SIGNAL = "semantic"
SPELLING_SIGNAL = "spelling"
RANKER_SIGNAL = "ranker"
TOP_RANKER_FEATURES = 5


def explain_hit(
    matches: list[FieldMatch],
    cosine: float | None,
    correction: Correction,
    contributions: np.ndarray | None,
    adjustments: list[Adjustment],
) -> Explanation:
    """Lexical matches, semantic similarity, the spelling fix, the ranker's largest feature contributions
    and personal or rule adjustments, each with its contribution."""
    # model_construct: every field here is built from trusted values, and a page of 100 hits would
    # otherwise spend more time validating its explanations than ranking.
    reason = Reason.model_construct
    reasons = [
        reason(signal=BM25_SIGNAL, detail=_field_detail(match), contribution=match.contribution)
        for match in matches
    ]
    if cosine is not None and not math.isnan(cosine):
        reasons.append(
            reason(signal=SEMANTIC_SIGNAL, detail=f"meaning similarity {cosine:.2f}", contribution=cosine)
        )
    if correction.changed:
        fixes = ", ".join(f'"{typed}" -> "{fixed}"' for typed, fixed in correction.changes.items())
        reasons.append(
            reason(signal=SPELLING_SIGNAL, detail=f"spelling corrected: {fixes}", contribution=None)
        )
    if contributions is not None:
        values = contributions[: len(FEATURE_NAMES)]
        for column in np.argsort(-np.abs(values))[:TOP_RANKER_FEATURES]:
            reasons.append(
                reason(
                    signal=RANKER_SIGNAL,
                    detail=f"ranker feature {FEATURE_NAMES[int(column)]}",
                    contribution=float(values[column]),
                )
            )
    for signal, detail, value in adjustments:
        reasons.append(reason(signal=signal, detail=detail, contribution=value))
    return Explanation.model_construct(reasons=reasons)
