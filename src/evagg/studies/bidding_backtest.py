"""Bidding strategies out of sample, day by day over a date range (seed 002, beyond).

For every market day d, each strategy of :mod:`evagg.bidding.strategies` decides from data
strictly before d (:func:`day_forecast`); the decision is scored on d's realised outcome
(:func:`realised_outcome`) by :func:`evagg.bidding.evaluate_bidding`. The per-day function
:func:`evaluate_bidding_day` is what :func:`evagg.backtest.run_backtest` runs over the
range; :func:`summarise` gives per strategy the mean daily profit, CVaR₀.₉₅ of daily
profit, the share of losing days and the % of perfect foresight.

What a strategy sees (all from prices before d):

* market scenarios ω: SARIMAX day-ahead paths (parameters estimated every ``refit_days``
  days on the ``train_days`` before the refit day, Kalman-filtered on the ``train_days``
  before d: :func:`evagg.scenarios.refilter_price_model`), balancing premia, eq. (1)
  demand; ``n_scenarios`` reduced to ``reduce_to`` by fast forward selection;
* rival forecast: the three tariffs of :func:`evagg.studies.bidding_day.rival_forecast`
  (week before d), scenarios by the seed's three-level roulette wheel;
* expected regional EV demand Ê_t: synthetic fleet (no prices).

The realised outcome of d (what evagg assumes happens; no public imbalance or retail data
are bundled): d's actual NL day-ahead prices; balancing prices from one draw of the premium
model on them; demand by eq. (1) at the actual prices against the week-before hourly mean
price (Δ = 0.2); rival offers ``λ̂_{s,t}(1 + σ z_s)``, z_s ~ N(0, 1) one draw per rival for
the day — the continuous law the seed's three levels discretise, so a rival's realised
price almost never equals a scenario level. ``n_draws`` such outcomes per day.

Ties: an owner indifferent between the aggregator and a rival goes to the rival in the
pessimistic score (``profit_eur``, the default) and to the aggregator in the optimistic
one (``profit_optimistic_eur``). Perfect foresight is the bilevel optimum on the realised
outcome with its tied prices moved by ``tie_tick`` to the side of the response it chose
(:func:`_detie`), so both scores equal its value up to tick × demand.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from evagg.bidding import (
    DA_PRICE,
    DEMAND,
    NEG_PRICE,
    POS_PRICE,
    BiddingDecision,
    BiddingInputs,
    BiddingResult,
    evaluate_bidding,
    follower_shares,
)
from evagg.bidding.strategies import (
    DEFAULT_STRATEGIES,
    StrategyOutcome,
    parse_strategy,
    perfect_foresight_bid,
    run_strategy,
)
from evagg.errors import InputError
from evagg.optim.core import cvar_of_samples
from evagg.scenarios import ScenarioSet
from evagg.studies.base import (
    BacktestRangeConfig,
    Verification,
    check_at_most,
    write_tables,
    write_verifications,
)
from evagg.studies.bidding_day import outcome_inputs

__all__ = [
    "BiddingBacktestConfig",
    "BiddingBacktestResult",
    "Config",
    "day_forecast",
    "evaluate_bidding_day",
    "paired_difference",
    "realised_outcome",
    "run",
    "summarise",
    "write_outputs",
]

_REFIT_EPOCH = dt.date(2000, 1, 3)  # refit days: every refit_days days from this Monday
DATA_RANGE = (dt.date(2015, 3, 1), dt.date(2025, 1, 6))
"""Days the bundled prices support (history for the fit and the rival forecast)."""
_MAX_GAP_HOURS = 1  # the bundled series lacks 2023-12-31 00:00 and 2024-12-31 00:00


class Config(BacktestRangeConfig):
    """Bidding strategies out of sample over a date range (all options with defaults).

    The range and how it runs (:class:`~evagg.studies.base.BacktestRangeConfig`: ``start``,
    ``end``, ``every_days``, ``workers``, ``seed``, ``days_dir``, ``resume``, ``order``) do
    not change a day's rows; the fields below are the model and forecast settings every
    day uses.
    """

    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    n_scenarios: int = Field(default=200, ge=1, description="market scenarios generated")
    reduce_to: int = Field(default=7, ge=1, description="kept by fast forward selection")
    n_rivals: int = Field(default=3, ge=1, le=3)
    n_rival_scenarios: int = Field(default=6, ge=1, description="roulette-wheel draws (merged)")
    switching_cost_eur_per_mwh: float = Field(default=10.0, ge=0.0)
    n_evs: int = Field(default=20_000, ge=1)
    n_sim_evs: int = Field(default=400, ge=1)
    price_max_eur_per_mwh: float = Field(default=400.0, gt=0.0)
    rule_margin_eur_per_mwh: float = Field(default=5.0, ge=0.0)
    train_days: int = Field(default=28, ge=7)
    refit_days: int = Field(
        default=28, ge=1, description="SARIMAX parameters re-estimated every ..."
    )
    n_draws: int = Field(default=1, ge=1, description="realised outcomes scored per day")
    rival_sigma_frac: float = Field(default=0.15, gt=0.0)
    tie_tick_eur_per_mwh: float = Field(default=0.01, gt=0.0)

    @field_validator("strategies")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("strategies: need at least one strategy")
        for name in v:
            parse_strategy(name)
        if len(set(v)) != len(v):
            raise ValueError(f"strategies: duplicate names in {v}")
        return v


BiddingBacktestConfig = Config
"""The study's :class:`Config` under its former name."""


def _tz(series: pd.Series) -> Any:
    return pd.DatetimeIndex(series.index).tz


def _day_index(day: dt.date, tz: Any) -> pd.DatetimeIndex:
    """Hours of the local market day (23, 24 or 25)."""
    start = pd.Timestamp(day).tz_localize(tz)
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(tz)
    return pd.date_range(start, end, freq="1h", inclusive="left", name="time")


_FIT_CACHE: dict[tuple[str, int, str], Any] = {}


@functools.lru_cache(maxsize=1)
def _bundled_prices() -> pd.Series:
    """The bundled NL day-ahead prices, read once per worker process."""
    from evagg.data import load_nl_day_ahead_prices

    return load_nl_day_ahead_prices()


def _price_model(history: pd.Series, day: dt.date, cfg: BiddingBacktestConfig) -> Any:
    """SARIMAX for ``day``: parameters from the last refit day ≤ day, filtered up to day."""
    from evagg.scenarios import fit_price_model, refilter_price_model

    anchor = day - dt.timedelta(days=(day - _REFIT_EPOCH).days % cfg.refit_days)
    lo = pd.Timestamp(anchor - dt.timedelta(days=cfg.train_days + 1)).tz_localize(_tz(history))
    window = history.loc[history.index >= lo]
    window = window.loc[window.index < pd.Timestamp(anchor).tz_localize(_tz(history))]
    key = (
        anchor.isoformat(),
        cfg.train_days,
        hashlib.sha1(window.to_numpy().tobytes()).hexdigest(),
    )
    if key not in _FIT_CACHE:
        _FIT_CACHE[key] = fit_price_model(
            history, anchor.isoformat(), cfg.train_days, max_gap_hours=_MAX_GAP_HOURS
        )
    return refilter_price_model(
        _FIT_CACHE[key], history, day.isoformat(), cfg.train_days, max_gap_hours=_MAX_GAP_HOURS
    )


def day_forecast(
    prices: pd.Series, day: dt.date, cfg: BiddingBacktestConfig, seed: int
) -> BiddingInputs:
    """Everything a strategy may use for ``day``, built only from prices before ``day``.

    The price series is cut at the day's local midnight before anything else, so no
    price of the day (or later) can reach the scenarios, the rival forecast or the
    demand forecast (tested by tampering with them).
    """
    from evagg.scenarios import (
        fast_forward_reduction,
        market_scenarios,
        rival_price_scenarios,
    )
    from evagg.studies.bidding_day import (
        _group_identical,
        expected_demand_profile,
        rival_forecast,
    )

    idx = _day_index(day, _tz(prices))
    history = prices.loc[prices.index < idx[0]]
    rng = np.random.default_rng([seed, 0])
    demand = expected_demand_profile(idx, cfg.n_evs, cfg.n_sim_evs, seed=seed)
    model = _price_model(history, day, cfg)
    market = market_scenarios(
        history,
        day.isoformat(),
        demand,
        cfg.n_scenarios,
        rng,
        train_days=cfg.train_days,
        price_model=model,
        max_gap_hours=_MAX_GAP_HOURS,
    )
    if cfg.reduce_to < market.n_scenarios:
        market = fast_forward_reduction(market, cfg.reduce_to).scenarios
    forecast = rival_forecast(history, idx, cfg.n_rivals)
    rivals = _group_identical(
        rival_price_scenarios(forecast, cfg.n_rival_scenarios, cfg.rival_sigma_frac, rng)
    )
    return BiddingInputs(
        market=market,
        rivals=rivals,
        price_min_eur_per_mwh=0.0,
        price_max_eur_per_mwh=cfg.price_max_eur_per_mwh,
        switching_cost_eur_per_mwh=cfg.switching_cost_eur_per_mwh,
    )


def realised_outcome(
    prices: pd.Series, day: dt.date, cfg: BiddingBacktestConfig, seed: int
) -> ScenarioSet:
    """The day's realised outcome(s) (module docstring), ``n_draws`` equiprobable columns.

    A missing hour of the day's prices (2024-12-31 00:00 in the bundled series) is filled
    by linear interpolation of its neighbours; more than one missing hour raises.
    """
    from evagg.scenarios import BalancingPremiumModel
    from evagg.studies.bidding_day import expected_demand_profile, rival_forecast

    idx = _day_index(day, _tz(prices))
    raw = prices.reindex(idx)
    if int(raw.isna().sum()) > _MAX_GAP_HOURS:
        raise InputError("prices", str(day), f"{int(raw.isna().sum())} hours missing")
    actual = raw.interpolate(limit_direction="both").to_numpy(dtype=float)
    history = prices.loc[prices.index < idx[0]]
    n = cfg.n_draws
    rng = np.random.default_rng([seed, 1])
    cols = pd.Index([f"r{i}" for i in range(n)], name="scenario")
    da = np.repeat(actual[:, None], n, axis=1)  # (T, n)
    pos, neg = BalancingPremiumModel().sample_premia((n, len(idx)), rng)
    week = history.loc[history.index >= idx[0] - pd.Timedelta(days=7)]
    usual = week.groupby(pd.DatetimeIndex(week.index).hour).mean()
    lam_hat = usual.reindex(idx.hour).fillna(usual.mean()).to_numpy()
    e_hat = expected_demand_profile(idx, cfg.n_evs, cfg.n_sim_evs, seed=seed).to_numpy()
    dem = np.maximum(e_hat * (1 + 0.2 * (actual - lam_hat) / np.maximum(np.abs(lam_hat), 10.0)), 0)
    frame = lambda a: pd.DataFrame(a, index=idx, columns=cols)  # noqa: E731
    data = {
        DA_PRICE: frame(da),
        POS_PRICE: frame(da + pos.T),
        NEG_PRICE: frame(da - neg.T),
        DEMAND: frame(np.repeat(dem[:, None], n, axis=1)),
    }
    forecast = rival_forecast(history, idx, cfg.n_rivals).to_numpy()  # (T, S)
    z = rng.standard_normal((n, forecast.shape[1]))
    for s in range(forecast.shape[1]):
        vals = forecast[:, s][:, None] * (1 + cfg.rival_sigma_frac * z[:, s][None, :])
        data[f"rival{s + 1}_price_eur_per_mwh"] = frame(vals)
    return ScenarioSet.equiprobable(data)


def _score(
    decision: BiddingDecision, realised: ScenarioSet, inputs: BiddingInputs
) -> tuple[np.ndarray, np.ndarray]:
    """Pessimistic and optimistic profit per realised outcome [EUR]."""
    kw: dict[str, Any] = {
        "switching_cost_eur_per_mwh": inputs.k_matrix,
        "initial_shares": inputs.x0,
    }
    pess = evaluate_bidding(decision, realised, favour_aggregator=False, **kw).to_numpy()
    opt = evaluate_bidding(decision, realised, favour_aggregator=True, **kw).to_numpy()
    return pess, opt


def _detie(res: BiddingResult, one: BiddingInputs, tick: float) -> BiddingDecision:
    """Perfect foresight without ties: move each tied hour's price by ``tick`` to the side
    that gives the owners' response the model chose.

    The optimistic bilevel optimum may price exactly where the owners are indifferent and
    pick the response that suits the aggregator (also *losing* them in a loss-making
    hour); scored with the owners' tie-breaks that choice is not guaranteed. One tick
    above (response = fewest customers) or below (most customers) makes it strict; the
    value changes by at most tick × demand, so the bound stays within that of the optimum.
    """
    price = res.decision.price_eur_per_mwh.to_numpy(dtype=float)
    chosen = res.shares["aggregator"].to_numpy(dtype=float)  # one rival scenario: (T,)
    kw = {"switching_cost": one.k_matrix, "initial_shares": one.x0}
    lo = follower_shares(price, one.rival_prices, favour_aggregator=False, **kw)[0, :, 0]
    hi = follower_shares(price, one.rival_prices, favour_aggregator=True, **kw)[0, :, 0]
    tie = hi - lo > 1e-9
    up = tie & (chosen <= lo + 1e-7)
    new = price + tick * up - tick * (tie & ~up)
    new = np.clip(new, one.price_min_eur_per_mwh, one.price_max_eur_per_mwh)
    return BiddingDecision(res.decision.da_mwh, pd.Series(new, index=res.decision.da_mwh.index))


def evaluate_bidding_day(
    day: dt.date,
    seed: int,
    config: BiddingBacktestConfig | None = None,
    prices: pd.Series | None = None,
) -> pd.DataFrame:
    """Decide with every strategy for ``day`` and score the decisions on the day's outcome.

    The per-day function of the backtest (``functools.partial(evaluate_bidding_day,
    config=cfg)`` is picklable). Same (day, seed, config), same rows.

    Returns
    -------
    pandas.DataFrame
        One row per (strategy, draw): ``date``, ``strategy``, ``draw``, ``profit_eur``
        (pessimistic ties), ``profit_optimistic_eur``, ``da_mwh`` (day total),
        ``mean_price_eur_per_mwh``, ``method`` (MILP formulation or ``rule``),
        ``in_sample_profit_eur``, ``certificate_gap``, ``solve_time_s``.
    """
    cfg = config or BiddingBacktestConfig()
    day = pd.Timestamp(day).date()
    if prices is None:
        prices = _bundled_prices()
    inputs = day_forecast(prices, day, cfg, seed)
    realised = realised_outcome(prices, day, cfg, seed)
    rows: list[dict[str, Any]] = []

    def add(name: str, out: Any, pess: np.ndarray, opt: np.ndarray, draws: list[str]) -> None:
        for i, lab in enumerate(draws):
            rows.append(
                {
                    "date": day.isoformat(),
                    "strategy": name,
                    "draw": lab,
                    "profit_eur": float(pess[i]),
                    "profit_optimistic_eur": float(opt[i]),
                    "da_mwh": float(out.decision.da_mwh.sum()),
                    "mean_price_eur_per_mwh": float(out.decision.price_eur_per_mwh.mean()),
                    "realised_demand_mwh": float(demand[i]),
                    "method": out.method,
                    "in_sample_profit_eur": out.in_sample_profit_eur,
                    "certificate_gap": out.certificate_gap,
                    "solve_time_s": out.solve_time_s,
                }
            )

    labels = [str(c) for c in realised.scenarios]
    demand = realised.array(DEMAND).sum(axis=1)  # per draw [MWh]
    for name in cfg.strategies:
        spec = parse_strategy(name)
        if spec.kind == "perfect_foresight":
            for lab in labels:
                one = outcome_inputs(realised, lab, inputs)
                res = perfect_foresight_bid(one)
                sub = realised.subset([lab], np.array([1.0]))
                decided = _detie(res, one, cfg.tie_tick_eur_per_mwh)
                pess, opt = _score(decided, sub, inputs)
                out = StrategyOutcome(
                    decided,
                    res.formulation,
                    res.expected_profit,
                    res.certificate.max_gap,
                    res.solve_info.solve_time_s,
                )
                add(name, out, pess, opt, [lab])
            continue
        out = run_strategy(spec, inputs, margin_eur_per_mwh=cfg.rule_margin_eur_per_mwh)
        pess, opt = _score(out.decision, realised, inputs)
        add(name, out, pess, opt, labels)
    return pd.DataFrame(rows)


def summarise(daily: pd.DataFrame, alpha: float = 0.95) -> pd.DataFrame:
    """Per strategy: mean daily profit, CVaR_α of daily profit, share of losing days and the
    mean as % of perfect foresight's, for both tie-breaks (suffix ``_optimistic``).

    Each (date, draw) row is one daily outcome, equally weighted. CVaR_α is the mean of the
    worst (1 − α) share of daily profits (:func:`evagg.optim.cvar_of_samples`).
    """
    if daily.empty:
        raise InputError("daily", 0, "no rows to summarise")
    out = []
    for name, g in daily.groupby("strategy", sort=False):
        row: dict[str, Any] = {"strategy": name, "n_days": int(g["date"].nunique())}
        for col, tag in (("profit_eur", ""), ("profit_optimistic_eur", "_optimistic")):
            v = g[col].to_numpy(dtype=float)
            p = np.full(v.size, 1.0 / v.size)
            row[f"mean_daily_profit_eur{tag}"] = float(v.mean())
            row[f"cvar95_daily_profit_eur{tag}"] = cvar_of_samples(v, p, alpha)
            row[f"losing_day_share{tag}"] = float((v < 0).mean())
        out.append(row)
    table = pd.DataFrame(out)
    pf = table.loc[table["strategy"] == "perfect_foresight"]
    for tag in ("", "_optimistic"):
        ref = float(pf[f"mean_daily_profit_eur{tag}"].iloc[0]) if len(pf) else np.nan
        table[f"pct_of_perfect_foresight{tag}"] = 100.0 * table[f"mean_daily_profit_eur{tag}"] / ref
    return table


DEFAULT_STRATEGY = "recourse_b1"
"""evagg's default strategy (rival recourse, β = 1), compared with the simple rule."""


def paired_difference(
    daily: pd.DataFrame, a: str, b: str, column: str = "profit_eur"
) -> dict[str, float]:
    """Strategy ``a`` minus ``b`` on the same (day, draw) outcomes [EUR/day].

    Returns ``mean_eur`` (mean of the paired differences d_i), ``se_eur`` (their standard
    error, std(d, ddof=1)/√n; the days are treated as independent), ``share_better``
    (share of outcomes with d_i > 0) and ``n`` (paired outcomes).
    """
    key = ["date", "draw"]
    pa = daily.loc[daily["strategy"] == a, [*key, column]]
    pb = daily.loc[daily["strategy"] == b, [*key, column]]
    m = pa.merge(pb, on=key, suffixes=("_a", "_b"))
    if m.empty:
        raise InputError("daily", (a, b), "no (date, draw) scored for both strategies")
    d = (m[f"{column}_a"] - m[f"{column}_b"]).to_numpy(dtype=float)
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
    return {
        "mean_eur": float(d.mean()),
        "se_eur": se,
        "share_better": float((d > 0).mean()),
        "n": int(d.size),
    }


@dataclass(frozen=True)
class BiddingBacktestResult:
    """Daily rows, failures and the per-strategy summary of a backtest."""

    config: BiddingBacktestConfig
    start: dt.date
    end: dt.date
    daily: pd.DataFrame
    failures: pd.DataFrame
    summary_table: pd.DataFrame
    n_computed: int
    n_resumed: int

    @property
    def verifications(self) -> list[Verification]:
        """Certificates of every MILP solve, pessimistic ≤ optimistic on every row, and
        perfect foresight ≥ every strategy's optimistic score on every (day, draw)."""
        d = self.daily
        if d.empty:
            return []
        gap = float(np.nanmax(d["certificate_gap"].to_numpy(dtype=float), initial=0.0))
        excess_pess: pd.Series = (
            d["profit_eur"]
            - d["profit_optimistic_eur"]
            - 1e-4 * d["profit_optimistic_eur"].abs()
            - self.config.tie_tick_eur_per_mwh * d["realised_demand_mwh"]
        )
        bracket = float(excess_pess.max())
        checks = [
            check_at_most("max equilibrium-certificate gap (rel), all solves", gap, 1e-6),
            check_at_most(
                "max pessimistic − optimistic − 1e-4 |optimistic| − tick × demand [EUR]",
                bracket,
                0.01,
                "LP tie-break tolerance; perfect foresight's residual ties within one tick",
            ),
        ]
        if "perfect_foresight" in set(d["strategy"]):
            key = ["date", "draw"]
            pf = d.loc[d["strategy"] == "perfect_foresight", [*key, "profit_optimistic_eur"]]
            m = d.merge(pf, on=key, suffixes=("", "_pf"))
            slack = self.config.tie_tick_eur_per_mwh * m["realised_demand_mwh"]
            excess = m["profit_optimistic_eur"] - m["profit_optimistic_eur_pf"] - slack
            checks.append(
                check_at_most(
                    "max strategy − perfect-foresight profit − tick × demand [EUR]",
                    float(excess.max()),
                    0.01,
                    "perfect foresight (de-tied by one tick) bounds every day's score",
                )
            )
        return checks

    def summary(self) -> dict[str, Any]:
        """JSON-able key numbers."""
        return {
            "verifications": [v.as_dict() for v in self.verifications],
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n_days": int(self.daily["date"].nunique()) if not self.daily.empty else 0,
            "n_failures": len(self.failures),
            "n_computed": self.n_computed,
            "n_resumed": self.n_resumed,
            "config": self.config.model_dump(mode="json"),
            "strategies": self.summary_table.to_dict(orient="records"),
            "default_minus_simple_rule": self.default_vs_simple_rule(),
        }

    def default_vs_simple_rule(self) -> dict[str, float] | None:
        """:func:`paired_difference` of the default strategy and the simple rule
        (pessimistic ties), when both ran."""
        names = set(self.daily["strategy"]) if not self.daily.empty else set()
        if not {DEFAULT_STRATEGY, "simple_rule"} <= names:
            return None
        return paired_difference(self.daily, DEFAULT_STRATEGY, "simple_rule")


def run(
    config: Config,
    *,
    scheduler: str | None = None,
    show_progress: bool = False,
) -> BiddingBacktestResult:
    """Run :func:`evaluate_bidding_day` over [start, end] with :func:`evagg.backtest.run_backtest`.

    ``every_days`` > 1 evaluates a stated subsample (every k-th day from ``start``). The
    engine keeps its per-day files in ``config.days_dir`` (resumable with ``resume``; a
    temporary folder, removed afterwards, when unset); no other I/O. ``workers = 0`` runs
    the days one by one in this process (no dask cluster), as does
    ``scheduler="synchronous"``; a ``scheduler`` address uses a running dask cluster.
    """
    from evagg.data import load_nl_day_ahead_prices

    load_nl_day_ahead_prices()  # the bundled file every day reads (recorded in run.json)
    start, end = dt.date.fromisoformat(config.start), dt.date.fromisoformat(config.end)
    fn = functools.partial(evaluate_bidding_day, config=config)
    res = config.run_days(fn, DATA_RANGE, scheduler=scheduler, show_progress=show_progress)
    daily = res.daily
    if not daily.empty:
        daily = daily.assign(date=pd.to_datetime(daily["date"]).dt.date.astype(str))
        daily = daily.sort_values(["date", "strategy", "draw"]).reset_index(drop=True)
    table = summarise(daily) if not daily.empty else pd.DataFrame()
    return BiddingBacktestResult(
        config, start, end, daily, res.failures, table, res.n_computed, res.n_resumed
    )


def write_outputs(result: BiddingBacktestResult, out_dir: Path) -> list[Path]:
    """``daily.csv``, ``strategy_summary.csv``, ``failures.csv``, ``summary.json`` and
    ``cumulative_profit.png`` (+ ``cumulative_profit_optimistic.png``)."""
    from evagg.report.bidding import plot_cumulative_profit

    out_dir = Path(out_dir)
    files = write_tables(
        out_dir,
        [
            ("daily.csv", result.daily, False),
            ("strategy_summary.csv", result.summary_table, False),
            ("failures.csv", result.failures, False),
        ],
    )
    path = out_dir / "summary.json"
    path.write_text(json.dumps(result.summary(), indent=2, default=str))
    files += [path, write_verifications(result.verifications, out_dir)]
    if not result.daily.empty:
        for col, tag in (("profit_eur", ""), ("profit_optimistic_eur", "_optimistic")):
            fig = plot_cumulative_profit(result.daily, column=col)
            path = out_dir / f"cumulative_profit{tag}.png"
            fig.savefig(path, dpi=120, bbox_inches="tight")
            files.append(path)
    return files
