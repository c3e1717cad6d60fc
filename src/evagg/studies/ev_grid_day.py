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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from evagg._checks import IsoDate, parse_timestamp
from evagg.data import load_microgrid_day, load_nl_day_ahead_prices
from evagg.errors import InputError
from evagg.grid import (
    DistFlowModel,
    DistFlowOptions,
    Feeder,
    OPFResult,
    feeder_from_network,
    hosting_capacity,
)
from evagg.studies.base import StudyConfig, Verification, check_at_most, write_json
from evagg.studies.scenario_day import expected_fleet_demand_mwh

__all__ = [
    "HOSTING_WEIGHT_EUR_PER_VEHICLE",
    "Config",
    "EVGridDayResult",
    "EVGridDaySummary",
    "daily_load_scale",
    "run",
    "write_outputs",
]

CASE = "IEEE 33-bus feeder (case33bw)"
"""Case name in figure titles and the report."""

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
    binding_limit: str = "voltage"


class Config(StudyConfig):
    """EV grid-impact day: hosting capacity and DLMP/voltage/loss impact on case33bw."""

    date: IsoDate = Field(
        default="2024-06-12", description="Local market day YYYY-MM-DD (NL prices)."
    )
    network: str = Field(
        default="case33bw",
        description="Feeder: pandapower.networks name, pandapower JSON file or "
        "simbench:<code>; its base loads follow the Table A1 shape.",
    )
    ev_bus: int = Field(
        default=17, description="pandapower bus of the EVs (17: far end, Baran-Wu 18)."
    )
    v_min_pu: float = Field(
        default=0.95, gt=0, description="Lower voltage limit of load buses [pu]."
    )
    v_max_pu: float = Field(
        default=1.05, gt=0, description="Upper voltage limit of load buses [pu]."
    )
    v_slack_max_pu: float = Field(
        default=1.05, gt=0, description="Highest substation voltage [pu]."
    )
    max_vehicles: int = Field(default=5000, ge=1, description="Upper bound of the hosting search.")
    seed: int = Field(default=0, description="Seed of the synthetic fleet (per-vehicle profile).")


@dataclass(frozen=True)
class EVGridDayResult:
    """The three verified OPFs of the day (no EVs, hosting capacity, hosted fleet)."""

    config: Config
    stats: EVGridDaySummary
    base: OPFResult
    hosting: OPFResult
    ev: OPFResult
    price: pd.Series
    feeder: Feeder
    case: str = CASE

    def summary(self) -> dict[str, Any]:
        """JSON-able key numbers."""
        return asdict(self.stats)

    @property
    def verifications(self) -> list[Verification]:
        """SOCP relaxation gap and AC power-flow agreement of each OPF (checked by evagg.grid;
        a failure there raises :class:`evagg.VerificationError`)."""
        out = []
        for name, r in (
            ("no EVs", self.base),
            ("hosting capacity", self.hosting),
            ("EVs", self.ev),
        ):
            out.append(
                check_at_most(
                    f"SOCP relaxation gap (rel), OPF {name}",
                    r.relaxation_gap_rel,
                    1e-4,
                    "max |P²+Q² − v·l| relative, DistFlow branch flow model",
                )
            )
            out.append(
                check_at_most(
                    f"AC power flow max |ΔV| [pu], OPF {name}",
                    r.ac_max_dv_pu,
                    1e-4,
                    "pandapower AC power flow at the OPF's injections",
                )
            )
        return out


def daily_load_scale(index: pd.DatetimeIndex) -> np.ndarray:
    """Per-slot load factor P_load(h) / max P_load from seed 003 Table A1 [-].

    Table A1's 96 quarter-hours are averaged to hours of the day and mapped onto
    ``index`` by local hour (so 23/25-hour days reuse or skip an hour).
    """
    day = load_microgrid_day()
    hourly = day["load_p_kw"].groupby(pd.DatetimeIndex(day.index).hour).mean()
    return (hourly / hourly.max()).reindex(pd.DatetimeIndex(index).hour).to_numpy(float)


def run(config: Config, *, prices: pd.Series | None = None) -> EVGridDayResult:
    """Run the EV grid-impact day (three verified OPFs); nothing is written.

    Parameters
    ----------
    config
        Study settings (:class:`Config`): the day (bundled NL prices), the EV bus
        (pandapower index; 17 is the far end of the main feeder, "bus 18" in Baran–Wu's
        1-based numbering), the voltage band of the load buses [pu], the highest
        substation voltage [pu] (from 1.0 up to it; with a pinned 1.0 pu the base case
        is already infeasible: DESIGN.md), the upper bound of the hosting-capacity
        search [vehicles] and the seed of the synthetic fleet that gives the
        per-vehicle charging profile.
    prices
        Hourly day-ahead prices to use instead of the bundled NL series.

    Returns
    -------
    EVGridDayResult
    """
    date, ev_bus, seed = config.date, config.ev_bus, config.seed
    v_min_pu, v_max_pu = config.v_min_pu, config.v_max_pu
    v_slack_max_pu, max_vehicles = config.v_slack_max_pu, config.max_vehicles
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    feeder = feeder_from_network(config.network)
    case = CASE if config.network == "case33bw" else f"feeder {config.network}"
    if feeder.bus_alias.get(ev_bus, ev_bus) not in set(feeder.bus_index):
        buses = list(feeder.bus_index)
        raise InputError(
            "ev_bus", ev_bus, f"not a bus of {config.network} ({len(buses)} buses: {buses[:8]}…)"
        )
    k = feeder.load_bus_position(ev_bus, "ev_bus")
    start = parse_timestamp("date", date)
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

    # Hosting capacity as one SOCP (evagg.grid.hosting_capacity)
    t = time.perf_counter()
    hosted = hosting_capacity(
        feeder,
        per_vehicle_mw,
        ev_bus,
        p_load_mw=p_base,
        q_load_mvar=q_base,
        price_eur_per_mwh=price,
        options=options,
        time_index=day_index,
        max_units=float(max_vehicles),
        weight_eur_per_unit=HOSTING_WEIGHT_EUR_PER_VEHICLE,
    )
    host_res, n_host = hosted.opf, hosted.n_units
    timings["hosting_s"] = time.perf_counter() - t

    t = time.perf_counter()
    n_ev = int(np.floor(n_host))
    ev = opf(float(n_ev))
    timings["ev_opf_s"] = time.perf_counter() - t

    v_host = host_res.v_pu
    b_pos, t_min = np.unravel_index(int(np.argmin(v_host.to_numpy())), v_host.shape)
    t_pos = int(t_min)
    limit, rated = "voltage", _rating_use(feeder, host_res)
    if rated is not None and rated[0] > 0.999:  # a branch rating binds, not a voltage
        limit = f"rating of {rated[1]}"
        t_pos = rated[2]
    timings["total_s"] = time.perf_counter() - t_all
    stats = EVGridDaySummary(
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
        binding_limit=limit,
    )
    return EVGridDayResult(
        config=config,
        stats=stats,
        base=base,
        hosting=host_res,
        ev=ev,
        price=series,
        feeder=feeder,
        case=case,
    )


def _rating_use(feeder: Feeder, res: OPFResult) -> tuple[float, str, int] | None:
    """Largest sending-end |S|/(V·S̄) over rated branches and slots: (use, branch, slot)."""
    rated = np.flatnonzero(np.isfinite(feeder.s_max_pu))
    if not rated.size:
        return None
    s_mva = np.hypot(res.p_branch_mw.to_numpy(), res.q_branch_mvar.to_numpy())[rated]
    v_from = res.v_pu.loc[feeder.bus_index].to_numpy()[feeder.from_bus[rated]]
    use = s_mva / v_from / (feeder.s_max_pu[rated, None] * feeder.s_base_mva)
    k, t = np.unravel_index(int(np.argmax(use)), use.shape)
    return float(use[k, t]), str(res.p_branch_mw.index[rated[k]]), int(t)


def write_outputs(result: EVGridDayResult, out_dir: str | Path) -> list[Path]:
    """Write ``base/`` and ``ev/`` (each OPF's tables and figures,
    :func:`evagg.report.grid.write_opf_outputs`), ``ev_impact.png`` and ``summary.json``."""
    from evagg.report.grid import ev_impact_figure, write_opf_outputs

    out = Path(out_dir)
    s = result.stats
    date = s.date
    case = result.case
    files = write_opf_outputs(result.base, out / "base", result.feeder, f"{case}, no EVs", date)
    files += write_opf_outputs(
        result.ev, out / "ev", result.feeder, f"{case}, {int(s.hosting_vehicles)} EVs", date
    )
    fig = ev_impact_figure(
        result.base,
        result.ev,
        s.ev_bus,
        int(np.floor(s.hosting_vehicles)),
        result.price,
        result.config.v_min_pu,
        case,
    )
    fig.savefig(out / "ev_impact.png", dpi=120)
    files.append(out / "ev_impact.png")
    files.append(write_json(out / "summary.json", result.summary()))
    return files
