"""The engine's answers: importing a shop's Q&A pairs through the quality gate, answering questions with
the served version's answer index, and logging (and forgetting) the questions nothing answered."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shelfwise.answers.files import QAFileError, qa_row_values, read_qa_rows
from shelfwise.answers.index import AnswerIndex
from shelfwise.domain.answers import AnswerImportReport, AnswerResult, UnansweredQuestion
from shelfwise.domain.errors import InvalidRequestError, NotTrainedError
from shelfwise.domain.values import require_text
from shelfwise.io.components import ComponentFormatError
from shelfwise.quality.bounds import check_request_rows
from shelfwise.quality.checks.answers import check_pairs, pair_key
from shelfwise.quality.config import IngestLimits
from shelfwise.store.answers import AnswerBook
from shelfwise.training.trainer import ANSWERS_DIR

MAX_ANSWERS = 20
MAX_CONTEXT_TURNS = 50


class AnswerService:
    def __init__(self, book: AnswerBook, embedding_cache: Path, limits: IngestLimits) -> None:
        self.book = book
        self._limits = limits
        self._cache = embedding_cache
        self._index: AnswerIndex | None = None
        self._lock = threading.Lock()

    def load(self, version_dir: Path | None) -> None:
        """Serve the answer index of the version in `version_dir` (none when it has none)."""
        index = None
        if version_dir is not None and (version_dir / ANSWERS_DIR).is_dir():
            try:
                index = AnswerIndex.load(version_dir / ANSWERS_DIR).use_cache(self._cache)
            except ComponentFormatError:
                index = None
        with self._lock:
            self._index = index

    def import_pairs(self, rows: Iterable[Mapping[str, Any]], *, from_request: bool) -> AnswerImportReport:
        """Check the rows (shelfwise.quality.checks.answers) and store those that pass. From a request the
        batch is all or nothing: a row with an empty question or answer refuses the batch (422), naming
        it; rows that repeat a pair stored before are skipped either way."""
        rows = list(rows)
        if from_request:
            check_request_rows(len(rows), self._limits)
        numbered = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, Mapping):
                raise InvalidRequestError(
                    f"row {number}: a Q&A pair is an object with `question` and `answer`"
                )
            values = qa_row_values(row)
            for name, value in values.items():
                if isinstance(value, str):
                    require_text(f"row {number}: {name}", value)
            numbered.append((number, values))
        if from_request and not numbered:
            raise InvalidRequestError("no Q&A pairs in the request")
        known = {pair_key(p.question, p.answer) for p in self.book.pairs()}
        checked = check_pairs(numbered, known, self.book.count())
        duplicates = [r for r in checked.rejected if r.checks == ["qa.duplicate"]]
        refused = [r for r in checked.rejected if r.checks != ["qa.duplicate"]]
        if from_request and refused:
            raise InvalidRequestError("; ".join(r.message for r in refused[:20]) + ": nothing was stored")
        self.book.add(checked.accepted, checked.flagged)
        return AnswerImportReport(
            accepted=len(checked.accepted),
            duplicates=len(duplicates),
            rejected=[{"row": r.row, "checks": r.checks, "message": r.message} for r in refused],
            flagged=checked.flagged,
            total_pairs=self.book.count(),
        )

    def import_file(self, path: Path) -> AnswerImportReport:
        """Import a Q&A file (JSON lines, gzipped or not); InvalidRequestError when it cannot be read."""
        try:
            rows = [row for _, row in read_qa_rows(path)]
        except QAFileError as error:
            raise InvalidRequestError(str(error)) from error
        return self.import_pairs(rows, from_request=False)

    def ask(
        self,
        question: str,
        *,
        product_id: str | None = None,
        context: Sequence[str] = (),
        user_id: str | None = None,
        session_id: str | None = None,
        k: int = 5,
    ) -> AnswerResult:
        for name, value in (("q", question), ("product_id", product_id), ("user_id", user_id)):
            require_text(name, value)
        require_text("session_id", session_id)
        if not question.strip():
            raise InvalidRequestError("q: the question is empty")
        if not 1 <= k <= MAX_ANSWERS:
            raise InvalidRequestError(f"k must be between 1 and {MAX_ANSWERS}, got {k}")
        if len(context) > MAX_CONTEXT_TURNS:
            raise InvalidRequestError(f"context: at most {MAX_CONTEXT_TURNS} turns, got {len(context)}")
        for turn in context:
            require_text("context", turn)
        with self._lock:
            index = self._index
        if index is None:
            raise NotTrainedError(
                "no answers to give yet: import Q&A pairs (POST /v1/answers/import or `shelfwise ingest "
                "answers FILE`), then train"
            )
        query = index.query(question.strip(), context, product_id)
        answers, answered = index.answer(query, k)
        if not answered:
            self.book.log_unanswered(question.strip(), product_id, user_id, session_id)
        return AnswerResult(
            question=question, product_id=product_id, answers=answers if answered else [], answered=answered
        )

    def unanswered(self, limit: int = 100) -> list[UnansweredQuestion]:
        return self.book.unanswered(limit)

    def forget(self, user_ids: Sequence[str], session_ids: Sequence[str]) -> int:
        return self.book.forget(user_ids, session_ids)
