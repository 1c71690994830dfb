"""/v1/experiments: A/B experiments. An admin defines, starts and stops them; a server (the shop's
backend) asks which arm a visitor is in and reads the per-arm results with the decision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, params

from shelfwise.domain.experiments import Assignment, Experiment, ExperimentResults, ExperimentSpec
from shelfwise.engine import Engine

UNIT_ID = Query(min_length=1, max_length=256)


def experiments_router(
    engine: Engine, server: list[params.Depends], admin: list[params.Depends]
) -> APIRouter:
    router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

    @router.post("", response_model=Experiment, status_code=201, dependencies=admin)
    def create(spec: Annotated[ExperimentSpec, Body()]) -> Experiment:
        """A draft experiment: arms (the first is the control) whose shares sum to 1, the unit, the
        decision metric and the power analysis that fixes `horizon_per_arm`."""
        return engine.experiments.create(spec)

    @router.get("", response_model=list[Experiment], dependencies=admin)
    def experiments() -> list[Experiment]:
        return engine.experiments.all()

    @router.post("/{experiment_id}/start", response_model=Experiment, dependencies=admin)
    def start(experiment_id: str) -> Experiment:
        return engine.experiments.start(experiment_id)

    @router.post("/{experiment_id}/stop", response_model=Experiment, dependencies=admin)
    def stop(experiment_id: str) -> Experiment:
        return engine.experiments.stop(experiment_id)

    @router.get("/{experiment_id}/assignment", response_model=Assignment, dependencies=server)
    def assignment(
        experiment_id: str,
        user_id: Annotated[str | None, UNIT_ID] = None,
        session_id: Annotated[str | None, UNIT_ID] = None,
    ) -> Assignment:
        """The visitor's arm (the same on every call); the first call records the exposure that the
        results count from. Exactly one of user_id and session_id, the one the experiment's unit names."""
        return engine.experiments.assign(experiment_id, user_id=user_id, session_id=session_id)

    @router.get("/{experiment_id}/results", response_model=ExperimentResults, dependencies=server)
    def results(experiment_id: str) -> ExperimentResults:
        """Per-arm metrics with intervals, the difference to the control, and the decision with its
        reason ("too early" until every arm reaches the fixed horizon)."""
        return engine.experiments.results(experiment_id)

    return router
