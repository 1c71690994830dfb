"""Why a result is where it is: the trace of signals that put it there."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Reason(BaseModel):
    """One signal behind a result, e.g. `bm25` on field `title`, or `co-purchase` with a product."""

    signal: str
    detail: str
    contribution: float | None = None


class Explanation(BaseModel):
    reasons: list[Reason] = Field(default_factory=list)

    def summary(self) -> str:
        return "; ".join(reason.detail for reason in self.reasons)
