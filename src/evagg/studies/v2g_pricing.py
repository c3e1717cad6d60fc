"""V2G contract pricing for one NL market day (seed 001): prices, V2G dispatch, real time.

An aggregator serves a synthetic ElaadNL fleet whose users are on ordinary or V2G
contracts. Day ahead, on a price forecast made the day before, it sets hourly charging
prices (the leader–follower game, one certified MILP, :mod:`evagg.v2g_pricing.pricing`)
and schedules the V2G vehicles (stage 2). The day then meets the realised NL day-ahead
prices (the bundled data hold no NL real-time prices: the realised day-ahead price is the
price the aggregator settles at, the forecast is what it planned on). Three real-time
strategies for the V2G fleet are compared: hold the day-ahead plan, rolling
re-optimisation as each hour's price is revealed, and perfect foresight; the loss of a
strategy is perfect-foresight profit minus its profit. Users' costs are compared with a
flat tariff at the price cap.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from evagg._checks import IsoDate, build_checked
from evagg.data import load_nl_day_ahead_prices
from evagg.errors import InputError
from evagg.fleet import synthesize_fleet
from evagg.scenarios._common import local_day
from evagg.studies.base import StudyConfig, Verification, check_at_most, write_json
from evagg.v2g_pricing import (
    DayForecast,
    Schedule,
    Tariff,
    V2GDispatch,
    build_pricing,
    follower_response,
    group_users,
    leader_profit_eur,
    point_forecast,
    settle_eur,
    solve_pricing,
    users_from_fleet,
    validate_users,
)

__all__ = [
    "MISSING_HOUR_MESSAGE",
    "STRATEGIES",
    "Config",
    "DaySettings",
    "V2GPricingResult",
    "backtest_day",
    "data_range",
    "demo_step",
    "run",
    "write_outputs",
]

STRATEGIES = ("hold", "rolling", "perfect_foresight")
MISSING_HOUR_MESSAGE = "the bundled ENTSO-E NL series has no price for"
"""Start of the error of a day whose price hour is missing (2023-12-31, 2024-12-31)."""
TZ = "Europe/Amsterdam"
_TOL = 1e-6


class DaySettings(StudyConfig):
    """The settings of a V2G-pricing day other than its date and seed (fleet, tariff,
    forecast); shared by the one-day study and the backtest."""

    fleet_size: int = Field(default=200, ge=1, le=5000, description="Vehicles in the fleet.")
    v2g_share: float = Field(default=0.3, ge=0, le=1, description="Share on V2G contracts.")
    n_classes: int = Field(default=6, ge=1, le=30, description="Follower classes per contract.")
    price_min_eur_per_kwh: float = Field(default=0.10, description="Lowest hourly price.")
    price_max_eur_per_kwh: float = Field(default=0.60, description="Highest hourly price.")
    price_cap_eur_per_kwh: float = Field(default=0.30, description="Average-price cap.")
    cap_mode: Literal["time", "energy"] = Field(
        default="time", description="'time': mean hourly price; 'energy': per class paid."
    )
    compensation_eur_per_kwh: float = Field(default=0.05, description="Paid per kWh discharged.")
    degradation_eur_per_kwh: float = Field(default=0.02, description="User's wear per kWh.")
    soc_min_pu: float = Field(default=0.2, ge=0, le=1, description="V2G discharge floor.")
    forecast: Literal["sarimax", "weekly_profile"] = Field(
        default="sarimax", description="Day-ahead price forecast the plan is made on."
    )
    train_days: int = Field(default=28, ge=7, le=365, description="SARIMAX training days.")
    error_persistence: float = Field(
        default=0.8, ge=0, le=1, description="Rolling: decay per hour of a revealed error."
    )

    @model_validator(mode="after")
    def _tariff(self) -> Any:
        self.tariff()  # raises InputError naming the field and value
        return self

    def tariff(self) -> Tariff:
        """The contract terms as a :class:`evagg.v2g_pricing.Tariff`."""
        return build_checked(Tariff, self)

    def day_config(self, day: dt.date | str, seed: int) -> Config:
        """The one-day :class:`Config` of ``day`` with these settings and ``seed``."""
        keys = DaySettings.model_fields
        return Config(date=str(day), seed=int(seed), **{k: getattr(self, k) for k in keys})


class Config(DaySettings):
    """V2G contract pricing day: leader–follower prices, V2G dispatch, real-time strategies."""

    date: IsoDate = Field(default="2024-06-12", description="Local market day (NL prices).")
    seed: int = Field(default=0, ge=0, description="Seed of fleet, contracts and grouping.")


@dataclass(frozen=True)
class V2GPricingResult:
    """Everything of the day (tables; no file written).

    Attributes
    ----------
    hourly
        Per hour: realised and forecast price [EUR/MWh], price to users [EUR/kWh],
        ordinary and V2G users' purchased energy [kWh], V2G fleet net grid energy per
        strategy and in the day-ahead plan [kWh].
    strategies
        Per strategy (hold, rolling, perfect foresight, no V2G): V2G fleet cost, profit
        and loss vs perfect foresight [EUR], discharged energy [kWh].
    users
        Per contract: users, energy [kWh], cost at the game's prices and at the flat
        tariff [EUR], V2G compensation and degradation [EUR] (rolling dispatch).
    classes
        Follower classes with their grouping error.
    binding_bigm
        Big-M constraints active at the MILP solution.
    soc
        V2G fleet energy in the batteries per hour and strategy [kWh].
    checks
        Verification records.
    numbers
        Headline numbers (also in :meth:`summary`).
    """

    config: Config
    hourly: pd.DataFrame
    strategies: pd.DataFrame
    users: pd.DataFrame
    classes: pd.DataFrame
    binding_bigm: pd.DataFrame
    soc: pd.DataFrame
    checks: tuple[Verification, ...]
    numbers: dict[str, float]

    @property
    def verifications(self) -> list[Verification]:
        """Certificates, strong duality, grouping, energy needs, SOC bounds."""
        return list(self.checks)

    def summary(self) -> dict[str, Any]:
        """JSON-able headline numbers."""
        return {"date": self.config.date, **self.numbers}


def data_range(train_days: int = 28) -> tuple[dt.date, dt.date]:
    """First and last local day the bundled prices support (history for the forecast)."""
    idx = load_nl_day_ahead_prices().index
    first = (idx[0] + pd.Timedelta(days=train_days + 1)).date()
    last = (idx[-1] - pd.Timedelta(hours=23)).date()
    return first, last


def _day_prices(prices: pd.Series, date: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Hours of the local day and their realised prices; a missing hour is an error."""
    start, end = local_day("date", date, TZ)
    hours = pd.date_range(start, end, freq="1h", inclusive="left", name="time")
    lo, hi = data_range()
    if not lo <= start.date() <= hi:
        raise InputError("date", date, f"outside the bundled NL prices with history ({lo} .. {hi})")
    realised = prices.reindex(hours)
    if realised.isna().any():
        miss = [str(t) for t in hours[realised.isna().to_numpy()]]
        raise InputError(
            "date",
            date,
            f"{MISSING_HOUR_MESSAGE} {', '.join(miss)} (a gap in the "
            "source): the day cannot be settled; pick another day",
        )
    return hours, realised.to_numpy(float)


def _strategies(
    dispatch: V2GDispatch, forecast: DayForecast, realised: np.ndarray
) -> dict[str, Schedule]:
    return {
        "day_ahead_plan": dispatch.schedule(forecast.values),
        "rolling": dispatch.rolling(forecast.view, realised),
        "perfect_foresight": dispatch.schedule(realised),
    }


def _users_table(
    users: pd.DataFrame, x: np.ndarray, price: np.ndarray, sched: Schedule | None, t: Tariff
) -> pd.DataFrame:
    rows = []
    for contract in ("ordinary", "v2g"):
        m = (users["contract"] == contract).to_numpy()
        dis = float(sched.discharge_kwh.sum()) if (contract == "v2g" and sched) else 0.0
        e = float(users["energy_kwh"].to_numpy()[m].sum())
        rows.append(
            {
                "contract": contract,
                "n_users": int(m.sum()),
                "energy_kwh": e,
                "cost_eur": float((x[m] @ price).sum()),
                "flat_tariff_cost_eur": t.price_cap_eur_per_kwh * e,
                "discharged_kwh": dis,
                "compensation_eur": t.compensation_eur_per_kwh * dis,
                "degradation_eur": t.degradation_eur_per_kwh * dis,
            }
        )
    out = pd.DataFrame(rows).set_index("contract")
    out["net_cost_eur"] = out["cost_eur"] - out["compensation_eur"] + out["degradation_eur"]
    out["saving_vs_flat_eur"] = out["flat_tariff_cost_eur"] - out["net_cost_eur"]
    return out


def _schedule_checks(name: str, dispatch: V2GDispatch, s: Schedule) -> list[Verification]:
    """Every V2G user's need met at departure; battery within its floor and capacity."""
    short = dispatch.e0_kwh + dispatch.need_kwh - s.soc_kwh[:, -1]
    below = dispatch.floor_kwh[:, None] - s.soc_kwh
    above = s.soc_kwh - dispatch.battery_kwh[:, None]
    return [
        check_at_most(
            f"V2G users' energy need met at departure, {name} [kWh short]",
            float(max(short.max(initial=0.0), 0.0)),
            _TOL,
            f"{len(short)} V2G vehicles: battery gain >= efficiency x energy bought",
        ),
        check_at_most(
            f"V2G battery within floor and capacity, {name} [kWh outside]",
            float(max(below.max(initial=0.0), above.max(initial=0.0), 0.0)),
            _TOL,
            "every vehicle, every hour",
        ),
    ]


def _users_of_day(config: Config, day0: pd.Timestamp, n_t: int) -> pd.DataFrame:
    start = (day0.tz_localize(None) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    fleet = synthesize_fleet(config.fleet_size, 3, start=start, seed=config.seed, tz=TZ)
    return validate_users(users_from_fleet(fleet, day0, n_t, config.v2g_share, config.seed), n_t)


def _strategy_table(
    scheds: dict[str, Schedule], x_v2g: np.ndarray, realised: np.ndarray, rho: float, base: float
) -> pd.DataFrame:
    """V2G fleet cost at realised prices per strategy; ``base`` = payments − ordinary cost."""
    cost = {"no_v2g": float(realised @ x_v2g.sum(axis=0)) / 1000.0}
    dis = {"no_v2g": 0.0}
    names = {
        "hold": "day_ahead_plan",
        "rolling": "rolling",
        "perfect_foresight": "perfect_foresight",
    }
    for strategy, key in names.items():
        s = scheds.get(key)
        cost[strategy] = settle_eur(s, realised, rho) if s is not None else cost["no_v2g"]
        dis[strategy] = float(s.discharge_kwh.sum()) if s is not None else 0.0
    tab = pd.DataFrame({"v2g_fleet_cost_eur": cost, "discharged_kwh": dis})
    tab["profit_eur"] = base - tab["v2g_fleet_cost_eur"]
    best = float(tab["profit_eur"].to_numpy()[list(tab.index).index("perfect_foresight")])
    tab["loss_vs_perfect_foresight_eur"] = best - tab["profit_eur"]
    tab.index.name = "strategy"
    return tab


def run(
    config: Config,
    prices: pd.Series | None = None,
    progress: Any = None,
) -> V2GPricingResult:
    """Run the day (see the module docstring); reads only bundled data, writes nothing.

    Raises
    ------
    InputError
        A day outside the bundled prices (with ``train_days`` of history) or with a
        missing hour (2023-12-31, 2024-12-31: gaps of the ENTSO-E source).
    VerificationError
        A certificate, strong-duality or energy-need check fails.
    """
    say = progress or (lambda _: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    prices = load_nl_day_ahead_prices() if prices is None else prices
    hours, realised = _day_prices(prices, config.date)
    n_t, tariff = len(hours), config.tariff()
    say("price forecast")
    forecast = point_forecast(
        prices, hours, config.forecast, config.train_days, config.error_persistence
    )
    fc = forecast.values
    timings["forecast_s"] = time.perf_counter() - clock
    say("users and follower classes")
    users = _users_of_day(config, hours[0], n_t)
    grouping = group_users(users, config.n_classes, config.seed)
    say("pricing game (MILP)")
    t = time.perf_counter()
    pricing = solve_pricing(build_pricing(grouping.classes, fc, tariff))
    timings["pricing_s"] = time.perf_counter() - t
    lam = pricing.price_eur_per_kwh
    cols = ["start_h", "end_h", "energy_kwh", "p_max_kw"]
    a, b, e, p = (users[c].to_numpy() for c in cols)
    x = follower_response(lam, a, b, e, p, fc)
    is_v2g = (users["contract"] == "v2g").to_numpy()
    say("V2G dispatch: plan, rolling, perfect foresight")
    t = time.perf_counter()
    dispatch = None
    scheds: dict[str, Schedule] = {}
    if is_v2g.any():
        dispatch = V2GDispatch(
            users[is_v2g], n_t, tariff.compensation_eur_per_kwh, config.soc_min_pu
        )
        scheds = _strategies(dispatch, forecast, realised)
    timings["dispatch_s"] = time.perf_counter() - t
    payments = float((x @ lam).sum())
    base = payments - float(realised @ x[~is_v2g].sum(axis=0)) / 1000.0
    strat = _strategy_table(scheds, x[is_v2g], realised, tariff.compensation_eur_per_kwh, base)
    timings["total_s"] = time.perf_counter() - clock
    return _assemble(
        config,
        hours,
        realised,
        fc,
        users,
        x,
        grouping,
        pricing,
        dispatch,
        scheds,
        strat,
        timings,
    )


def _hourly(hours, realised, fc, lam, x, is_v2g, scheds) -> pd.DataFrame:
    hourly = pd.DataFrame(
        {
            "realised_price_eur_per_mwh": realised,
            "forecast_price_eur_per_mwh": fc,
            "price_to_users_eur_per_kwh": lam,
            "ordinary_kwh": x[~is_v2g].sum(axis=0),
            "v2g_users_bought_kwh": x[is_v2g].sum(axis=0),
        },
        index=hours,
    )
    names = {"day_ahead_plan": "plan", "rolling": "rolling", "perfect_foresight": "pf"}
    for key, short in names.items():
        s = scheds.get(key)
        hourly[f"v2g_net_kwh_{short}"] = s.net_kwh if s is not None else 0.0
    return hourly


def _assemble(
    config, hours, realised, fc, users, x, grouping, pricing, dispatch, scheds, strat, timings
) -> V2GPricingResult:
    tariff = config.tariff()
    lam = pricing.price_eur_per_kwh
    is_v2g = (users["contract"] == "v2g").to_numpy()
    users_tab = _users_table(users, x, lam, scheds.get("rolling"), tariff)
    indiv = leader_profit_eur(lam, x, np.ones(len(users)), fc)
    checks = [
        check_at_most(
            "pricing game: follower optimality gap (rel)",
            pricing.certificate_gap,
            _TOL,
            f"{len(grouping.classes)} classes re-solved by scipy HiGHS, prices fixed",
        ),
        check_at_most(
            "pricing game: strong duality residual (rel)",
            pricing.duality_gap,
            _TOL,
            "price x energy = dual objective at the MILP values",
        ),
    ]
    derived = pricing.binding_bigm[pricing.binding_bigm["family"] != "y_upper"]
    checks.append(
        Verification(
            "pricing game: binding derived big-M constraints",
            float(len(derived)),
            float("inf"),
            True,
            "derived bounds are valid by construction; listed in "
            "binding_bigm.csv (a binding y_upper is the charger limit)",
        )
    )
    soc = {}
    if dispatch is not None:
        for key, s in scheds.items():
            checks += _schedule_checks(key, dispatch, s)
            soc[key] = s.soc_kwh.sum(axis=0)
        soc["fleet_floor_kwh"] = np.full(len(hours), dispatch.floor_kwh.sum())
        soc["fleet_capacity_kwh"] = np.full(len(hours), dispatch.battery_kwh.sum())
    loss = strat["loss_vs_perfect_foresight_eur"].to_dict()
    loss_hold, loss_roll = float(loss["hold"]), float(loss["rolling"])
    saving = {k: float(v) for k, v in users_tab["saving_vs_flat_eur"].to_dict().items()}
    plan = scheds.get("day_ahead_plan")
    numbers = {
        "n_hours": len(hours),
        "n_users": len(users),
        "n_v2g_users": int(is_v2g.sum()),
        "n_classes": len(grouping.classes),
        "mean_price_to_users_eur_per_kwh": float(lam.mean()),
        "users_payments_eur": float((x @ lam).sum()),
        "plan_profit_eur_forecast": pricing.profit_eur,
        "plan_profit_eur_users_exact": indiv,
        "grouping_profit_error_rel": abs(pricing.profit_eur - indiv) / max(1.0, abs(indiv)),
        **{f"grouping_{k}": v for k, v in grouping.summary().items()},
        "plan_v2g_arbitrage_eur_forecast": (
            float(fc @ x[is_v2g].sum(axis=0)) / 1000
            - settle_eur(plan, fc, tariff.compensation_eur_per_kwh)
            if plan is not None
            else 0.0
        ),
        **{f"profit_eur_{k}": float(v) for k, v in strat["profit_eur"].items()},
        "loss_eur_hold": loss_hold,
        "loss_eur_rolling": loss_roll,
        "loss_reduction_rolling_vs_hold": (1 - loss_roll / loss_hold)
        if loss_hold > 1e-6
        else float("nan"),
        "users_saving_vs_flat_eur_ordinary": saving["ordinary"],
        "users_saving_vs_flat_eur_v2g": saving["v2g"],
        "v2g_compensation_eur": float(users_tab["compensation_eur"].sum()),
        "unserved_rounding_kwh": float(users["unserved_kwh"].sum()),
        "certificate_gap": pricing.certificate_gap,
        "pricing_solve_s": pricing.info.solve_time_s,
        **{k: float(v) for k, v in timings.items()},
    }
    classes = grouping.classes.join(grouping.errors)
    return V2GPricingResult(
        config=config,
        hourly=_hourly(hours, realised, fc, lam, x, is_v2g, scheds),
        strategies=strat,
        users=users_tab,
        classes=classes,
        binding_bigm=pricing.binding_bigm,
        soc=pd.DataFrame(soc, index=hours),
        checks=tuple(checks),
        numbers=numbers,
    )


def write_outputs(result: V2GPricingResult, out_dir: str | Path) -> list[Path]:
    """Write the tables (CSV), the figures (PNG) and ``summary.json``; returns the paths."""
    from evagg.report.v2g_pricing import day_figures

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "hourly.csv": result.hourly,
        "strategies.csv": result.strategies,
        "users_by_contract.csv": result.users,
        "classes.csv": result.classes,
        "soc_kwh.csv": result.soc,
    }
    files = []
    for name, frame in tables.items():
        frame.to_csv(out / name)
        files.append(out / name)
    result.binding_bigm.to_csv(out / "binding_bigm.csv", index=False)
    files.append(out / "binding_bigm.csv")
    case = f"{result.numbers['n_users']} user-days, {result.config.v2g_share:.0%} V2G"
    for name, fig in day_figures(result, case).items():
        fig.savefig(out / name, dpi=120)
        files.append(out / name)
    files.append(write_json(out / "summary.json", result.summary()))
    return files


BACKTEST_COLUMNS = (
    "n_hours",
    "n_users",
    "n_v2g_users",
    "mean_price_to_users_eur_per_kwh",
    "users_payments_eur",
    "plan_profit_eur_forecast",
    "grouping_profit_error_rel",
    "profit_eur_no_v2g",
    "profit_eur_hold",
    "profit_eur_rolling",
    "profit_eur_perfect_foresight",
    "loss_eur_hold",
    "loss_eur_rolling",
    "users_saving_vs_flat_eur_ordinary",
    "users_saving_vs_flat_eur_v2g",
    "v2g_compensation_eur",
    "certificate_gap",
)
"""Numbers of a backtest day: deterministic (no timings), so a day's file has the same
bytes whatever the worker count or an interruption."""


def backtest_day(day: dt.date, seed: int, config: DaySettings) -> pd.DataFrame:
    """One backtest day: ``config`` with this ``date`` and ``seed``; one row of numbers.

    Top-level and picklable (for :func:`evagg.backtest.run_backtest` with
    ``functools.partial(backtest_day, config=cfg)``).
    """
    res = run(config.day_config(day.isoformat(), seed))
    failed = [c.name for c in res.checks if not c.passed]
    if failed:  # run raises on certificates; a failed record here is still an error
        raise InputError("verification", failed, "failed on this day")
    return pd.DataFrame([{k: res.numbers[k] for k in BACKTEST_COLUMNS}])


def backtest_summary(daily: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    """Totals over the backtest and a monthly table (sums; loss reduction of rolling)."""
    sums = [c for c in BACKTEST_COLUMNS if c.startswith(("profit", "loss", "users_", "v2g_"))]
    monthly = daily.groupby(daily["date"].dt.to_period("M"))[sums].sum()
    monthly["loss_reduction_rolling_vs_hold"] = 1 - monthly["loss_eur_rolling"] / monthly[
        "loss_eur_hold"
    ].where(monthly["loss_eur_hold"] > 1e-6)
    tot = daily[sums].sum()
    totals = {f"total_{k}": float(v) for k, v in tot.items()}
    totals["loss_reduction_rolling_vs_hold"] = (
        float(1 - tot["loss_eur_rolling"] / tot["loss_eur_hold"])
        if tot["loss_eur_hold"] > 1e-6
        else float("nan")
    )
    totals["days"] = float(len(daily))
    totals["days_rolling_better_than_hold"] = float(
        (daily["loss_eur_rolling"] < daily["loss_eur_hold"] - 1e-9).sum()
    )
    totals["max_certificate_gap"] = float(daily["certificate_gap"].max())
    return totals, monthly


def demo_step(date: str, seed: int, prices: pd.Series | None = None) -> V2GPricingResult:
    """The demo's V2G-pricing step: one day, 200 vehicles, 30 % V2G, SARIMAX forecast."""
    return run(Config(date=date, seed=seed), prices=prices)
