"""EV demand scenarios correlated with day-ahead prices (seed 002 eq. (1))."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evagg._checks import check_nonnegative, check_same_index, check_time_index
from evagg.errors import InputError
from evagg.scenarios._common import SeedLike, as_generator, check_count, scenario_labels
from evagg.scenarios.prices import DA_PRICE
from evagg.scenarios.scenario_set import ScenarioSet

__all__ = ["EV_DEMAND", "ev_demand_scenarios"]

EV_DEMAND = "ev_demand_mwh"
"""Quantity name of EV demand scenarios [MWh per period]."""


def ev_demand_scenarios(
    expected_mwh: pd.Series,
    n: int | None = None,
    delta: float = 0.2,
    seed: SeedLike = None,
    *,
    da: ScenarioSet | None = None,
    price_rel_sd: float = 0.25,
    price_floor_eur_per_mwh: float = 10.0,
) -> ScenarioSet:
    r"""EV demand scenarios by seed 002 eq. (1).

    .. math::
        E^D_{t,\omega} = \hat E^D_t \left[1 + \Delta\,
            \frac{\lambda^{DA}_{t,\omega} - \hat\lambda^{DA}_t}
                 {\max(|\hat\lambda^{DA}_t|,\ \underline\lambda)}\right]^+

    with :math:`\hat E^D_t` the expected demand [MWh], :math:`\hat\lambda^{DA}_t` the
    expected (probability-weighted mean) day-ahead price of the scenario set and
    Δ = 0.2 as in the seed. Demand scenarios inherit the day-ahead scenarios'
    probabilities, so scenario ω of demand goes with scenario ω of prices.

    evagg changes (documented because eq. (1) breaks on modern prices): the denominator
    is floored at :math:`\underline\lambda` = ``price_floor_eur_per_mwh`` in absolute
    value, since Dutch prices are often near zero or negative (the seed's Nord Pool
    2016 prices were not); and demand is clipped at 0 (:math:`[x]^+`), the number of
    clipped entries is recorded in ``meta["clipped"]``.

    Without ``da``, the relative price deviation is drawn directly,
    :math:`(\lambda-\hat\lambda)/\hat\lambda \sim N(0, s^2)` i.i.d. over hours and
    scenarios with ``s = price_rel_sd`` (default 0.25: the median, over 24 days
    — the 15th of February, May, August and November 2019-2024 — of the standard
    deviation of :math:`(\lambda-\hat\lambda)/\max(|\hat\lambda|, 10)` in 200 of evagg's
    day-ahead scenarios for the Dutch market, mean 0.28), and the
    ``n`` scenarios are equiprobable. Use :func:`market_scenarios` (or pass ``da``)
    for the seed's joint price-demand scenarios.

    Parameters
    ----------
    expected_mwh
        Expected EV demand :math:`\hat E^D_t` [MWh per period], ≥ 0, tz-aware index.
    n
        Number of scenarios (>= 1); with ``da`` it may be omitted and must otherwise
        equal ``da.n_scenarios``.
    delta
        Δ ≥ 0, demand-price sensitivity (seed 002: 0.2).
    seed
        Int or ``numpy.random.Generator`` (used only without ``da``).
    da
        Scenario set holding ``"da_price_eur_per_mwh"`` on the same time index.
    price_rel_sd
        s ≥ 0, spread of the relative price deviation when ``da`` is not given.
    price_floor_eur_per_mwh
        :math:`\underline\lambda` > 0 [EUR/MWh].

    Returns
    -------
    ScenarioSet
        Quantity ``"ev_demand_mwh"`` (time × scenario).
    """
    if not isinstance(expected_mwh, pd.Series):
        raise InputError("expected_mwh", type(expected_mwh).__name__, "must be a pandas Series")
    idx = check_time_index("expected_mwh.index", expected_mwh.index)
    e_hat = check_nonnegative("expected_mwh", expected_mwh.to_numpy(dtype=float))
    delta = _nonneg_scalar("delta", delta)
    floor = _nonneg_scalar("price_floor_eur_per_mwh", price_floor_eur_per_mwh)
    if floor <= 0:
        raise InputError("price_floor_eur_per_mwh", floor, "must be > 0")
    meta: dict[str, Any] = {"delta": delta}
    if da is not None:
        if not isinstance(da, ScenarioSet):
            raise InputError("da", type(da).__name__, "must be a ScenarioSet")
        if n is not None and check_count("n", n) != da.n_scenarios:
            raise InputError("n", n, f"differs from da.n_scenarios={da.n_scenarios}")
        check_same_index(["da.time_index", "expected_mwh.index"], [da.time_index, idx])
        lam = da.array(DA_PRICE)
        lam_hat = lam.T @ da.p
        rel = (lam - lam_hat) / np.maximum(np.abs(lam_hat), floor)
        labels, probs = da.scenarios, da.probabilities
        meta["price_source"] = "da scenarios"
    else:
        if n is None:
            raise InputError("n", n, "give the number of scenarios or da")
        n = check_count("n", n)
        sd = _nonneg_scalar("price_rel_sd", price_rel_sd)
        rel = sd * as_generator(seed).standard_normal((n, len(idx)))
        labels = scenario_labels(n)
        probs = pd.Series(np.full(n, 1.0 / n), index=labels, name="probability")
        meta["price_source"] = f"N(0, {sd}^2) relative deviation"
    raw = e_hat[None, :] * (1.0 + delta * rel)
    meta["clipped"] = int(np.sum(raw < 0))
    frame = pd.DataFrame(np.maximum(raw, 0.0).T, index=idx, columns=labels)
    return ScenarioSet({EV_DEMAND: frame}, probs, meta)


def _nonneg_scalar(field: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(field, value, "must be a number >= 0") from None
    if not np.isfinite(x) or x < 0:
        raise InputError(field, value, "must be a finite number >= 0")
    return x
