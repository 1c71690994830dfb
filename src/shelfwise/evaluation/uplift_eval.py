"""Campaign targeting measured on a randomised test: learn on a seeded half of the customers, score the
other half.

A targeting policy gives each held-out customer a campaign and a predicted uplift. It is judged on the
customers whose randomised arm agrees with it: those who got the chosen campaign (treated) and those who
got nothing (control); customers randomised to another campaign say nothing about this choice and are
left out. Randomisation keeps the two groups comparable within every choice. On them: the Qini coefficient
and the uplift at the top 30% (`audiences.qini`), each with a 95% bootstrap interval over the held-out
customers (responders are rare, so the intervals are wide). The Qini coefficient judges the order only
(it is relative to the best order of the same customers); the choice of campaign shows in the uplift at
30% and in the curve's end. "random" picks a campaign and an order at
random; its figures are the mean over RANDOM_DRAWS draws, so its Qini is near 0 and its uplift at 30% is
what mailing customers at random achieves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from shelfwise.audiences.campaign_test import CampaignTest
from shelfwise.audiences.qini import qini_coefficient, qini_curve, uplift_at_k
from shelfwise.audiences.uplift import CampaignTargeting, UpliftConfig

REPORT_FILE = "uplift-report.json"  # in the data dir: aggregates only, no customer of the test
TOP_SHARE = 0.3
CURVE_POINTS = 50
BOOTSTRAP = 200
RANDOM_DRAWS = 100


class UpliftMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)
    qini: float
    uplift_at_30: float
    qini_interval: tuple[float, float]  # 95% bootstrap interval
    uplift_at_30_interval: tuple[float, float]
    customers: int  # held-out customers whose arm agrees with the policy


class UpliftRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    metrics: UpliftMetrics
    chosen: dict[str, int]  # held-out customers per chosen campaign
    curve: list[tuple[float, float]]  # Qini curve: (share targeted, extra responders per customer)


class UpliftEvaluation(BaseModel):
    data: str = ""  # what it was measured on
    outcome: str = ""
    protocol: str
    train_customers: int
    test_customers: int
    outcome_rates: dict[str, float]  # held-out outcome rate per arm
    rows: list[UpliftRow]


def half_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


def agreeing(test: CampaignTest, chosen: list[str], uplift: np.ndarray) -> tuple[np.ndarray, ...]:
    """(outcome, predicted uplift, treated) of the customers randomised to the chosen campaign or none."""
    choice = np.asarray(chosen, dtype=object)
    treated = test.arms == choice
    kept = treated | (test.arms == test.control)
    return test.outcome[kept], uplift[kept], treated[kept].astype(np.int64)


def interval(
    y: np.ndarray, score: np.ndarray, t: np.ndarray, rng: np.random.Generator
) -> tuple[tuple[float, float], tuple[float, float]]:
    """95% percentile bootstrap intervals of (Qini, uplift at 30%), resampling customers."""
    qinis, uplifts = [], []
    for _ in range(BOOTSTRAP):
        rows = rng.integers(0, len(y), len(y))
        qinis.append(qini_coefficient(y[rows], score[rows], t[rows]))
        uplifts.append(uplift_at_k(y[rows], score[rows], t[rows], TOP_SHARE))
    bounds = [2.5, 97.5]
    q_low, q_high = np.percentile(qinis, bounds)
    u_low, u_high = np.percentile(uplifts, bounds)
    return (float(q_low), float(q_high)), (float(u_low), float(u_high))


def judge(
    name: str, test: CampaignTest, chosen: list[str], uplift: np.ndarray, rng: np.random.Generator
) -> UpliftRow:
    y, score, t = agreeing(test, chosen, uplift)
    curve = qini_curve(y, score, t)
    step = max(1, len(curve.customers) // CURVE_POINTS)
    points = [
        (float(x / len(y)), float(g / len(y)))
        for x, g in zip(curve.customers[::step], curve.gain[::step], strict=True)
    ]
    points.append((1.0, float(curve.gain[-1] / len(y))))
    names, counts = np.unique(np.asarray(chosen, dtype=object), return_counts=True)
    qini_bounds, uplift_bounds = interval(y, score, t, rng)
    return UpliftRow(
        name=name,
        metrics=UpliftMetrics(
            qini=qini_coefficient(y, score, t),
            uplift_at_30=uplift_at_k(y, score, t, TOP_SHARE),
            qini_interval=qini_bounds,
            uplift_at_30_interval=uplift_bounds,
            customers=len(y),
        ),
        chosen={str(n): int(c) for n, c in zip(names, counts, strict=True)},
        curve=points,
    )


def random_row(test: CampaignTest, campaigns: list[str], rng: np.random.Generator) -> UpliftRow:
    """Random targeting as its expectation: each figure the mean over RANDOM_DRAWS random policies, its
    interval the spread of those draws."""
    draws = []
    for _ in range(RANDOM_DRAWS):
        chosen = [campaigns[i] for i in rng.integers(0, len(campaigns), len(test))]
        y, score, t = agreeing(test, chosen, rng.random(len(test)))
        end = qini_curve(y, score, t).gain[-1] / len(y)
        draws.append((qini_coefficient(y, score, t), uplift_at_k(y, score, t, TOP_SHARE), len(y), end))
    qinis, uplifts, sizes, ends = (np.array(column) for column in zip(*draws, strict=True))
    q_low, q_high = np.percentile(qinis, [2.5, 97.5])
    u_low, u_high = np.percentile(uplifts, [2.5, 97.5])
    return UpliftRow(
        name="random",
        metrics=UpliftMetrics(
            qini=float(qinis.mean()),
            uplift_at_30=float(uplifts.mean()),
            qini_interval=(float(q_low), float(q_high)),
            uplift_at_30_interval=(float(u_low), float(u_high)),
            customers=int(sizes.mean()),
        ),
        chosen={campaign: len(test) // len(campaigns) for campaign in campaigns},
        curve=[(0.0, 0.0), (1.0, float(ends.mean()))],
    )


def evaluate_uplift(
    data: CampaignTest, config: UpliftConfig | None = None, seed: int = 0
) -> UpliftEvaluation:
    """The engine's default learner first, then its peers: the other learner, each campaign alone, random."""
    config = config or UpliftConfig()
    train_rows, test_rows = half_split(len(data), seed)
    train, test = data.subset(train_rows), data.subset(test_rows)
    rows = []
    rng = np.random.default_rng(seed + 1)
    other = "class-transformation" if config.learner == "two-model" else "two-model"
    for learner in (config.learner, other):
        model = CampaignTargeting(config.model_copy(update={"learner": learner}))
        model.fit(train.features, train.arms, train.outcome, train.control)
        chosen, uplift = model.choose(test.features)
        rows.append(judge(f"{learner}, best campaign", test, chosen, uplift, rng))
        if learner == config.learner:
            per_campaign = model.uplift(test.features)
            for column, campaign in enumerate(model.campaigns):
                rows.append(
                    judge(
                        f"{learner}, {campaign} only",
                        test,
                        [campaign] * len(test),
                        per_campaign[:, column],
                        rng,
                    )
                )
    rows.append(random_row(test, sorted(set(train.arms.tolist()) - {train.control}), rng))
    rates = {str(arm): float(test.outcome[test.arms == arm].mean()) for arm in np.unique(test.arms)}
    return UpliftEvaluation(
        protocol=(
            f"learned on a seeded half ({len(train)} customers, seed {seed}), scored on the other "
            f"({len(test)}); each policy judged on the held-out customers randomised to its chosen "
            f"campaign or to {test.control!r}; Qini coefficient as scikit-uplift's qini_auc_score; "
            f"uplift_at_30 = outcome rate of the top 30% of treated minus that of the top 30% of control "
            f"(by predicted uplift)"
        ),
        train_customers=len(train),
        test_customers=len(test),
        outcome_rates=rates,
        rows=rows,
    )


def save_report(evaluation: UpliftEvaluation, directory: Path) -> Path:
    """Write the evaluation where the admin pages read it (replacing the last one)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_FILE
    staged = path.with_suffix(".tmp")
    staged.write_text(evaluation.model_dump_json(), encoding="utf-8")
    staged.replace(path)
    return path


def load_report(directory: Path) -> UpliftEvaluation | None:
    """The last saved evaluation, or None when there is none or it cannot be read."""
    path = directory / REPORT_FILE
    if not path.is_file():
        return None
    try:
        return UpliftEvaluation.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return None
