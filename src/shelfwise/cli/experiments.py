"""`shelfwise experiments`: define, start, stop and list A/B experiments and read their results with the
decision (docs/experiments.md)."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated

import typer
from rich.table import Table

from shelfwise.cli.context import CliError, engine_command, open_engine, stdout_console
from shelfwise.domain.experiments import Arm, Experiment, ExperimentSpec, Interval

experiments_app = typer.Typer(
    help="A/B experiments: arms with traffic shares, a fixed horizon, per-arm metrics and a decision.",
    no_args_is_help=True,
)


def _arm(text: str) -> Arm:
    name, separator, share = text.rpartition("=")
    if not separator or not name:
        raise CliError(f"--arm {text!r}: write NAME=SHARE, e.g. control=0.5")
    try:
        return Arm(name=name, share=float(share))
    except ValueError as error:
        raise CliError(f"--arm {text!r}: the share must be a number in (0, 1]") from error


@experiments_app.command("create")
@engine_command
def create(
    name: Annotated[str, typer.Argument(help="What the experiment tests.")],
    arm: Annotated[
        list[str], typer.Option(help="NAME=SHARE, repeated; the first arm is the control; shares sum to 1.")
    ],
    unit: Annotated[str, typer.Option(help="Assign by user or by session.")] = "user",
    metric: Annotated[
        str, typer.Option(help="The decision metric: conversion, add_to_cart_rate or click_through.")
    ] = "conversion",
    baseline: Annotated[float, typer.Option(help="The control's expected rate of the metric.")] = 0.05,
    mde: Annotated[float, typer.Option(help="The smallest absolute lift worth detecting.")] = 0.01,
    alpha: Annotated[float, typer.Option(help="The test's false-positive rate.")] = 0.05,
    power: Annotated[float, typer.Option(help="The chance to detect a lift of --mde.")] = 0.8,
) -> None:
    """Define a draft experiment; prints its id and the visitors each arm needs before a verdict."""
    spec = ExperimentSpec.model_validate(
        {
            "name": name,
            "arms": [_arm(text) for text in arm],
            "unit": unit,
            "metric": metric,
            "baseline_rate": baseline,
            "minimum_detectable_effect": mde,
            "alpha": alpha,
            "power": power,
        }
    )
    with closing(open_engine()) as engine:
        created = engine.experiments.create(spec)
    _say(f"Created {created.experiment_id} ({created.name!r}): {created.horizon_per_arm} visitors per arm.")


@experiments_app.command("start")
@engine_command
def start(experiment_id: Annotated[str, typer.Argument()]) -> None:
    """Start assigning visitors (from draft)."""
    with closing(open_engine()) as engine:
        engine.experiments.start(experiment_id)
    _say(f"Started {experiment_id}.")


@experiments_app.command("stop")
@engine_command
def stop(experiment_id: Annotated[str, typer.Argument()]) -> None:
    """Stop assigning visitors; the results stay readable."""
    with closing(open_engine()) as engine:
        engine.experiments.stop(experiment_id)
    _say(f"Stopped {experiment_id}.")


@experiments_app.command("list")
@engine_command
def list_experiments() -> None:
    """Every experiment, oldest first."""
    with closing(open_engine()) as engine:
        listing = engine.experiments.all()
    table = Table("id", "name", "state", "unit", "metric", "arms", "horizon per arm")
    for experiment in listing:
        table.add_row(
            experiment.experiment_id,
            experiment.name,
            experiment.state,
            experiment.unit,
            experiment.metric,
            ", ".join(f"{arm.name} {arm.share:g}" for arm in experiment.arms),
            str(experiment.horizon_per_arm),
        )
    stdout_console().print(table)


@experiments_app.command("results")
@engine_command
def results(experiment_id: Annotated[str, typer.Argument()]) -> None:
    """Per-arm metrics with intervals, each arm's difference to the control, and the decision."""
    with closing(open_engine()) as engine:
        found = engine.experiments.results(experiment_id)
    table = Table(
        "arm", "visitors", "click-through", "add-to-cart", "conversion", "revenue/visitor", "difference", "p"
    )
    for row in found.arms:
        table.add_row(
            row.arm,
            str(row.visitors),
            _interval(row.click_through),
            _interval(row.add_to_cart_rate),
            _interval(row.conversion),
            _interval(row.revenue_per_visitor, "{:.2f}"),
            _interval(row.difference) if row.difference else "control",
            f"{row.p_value:.3g}" if row.p_value is not None else "",
        )
    stdout_console().print(table)
    _say(f"{_title(found.experiment)}: {found.decision} ({found.reason})")


def _interval(interval: Interval, spelled: str = "{:.4f}") -> str:
    estimate, low, high = (
        spelled.format(value) for value in (interval.estimate, interval.low, interval.high)
    )
    return f"{estimate} [{low}, {high}]"


def _title(experiment: Experiment) -> str:
    return f"{experiment.experiment_id} ({experiment.name!r}, decided on {experiment.metric})"


def _say(text: str) -> None:
    stdout_console().print(text, markup=False, highlight=False, soft_wrap=True)
