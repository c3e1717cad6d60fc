"""Scores of a scenario set against the realised series (out-of-sample evaluation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evagg._checks import as_finite_array, check_probabilities, check_same_index
from evagg.errors import InputError
from evagg.scenarios.scenario_set import ScenarioSet

__all__ = ["ScenarioScore", "crps", "score_scenarios", "weighted_quantiles"]


@dataclass(frozen=True)
class ScenarioScore:
    """Scores of one quantity of a scenario set against the realised series.

    Attributes
    ----------
    mae, rmse
        Mean absolute / root mean square error of the probability-weighted scenario
        mean, averaged over time steps [unit of the quantity].
    crps
        Continuous ranked probability score of the weighted ensemble, averaged over time
        steps [unit of the quantity]; equals the MAE for a single scenario, lower is
        better.
    coverage
        Share of time steps whose realised value lies in the central band
        ``[lo, hi]`` of the weighted quantiles.
    band
        The band's probability levels.
    """

    mae: float
    rmse: float
    crps: float
    coverage: float
    band: tuple[float, float]


def crps(values: np.ndarray, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""CRPS of a weighted ensemble per time step.

    .. math::
        \mathrm{CRPS}_t = \sum_i p_i |x_{i,t} - y_t|
            - \tfrac12 \sum_i \sum_j p_i p_j |x_{i,t} - x_{j,t}|

    (Gneiting & Raftery 2007, eq. 21, with weights). ``values`` (S, T), ``p`` (S,),
    ``y`` (T,); returns (T,), each ≥ 0 for a probability vector ``p`` (checked: finite
    entries, ``p`` ≥ 0 summing to 1, matching shapes; anything else is an
    :class:`~evagg.errors.InputError`). Computed in O(S log S) per step from sorted values:
    :math:`\sum_{i,j} p_i p_j |x_i - x_j| = 2\sum_k p_k x_k (2F_{k-1} + p_k - 1)` with
    :math:`F` the cumulative weight in sorted order.
    """
    values = as_finite_array("values", values, ndim=2)
    p = check_probabilities("p", p)
    y = as_finite_array("y", y, ndim=1)
    if values.shape != (p.size, y.size):
        raise InputError("values", values.shape, f"expected (len(p), len(y)) = {(p.size, y.size)}")
    order = np.argsort(values, axis=0)
    x = np.take_along_axis(values, order, axis=0)
    w = p[order]
    cum_before = np.cumsum(w, axis=0) - w
    spread = 2.0 * np.sum(w * x * (2.0 * cum_before + w - 1.0), axis=0)
    # CRPS >= 0 exactly; the sorted-sum form can leave a round-off negative (~1e-13 of
    # the spread) when every member equals the observation.
    return np.maximum(np.asarray(p @ np.abs(values - y[None, :]) - 0.5 * spread, dtype=float), 0.0)


def score_scenarios(
    ss: ScenarioSet,
    quantity: str,
    realised: pd.Series,
    band: tuple[float, float] = (0.05, 0.95),
) -> ScenarioScore:
    """Score ``ss[quantity]`` against ``realised`` (same time index, never aligned).

    Parameters
    ----------
    ss
        Scenario set (probabilities used as weights).
    quantity
        Quantity to score.
    realised
        Realised series on exactly ``ss.time_index``.
    band
        Probability levels (lo, hi) of the coverage band, 0 ≤ lo < hi ≤ 1.

    Returns
    -------
    ScenarioScore
    """
    if not isinstance(realised, pd.Series):
        raise InputError("realised", type(realised).__name__, "must be a pandas Series")
    check_same_index(["ss.time_index", "realised.index"], [ss.time_index, realised.index])
    lo, hi = (float(b) for b in band)
    if not 0.0 <= lo < hi <= 1.0:
        raise InputError("band", band, "need 0 <= lo < hi <= 1")
    y = realised.to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise InputError("realised", y[~np.isfinite(y)][0], "non-finite realised value")
    x = ss.array(quantity)
    err = ss.p @ x - y
    q = weighted_quantiles(x, ss.p, (lo, hi))
    return ScenarioScore(
        mae=float(np.mean(np.abs(err))),
        rmse=float(np.sqrt(np.mean(err**2))),
        crps=float(np.mean(crps(x, ss.p, y))),
        coverage=float(np.mean((y >= q[0]) & (y <= q[1]))),
        band=(lo, hi),
    )


def weighted_quantiles(values: np.ndarray, p: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Probability-weighted quantiles per time step of ``values`` (S, T); shape (len(qs), T).

    Inverse of the weighted empirical CDF (smallest value whose cumulative
    probability reaches the level).
    """
    values = as_finite_array("values", values, ndim=2)
    p = check_probabilities("p", p)
    if values.shape[0] != p.size:
        raise InputError("values", values.shape, f"expected {p.size} rows (one per scenario)")
    levels = as_finite_array("qs", qs, ndim=1)
    if np.any((levels < 0) | (levels > 1)):
        raise InputError("qs", qs, "probability levels must lie in [0, 1]")
    order = np.argsort(values, axis=0)
    v = np.take_along_axis(values, order, axis=0)
    cum = np.cumsum(p[order], axis=0)
    out = np.empty((len(qs), values.shape[1]))
    for i, q in enumerate(qs):
        k = np.argmax(cum >= q - 1e-12, axis=0)
        out[i] = v[k, np.arange(values.shape[1])]
    return out
