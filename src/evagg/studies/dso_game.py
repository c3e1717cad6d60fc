"""DSO ↔ EV aggregators ↔ users over many days with the points system (seed 000).

Case: IEEE 33-bus feeder (pandapower ``case33bw``) with its base loads shaped by seed 003
Table A1 (as ``evagg grid ev-day``), energy at the real NL day-ahead price of each day,
aggregators with piles and storage at the given buses, and synthetic users (ElaadNL
public-charging arrivals and energies, cars by NL registrations) living on the feeder's
buses. Day d is the market day ``date + d``; users' points accumulate from day to day.
Each day is played to a certified equilibrium (:func:`evagg.dso_game.play_day`).

On the last day the study compares (i) no coordination (nearest station, flat price
C^ref, idle storage, energy at the substation price), (ii) the game without points, (iii)
the game with points (the users' accumulated points), (iv) the centralised social
optimum (:func:`evagg.dso_game.welfare.central_optimum`, same users' assignment as (iii)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, ValidationInfo, field_validator, model_validator

from evagg._checks import build_checked, parse_timestamp
from evagg.data import load_nl_day_ahead_prices
from evagg.dso_game import (
    AggregatorSpec,
    DayOutcome,
    DSOAdapter,
    GameNotConverged,
    GameSetup,
    elasticity_matrix,
    play_day,
    user_costs,
)
from evagg.dso_game.game import expected_loads, one_hot, option_start_slot
from evagg.dso_game.welfare import central_optimum, utility_eur
from evagg.errors import InputError
from evagg.grid import DistFlowOptions, Feeder, load_network
from evagg.points import (
    ChoiceParams,
    PointsRules,
    Trips,
    UserPopulation,
    charging_profiles_kwh,
    draw_trips,
    reservation_band,
    synthesize_users,
)
from evagg.studies.base import (
    StudyConfig,
    Verification,
    write_json,
    write_tables,
    write_verifications,
)
from evagg.studies.ev_grid_day import daily_load_scale

__all__ = ["Config", "DSOGameResult", "demo_step", "run", "write_outputs"]


class Config(StudyConfig):
    """Options of the DSO game study (units in the names)."""

    date: str = "2024-06-12"
    aggregators: tuple[int, ...] = (14, 23, 30)
    days: int = Field(default=30, ge=1, le=366)
    points: bool = True
    network: str = "case33bw"
    n_users: int = Field(default=300, ge=1, le=100_000)
    slot_minutes: int = 15
    seed: int = 0
    c_ref_eur_per_mwh: float = Field(default=300.0, gt=0)
    own_elasticity: float = -0.3
    cross_elasticity: float = 0.05
    n_piles: int = Field(default=20, ge=1)
    pile_kw: float = Field(default=22.0, gt=0)
    storage_kwh: float = 500.0
    storage_kw: float = 250.0
    price_min_eur_per_mwh: float = 0.0
    price_max_eur_per_mwh: float = 600.0
    price_avg_cap_eur_per_mwh: float = 350.0
    fee_min_eur_per_mwh: float = 50.0
    fee_max_eur_per_mwh: float = 400.0
    rt_premium_eur_per_mwh: float = Field(default=20.0, ge=0)
    v_min_pu: float = 0.95
    choice_temperature_eur: float = Field(default=0.5, gt=0)
    step_init: float = Field(default=1.0, gt=0, le=1)
    max_iter: int = Field(default=150, ge=1)
    epsilon_eur: float = Field(default=0.0, ge=0)
    fee_period_minutes: int = 60
    compare: bool = False
    proximal: bool = True
    voltage_penalty_eur_per_pu2h: float = Field(default=0.0, ge=0)
    voltage_penalty_quad_eur_per_pu4h: float = Field(default=2.6e5, ge=0)

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        parse_timestamp("date", v)  # ISO only, in pandas' range
        return v

    @field_validator("slot_minutes", "fee_period_minutes")
    @classmethod
    def _minutes(cls, v: int, info: ValidationInfo) -> int:
        if v not in (15, 30, 60):
            raise InputError(str(info.field_name), v, "must be 15, 30 or 60")
        return v

    @field_validator("aggregators")
    @classmethod
    def _aggs(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or len(set(v)) != len(v):
            raise InputError("aggregators", v, "give one or more distinct bus indices")
        return v

    @model_validator(mode="after")
    def _spec(self) -> Config:
        self.aggregator(self.aggregators[0])  # raises InputError naming field and value
        return self

    @model_validator(mode="after")
    def _voltage_penalty(self) -> Config:
        # the study's OPF always has soft voltage limits; with both penalties at 0 the
        # violation is free and the OPF has no voltage limit at all (no hard fallback)
        lin, quad = self.voltage_penalty_eur_per_pu2h, self.voltage_penalty_quad_eur_per_pu4h
        if not lin + quad > 0:
            raise InputError(
                "voltage_penalty_eur_per_pu2h/voltage_penalty_quad_eur_per_pu4h",
                (lin, quad),
                "at least one must be > 0: the voltage limits are soft, and with both "
                "penalties 0 the OPF would have no voltage limit at all",
            )
        return self

    def aggregator(self, bus: int) -> AggregatorSpec:
        """The aggregator at ``bus`` with this config's piles, storage and price bounds."""
        return build_checked(AggregatorSpec, self, bus=bus)


@dataclass(frozen=True)
class DSOGameResult:
    """Tables of the study; ``summary()`` gives the JSON numbers."""

    config: Config
    days: pd.DataFrame
    trajectory: pd.DataFrame
    prices: pd.DataFrame
    shares: pd.DataFrame
    comparison: pd.DataFrame
    certificate: pd.DataFrame
    verifications: tuple[Verification, ...]
    timings_s: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Key numbers (JSON-able)."""
        last = self.days.iloc[-1]
        out: dict[str, Any] = {
            "date": self.config.date,
            "days": len(self.days),
            "points": self.config.points,
            "aggregators": list(self.config.aggregators),
            "converged_days": int(self.days["converged"].sum()),
            "iterations_last_day": int(last["iterations"]),
            "max_best_response_gap": float(self.days["max_best_response_gap"].max()),
            "epsilon_days": int((self.days["epsilon_eur"] > 0).sum()),
            "max_epsilon_eur": float(self.days["epsilon_eur"].max()),
            "dso_cost_eur_last_day": float(last["dso_cost_eur"]),
            "profits_eur_last_day": {
                str(b): float(last[f"profit_eur_{b}"]) for b in self.config.aggregators
            },
            "user_cost_eur_last_day": float(last["user_cost_eur"]),
            "peak_mw_last_day": float(last["peak_mw"]),
            "v_min_pu_last_day": float(last["v_min_pu"]),
            "min_v_min_pu": float(self.days["v_min_pu"].min()),
            "max_voltage_violation_pu": float(self.days["voltage_violation_pu"].max()),
            "split_fee_periods": int(self.days["split_fee_periods"].sum()),
            "avg_cap_yields": int(self.days["avg_cap_yields"].sum()),
            "fee_yield_periods": int(self.days["fee_yield_periods"].sum()),
            "timings_s": self.timings_s,
        }
        if not self.comparison.empty:
            out["comparison"] = {
                str(r["case"]): {k: _num(v) for k, v in r.items() if k != "case"}
                for r in self.comparison.to_dict("records")
            }
        return out


def _num(v: Any) -> Any:
    return float(v) if isinstance(v, int | float | np.floating | np.integer) else v


# ------------------------------------------------------------------ inputs
def _feeder(network: str) -> Feeder:
    if network == "case33bw":
        return Feeder.from_pandapower()
    return Feeder.from_pandapower(load_network(network))


LOSS_MARGIN_EUR_PER_MWH = 1.0
"""Smallest value of a MWh lost in the lines in any slot under the game's OPF objective
[EUR/MWh] (:func:`loss_weight_eur_per_mwh`)."""


def loss_weight_eur_per_mwh(price_eur_per_mwh: np.ndarray) -> float:
    """Seed 000 §3's loss weight a2 for a day: max(0, m − min_t price_t) [EUR/MWh], m =
    :data:`LOSS_MARGIN_EUR_PER_MWH`.

    With a2 = 0 a negative-price hour pays the DSO for losses, and the OPF lowers
    voltages to burn energy in the lines, down to and past the (soft) voltage limit; the
    DLMPs then price the voltage penalty instead of energy (2024-05-12, substation
    −200 EUR/MWh: DLMP 1409 EUR/MWh at bus 23, and the aggregators' price bounds became
    infeasible). Valuing losses at price_t + a2 ≥ m > 0 in every slot makes losses a
    cost: the objective a1·cost + a2·losses of seed eq. (8) then minimises losses as a
    DSO does, and the SOCP relaxation is exact (no convex–concave repair). The margin
    matters: with a2 = −min_t price_t (m = 0) the cheapest slot's losses were free, the
    relaxation was not exact there and every OPF of the game ran the convex–concave
    repair (2024-06-27, min price −0.07 EUR/MWh: 4.0 s an OPF instead of 0.5 s; the
    day took 228 s in the 30-day run). Days whose prices are all ≥ m keep a2 = 0.
    """
    return float(max(0.0, LOSS_MARGIN_EUR_PER_MWH - float(np.min(price_eur_per_mwh))))


def _day_setup(
    cfg: Config,
    feeder: Feeder,
    users: UserPopulation,
    day: pd.Timestamp,
    points_on: bool,
) -> GameSetup:
    """Grid, prices, aggregators and rules of one market day."""
    prices = load_nl_day_ahead_prices(day, day + pd.Timedelta(days=1))
    per_h = 60 // cfg.slot_minutes
    idx = pd.date_range(prices.index[0], periods=len(prices) * per_h, freq=f"{cfg.slot_minutes}min")
    hourly = prices.to_numpy(float)
    if len(hourly) < 23:
        raise InputError("date", str(day.date()), f"only {len(hourly)} hourly prices in the data")
    price = np.repeat(hourly, per_h)
    scale = np.repeat(daily_load_scale(pd.DatetimeIndex(prices.index)), per_h)
    dt_h = cfg.slot_minutes / 60.0
    options = DistFlowOptions(
        v_min_pu=cfg.v_min_pu,
        v_max_pu=1.05,
        v_slack_min_pu=1.0,
        v_slack_max_pu=1.05,
        soft_voltage=True,
        voltage_penalty_eur_per_pu2h=cfg.voltage_penalty_eur_per_pu2h,
        voltage_penalty_quad_eur_per_pu4h=cfg.voltage_penalty_quad_eur_per_pu4h,
        ac_slots="extremes",
        a2_eur_per_mwh=loss_weight_eur_per_mwh(price),
    )
    dso = DSOAdapter(
        feeder,
        cfg.aggregators,
        np.outer(feeder.p_load_mw, scale),
        np.outer(feeder.q_load_mvar, scale),
        price,
        dt_h,
        idx,
        options,
    )
    specs = tuple(cfg.aggregator(b) for b in cfg.aggregators)
    premium = cfg.rt_premium_eur_per_mwh + 0.2 * np.abs(price)
    return GameSetup(
        dso=dso,
        specs=specs,
        elasticity=elasticity_matrix(len(idx), cfg.own_elasticity, cfg.cross_elasticity),
        c_ref_eur_per_mwh=cfg.c_ref_eur_per_mwh,
        users=users,
        rt_buy_eur_per_mwh=price + premium,
        rt_sell_eur_per_mwh=price - premium,
        off_peak=scale < np.quantile(scale, 0.6),
        rules=PointsRules(),
        choice=ChoiceParams(),
        points_on=points_on,
        choice_temperature_eur=cfg.choice_temperature_eur,
        step_init=cfg.step_init,
        max_iter=cfg.max_iter,
        fee_slots=max(1, cfg.fee_period_minutes // cfg.slot_minutes),
        proximal=cfg.proximal,
        epsilon_eur=cfg.epsilon_eur,
    )


# ------------------------------------------------------------------ welfare
def _case_row(
    case: str,
    setup: GameSetup,
    trips: Trips,
    out: DayOutcome,
) -> dict[str, Any]:
    """DSO cost, profits, user cost, welfare, peak, v_min, losses of a played day."""
    dt = setup.dt_h
    prof = charging_profiles_kwh(trips, setup.users.p_max_kw, setup.n_slots, dt, setup.shifts)
    d0 = _d0(setup, prof, out)
    nonmon = _nonmonetary(setup, trips, prof, out)
    util = sum(
        utility_eur(setup.elasticity, d0[k], setup.c_ref_eur_per_mwh, b.price_eur_per_mwh, dt)
        for k, b in enumerate(out.best_responses)
    )
    rt_wear = sum(
        dt
        * float(
            setup.rt_buy_eur_per_mwh @ b.rt_buy_mw
            - setup.rt_sell_eur_per_mwh @ b.rt_sell_mw
            + s.wear_eur_per_mwh * np.sum(b.charge_mw + b.discharge_mw)
            + s.wear_quad_eur_per_mw2h * np.sum(b.charge_mw**2 + b.discharge_mw**2)
        )
        for b, s in zip(out.best_responses, setup.specs, strict=True)
    )
    row: dict[str, Any] = {
        "case": case,
        "dso_cost_eur": float(out.dso.opf.objective_eur),
        "user_cost_eur": float(
            sum(dt * b.price_eur_per_mwh @ b.demand_mw for b in out.best_responses) + nonmon
        ),
        "welfare_eur": float(util - out.dso.opf.objective_eur - rt_wear - nonmon),
        "peak_mw": out.dso.peak_mw,
        "v_min_pu": out.dso.v_min_pu,
        "voltage_violation_pu": float(out.dso.opf.voltage_violation_pu),
        "losses_mwh": out.dso.losses_mwh,
    }
    for b, s in zip(out.best_responses, setup.specs, strict=True):
        row[f"profit_eur_{s.bus}"] = b.profit_eur
    return row


def _d0(setup: GameSetup, prof: np.ndarray, out: DayOutcome) -> np.ndarray:
    return expected_loads(setup, prof, out.users.probability, out.discount)[0]


def _nonmonetary(setup: GameSetup, trips: Trips, prof: np.ndarray, out: DayOutcome) -> float:
    """Users' expected time, distance and shift costs at their choices [EUR]."""
    prob = out.users.probability
    occ = expected_loads(setup, prof, prob, out.discount)[2]
    zero = np.zeros((setup.k, setup.n_slots))
    cost, pay, _ = user_costs(setup, trips, prof, zero, zero, out.discount, occ, with_points=False)
    return float((prob * (cost - pay)).sum())


def _uncoordinated(setup: GameSetup, trips: Trips) -> dict[str, Any]:
    """(i): nearest station, no shift, flat price C^ref, idle storage, substation price."""
    dt = setup.dt_h
    prof = charging_profiles_kwh(trips, setup.users.p_max_kw, setup.n_slots, dt, setup.shifts)
    opt = np.argmin(setup.distance_km, axis=1) * setup.shifts.size
    d0, _, occ = expected_loads(setup, prof, one_hot(setup, opt), np.ones(opt.size))
    sol = setup.dso.solve(d0)
    zero = np.zeros((setup.k, setup.n_slots))
    ones = np.ones(opt.size)
    cost, pay, _ = user_costs(setup, trips, prof, zero, zero, ones, occ, with_points=False)
    nonmon = float((cost - pay)[np.arange(opt.size), opt].sum())
    util = setup.c_ref_eur_per_mwh * d0.sum() * dt
    row: dict[str, Any] = {
        "case": "i_no_coordination",
        "dso_cost_eur": float(sol.opf.objective_eur),
        "user_cost_eur": float(util + nonmon),
        "welfare_eur": float(util - sol.opf.objective_eur - nonmon),
        "peak_mw": sol.peak_mw,
        "v_min_pu": sol.v_min_pu,
        "voltage_violation_pu": float(sol.opf.voltage_violation_pu),
        "losses_mwh": sol.losses_mwh,
    }
    for k, s in enumerate(setup.specs):
        row[f"profit_eur_{s.bus}"] = float(dt * (setup.c_ref_eur_per_mwh - setup.dso.price) @ d0[k])
    return row


def _central(setup: GameSetup, trips: Trips, out: DayOutcome) -> dict[str, Any]:
    """(iv): the social optimum with (iii)'s assignment."""
    dt = setup.dt_h
    prof = charging_profiles_kwh(trips, setup.users.p_max_kw, setup.n_slots, dt, setup.shifts)
    d0 = _d0(setup, prof, out)
    w, sol, demand = central_optimum(
        setup.dso,
        setup.specs,
        setup.elasticity,
        setup.c_ref_eur_per_mwh,
        d0,
        setup.rt_buy_eur_per_mwh,
        setup.rt_sell_eur_per_mwh,
    )
    nonmon = _nonmonetary(setup, trips, prof, out)
    return {
        "case": "iv_social_optimum",
        "dso_cost_eur": float(sol.opf.cost_eur),
        "user_cost_eur": float("nan"),
        "welfare_eur": w - nonmon,
        "peak_mw": sol.peak_mw,
        "v_min_pu": sol.v_min_pu,
        "voltage_violation_pu": float(sol.opf.voltage_violation_pu),
        "losses_mwh": sol.losses_mwh,
        "demand_mwh": float(demand.sum() * dt),
    }


# --------------------------------------------------------------------- run
def _day_row(
    d: int, day: pd.Timestamp, setup: GameSetup, trips: Trips, out: DayOutcome
) -> dict[str, Any]:
    rec = out.certificate.frame()
    br = rec[rec["check"].str.startswith("best_response_gap")]["value"]
    bands = reservation_band(trips.offset_min, setup.rules)
    row: dict[str, Any] = {
        "day": d,
        "date": str(day.date()),
        "converged": True,
        "iterations": len(out.trajectory),
        "max_best_response_gap": float(br.max()),
        "certificate_holds": bool(out.certificate.holds),
        "epsilon_eur": out.certificate.epsilon_eur,
        "dso_cost_eur": float(out.dso.opf.objective_eur),
        "user_cost_eur": float(out.user_cost_eur.sum()),
        "peak_mw": out.dso.peak_mw,
        "v_min_pu": out.dso.v_min_pu,
        "voltage_violation_pu": float(out.dso.opf.voltage_violation_pu),
        "losses_mwh": out.dso.losses_mwh,
        "split_fee_periods": int(sum(b.split_fee_periods for b in out.best_responses)),
        "avg_cap_yields": int(sum(b.avg_cap_yielded for b in out.best_responses)),
        "fee_yield_periods": int(sum(b.fee_yield_periods for b in out.best_responses)),
        "recommended_share": float(out.recommended.mean()),
        "off_peak_share": float(
            (out.users.probability * setup.off_peak[option_start_slot(setup, trips)]).sum()
            / trips.arrival_slot.size
        ),
        "punctual_share": float(np.mean(bands == "punctual")),
        "mean_discount": float(out.discount.mean()),
        "time_s": out.times_s.get("total_s", 0.0),
    }
    shares = out.users.station_shares(setup.k)
    for k, (b, s) in enumerate(zip(out.best_responses, setup.specs, strict=True)):
        row[f"profit_eur_{s.bus}"] = b.profit_eur
        row[f"share_{s.bus}"] = float(shares[k])
    return row


def _iteration_progress(
    progress: Callable[[str, int, int], None] | None, what: str, done: int, days: int
) -> Callable[[dict[str, float]], None] | None:
    """A day's per-iteration progress: iteration, ΔDLMP, Δload and the users' residual
    (``None`` without ``progress``)."""
    if progress is None:
        return None

    def tick(row: dict[str, float]) -> None:
        progress(
            f"{what}: iteration {int(row['iteration'])}, ΔDLMP "
            f"{row['max_dprice_eur_per_mwh']:.3g} EUR/MWh, Δload {row['max_dload_mw']:.1e} MW, "
            f"users {row['user_residual']:.1e}",
            done,
            days,
        )

    return tick


def run(config: Config, progress: Callable[[str, int, int], None] | None = None) -> DSOGameResult:
    """Play ``config.days`` days, accumulate points, certify each day, compare cases.

    ``progress(description, days_done, days)`` is called before each day, after each of
    its outer iterations (the description then names the iteration, the largest DLMP and
    load changes and the users' residual) and at the end.
    A day that does not converge raises :class:`evagg.dso_game.GameNotConverged` naming
    the day and its date.
    """
    cfg = config
    feeder = _feeder(cfg.network)
    known = set(int(b) for b in feeder.bus_index)
    for b in cfg.aggregators:
        if b not in known:
            raise InputError("aggregators", b, f"not a bus of {cfg.network}")
    users = synthesize_users(cfg.n_users, feeder.bus_index[1:], seed=cfg.seed)
    start = pd.Timestamp(cfg.date)
    points = np.zeros(users.n)
    rows: list[dict[str, Any]] = []
    timings = {"days_s": 0.0}
    out: DayOutcome | None = None
    setup: GameSetup | None = None
    trips: Trips | None = None
    day = start
    for d in range(cfg.days):
        day = start + pd.Timedelta(days=d)
        setup = _day_setup(cfg, feeder, users, day, cfg.points)
        trips = draw_trips(
            users, setup.n_slots, np.random.default_rng([cfg.seed, d]), day.dayofweek >= 5
        )
        what = f"day {d + 1}/{cfg.days} ({day.date()})"
        if progress is not None:
            progress(what, d, cfg.days)
        tick = _iteration_progress(progress, what, d, cfg.days)
        try:
            out = play_day(setup, trips, points, on_iteration=tick)
        except GameNotConverged as exc:
            failed = GameNotConverged(exc.iterations, exc.trajectory, f"day {d + 1} ({day.date()})")
            failed.days_done = pd.DataFrame(rows)  # the certified days before it
            raise failed from None
        if cfg.points:
            points = points + out.points_earned
        rows.append(_day_row(d, day, setup, trips, out))
        timings["days_s"] += out.times_s["total_s"]
    assert out is not None and setup is not None and trips is not None
    if progress is not None:
        progress("comparison (i)-(iv)" if cfg.compare else "done", cfg.days, cfg.days)
    days = pd.DataFrame(rows)
    comp = pd.DataFrame()
    if cfg.compare:
        case = "(ii) game without points" if cfg.points else "(iii) game with points"
        tick = _iteration_progress(progress, f"comparison {case}", cfg.days, cfg.days)
        comp = _compare(cfg, feeder, users, day, trips, points, out, tick)
    prices = pd.DataFrame(
        {
            **{f"dlmp_{s.bus}": out.dlmp_eur_per_mwh[k] for k, s in enumerate(setup.specs)},
            **{
                f"price_{s.bus}": b.price_eur_per_mwh
                for b, s in zip(out.best_responses, setup.specs, strict=True)
            },
            **{f"net_load_mw_{s.bus}": out.net_load_mw[k] for k, s in enumerate(setup.specs)},
            "substation_price_eur_per_mwh": setup.dso.price,
        },
        index=setup.dso.model.time_index,
    )
    shares = days[["day"] + [f"share_{b}" for b in cfg.aggregators]]
    verifs = [
        Verification(
            r["check"], float(r["value"]), float(r["threshold"]), bool(r["passed"]), "last day"
        )
        for r in out.certificate.frame().to_dict("records")
    ]
    if not comp.empty:
        w = comp.set_index("case")["welfare_eur"]
        key = "iii_game_with_points"
        gap = float(w[key] - w["iv_social_optimum"])
        verifs.append(
            Verification(
                "welfare(game) − welfare(social optimum) [EUR]",
                gap,
                1e-3 * max(1.0, abs(float(w["iv_social_optimum"]))),
                gap <= 1e-3 * max(1.0, abs(float(w["iv_social_optimum"]))),
                "the social optimum is an upper bound",
            )
        )
    return DSOGameResult(
        config=cfg,
        days=days,
        trajectory=out.trajectory,
        prices=prices,
        shares=shares,
        comparison=comp,
        certificate=out.certificate.frame(),
        verifications=tuple(verifs),
        timings_s=timings,
    )


def _compare(
    cfg: Config,
    feeder: Feeder,
    users: UserPopulation,
    day: pd.Timestamp,
    trips: Trips,
    points: np.ndarray,
    out_main: DayOutcome,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
) -> pd.DataFrame:
    rows = []
    off = _day_setup(cfg, feeder, users, day, points_on=False)
    rows.append(_uncoordinated(off, trips))
    out_off = (
        out_main if not cfg.points else play_day(off, trips, points, on_iteration=on_iteration)
    )
    rows.append(_case_row("ii_game_without_points", off, trips, out_off))
    on = _day_setup(cfg, feeder, users, day, points_on=True)
    out_on = out_main if cfg.points else play_day(on, trips, points, on_iteration=on_iteration)
    rows.append(_case_row("iii_game_with_points", on, trips, out_on))
    rows.append(_central(on, trips, out_on))
    comp = pd.DataFrame(rows)
    w = comp.set_index("case")["welfare_eur"]
    # W includes the whole feeder's energy bill, so it is usually negative and a ratio
    # W(iv)/W(iii) would read "< 1"; the loss against the optimum is reported instead, and
    # the price of anarchy only where both welfares are positive
    comp["welfare_loss_vs_optimum_eur"] = float(w["iv_social_optimum"]) - comp["welfare_eur"]
    both_pos = w["iv_social_optimum"] > 0 and w["iii_game_with_points"] > 0
    comp["price_of_anarchy"] = (
        float(w["iv_social_optimum"] / w["iii_game_with_points"]) if both_pos else float("nan")
    )
    return comp


def demo_step(date: str, seed: int = 0) -> DSOGameResult:
    """The demo's game step: one day, points on, 60 users, hourly slots, no comparison."""
    return run(Config(date=date, days=1, n_users=60, slot_minutes=60, seed=seed, compare=False))


def write_outputs(result: DSOGameResult, out_dir: str | Path) -> list[Path]:
    """CSV tables, figures, ``verifications.json`` and ``summary.json``."""
    from evagg.report.dso_game import write_figures

    out = Path(out_dir)
    tables = [
        ("days.csv", result.days, False),
        ("trajectory.csv", result.trajectory, False),
        ("prices.csv", result.prices, True),
        ("shares.csv", result.shares, False),
        ("comparison.csv", result.comparison, False),
        ("certificate.csv", result.certificate, False),
    ]
    # e.g. no comparison was asked for: no empty file
    files = write_tables(out, tables, skip_empty=True)
    files += write_figures(result, out)
    files.append(write_verifications(result.verifications, out))
    files.append(write_json(out / "summary.json", result.summary()))
    return files
