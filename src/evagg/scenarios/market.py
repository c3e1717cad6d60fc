"""Joint market scenarios ω of seed 002: day-ahead, balancing prices and EV demand."""

from __future__ import annotations

from typing import Any

import pandas as pd

from evagg.scenarios._common import SeedLike, as_generator
from evagg.scenarios.balancing import BalancingPremiumModel, balancing_price_scenarios
from evagg.scenarios.demand import ev_demand_scenarios
from evagg.scenarios.prices import PriceModel, day_ahead_price_scenarios
from evagg.scenarios.scenario_set import ScenarioSet

__all__ = ["market_scenarios"]


def market_scenarios(
    prices: pd.Series,
    date: Any,
    expected_demand_mwh: pd.Series,
    n: int = 200,
    seed: SeedLike = None,
    *,
    train_days: int = 28,
    delta: float = 0.2,
    balancing_model: BalancingPremiumModel | None = None,
    price_model: PriceModel | None = None,
    max_gap_hours: int = 0,
) -> ScenarioSet:
    r"""Scenarios ω = {λ^DA, λ^{+,B}, λ^{−,B}, E^D} over one local market day (seed 002 §2.2).

    Day-ahead paths from :func:`day_ahead_price_scenarios`, balancing prices from
    :func:`balancing_price_scenarios` on those paths, EV demand by eq. (1) from the
    same paths (:func:`ev_demand_scenarios` with ``da=``), all equiprobable.

    Parameters
    ----------
    prices
        Hourly day-ahead prices [EUR/MWh], tz-aware; only prices before ``date`` are used.
    date
        Target local market day.
    expected_demand_mwh
        Expected EV demand [MWh per hour] on exactly the day's hourly index (23/24/25
        hours); a different index raises :class:`evagg.MisalignedIndexError`.
    n
        Number of scenarios (>= 1).
    seed
        Int or ``numpy.random.Generator``; same seed, identical scenarios.
    train_days
        Training window of the price model [days].
    delta
        Δ of eq. (1).
    balancing_model
        Premium model (default :class:`BalancingPremiumModel()`).
    price_model
        A :class:`PriceModel` already fitted for ``date``.
    max_gap_hours
        Longest gap in the training prices filled by interpolation (default: none).

    Returns
    -------
    ScenarioSet
        Quantities ``da_price_eur_per_mwh``, ``pos_bal_price_eur_per_mwh``,
        ``neg_bal_price_eur_per_mwh``, ``ev_demand_mwh``.
    """
    rng = as_generator(seed)
    da = day_ahead_price_scenarios(
        prices, date, n, train_days, seed=rng, model=price_model, max_gap_hours=max_gap_hours
    )
    demand = ev_demand_scenarios(expected_demand_mwh, delta=delta, da=da)
    bal = balancing_price_scenarios(da, balancing_model, seed=rng)
    return bal.merge(demand)
