"""A/B experiments for the engine: define, start and stop them, assign a visitor to an arm (recording the
first exposure) and read each arm's metrics with the decision (docs/experiments.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shelfwise.domain.errors import InvalidRequestError, NotFoundError
from shelfwise.domain.experiments import Assignment, Experiment, ExperimentResults, ExperimentSpec
from shelfwise.policy import experiments as stats
from shelfwise.store import Store, tables
from shelfwise.store.experiments import ExperimentBook


class ExperimentService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.book = ExperimentBook(store.engine)

    def create(self, spec: ExperimentSpec) -> Experiment:
        """A draft experiment with its fixed horizon computed from the spec's power analysis."""
        experiment = Experiment(
            **spec.model_dump(),
            experiment_id=uuid.uuid4().hex[:12],
            horizon_per_arm=stats.horizon_per_arm(
                spec.baseline_rate, spec.minimum_detectable_effect, spec.alpha, spec.power
            ),
            created_at=datetime.now(UTC),
        )
        self.book.add(experiment)
        return experiment

    def get(self, experiment_id: str) -> Experiment:
        found = self.book.get(experiment_id)
        if found is None:
            raise NotFoundError(f"no experiment {experiment_id!r}")
        return found

    def all(self) -> list[Experiment]:
        return self.book.all()

    def start(self, experiment_id: str) -> Experiment:
        if self.get(experiment_id).state != "draft":
            raise InvalidRequestError(f"experiment {experiment_id!r} can only start from draft")
        self.book.set_state(experiment_id, "running", datetime.now(UTC))
        return self.get(experiment_id)

    def stop(self, experiment_id: str) -> Experiment:
        if self.get(experiment_id).state != "running":
            raise InvalidRequestError(f"experiment {experiment_id!r} is not running")
        self.book.set_state(experiment_id, "stopped", datetime.now(UTC))
        return self.get(experiment_id)

    def assign(
        self, experiment_id: str, *, user_id: str | None = None, session_id: str | None = None
    ) -> Assignment:
        """The unit's arm (stable: a hash of the experiment and the unit), its first exposure recorded."""
        experiment = self.get(experiment_id)
        unit_id = user_id if experiment.unit == "user" else session_id
        if (user_id is None) == (session_id is None):
            raise InvalidRequestError("give exactly one of user_id and session_id")
        if not unit_id:
            raise InvalidRequestError(
                f"experiment {experiment_id!r} assigns by {experiment.unit}: give {experiment.unit}_id"
            )
        if experiment.state != "running":
            raise InvalidRequestError(f"experiment {experiment_id!r} is {experiment.state}, not running")
        arm = stats.choose_arm(experiment_id, unit_id, experiment.arms)
        first = self.book.expose(experiment_id, unit_id, arm, datetime.now(UTC))
        return Assignment(
            experiment_id=experiment_id,
            unit=experiment.unit,
            unit_id=unit_id,
            arm=arm,
            first_exposed_at=first,
        )

    def results(self, experiment_id: str) -> ExperimentResults:
        experiment = self.get(experiment_id)
        exposures = self.book.exposures(experiment_id)
        column = tables.events.c.user_id if experiment.unit == "user" else tables.events.c.session_id
        earliest = min((moment for _, moment in exposures.values()), default=None)
        where = (
            column.is_not(None)
            if earliest is None
            else column.is_not(None) & (tables.events.c.timestamp >= earliest)
        )
        events = self.store.events_frame(where)
        until = experiment.stopped_at.astimezone(UTC).replace(tzinfo=None) if experiment.stopped_at else None
        names = [arm.name for arm in experiment.arms]
        counts = stats.count_arms(events, experiment.unit, exposures, names, until)
        return stats.results(experiment, counts)

    def forget(self, unit_ids: list[str]) -> int:
        return self.book.forget(unit_ids)
