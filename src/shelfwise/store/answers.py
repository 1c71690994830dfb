"""Where a shop's question-answer pairs and its unanswered questions are kept: two tables of the store, so
that every API process behind a load balancer (and PostgreSQL in place of SQLite) sees the same ones.

Pairs are the shop's own content. Unanswered questions are what customers asked, with the user or session
that asked when the request said so: personal data, removed with the user (`forget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import delete, func, insert, or_, select, update

from shelfwise.domain.answers import QAPair, UnansweredQuestion
from shelfwise.store import tables


class AnswerBook:
    """The Q&A pairs and unanswered questions of one store."""

    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine

    def pairs(self) -> list[QAPair]:
        """Every kept pair, in the order they were first added."""
        pairs = tables.qa_pairs
        query = select(pairs.c.pair_id, pairs.c.question, pairs.c.answer, pairs.c.product_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(pairs.c.seq)).all()
        return [QAPair(pair_id=r[0], question=r[1], answer=r[2], product_id=r[3]) for r in rows]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(tables.qa_pairs)).scalar_one())

    def add(self, pairs: Sequence[QAPair], flags: Mapping[str, Sequence[str]] | None = None) -> int:
        """Keep the pairs with the checks that flagged them (by pair_id), a pair_id already kept replaced
        by the new pair; returns how many."""
        flags = flags or {}
        table = tables.qa_pairs
        with self.engine.begin() as conn:
            known = set(
                conn.execute(
                    select(table.c.pair_id).where(table.c.pair_id.in_([p.pair_id for p in pairs]))
                ).scalars()
            )
            for pair in pairs:
                values = {
                    "question": pair.question,
                    "answer": pair.answer,
                    "product_id": pair.product_id,
                    "flags": " ".join(flags.get(pair.pair_id, ())),
                }
                if pair.pair_id in known:
                    conn.execute(update(table).where(table.c.pair_id == pair.pair_id).values(**values))
                else:
                    conn.execute(insert(table).values(pair_id=pair.pair_id, **values))
                    known.add(pair.pair_id)
        return len(pairs)

    def flagged(self, limit: int = 100) -> list[tuple[QAPair, list[str]]]:
        """Pairs kept with a warning of the quality checks (e.g. qa.language_mismatch), with the checks."""
        table = tables.qa_pairs
        query = (
            select(table.c.pair_id, table.c.question, table.c.answer, table.c.product_id, table.c.flags)
            .where(table.c.flags != "")
            .order_by(table.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            (QAPair(pair_id=r[0], question=r[1], answer=r[2], product_id=r[3]), r[4].split()) for r in rows
        ]

    def flag_counts(self) -> dict[str, int]:
        """How many kept pairs each quality check flagged."""
        counts: dict[str, int] = {}
        table = tables.qa_pairs
        with self.engine.connect() as conn:
            for flags in conn.execute(select(table.c.flags).where(table.c.flags != "")).scalars():
                for check in flags.split():
                    counts[check] = counts.get(check, 0) + 1
        return counts

    def log_unanswered(
        self, question: str, product_id: str | None, user_id: str | None, session_id: str | None
    ) -> None:
        row = {
            "question": question,
            "product_id": product_id,
            "asked_at": datetime.now(UTC).replace(tzinfo=None),  # naive UTC, as every store timestamp
            "user_id": user_id,
            "session_id": session_id,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(tables.unanswered_questions).values(**row))

    def unanswered(self, limit: int = 100) -> list[UnansweredQuestion]:
        """The latest unanswered questions, newest first."""
        table = tables.unanswered_questions
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.id.desc()).limit(limit)).mappings().all()
        return [
            UnansweredQuestion(**{**row, "asked_at": row["asked_at"].replace(tzinfo=UTC)}) for row in rows
        ]

    def unanswered_per_day(self) -> list[tuple[str, int]]:
        """(day, questions) for the days with unanswered questions, oldest first."""
        table = tables.unanswered_questions
        with self.engine.connect() as conn:
            stamps = conn.execute(select(table.c.asked_at)).scalars().all()
        per_day: dict[str, int] = {}
        for stamp in stamps:
            day = stamp.date().isoformat()
            per_day[day] = per_day.get(day, 0) + 1
        return sorted(per_day.items())

    def forget(self, user_ids: Sequence[str], session_ids: Sequence[str]) -> int:
        """Remove every unanswered question these users or sessions asked; returns how many."""
        table = tables.unanswered_questions
        theirs = or_(table.c.user_id.in_(list(user_ids)), table.c.session_id.in_(list(session_ids)))
        with self.engine.begin() as conn:
            return int(conn.execute(delete(table).where(theirs)).rowcount)
