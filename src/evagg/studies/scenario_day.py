"""Study: market scenarios for one real Dutch market day, reduced, plotted and scored.

Loads the bundled ENTSO-E day-ahead prices for the Netherlands, fits the price model on
the days strictly before the target day, generates joint day-ahead, balancing and EV
demand scenarios (seed 002 §2.2 / §5.1), reduces them by fast forward selection, writes
a fan-chart PNG and long-format CSVs, and scores the scenarios against the realised
prices of that day.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evagg.data import load_nl_day_ahead_prices
from evagg.errors import InputError
from evagg.scenarios import (
    DA_PRICE,
    EV_DEMAND,
    NEG_BAL_PRICE,
    POS_BAL_PRICE,
    ScenarioSet,
    fast_forward_reduction,
    fit_price_model,
    market_scenarios,
    plot_fan_chart,
    score_scenarios,
)
from evagg.scenarios._common import SeedLike, as_generator, check_count, local_day

__all__ = ["ScenarioDaySummary", "expected_fleet_demand_mwh", "run"]


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
    png, csv_scenarios, csv_reduced
        Written files.
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
    png: str = ""
    csv_scenarios: str = ""
    csv_reduced: str = ""

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


def _progress(enabled: bool) -> AbstractContextManager[Any]:
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True
    )


def _figure(ss: ScenarioSet, reduced: ScenarioSet, realised: pd.Series | None, date: str) -> Figure:
    fig = Figure(figsize=(13, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    titles = {
        DA_PRICE: f"Day-ahead price NL {date} [EUR/MWh]",
        POS_BAL_PRICE: "Positive balancing price [EUR/MWh]",
        NEG_BAL_PRICE: "Negative balancing price [EUR/MWh]",
        EV_DEMAND: "EV demand [MWh/h]",
    }
    for ax, q in zip(axes.ravel(), titles, strict=True):
        plot_fan_chart(
            ss, q, realised if q == DA_PRICE else None, ax=ax, reduced=reduced, title=titles[q]
        )
    return fig


def run(
    date: Any,
    n: int = 200,
    reduce_to: int = 10,
    out_dir: str | Path = "evagg-out",
    seed: SeedLike = 0,
    progress: bool = True,
    *,
    expected_demand_mwh: pd.Series | None = None,
    n_vehicles: int = 1000,
    train_days: int = 28,
    prices: pd.Series | None = None,
    max_gap_hours: int = 2,
) -> ScenarioDaySummary:
    """Generate, reduce, plot and score market scenarios for one real market day.

    Parameters
    ----------
    date
        Local market day ``"YYYY-MM-DD"``; needs ``train_days`` of bundled prices before
        it (data: 2015-01-01 .. 2025-01-07, Europe/Amsterdam).
    n
        Scenarios generated (default 200, as seed 002 §5.1).
    reduce_to
        Scenarios kept by fast forward selection (seed 002 keeps 7; default 10).
    out_dir
        Folder for ``scenario_day_<date>.png``, ``scenarios_<date>.csv`` (all scenarios)
        and ``scenarios_reduced_<date>.csv`` (long format: time, scenario, one column
        per quantity, probability). Created if missing.
    seed
        Seed of the fleet and the scenarios; same seed, same files.
    progress
        Show a rich progress bar.
    expected_demand_mwh
        Expected EV demand [MWh per hour] on the day's hourly index; by default
        :func:`expected_fleet_demand_mwh` of ``n_vehicles`` vehicles.
    n_vehicles
        Fleet size for the default expected demand.
    train_days
        Training window of the price model [days].
    prices
        Hourly day-ahead prices to use instead of the bundled NL series.
    max_gap_hours
        Longest gap in the training prices filled by linear interpolation (default 2:
        the bundled series lacks two single hours, 2023-12-31 00:00 and 2024-12-31
        00:00); the number filled is reported as ``filled_hours``.

    Returns
    -------
    ScenarioDaySummary
    """
    n = check_count("n", n)
    reduce_to = check_count("reduce_to", reduce_to)
    if reduce_to > n:
        raise InputError("reduce_to", reduce_to, f"exceeds the number of scenarios n={n}")
    rng = as_generator(seed)
    out = Path(out_dir)
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    with _progress(progress) as bar:
        task = bar.add_task("scenario day", total=6) if bar is not None else None

        def step(desc: str) -> None:
            if bar is not None and task is not None:
                bar.update(task, advance=1, description=desc)

        if bar is not None and task is not None:
            bar.update(task, description="loading prices")
        t = time.perf_counter()
        if prices is None:
            prices = load_nl_day_ahead_prices()
        tz = prices.index.tz if isinstance(prices.index, pd.DatetimeIndex) else None
        if tz is None:
            raise InputError("prices.index", type(prices.index).__name__, "must be tz-aware")
        start, end = local_day("date", date, tz)
        iso = str(start.date())
        if expected_demand_mwh is None:
            expected_demand_mwh = expected_fleet_demand_mwh(
                iso, n_vehicles=n_vehicles, seed=rng, tz=str(tz)
            )
            demand_source = f"uncontrolled charging, synthetic fleet of {n_vehicles} EVs"
        else:
            demand_source = "given"
        timings["data_s"] = time.perf_counter() - t
        step("fitting price model")

        t = time.perf_counter()
        model = fit_price_model(prices, iso, train_days, max_gap_hours=max_gap_hours)
        timings["fit_s"] = time.perf_counter() - t
        step("simulating scenarios")

        t = time.perf_counter()
        ss = market_scenarios(prices, iso, expected_demand_mwh, n=n, seed=rng, price_model=model)
        timings["generate_s"] = time.perf_counter() - t
        step("reducing")

        t = time.perf_counter()
        red = fast_forward_reduction(ss, reduce_to)
        timings["reduce_s"] = time.perf_counter() - t
        step("scoring and plotting")

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
            scores = {
                "mae": full.mae,
                "rmse": full.rmse,
                "crps": full.crps,
                "bmae": float(np.mean(np.abs(base))),
                "brmse": float(np.sqrt(np.mean(base**2))),
                "rmae": score_scenarios(red.scenarios, DA_PRICE, realised).mae,
                "rcrps": score_scenarios(red.scenarios, DA_PRICE, realised).crps,
                "cov": full.coverage,
            }
        out.mkdir(parents=True, exist_ok=True)
        png = out / f"scenario_day_{iso}.png"
        fig = _figure(ss, red.scenarios, realised if have_real else None, iso)
        fig.savefig(png, dpi=110)
        timings["plot_s"] = time.perf_counter() - t
        step("writing CSV")

        t = time.perf_counter()
        csv_all = out / f"scenarios_{iso}.csv"
        csv_red = out / f"scenarios_reduced_{iso}.csv"
        ss.to_long().to_csv(csv_all)
        red.scenarios.to_long().to_csv(csv_red)
        timings["csv_s"] = time.perf_counter() - t
        step("done")
    timings["total_s"] = time.perf_counter() - t_all
    return ScenarioDaySummary(
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
        png=str(png),
        csv_scenarios=str(csv_all),
        csv_reduced=str(csv_red),
    )
