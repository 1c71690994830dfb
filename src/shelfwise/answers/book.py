"""Where a shop's question-answer pairs and its unanswered questions are kept: one SQLite file in the
data directory, safe across processes.

Pairs are the shop's own content. Unanswered questions are what customers asked, with the user or session
that asked when the request said so: personal data, removed with the user (`forget`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from shelfwise.domain.answers import QAPair


class UnansweredQuestion(BaseModel):
    id: int
    question: str
    product_id: str | None
    asked_at: datetime
    user_id: str | None = None
    session_id: str | None = None


class QABook:
    FILE_NAME = "answers.sqlite"

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / self.FILE_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS pairs (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " pair_id TEXT UNIQUE NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, product_id TEXT,"
            " flags TEXT NOT NULL DEFAULT '');"
            "CREATE TABLE IF NOT EXISTS unanswered (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " question TEXT NOT NULL, product_id TEXT, asked_at TEXT NOT NULL,"
            " user_id TEXT, session_id TEXT);"
        )
        self._db.commit()

    def pairs(self) -> list[QAPair]:
        with self._lock:
            rows = self._db.execute(
                "SELECT pair_id, question, answer, product_id FROM pairs ORDER BY seq"
            ).fetchall()
        return [QAPair(pair_id=r[0], question=r[1], answer=r[2], product_id=r[3]) for r in rows]

    def count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM pairs").fetchone()
        return int(count)

    def add(self, pairs: Sequence[QAPair], flags: Mapping[str, Sequence[str]] | None = None) -> int:
        """Insert the pairs with the checks that flagged them (by pair_id), a pair_id already kept replaced
        by the new pair; returns how many."""
        flags = flags or {}
        with self._lock:
            self._db.executemany(
                "INSERT INTO pairs (pair_id, question, answer, product_id, flags) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(pair_id) DO UPDATE SET question = excluded.question,"
                " answer = excluded.answer, product_id = excluded.product_id, flags = excluded.flags",
                [
                    (p.pair_id, p.question, p.answer, p.product_id, " ".join(flags.get(p.pair_id, ())))
                    for p in pairs
                ],
            )
            self._db.commit()
        return len(pairs)

    def flagged(self, limit: int = 100) -> list[tuple[QAPair, list[str]]]:
        """Pairs kept with a warning of the quality checks (e.g. qa.language_mismatch), with the checks."""
        with self._lock:
            rows = self._db.execute(
                "SELECT pair_id, question, answer, product_id, flags FROM pairs WHERE flags != ''"
                " ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            (QAPair(pair_id=r[0], question=r[1], answer=r[2], product_id=r[3]), r[4].split()) for r in rows
        ]

    def flag_counts(self) -> dict[str, int]:
        """How many kept pairs each quality check flagged."""
        counts: dict[str, int] = {}
        with self._lock:
            for (flags,) in self._db.execute("SELECT flags FROM pairs WHERE flags != ''"):
                for check in flags.split():
                    counts[check] = counts.get(check, 0) + 1
        return counts

    def log_unanswered(
        self, question: str, product_id: str | None, user_id: str | None, session_id: str | None
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO unanswered (question, product_id, asked_at, user_id, session_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (question, product_id, datetime.now(UTC).isoformat(), user_id, session_id),
            )
            self._db.commit()

    def unanswered(self, limit: int = 100) -> list[UnansweredQuestion]:
        """The latest unanswered questions, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, question, product_id, asked_at, user_id, session_id FROM unanswered "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            UnansweredQuestion(
                id=r[0],
                question=r[1],
                product_id=r[2],
                asked_at=datetime.fromisoformat(r[3]),
                user_id=r[4],
                session_id=r[5],
            )
            for r in rows
        ]

    def unanswered_per_day(self) -> list[tuple[str, int]]:
        """(day, questions) for the days with unanswered questions, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT substr(asked_at, 1, 10) AS day, COUNT(*) FROM unanswered GROUP BY day ORDER BY day"
            ).fetchall()
        return [(str(day), int(count)) for day, count in rows]

    def forget(self, user_ids: Sequence[str], session_ids: Sequence[str]) -> int:
        """Remove every unanswered question these users or sessions asked; returns how many."""
        with self._lock:
            removed = 0
            for column, values in (("user_id", user_ids), ("session_id", session_ids)):
                for value in values:
                    cursor = self._db.execute(f"DELETE FROM unanswered WHERE {column} = ?", (value,))
                    removed += cursor.rowcount
            self._db.commit()
        return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()
