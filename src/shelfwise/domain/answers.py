"""Question-answer pairs a shop answers its customers with, and the answers found for a question."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain.explanation import Explanation


class QAPair(BaseModel):
    """One answered question: an FAQ entry, a past reply of customer service or a product Q&A. The
    answer is what a customer is shown; the question is what it was the accepted answer to."""

    model_config = ConfigDict(frozen=True)

    pair_id: str
    question: str
    answer: str
    product_id: str | None = None


class RankedAnswer(BaseModel):
    """One answer to a question, with its score (higher is better) and why it ranks where it does."""

    pair_id: str
    answer: str
    question: str = Field(description="The question this answer was accepted for.")
    product_id: str | None = None
    score: float
    explanation: Explanation = Field(default_factory=Explanation)


class AnswerResult(BaseModel):
    question: str
    product_id: str | None = None
    answers: list[RankedAnswer]
    answered: bool = Field(description="Whether any answer passed the confidence floor.")


class AnswerImportReport(BaseModel):
    """What an import of Q&A pairs did: pairs stored, rows kept out (with the check and the row), pairs
    stored but flagged."""

    accepted: int
    duplicates: int = Field(description="Rows that repeat a pair imported before: skipped.")
    rejected: list[dict[str, object]] = Field(default_factory=list)
    flagged: dict[str, list[str]] = Field(default_factory=dict)
    total_pairs: int = Field(description="Pairs kept after the import.")


class UnansweredQuestion(BaseModel):
    """A question nothing answered, kept for the shop to answer; who asked, where the request said."""

    id: int
    question: str
    product_id: str | None
    asked_at: datetime
    user_id: str | None = None
    session_id: str | None = None
