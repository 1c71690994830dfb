"""Deleting a user everywhere the engine keeps them, and the record that says so.

At once, in the request: the store (their events, the anonymous events of every session they had, their
profile, the quarantined rows naming them or those sessions), the online state (user and session
histories), the quality report's rows, and every kept model version through each component's `forget`
(shelfwise.training.forgetting), the served one reloaded. No id, session id or query text of theirs is left
anywhere then. A kept version whose learned weights still carry their influence is removed, or, when it is
the one being served, replaced by a retrain without them that starts at once in the background; the
deletion record says when that finished (`models_cleaned_at`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shelfwise.domain.deletion import DeletionRecord, subject_digest
from shelfwise.domain.events import actor_key
from shelfwise.io.forgetting import Subject
from shelfwise.quality.report import REPORT_FILE, forget_in_report
from shelfwise.store.forgetting import wipe_write_ahead_log
from shelfwise.training.forgetting import forget_in_versions

if TYPE_CHECKING:
    from shelfwise.engine.engine import Engine

logger = logging.getLogger(__name__)


def forget_user(engine: Engine, user_id: str) -> tuple[DeletionRecord, bool]:
    """Remove the user (see the module docstring); returns the record and whether a retrain is needed.
    The caller holds the engine's model lock, so that no training reads the store half-way through."""
    rows = engine.store.forget_user(user_id)
    actors = [actor_key(user_id, None), *(actor_key(None, session) for session in sorted(rows.session_ids))]
    for actor in actors:
        engine.online.forget(actor)
    removed = {**rows.counts, "online_histories": len(actors)}
    removed["unanswered_questions"] = engine.answers.forget([user_id], sorted(rows.session_ids))
    removed["experiment_exposures"] = engine.experiments.forget([user_id, *sorted(rows.session_ids)])
    wipe_write_ahead_log(engine.store)  # once every table that named them is done
    removed["quality_report_rows"] = forget_in_report(
        engine.settings.data_dir / REPORT_FILE, [user_id, *rows.session_ids]
    )
    record = engine.store.deletions.add(subject_digest(user_id), removed)
    subject = Subject(frozenset({user_id}), frozenset(rows.session_ids), rows.events)
    cleanings = forget_in_versions(engine.registry, subject)
    retrain = any(cleaning.outcome == "retrain" for cleaning in cleanings)
    engine.store.deletions.update(
        record.id,
        models=[cleaning.model_dump() for cleaning in cleanings],
        models_cleaned_at=None if retrain else datetime.now(UTC),
    )
    return engine.store.deletions.get(record.id), retrain


def finish_deletions(engine: Engine, covered: list[DeletionRecord], version: str) -> None:
    """A training that read the store after these deletions made `version` current: the versions they
    left to a retrain go, and their records say the models are clean."""
    now = datetime.now(UTC)
    for record in covered:
        models = []
        for entry in record.models:
            if entry.get("outcome") == "retrain" and entry.get("version") != version:
                if entry["version"] in engine.registry.versions():
                    engine.registry.remove(entry["version"])
                entry = {**entry, "outcome": "replaced", "replaced_by": version}
            models.append(entry)
        engine.store.deletions.update(record.id, models=models, models_cleaned_at=now, models_error=None)


class BackgroundRetrain:
    """One thread that trains, in the background, for the deletions waiting on a retrain; asked again
    while it runs, it trains once more afterwards (a deletion that came during a training is not in it)."""

    def __init__(self, train: Callable[[], object], failed: Callable[[Exception], None]) -> None:
        self._train, self._failed = train, failed
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def request(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="shelfwise-deletion-retrain", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._again = False
            try:
                self._train()
            except Exception as error:  # whatever stopped it goes on the records, not lost with the thread
                self._failed(error)
            with self._lock:
                if not self._again:
                    self._thread = None
                    return


def retrain_failed(engine: Engine, error: Exception) -> None:
    """Say on every waiting record why its retrain did not finish; the next training completes them."""
    logger.error("the retrain after a user deletion failed: %s", error)
    for record in engine.store.deletions.pending():
        engine.store.deletions.update(record.id, models_error=f"retrain failed: {error}")
