"""Where A/B experiments and their exposures are kept: two tables of the store, so that every API process
assigns and counts the same visitors (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from shelfwise.domain.experiments import Experiment, ExperimentState
from shelfwise.store import tables


def _naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


class ExperimentBook:
    """The experiments of one store and who was exposed to which arm."""

    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine

    def add(self, experiment: Experiment) -> None:
        definition = experiment.model_dump(
            mode="json", exclude={"experiment_id", "state", "created_at", "started_at", "stopped_at"}
        )
        row = {
            "experiment_id": experiment.experiment_id,
            "definition": definition,
            "state": experiment.state,
            "created_at": _naive(experiment.created_at),
        }
        with self.engine.begin() as conn:
            conn.execute(insert(tables.experiments).values(**row))

    def get(self, experiment_id: str) -> Experiment | None:
        found = self._select(tables.experiments.c.experiment_id == experiment_id)
        return found[0] if found else None

    def all(self) -> list[Experiment]:
        return self._select(None)

    def set_state(self, experiment_id: str, state: ExperimentState, moment: datetime) -> None:
        stamp = "started_at" if state == "running" else "stopped_at"
        table = tables.experiments
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.experiment_id == experiment_id)
                .values(state=state, **{stamp: _naive(moment)})
            )

    def expose(self, experiment_id: str, unit_id: str, arm: str, moment: datetime) -> datetime:
        """Record the unit's first exposure (a later one changes nothing); returns the first (aware UTC)."""
        table = tables.experiment_exposures
        key = (table.c.experiment_id == experiment_id) & (table.c.unit_id == unit_id)
        with self.engine.connect() as conn:
            first = conn.execute(select(table.c.first_exposed_at).where(key)).scalar_one_or_none()
        if first is None:
            row = {
                "experiment_id": experiment_id,
                "unit_id": unit_id,
                "arm": arm,
                "first_exposed_at": _naive(moment),
            }
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(table).values(**row))
                first = _naive(moment)
            except IntegrityError:  # another process exposed the unit between the read and the insert
                with self.engine.connect() as conn:
                    first = conn.execute(select(table.c.first_exposed_at).where(key)).scalar_one()
        assert first is not None
        return first.replace(tzinfo=UTC)

    def exposures(self, experiment_id: str) -> dict[str, tuple[str, datetime]]:
        """unit id -> (arm, naive UTC first exposure)."""
        table = tables.experiment_exposures
        query = select(table.c.unit_id, table.c.arm, table.c.first_exposed_at).where(
            table.c.experiment_id == experiment_id
        )
        with self.engine.connect() as conn:
            return {unit: (arm, moment) for unit, arm, moment in conn.execute(query)}

    def forget(self, unit_ids: Sequence[str]) -> int:
        """Remove every exposure of these users or sessions; returns how many."""
        table = tables.experiment_exposures
        with self.engine.begin() as conn:
            return int(conn.execute(delete(table).where(table.c.unit_id.in_(list(unit_ids)))).rowcount)

    def _select(self, where: Any) -> list[Experiment]:
        table = tables.experiments
        query = select(table).order_by(table.c.created_at, table.c.experiment_id)
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Experiment(
                **row["definition"],
                experiment_id=row["experiment_id"],
                state=row["state"],
                created_at=_aware(row["created_at"]),
                started_at=_aware(row["started_at"]),
                stopped_at=_aware(row["stopped_at"]),
            )
            for row in rows
        ]
