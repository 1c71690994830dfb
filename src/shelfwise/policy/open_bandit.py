"""The Open Bandit Dataset check: estimate the Bernoulli Thompson sampling policy's click rate from the
uniform-random policy's logs and compare every estimator with the Thompson policy's own (on-policy) click
rate.

Layout read (as obp ships it): DIR/random/NAME/NAME.csv and DIR/bts/NAME/NAME.csv (columns item_id, position,
click, propensity_score, user_feature_*), DIR/random/NAME/item_context.csv (item_id, item_feature_*), and
DIR/prior_bts.yaml (the production Beta prior per campaign). The protocol follows obp's
examples/obd/evaluate_off_policy_estimators.py: evaluation policy BernoulliTS(is_zozotown_prior=True) with its
action distribution from `n_sim` simulated rounds, obp's features (user features as indicators, item
features label-encoded) and its click model (a logistic regression per slot, cross-fitted over 3 folds),
relative error |estimate − truth| / truth. Rounds are read in file order (obp sorts by timestamp; the
published files are sorted).

Two kinds of figures come out. The bootstrap mean and interval resample the rounds with the click model held
fixed (so the dm interval leaves out the model's own sampling noise). The `runs` figures follow obp's
published protocol: on each of `runs` bootstrap samples the click model is refitted and every estimator's
relative error taken; their mean and standard deviation sit beside the published ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy.estimators import ESTIMATORS, RoundTerms, bootstrap_values, summarise
from shelfwise.policy.logged import FloatArray, LoggedBandit
from shelfwise.policy.reward_model import cross_fitted_predictions
from shelfwise.policy.thompson import action_distribution, zozotown_prior

MODEL_BASED = frozenset({"dm", "dr", "sndr"})
LOG_COLUMNS = ("item_id", "position", "click", "propensity_score")
PUBLISHED_SOURCE = (
    "zr-obp examples/obd/README.md @ b8ea3ef (2022-01-13): relative error, mean (std) over 30 bootstrap runs "
    "on the obp sample of the 'all' campaign, BTS evaluated on Random logs, logistic-regression click model"
)
# Mean and standard deviation of the relative error, from PUBLISHED_SOURCE (campaign "all" only).
PUBLISHED_RELATIVE_ERROR = {
    "dm": (0.157, 0.110),
    "ipw": (0.311, 0.311),
    "snipw": (0.312, 0.335),
    "dr": (0.292, 0.315),
    "sndr": (0.302, 0.328),
}


class EstimatorFigures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    estimate: float  # the bootstrap mean
    relative_error: float  # of `estimate`
    ci_low: float
    ci_high: float
    full_data_estimate: float
    effective_sample_size: float
    # Over refitted bootstrap runs, as obp's example measures it (None when no runs were asked for).
    runs_relative_error_mean: float | None
    runs_relative_error_std: float | None
    published_relative_error_mean: float | None = None
    published_relative_error_std: float | None = None


class OpenBanditCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    campaign: str
    behaviour_policy: str
    evaluation_policy: str
    rounds: int
    truth: float
    behaviour_click_rate: float
    n_sim: int
    n_bootstrap: int
    runs: int
    folds: int
    seed: int
    estimators: dict[str, EstimatorFigures]
    published_source: str | None


def campaign_log(data: Path, policy: str, campaign: str) -> pl.DataFrame:
    path = data / policy / campaign / f"{campaign}.csv"
    frame = read_table(path)
    missing = [column for column in LOG_COLUMNS if column not in frame.columns]
    if missing:
        raise InvalidRequestError(f"{path} lacks column(s) {', '.join(missing)}")
    nulls = [column for column in LOG_COLUMNS if frame.get_column(column).null_count()]
    if nulls:
        raise InvalidRequestError(f"{path} has empty values in column(s) {', '.join(nulls)}")
    return frame


def read_table(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise InvalidRequestError(f"{path} does not exist (expected the Open Bandit Dataset layout)")
    try:
        frame = pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        raise InvalidRequestError(f"cannot read {path}: {error}") from error
    if frame.is_empty():
        raise InvalidRequestError(f"{path} has no rows")
    return frame.drop([column for column in frame.columns if column in ("", "index")])


def indicators(frame: pl.DataFrame, columns: list[str]) -> FloatArray:
    """pandas.get_dummies(drop_first=True) as obp applies it to the user features: one column per value
    after the first, values in sorted order."""
    blocks = [np.zeros((frame.height, 0))]
    for column in columns:
        values = frame.get_column(column).cast(pl.Utf8).fill_null("").to_numpy()
        categories = np.unique(values)
        blocks.append((values[:, None] == categories[None, 1:]).astype(np.float64))
    return np.hstack(blocks)


def item_features(data: Path, campaign: str) -> FloatArray:
    """obp 0.5's action context: the other item features label-encoded (values numbered in sorted order),
    then item_feature_0; one row per item id 0..n-1."""
    path = data / "random" / campaign / "item_context.csv"
    items = read_table(path)
    missing = [column for column in ("item_id", "item_feature_0") if column not in items.columns]
    if missing:
        raise InvalidRequestError(f"{path} lacks column(s) {', '.join(missing)}")
    ids = items.get_column("item_id").to_numpy()
    if not np.array_equal(np.sort(ids), np.arange(len(ids))):
        raise InvalidRequestError(f"{path}: item_id must run 0..{len(ids) - 1} once each")
    encoded = [
        np.unique(items.get_column(column).cast(pl.Utf8).fill_null("").to_numpy(), return_inverse=True)[1]
        for column in items.columns
        if column.startswith("item_feature") and column != "item_feature_0"
    ]
    table = np.column_stack([*encoded, items.get_column("item_feature_0").cast(pl.Float64).to_numpy()])
    return table[np.argsort(ids)]


def logged_bandit(frame: pl.DataFrame, n_actions: int, path: Path) -> LoggedBandit:
    """obp's OpenBanditDataset: slots ranked densely from 0, the user features as indicators for context."""
    action = frame.get_column("item_id").to_numpy().astype(np.int64)
    _, position = np.unique(frame.get_column("position").to_numpy(), return_inverse=True)
    user_columns = [column for column in frame.columns if "user_feature" in column]
    try:
        return LoggedBandit(
            action=action,
            reward=frame.get_column("click").to_numpy().astype(np.float64),
            propensity=frame.get_column("propensity_score").to_numpy().astype(np.float64),
            n_actions=n_actions,
            position=position.astype(np.int64),
            n_positions=int(position.max()) + 1,
            context=indicators(frame, user_columns),
        )
    except InvalidRequestError as error:
        raise InvalidRequestError(f"{path}: {error}") from error


def relative_errors(values: FloatArray, truth: float) -> FloatArray:
    if truth == 0:
        raise InvalidRequestError("the on-policy click rate is 0: relative errors are undefined")
    return np.abs(np.asarray(values) - truth) / truth


def check_open_bandit(
    data: Path,
    campaign: str,
    *,
    estimators: tuple[str, ...] = ("ipw", "snipw", "dm", "dr", "sndr"),
    n_sim: int = 100_000,
    n_bootstrap: int = 1000,
    runs: int = 0,
    folds: int = 3,
    seed: int = 12345,
    confidence: float = 0.95,
) -> OpenBanditCheck:
    """Every estimator's estimate of the Thompson policy's click rate from the random logs, against the
    click rate the Thompson policy's own logs show."""
    truth = float(campaign_log(data, "bts", campaign).get_column("click").mean())  # type: ignore[arg-type]
    features = item_features(data, campaign)
    random_path = data / "random" / campaign / f"{campaign}.csv"
    log = logged_bandit(campaign_log(data, "random", campaign), len(features), random_path)
    alpha, beta = zozotown_prior(data / "prior_bts.yaml", campaign)
    if len(alpha) != log.n_actions:
        raise InvalidRequestError(
            f"{data / 'prior_bts.yaml'}: campaign {campaign!r} has a prior for {len(alpha)} items, "
            f"item_context.csv lists {log.n_actions}"
        )
    log = log.evaluated_by(action_distribution(alpha, beta, log.n_positions, n_sim=n_sim, seed=seed))
    unknown = [name for name in estimators if name not in ESTIMATORS]
    if unknown:
        raise InvalidRequestError(
            f"unknown estimator(s) {', '.join(unknown)}; known: {', '.join(ESTIMATORS)}"
        )
    with_model = bool(MODEL_BASED & set(estimators))
    if with_model:
        log = log.with_reward_predictions(
            cross_fitted_predictions(log, features, n_folds=folds, seed=seed, per_position=True)
        )
    terms = RoundTerms.of(log)
    refitted = refitted_runs(log, features, estimators, runs, folds, seed, with_model)
    published = PUBLISHED_RELATIVE_ERROR if campaign == "all" else {}
    figures = {}
    for name in estimators:
        resampled = bootstrap_values(terms, ESTIMATORS[name], n_bootstrap, seed)
        summary = summarise(name, terms, resampled, confidence)
        errors = relative_errors(refitted[name], truth) if runs else None
        mean, std = published.get(name, (None, None))
        figures[name] = EstimatorFigures(
            estimate=summary.bootstrap_mean,
            relative_error=float(relative_errors(np.array([summary.bootstrap_mean]), truth)[0]),
            ci_low=summary.ci_low,
            ci_high=summary.ci_high,
            full_data_estimate=summary.value,
            effective_sample_size=summary.effective_sample_size,
            runs_relative_error_mean=None if errors is None else float(errors.mean()),
            runs_relative_error_std=None if errors is None or runs < 2 else float(errors.std(ddof=1)),
            published_relative_error_mean=mean,
            published_relative_error_std=std,
        )
    return OpenBanditCheck(
        campaign=campaign,
        behaviour_policy="random",
        evaluation_policy="bts",
        rounds=log.rows,
        truth=truth,
        behaviour_click_rate=log.on_policy_value(),
        n_sim=n_sim,
        n_bootstrap=n_bootstrap,
        runs=runs,
        folds=folds,
        seed=seed,
        estimators=figures,
        published_source=PUBLISHED_SOURCE if published else None,
    )


def refitted_runs(
    log: LoggedBandit,
    features: FloatArray,
    estimators: tuple[str, ...],
    runs: int,
    folds: int,
    seed: int,
    with_model: bool,
) -> dict[str, FloatArray]:
    """Each estimator on `runs` bootstrap samples of the rounds, the click model refitted on each. Run b
    draws the rows obp's sample_bootstrap_bandit_feedback(random_state=b) draws."""
    values: dict[str, list[float]] = {name: [] for name in estimators}
    for run in range(runs):
        rows = np.random.RandomState(run).choice(np.arange(log.rows), size=log.rows, replace=True)
        sample = log.take(rows)
        if with_model:
            predictions = cross_fitted_predictions(
                sample, features, n_folds=folds, seed=seed, per_position=True
            )
            sample = sample.with_reward_predictions(predictions)
        terms = RoundTerms.of(sample)
        for name in estimators:
            values[name].append(float(ESTIMATORS[name](terms)))
    return {name: np.array(found) for name, found in values.items()}
