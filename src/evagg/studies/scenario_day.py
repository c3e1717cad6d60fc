"""Study: market scenarios for one real Dutch market day, reduced, plotted and scored.

Loads the bundled ENTSO-E day-ahead prices for the Netherlands, fits the price model on
the days strictly before the target day, generates joint day-ahead, balancing and EV
demand scenarios (seed 002 §2.2 / §5.1), reduces them by fast forward selection, writes
a fan-chart PNG and long-format CSVs, and scores the scenarios against the realised
prices of that day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from evagg._checks import IsoDate
from evagg.data import load_nl_day_ahead_prices
from evagg.errors import InputError
from evagg.scenarios import (
    DA_PRICE,
    EV_DEMAND,
    ScenarioSet,
    fast_forward_reduction,
    fit_price_model,
    market_scenarios,
    score_scenarios,
)
from evagg.scenarios._common import SeedLike, as_generator, check_count, local_day
from evagg.studies.base import StudyConfig, Verification, check_at_most, write_json

__all__ = [
    "Config",
    "ScenarioDayResult",
    "ScenarioDaySummary",
    "expected_fleet_demand_mwh",
    "run",
    "write_outputs",
]


@dataclass(frozen=True)
class ScenarioDaySummary:
    """Numbers of one scenario-day run.

    Attributes
    ----------
    date
        Target local market day (ISO date).
    n_scenarios, n_reduced, n_hours
        Generated and kept scenarios; hours in the day (23/24/25).
    price_model
        Fitted model label and whether its fit converged (``converged``).
    filled_hours
        Missing training hours filled by interpolation.
    mae_eur_per_mwh, rmse_eur_per_mwh
        Error of the scenario mean day-ahead price vs the realised price [EUR/MWh];
        ``None`` when the realised day is not in the data.
    baseline_mae_eur_per_mwh, baseline_rmse_eur_per_mwh
        Same for the flat mean of the training window (the naive forecast).
    reduced_mae_eur_per_mwh
        Error of the reduced set's probability-weighted mean [EUR/MWh].
    crps_eur_per_mwh, reduced_crps_eur_per_mwh
        Continuous ranked probability score of the full and reduced sets [EUR/MWh];
        comparable with the baseline's MAE (the CRPS of a point forecast is its MAE).
    coverage_5_95
        Share of hours whose realised price lies in the scenarios' 5–95 % band.
    kantorovich_distance
        Of the reduced set to the full set (standardised feature units).
    expected_demand_mwh
        Total expected EV demand of the day [MWh] and its source (``demand_source``).
    timings_s
        Wall time per stage [s].
    """

    date: str
    n_scenarios: int
    n_reduced: int
    n_hours: int
    price_model: str
    converged: bool
    filled_hours: int
    train_start: str
    train_end: str
    mae_eur_per_mwh: float | None
    rmse_eur_per_mwh: float | None
    baseline_mae_eur_per_mwh: float | None
    baseline_rmse_eur_per_mwh: float | None
    reduced_mae_eur_per_mwh: float | None
    crps_eur_per_mwh: float | None
    reduced_crps_eur_per_mwh: float | None
    coverage_5_95: float | None
    kantorovich_distance: float
    expected_demand_mwh: float
    demand_source: str
    timings_s: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON or tables)."""
        return asdict(self)


def expected_fleet_demand_mwh(
    date: Any,
    n_vehicles: int = 1000,
    replicas: int = 5,
    seed: SeedLike = 0,
    tz: str = "Europe/Amsterdam",
) -> pd.Series:
    r"""Expected hourly EV demand of a synthetic fleet on ``date`` [MWh per hour].

    Uncontrolled charging (every vehicle charges at full power on arrival,
    ``evagg.fleet.Fleet.uncontrolled_load_kw``) of ``replicas`` independent synthetic
    fleets of ``n_vehicles`` each, averaged:
    :math:`\hat E^D_t = \frac{1}{R}\sum_r P_{r,t}\,[\mathrm{kW}] \cdot 1\,\mathrm{h} / 1000`.
    Each fleet is simulated from 7 days before ``date`` so that the day starts with
    vehicles already plugged in.
    """
    from evagg.fleet import synthesize_fleet

    n_vehicles = check_count("n_vehicles", n_vehicles)
    replicas = check_count("replicas", replicas)
    start, end = local_day("date", date, tz)
    warm = (start.tz_localize(None) - pd.Timedelta(days=7)).tz_localize(tz)
    fleet = synthesize_fleet(
        n_vehicles * replicas, 8, start=warm, step="1h", seed=as_generator(seed), tz=tz
    )
    load_kw = fleet.uncontrolled_load_kw("1h")
    day = load_kw.loc[(load_kw.index >= start) & (load_kw.index < end)]
    # the fleet's load comes from differences of cumulative sums: remove round-off
    # negatives (~1e-12 kW), nothing else is changed
    tol = 1e-9 * max(float(day.abs().max()), 1.0)
    if float(day.min()) < -tol:
        raise InputError("fleet load", float(day.min()), "negative uncontrolled load")
    return (day.clip(lower=0.0) / replicas / 1000.0).rename(EV_DEMAND)


class Config(StudyConfig):
    """Scenario day: market scenarios for one real NL day, reduced and scored (seed 002 §5.1)."""

    date: IsoDate = Field(
        default="2024-06-12", description="Local market day YYYY-MM-DD (NL prices)."
    )
    n: int = Field(default=200, ge=1, description="Scenarios generated (seed 002 §5.1: 200).")
    reduce_to: int = Field(
        default=10, ge=1, description="Scenarios kept by fast forward selection."
    )
    seed: int = Field(default=0, description="Seed of the fleet and the scenarios.")
    n_vehicles: int = Field(
        default=1000, ge=1, description="Synthetic fleet size for the EV demand."
    )
    train_days: int = Field(
        default=28, ge=1, description="Training window of the price model [days]."
    )
    max_gap_hours: int = Field(default=2, ge=0, description="Longest price gap interpolated [h].")

    @model_validator(mode="after")
    def _reduce_within_n(self) -> Config:
        if self.reduce_to > self.n:
            raise InputError(
                "reduce_to", self.reduce_to, f"exceeds the number of scenarios n={self.n}"
            )
        return self


@dataclass(frozen=True)
class ScenarioDayResult:
    """Scenario sets of the day, realised prices and scores (:class:`ScenarioDaySummary`)."""

    config: Config
    scenarios: ScenarioSet
    reduced: ScenarioSet
    realised: pd.Series | None
    stats: ScenarioDaySummary
    case: str = "NL day-ahead market"

    def summary(self) -> dict[str, Any]:
        """JSON-able key numbers."""
        return asdict(self.stats)

    @property
    def verifications(self) -> list[Verification]:
        """Probabilities of the reduced set sum to one; the price model converged."""
        return [
            check_at_most(
                "reduced-set probabilities sum to 1 (|Σp − 1|)",
                abs(float(self.reduced.p.sum()) - 1.0),
                1e-9,
                "fast forward selection redistributes removed mass to kept scenarios",
            ),
            Verification(
                "price model fit converged",
                float(self.stats.converged),
                1.0,
                self.stats.converged,
                f"{self.stats.price_model}, trained {self.stats.train_start} .. "
                f"{self.stats.train_end}",
            ),
        ]


Progress = Callable[[str], None]


def run(
    config: Config,
    *,
    prices: pd.Series | None = None,
    expected_demand_mwh: pd.Series | None = None,
    progress: Progress | None = None,
) -> ScenarioDayResult:
    """Generate, reduce and score market scenarios for one real market day (no files).

    Parameters
    ----------
    config
        Study settings (:class:`Config`): the day needs ``train_days`` of bundled prices
        before it (data: 2015-01-01 .. 2025-01-07, Europe/Amsterdam).
    prices
        Hourly day-ahead prices to use instead of the bundled NL series.
    expected_demand_mwh
        Expected EV demand [MWh per hour] on the day's hourly index; by default
        :func:`expected_fleet_demand_mwh` of ``config.n_vehicles`` vehicles.
    progress
        Called with the name of each stage as it starts.

    Returns
    -------
    ScenarioDayResult
    """
    cfg = config
    n = check_count("n", cfg.n)
    reduce_to = check_count("reduce_to", cfg.reduce_to)
    say = progress or (lambda _stage: None)
    rng = as_generator(cfg.seed)
    t_all = time.perf_counter()
    timings: dict[str, float] = {}

    say("loading prices")
    t = time.perf_counter()
    if prices is None:
        prices = load_nl_day_ahead_prices()
    tz = prices.index.tz if isinstance(prices.index, pd.DatetimeIndex) else None
    if tz is None:
        raise InputError("prices.index", type(prices.index).__name__, "must be tz-aware")
    start, end = local_day("date", cfg.date, tz)
    iso = str(start.date())
    if expected_demand_mwh is None:
        expected_demand_mwh = expected_fleet_demand_mwh(
            iso, n_vehicles=cfg.n_vehicles, seed=rng, tz=str(tz)
        )
        demand_source = f"uncontrolled charging, synthetic fleet of {cfg.n_vehicles} EVs"
    else:
        demand_source = "given"
    timings["data_s"] = time.perf_counter() - t

    say("fitting price model")
    t = time.perf_counter()
    model = fit_price_model(prices, iso, cfg.train_days, max_gap_hours=cfg.max_gap_hours)
    timings["fit_s"] = time.perf_counter() - t

    say("simulating scenarios")
    t = time.perf_counter()
    ss = market_scenarios(prices, iso, expected_demand_mwh, n=n, seed=rng, price_model=model)
    timings["generate_s"] = time.perf_counter() - t

    say("reducing")
    t = time.perf_counter()
    red = fast_forward_reduction(ss, reduce_to)
    timings["reduce_s"] = time.perf_counter() - t

    say("scoring")
    t = time.perf_counter()
    realised = prices.loc[(prices.index >= start) & (prices.index < end)]
    have_real = realised.index.equals(ss.time_index)
    train = prices.loc[prices.index.isin(model.train_index)]
    scores: dict[str, float | None] = dict.fromkeys(
        ("mae", "rmse", "crps", "bmae", "brmse", "rmae", "rcrps", "cov"), None
    )
    if have_real:
        full = score_scenarios(ss, DA_PRICE, realised)
        base = float(train.mean()) - realised.to_numpy(dtype=float)
        reduced_score = score_scenarios(red.scenarios, DA_PRICE, realised)
        scores = {
            "mae": full.mae,
            "rmse": full.rmse,
            "crps": full.crps,
            "bmae": float(np.mean(np.abs(base))),
            "brmse": float(np.sqrt(np.mean(base**2))),
            "rmae": reduced_score.mae,
            "rcrps": reduced_score.crps,
            "cov": full.coverage,
        }
    timings["score_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t_all
    stats = ScenarioDaySummary(
        date=iso,
        n_scenarios=n,
        n_reduced=reduce_to,
        n_hours=len(ss.time_index),
        price_model=model.name,
        converged=model.converged,
        filled_hours=model.filled_hours,
        train_start=str(model.train_index[0]),
        train_end=str(model.train_index[-1]),
        mae_eur_per_mwh=scores["mae"],
        rmse_eur_per_mwh=scores["rmse"],
        baseline_mae_eur_per_mwh=scores["bmae"],
        baseline_rmse_eur_per_mwh=scores["brmse"],
        reduced_mae_eur_per_mwh=scores["rmae"],
        crps_eur_per_mwh=scores["crps"],
        reduced_crps_eur_per_mwh=scores["rcrps"],
        coverage_5_95=scores["cov"],
        kantorovich_distance=red.kantorovich_distance,
        expected_demand_mwh=float(expected_demand_mwh.sum()),
        demand_source=demand_source,
        timings_s=timings,
    )
    return ScenarioDayResult(
        config=cfg,
        scenarios=ss,
        reduced=red.scenarios,
        realised=realised if have_real else None,
        stats=stats,
    )


def output_names(date: str) -> dict[str, str]:
    """File names ``write_outputs`` uses for the day ``date`` (fan chart, CSVs)."""
    return {
        "png": f"scenario_day_{date}.png",
        "csv_scenarios": f"scenarios_{date}.csv",
        "csv_reduced": f"scenarios_reduced_{date}.csv",
    }


def write_outputs(result: ScenarioDayResult, out_dir: str | Path) -> list[Path]:
    """Write the fan chart (PNG), all and reduced scenarios (long CSV with probabilities)
    and ``summary.json`` to ``out_dir``; returns the paths."""
    from evagg.report.scenarios import scenario_day_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in output_names(result.stats.date).items()}
    fig = scenario_day_figure(
        result.scenarios, result.reduced, result.realised, result.stats.date, result.case
    )
    fig.savefig(names["png"], dpi=110)
    result.scenarios.to_long().to_csv(names["csv_scenarios"])
    result.reduced.to_long().to_csv(names["csv_reduced"])
    return [*names.values(), write_json(out / "summary.json", result.summary())]
