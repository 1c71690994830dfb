"""/v1/answers: answers to a customer's question (storefront), the Q&A import and the unanswered
questions (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, params

from shelfwise.api.payloads import JsonRows, as_rows
from shelfwise.domain.answers import AnswerImportReport, AnswerResult, UnansweredQuestion
from shelfwise.domain.errors import InvalidRequestError
from shelfwise.engine import Engine

ANSWER_PARAMETERS = frozenset({"q", "product_id", "context", "k", "user_id", "session_id"})


def answers_router(
    engine: Engine, storefront: list[params.Depends], admin: list[params.Depends]
) -> APIRouter:
    router = APIRouter(prefix="/v1/answers", tags=["answers"])

    @router.get("", response_model=AnswerResult, dependencies=storefront)
    def answers(
        request: Request,
        q: Annotated[str, Query(min_length=1, max_length=2_000, description="The customer's question.")],
        product_id: Annotated[
            str | None, Query(max_length=200, description="The product asked about.")
        ] = None,
        context: Annotated[
            list[str] | None,
            Query(description="The conversation so far, oldest turn first (repeat the parameter)."),
        ] = None,
        k: Annotated[int, Query(ge=1, le=20)] = 5,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> AnswerResult:
        """The shop's best answers to `q`, each with its score and why; `answered` false (and no answers)
        when none is close enough, and the question is then listed for the shop as unanswered."""
        unknown = sorted(set(request.query_params) - ANSWER_PARAMETERS)
        if unknown:
            raise InvalidRequestError(
                f"unknown parameter(s) {unknown}; expected some of {sorted(ANSWER_PARAMETERS)}"
            )
        return engine.answers.ask(
            q, product_id=product_id, context=context or [], user_id=user_id, session_id=session_id, k=k
        )

    @router.post("/import", response_model=AnswerImportReport, dependencies=admin)
    def import_pairs(payload: Annotated[JsonRows, Body()]) -> AnswerImportReport:
        """Store Q&A pairs (`question`, `answer`, optional `product_id` and `pair_id`): a list, one pair,
        or {"pairs": [...]}. All or nothing: an empty question or answer refuses the batch (422, naming
        the row); pairs imported before are skipped. They answer after the next training."""
        return engine.answers.import_pairs(as_rows(payload, "pairs"), from_request=True)

    @router.get("/unanswered", response_model=list[UnansweredQuestion], dependencies=admin)
    def unanswered(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[UnansweredQuestion]:
        """The latest questions nothing answered, newest first."""
        return engine.answers.unanswered(limit)

    return router
