"""Rival aggregators' offered-price scenarios (seed 002 §2.2, Fig. 2, roulette wheel)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from evagg._checks import check_time_index
from evagg.errors import InputError
from evagg.scenarios._common import SeedLike, as_generator, check_count, scenario_labels
from evagg.scenarios.scenario_set import ScenarioSet

__all__ = ["RIVAL_LEVELS", "rival_level_probabilities", "rival_price_scenarios"]

RIVAL_LEVELS = np.array([-1.0, 0.0, 1.0])
"""Forecast-error levels of the three intervals, in standard deviations."""


def rival_level_probabilities() -> np.ndarray:
    r"""Roulette-wheel probabilities of the levels (−σ, 0, +σ).

    Three intervals of width σ centred on the levels: :math:`[-3/2, -1/2]\sigma`,
    :math:`[-1/2, 1/2]\sigma`, :math:`[1/2, 3/2]\sigma`; their standard normal
    probabilities (0.2417, 0.3829, 0.2417) normalised to sum to one as the seed says
    ("the probabilities of the intervals on the Roulette Wheel are normalized"):
    0.2790, 0.4420, 0.2790.
    """
    edges = np.array([-1.5, -0.5, 0.5, 1.5])
    p = np.diff(norm.cdf(edges))
    return np.asarray(p / p.sum(), dtype=float)


def rival_price_scenarios(
    forecast_eur_per_mwh: pd.DataFrame,
    n: int,
    sigma_frac: float = 0.15,
    seed: SeedLike = None,
    *,
    per_hour: bool = False,
    merge_duplicates: bool = False,
) -> ScenarioSet:
    r"""Scenarios ξ of the prices offered by rival aggregators.

    Seed 002 §2.2 / §5.1: the forecast error of each rival's offered price is normal
    with mean 0 and standard deviation σ = 15 % of the forecast; the density is cut
    into three intervals represented by the errors −σ, 0, +σ (see
    :func:`rival_level_probabilities`) and scenarios are drawn by roulette wheel: a
    uniform number U in [0, 1) picks the interval whose cumulative probability band
    contains it. Rival s in scenario ξ offers

    .. math:: \lambda_{s,t}(\xi) = \hat\lambda_{s,t} + k_{s}(\xi)\,\sigma_f |\hat\lambda_{s,t}|,
        \quad k \in \{-1, 0, 1\}

    evagg's reading: one draw per rival and scenario for the whole day (a rival's
    forecast error persists over the day), rivals independent; ``per_hour=True`` draws
    :math:`k_{s,t}(\xi)` per hour instead. Every scenario has probability 1/n (Monte
    Carlo samples) unless ``merge_duplicates``.

    Parameters
    ----------
    forecast_eur_per_mwh
        Forecast offered prices [EUR/MWh], time (tz-aware) × rival.
    n
        Number of scenarios (>= 1).
    sigma_frac
        σ as a fraction of the forecast, > 0 (seed: 0.15).
    seed
        Int or ``numpy.random.Generator``.
    per_hour
        Draw the error level independently per hour.
    merge_duplicates
        Merge scenarios with identical levels into one whose probability is their
        share of the n draws (exact: same distribution, fewer scenarios ξ for the
        bidding model; with whole-day draws at most 3^rivals remain). Labels are
        then 0..m-1 in order of first appearance.

    Returns
    -------
    ScenarioSet
        One quantity per rival, ``"rival{k}_price_eur_per_mwh"`` with k the column
        position starting at 1; ``meta["levels"]`` holds the drawn levels (S, rivals)
        or (S, rivals, T).
    """
    if not isinstance(forecast_eur_per_mwh, pd.DataFrame):
        raise InputError(
            "forecast_eur_per_mwh", type(forecast_eur_per_mwh).__name__, "must be a DataFrame"
        )
    if forecast_eur_per_mwh.shape[1] == 0:
        raise InputError("forecast_eur_per_mwh", "0 columns", "need at least one rival")
    idx = check_time_index("forecast_eur_per_mwh.index", forecast_eur_per_mwh.index)
    f = forecast_eur_per_mwh.to_numpy(dtype=float)
    if not np.all(np.isfinite(f)):
        r, c = np.argwhere(~np.isfinite(f))[0]
        raise InputError("forecast_eur_per_mwh", f[r, c], f"non-finite at {idx[r]}, rival {c + 1}")
    n = check_count("n", n)
    try:
        sf = float(sigma_frac)
    except (TypeError, ValueError):
        raise InputError("sigma_frac", sigma_frac, "must be a number > 0") from None
    if not np.isfinite(sf) or sf <= 0:
        raise InputError("sigma_frac", sigma_frac, "must be a finite number > 0")
    rng = as_generator(seed)
    cum = np.cumsum(rival_level_probabilities())
    n_rivals = f.shape[1]
    shape = (n, n_rivals, len(idx)) if per_hour else (n, n_rivals)
    u = rng.random(shape)
    k = RIVAL_LEVELS[np.minimum(np.searchsorted(cum, u, side="right"), 2)]
    probs = np.full(n, 1.0 / n)
    if merge_duplicates:
        flat = k.reshape(n, -1)
        _, first, counts = np.unique(flat, axis=0, return_index=True, return_counts=True)
        order = np.argsort(first)  # keep order of first appearance
        k = k[first[order]]
        probs = counts[order] / n
        n = len(order)
    labels = scenario_labels(n)
    data = {}
    for j in range(n_rivals):
        kj = k[:, j, :] if per_hour else k[:, j][:, None]
        vals = f[:, j][None, :] + kj * sf * np.abs(f[:, j])[None, :]
        data[f"rival{j + 1}_price_eur_per_mwh"] = pd.DataFrame(vals.T, index=idx, columns=labels)
    meta = {"sigma_frac": sf, "levels": k, "per_hour": per_hour}
    return ScenarioSet(data, pd.Series(probs, index=labels, name="probability"), meta)
