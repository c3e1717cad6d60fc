"""What an EV aggregator's uncontrolled charging does to a distribution feeder for one day.

Case: IEEE 33-bus feeder (pandapower ``case33bw``), base loads shaped over the day by the
microgrid load profile of seed 003 Table A1 (each bus's base load scaled by
P_load(t) / max_t P_load(t), DESIGN.md's default), energy priced at the real NL
day-ahead price of the day, and an aggregator whose vehicles charge uncontrolled at one
bus. The study answers three questions:

1. the feeder's nodal prices, voltages and losses without the EVs;
2. the largest fleet whose uncontrolled charging the feeder hosts within the voltage
   band: one SOCP, max n subject to the DistFlow model with n times the per-vehicle
   charging profile withdrawn at the EV bus;
3. what that fleet does to DLMPs, voltages and losses.

Every OPF is verified (relaxation gap, AC power flow) by :mod:`evagg.grid`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evagg._checks import check_positive_scalar
from evagg.data import load_microgrid_day, load_nl_day_ahead_prices
from evagg.errors import InputError
from evagg.grid import DistFlowModel, DistFlowOptions, Feeder, OPFResult
from evagg.report.grid import write_opf_outputs
from evagg.studies.scenario_day import expected_fleet_demand_mwh

__all__ = ["HOSTING_WEIGHT_EUR_PER_VEHICLE", "EVGridDaySummary", "daily_load_scale", "run"]

HOSTING_WEIGHT_EUR_PER_VEHICLE = 100.0
"""Objective weight of one hosted vehicle [EUR]; ≫ a vehicle's daily energy cost (~1 EUR)."""


@dataclass(frozen=True)
class EVGridDaySummary:
    """Numbers of the EV grid-impact day (all prices in EUR/MWh, voltages in pu)."""

    date: str
    ev_bus: int
    kwh_per_vehicle_day: float
    hosting_vehicles: float
    binding_bus: int
    binding_time: str
    min_v_pu_base: float
    min_v_pu_ev: float
    max_dlmp_ev_bus_base: float
    max_dlmp_ev_bus_ev: float
    mean_dlmp_ev_bus_base: float
    mean_dlmp_ev_bus_ev: float
    losses_mwh_base: float
    losses_mwh_ev: float
    cost_eur_base: float
    cost_eur_ev: float
    max_relaxation_gap_rel: float
    max_ac_dv_pu: float
    timings_s: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def daily_load_scale(index: pd.DatetimeIndex) -> np.ndarray:
    """Per-slot load factor P_load(h) / max P_load from seed 003 Table A1 [-].

    Table A1's 96 quarter-hours are averaged to hours of the day and mapped onto
    ``index`` by local hour (so 23/25-hour days reuse or skip an hour).
    """
    day = load_microgrid_day()
    hourly = day["load_p_kw"].groupby(pd.DatetimeIndex(day.index).hour).mean()
    return (hourly / hourly.max()).reindex(pd.DatetimeIndex(index).hour).to_numpy(float)


def run(
    date: str = "2024-06-12",
    out_dir: str | Path = "evagg-out/ev_grid",
    *,
    ev_bus: int = 17,
    v_min_pu: float = 0.95,
    v_max_pu: float = 1.05,
    v_slack_max_pu: float = 1.05,
    max_vehicles: int = 5000,
    seed: int = 0,
    prices: pd.Series | None = None,
) -> EVGridDaySummary:
    """Run the EV grid-impact day and write tables and figures to ``out_dir``.

    Parameters
    ----------
    date
        Local market day (bundled NL prices).
    out_dir
        Output folder; ``base/`` and ``ev/`` hold the two OPF results
        (:func:`evagg.report.grid.write_opf_outputs`), plus ``ev_impact.png``.
    ev_bus
        pandapower bus index of the aggregator's vehicles (17 is the far end of the main
        feeder, "bus 18" in Baran–Wu's 1-based numbering).
    v_min_pu, v_max_pu
        Voltage band of the load buses [pu].
    v_slack_max_pu
        The substation voltage may rise from 1.0 up to this value [pu] (with a pinned
        1.0 pu the base case is already infeasible: DESIGN.md).
    max_vehicles
        Upper bound of the hosting-capacity search [vehicles].
    seed
        Seed of the synthetic fleet that gives the per-vehicle charging profile.
    prices
        Hourly day-ahead prices to use instead of the bundled NL series.

    Returns
    -------
    EVGridDaySummary
    """
    check_positive_scalar("max_vehicles", max_vehicles)
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        start = pd.Timestamp(date)
    except (TypeError, ValueError):
        raise InputError("date", date, "not a date (use YYYY-MM-DD)") from None
    if prices is None:
        series = load_nl_day_ahead_prices(start, start + pd.Timedelta(days=1))
    else:
        tz = getattr(prices.index, "tz", None)
        if tz is None:
            raise InputError("prices.index", str(prices.index[:1]), "must be tz-aware")
        lo_t = start.tz_localize(tz)
        series = prices.loc[(prices.index >= lo_t) & (prices.index < lo_t + pd.Timedelta(days=1))]
        if series.empty:
            raise InputError("date", date, "no prices on that day in the given series")
    day_index = pd.DatetimeIndex(series.index)
    # Per-vehicle uncontrolled charging [MW per vehicle] from 1000 synthetic EVs.
    n_ref = 1000
    per_vehicle_mw = (
        expected_fleet_demand_mwh(date, n_vehicles=n_ref, seed=seed, tz=str(day_index.tz))
        .reindex(day_index)
        .to_numpy(float)
        / n_ref
    )
    if not np.all(np.isfinite(per_vehicle_mw)):
        raise InputError("prices.index", str(day_index[0]), "does not match the fleet's day")
    timings["data_s"] = time.perf_counter() - t_all

    feeder = Feeder.from_pandapower()
    if ev_bus not in set(feeder.bus_index):
        raise InputError("ev_bus", ev_bus, f"not a bus of case33bw {list(feeder.bus_index)}")
    k = list(feeder.bus_index).index(ev_bus)
    scale = daily_load_scale(day_index)
    p_base = np.outer(feeder.p_load_mw, scale)
    q_base = np.outer(feeder.q_load_mvar, scale)
    options = DistFlowOptions(
        v_min_pu=v_min_pu, v_max_pu=v_max_pu, v_slack_min_pu=1.0, v_slack_max_pu=v_slack_max_pu
    )
    price = series.to_numpy(float)

    def opf(n_vehicles: float) -> OPFResult:
        model = DistFlowModel(feeder, len(day_index), 1.0, options, day_index)
        p = p_base.copy()
        p[k] += n_vehicles * per_vehicle_mw
        model.set_loads(p, q_base)
        model.set_price(price)
        return model.solve()

    t = time.perf_counter()
    base = opf(0.0)
    timings["base_opf_s"] = time.perf_counter() - t

    # Hosting capacity as one SOCP: max n s.t. DistFlow with n·(per-vehicle profile) at
    # ev_bus. The weight makes n lexicographically first (a vehicle is worth far more
    # than its energy cost), so n* is the largest fleet within the voltage band.
    t = time.perf_counter()
    host = DistFlowModel(feeder, len(day_index), 1.0, options, day_index)
    n_var = cp.Variable(nonneg=True, name="n_vehicles")
    host.add_injection(-host.bus_selector([ev_bus]) @ (n_var * per_vehicle_mw[None, :]))
    host.add_constraints([n_var <= float(max_vehicles)])
    host.add_cost(-HOSTING_WEIGHT_EUR_PER_VEHICLE * n_var)
    host.set_loads(p_base, q_base)
    host.set_price(price)
    host_res = host.solve()
    n_host = float(np.asarray(n_var.value).item())
    timings["hosting_s"] = time.perf_counter() - t

    t = time.perf_counter()
    n_ev = int(np.floor(n_host))
    ev = opf(float(n_ev))
    timings["ev_opf_s"] = time.perf_counter() - t

    out = Path(out_dir)
    files = [str(p) for p in write_opf_outputs(base, out / "base")]
    files += [str(p) for p in write_opf_outputs(ev, out / "ev")]
    files.append(
        str(_impact_figure(base, ev, ev_bus, n_ev, series, v_min_pu, out / "ev_impact.png"))
    )
    v_host = host_res.v_pu
    b_pos, t_pos = np.unravel_index(int(np.argmin(v_host.to_numpy())), v_host.shape)
    timings["total_s"] = time.perf_counter() - t_all
    return EVGridDaySummary(
        date=str(start.date()),
        ev_bus=ev_bus,
        kwh_per_vehicle_day=float(per_vehicle_mw.sum() * 1e3),
        hosting_vehicles=n_host,
        binding_bus=int(v_host.index[int(b_pos)]),
        binding_time=str(v_host.columns[int(t_pos)]),
        min_v_pu_base=float(base.v_pu.to_numpy().min()),
        min_v_pu_ev=float(ev.v_pu.to_numpy().min()),
        max_dlmp_ev_bus_base=float(base.dlmp_eur_per_mwh.loc[ev_bus].to_numpy().max()),
        max_dlmp_ev_bus_ev=float(ev.dlmp_eur_per_mwh.loc[ev_bus].to_numpy().max()),
        mean_dlmp_ev_bus_base=float(base.dlmp_eur_per_mwh.loc[ev_bus].to_numpy().mean()),
        mean_dlmp_ev_bus_ev=float(ev.dlmp_eur_per_mwh.loc[ev_bus].to_numpy().mean()),
        losses_mwh_base=float(base.losses_mw.sum()),
        losses_mwh_ev=float(ev.losses_mw.sum()),
        cost_eur_base=base.cost_eur,
        cost_eur_ev=ev.cost_eur,
        max_relaxation_gap_rel=max(r.relaxation_gap_rel for r in (base, host_res, ev)),
        max_ac_dv_pu=max(r.ac_max_dv_pu for r in (base, host_res, ev)),
        timings_s=timings,
        files=files,
    )


def _impact_figure(
    base: OPFResult,
    ev: OPFResult,
    bus: int,
    n_vehicles: int,
    price: pd.Series,
    v_min_pu: float,
    path: Path,
) -> Path:
    """DLMP and voltage at the EV bus over the day, without and with the EVs."""
    hours = [t.strftime("%H:%M") for t in pd.DatetimeIndex(price.index)]
    x = np.arange(len(hours))
    fig = Figure(figsize=(10, 6.5))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.step(x, price.to_numpy(), where="mid", color="grey", label="NL day-ahead (substation)")
    ax1.step(x, base.dlmp_eur_per_mwh.loc[bus], where="mid", label=f"DLMP bus {bus}, no EVs")
    ax1.step(
        x, ev.dlmp_eur_per_mwh.loc[bus], where="mid", label=f"DLMP bus {bus}, {n_vehicles} EVs"
    )
    ax1.set_ylabel("price [EUR/MWh]")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.plot(x, base.v_pu.min(axis=0), label="lowest voltage, no EVs")
    ax2.plot(x, ev.v_pu.min(axis=0), label=f"lowest voltage, {n_vehicles} EVs")
    ax2.axhline(v_min_pu, color="k", ls="--", lw=0.8, label=f"limit {v_min_pu:g} pu")
    ax2.set_ylabel("|V| [pu]")
    ax2.set_xticks(x[::2], hours[::2], rotation=45, fontsize=8)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    fig.suptitle(f"Uncontrolled EV charging at bus {bus} of case33bw (hosting limit)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
