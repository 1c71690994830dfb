"""Uplift metrics as scikit-uplift 0.5.1 defines them (sklift.metrics), numpy only; tests check them
against hand-computed values.

Qini curve: customers ordered by predicted uplift, highest first; at each distinct score the point
(n, Y_t(n) - Y_c(n) * N_t(n) / N_c(n)), where N_t, N_c count the treated and control customers among the
first n and Y_t, Y_c their positive outcomes. Qini coefficient: the area between that curve and the random
line (the straight line from (0, 0) to the curve's end) over the same area for the perfect curve (every
treated responder first, every control responder last), so 1 is perfect and 0 no better than random.
Uplift at k: the positive-outcome rate of the treated customers among the top share k of the treated
minus that of the control customers among the top share k of the control, each ranked by predicted
uplift (sklift's strategy "by_group").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class QiniCurve(NamedTuple):
    customers: np.ndarray  # x: how many customers are targeted, starting at 0
    gain: np.ndarray  # y: extra positive outcomes over the same customers left untreated


def _binary(name: str, values: np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1")
    return array.astype(np.float64)


def _inputs(outcome: np.ndarray, uplift: np.ndarray, treated: np.ndarray) -> tuple[np.ndarray, ...]:
    y, t = _binary("outcome", outcome), _binary("treated", treated)
    score = np.asarray(uplift, dtype=np.float64)
    if not len(y) == len(t) == len(score):
        raise ValueError(f"outcome, uplift and treated differ in length: {len(y)}, {len(score)}, {len(t)}")
    if not (t.any() and (1 - t).any()):
        raise ValueError("uplift needs both treated and control customers")
    return y, score, t


def qini_curve(outcome: np.ndarray, uplift: np.ndarray, treated: np.ndarray) -> QiniCurve:
    y, score, t = _inputs(outcome, uplift, treated)
    order = np.argsort(score, kind="mergesort")[::-1]
    y, t, score = y[order], t[order], score[order]
    # One point per distinct score: tied customers are targeted together.
    ends = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    n_treated = np.cumsum(t)[ends]
    n_all = ends + 1.0
    n_control = n_all - n_treated
    y_treated = np.cumsum(y * t)[ends]
    y_control = np.cumsum(y * (1 - t))[ends]
    ratio = np.divide(n_treated, n_control, out=np.zeros_like(n_treated), where=n_control > 0)
    gain = y_treated - y_control * ratio
    return QiniCurve(np.r_[0.0, n_all], np.r_[0.0, gain])


def perfect_qini_curve(outcome: np.ndarray, treated: np.ndarray) -> QiniCurve:
    """The best ordering, negative effects included: treated responders first, control responders last."""
    y, t = _binary("outcome", outcome), _binary("treated", treated)
    return qini_curve(y, y * t - y * (1 - t), t)


def qini_coefficient(outcome: np.ndarray, uplift: np.ndarray, treated: np.ndarray) -> float:
    actual = qini_curve(outcome, uplift, treated)
    perfect = perfect_qini_curve(outcome, treated)
    random_area = perfect.customers[-1] * perfect.gain[-1] / 2
    best = float(np.trapezoid(perfect.gain, perfect.customers)) - random_area
    if best == 0:
        raise ValueError("the Qini coefficient is undefined: the perfect curve has no area over random")
    return (float(np.trapezoid(actual.gain, actual.customers)) - random_area) / best


def uplift_at_k(outcome: np.ndarray, uplift: np.ndarray, treated: np.ndarray, k: float = 0.3) -> float:
    if not 0 < k < 1:
        raise ValueError(f"k must be a share between 0 and 1, got {k}")
    y, score, t = _inputs(outcome, uplift, treated)
    order = np.argsort(score, kind="mergesort")[::-1]
    y, t = y[order], t[order]
    rates = []
    for group in (1.0, 0.0):
        members = y[t == group]
        top = int(len(members) * k)
        if top == 0:
            raise ValueError(f"the top {k:.0%} of the {'treated' if group else 'control'} group is empty")
        rates.append(float(members[:top].mean()))
    return rates[0] - rates[1]
