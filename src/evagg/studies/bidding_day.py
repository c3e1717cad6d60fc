"""Case study of seed 002 on Dutch prices: risk-averse bidding against three rivals.

Reproduces the seed's experiments (Table 1, Figs. 7, 8, 13, 14) on one target day of the
bundled ENTSO-E NL day-ahead prices and measures the decisions out of sample.

Data and assumptions (all stated in the outputs' ``meta.json``):

* Market scenarios ω: :func:`evagg.scenarios.market_scenarios` (SARIMAX day-ahead paths
  fitted on the 28 days before the target day, balancing premia, EV demand by eq. (1)
  with Δ = 0.2), ``n_scenarios`` of them, reduced by fast forward selection to
  ``reduce_to`` (or not reduced).
* Expected regional EV demand Ê_t: uncontrolled charging of a synthetic fleet
  (:func:`evagg.fleet.synthesize_fleet`, ElaadNL statistics) averaged by local hour of day
  over a week and scaled to ``n_evs`` vehicles: MWh per hour = kW × n_evs / n_sim / 1000.
* Rival offers (forecast λ̂_s,t): three retail tariffs derived from the mean day-ahead
  price of the 7 days before the target day (d̄_t by hour, m its daily mean):
  rival 1 flat ``m + 35``, rival 2 dynamic ``d̄_t + 25``, rival 3 time-of-use
  ``m + 50`` (07–23 h) / ``m + 10`` (otherwise) [EUR/MWh]; forecast errors as the seed
  (normal, σ = 15 %, three levels, roulette wheel): :func:`evagg.scenarios.rival_price_scenarios`.
* The β sweep is run twice: the seed model (eq. 6, case ``reduced``) and evagg's extension
  with recourse on the rivals' outcome (case ``rival_recourse``).
* Out of sample, each of the ``oos_days`` following days gets its own decision (data up to
  the day before); it is scored on the day's actual day-ahead prices with ``oos_draws``
  draws of balancing premia and rival errors, demand by eq. (1) at the actual prices; it is
  compared with the expected-value (deterministic) bid, with evagg's extension that
  balances the realised rival outcome (``rival_recourse=True``) and with perfect foresight
  (the model solved knowing the draw).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from evagg._checks import IsoDate
from evagg.bidding import (
    DA_PRICE,
    DEMAND,
    NEG_PRICE,
    POS_PRICE,
    BiddingInputs,
    BiddingResult,
    build_bidding,
    evaluate_bidding,
    evaluate_fixed_decision,
    expected_value_inputs,
    solve,
)
from evagg.errors import InputError
from evagg.scenarios import ScenarioSet
from evagg.studies.base import StudyConfig, Verification, check_at_most, write_json

__all__ = [
    "BiddingStudyConfig",
    "BiddingStudyResult",
    "Config",
    "build_inputs",
    "expected_demand_profile",
    "rival_forecast",
    "run",
    "run_bidding_study",
    "write_outputs",
]

Progress = Callable[[str], None]


class Config(StudyConfig):
    """Settings of the study (defaults follow seed 002 §5.1 where it says)."""

    date: IsoDate = Field(default="2024-03-12", description="Target market day YYYY-MM-DD.")
    betas: tuple[float, ...] = Field(
        default=(0.1, 1.0, 5.0, 10.0, 20.0, 25.0, 30.0, 100.0), description="Risk weights β."
    )
    n_scenarios: int = Field(
        default=200, ge=1, le=100_000, description="Market scenarios generated."
    )
    reduce_to: int | None = Field(default=7, description="Kept by reduction (None: all).")
    n_rivals: int = Field(default=3, description="Rival aggregators (1-3).")
    n_rival_scenarios: int = Field(default=6, ge=1, description="Rival price draws.")
    switching_costs_eur_per_mwh: tuple[float, ...] = Field(
        default=(0.0, 10.0), description="Switching costs K studied [EUR/MWh]."
    )
    n_evs: int = Field(default=20_000, ge=1, description="EVs of the region.")
    n_sim_evs: int = Field(default=400, ge=1, description="Simulated EVs for the profile.")
    price_max_eur_per_mwh: float = Field(default=400.0, gt=0, description="Offer cap.")
    oos_days: int = Field(default=3, ge=0, description="Following days scored out of sample.")
    oos_draws: int = Field(default=20, ge=1, le=10_000, description="Draws per out-of-sample day.")
    oos_beta: float = Field(default=1.0, ge=0, description="β of the out-of-sample decisions.")
    unreduced_betas: tuple[float, ...] = Field(
        default=(1.0,), description="β also solved on the unreduced set."
    )
    formulation: str = Field(
        default="auto", description="'auto' (= enumeration, exact), 'kkt' or 'enumeration'."
    )
    rival_recourse_sweep: bool = Field(
        default=True, description="Also sweep β with recourse on the rivals' outcome."
    )
    seed: int = Field(default=2024, description="Random seed.")

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.n_rivals not in (1, 2, 3):
            raise InputError("n_rivals", self.n_rivals, "the study defines 1 to 3 rival tariffs")
        if not self.betas or any(b < 0 for b in self.betas):
            raise InputError("betas", self.betas, "need at least one beta, all >= 0")
        if self.reduce_to is not None and not 1 <= self.reduce_to <= self.n_scenarios:
            raise InputError("reduce_to", self.reduce_to, f"must be in [1, {self.n_scenarios}]")
        if self.formulation not in ("auto", "kkt", "enumeration"):
            raise InputError(
                "formulation", self.formulation, "must be 'auto', 'kkt' or 'enumeration'"
            )
        return self


BiddingStudyConfig = Config
"""Former name of :class:`Config`."""


def expected_demand_profile(
    day_index: pd.DatetimeIndex, n_evs: int, n_sim: int = 400, seed: int = 0
) -> pd.Series:
    """Expected regional EV demand Ê_t [MWh per hour] on ``day_index``.

    Uncontrolled charging (charge at full power on arrival) of a synthetic fleet of
    ``n_sim`` vehicles over the 7 days before the day, averaged by local hour of day and
    scaled to ``n_evs`` vehicles.
    """
    from evagg.fleet import synthesize_fleet

    day_index = pd.DatetimeIndex(day_index)
    tz = str(day_index.tz)
    start = (day_index[0].normalize() - pd.Timedelta(days=7)).tz_localize(None)
    fleet = synthesize_fleet(n_sim, days=7, start=start, step="1h", seed=seed, tz=tz)
    load_kw = fleet.uncontrolled_load_kw("1h")
    by_hour = load_kw.groupby(pd.DatetimeIndex(load_kw.index).hour).mean()
    mwh = by_hour.reindex(range(24)).fillna(by_hour.mean()) * (n_evs / n_sim) / 1000.0
    return pd.Series(mwh.loc[day_index.hour].to_numpy(), index=day_index, name=DEMAND)


def rival_forecast(prices: pd.Series, day_index: pd.DatetimeIndex, n_rivals: int) -> pd.DataFrame:
    """Forecast rival offers [EUR/MWh] from the 7 days before the day (module docstring)."""
    day_index = pd.DatetimeIndex(day_index)
    start = day_index[0] - pd.Timedelta(days=7)
    past = prices.loc[(prices.index >= start) & (prices.index < day_index[0])]
    by_hour = past.groupby(pd.DatetimeIndex(past.index).hour).mean().reindex(range(24))
    by_hour = by_hour.fillna(by_hour.mean())
    d = by_hour.loc[day_index.hour].to_numpy()
    m = float(by_hour.mean())
    day = (day_index.hour >= 7) & (day_index.hour < 23)
    tariffs = {
        "rival1": np.full(len(day_index), m + 35.0),
        "rival2": d + 25.0,
        "rival3": np.where(day, m + 50.0, m + 10.0),
    }
    cols = list(tariffs)[:n_rivals]
    return pd.DataFrame({c: tariffs[c] for c in cols}, index=day_index)


def build_inputs(
    prices: pd.Series,
    date: str | pd.Timestamp,
    cfg: BiddingStudyConfig,
    *,
    reduce_to: int | None,
    switching_cost: float,
    seed: int,
    cache: dict[Any, Any] | None = None,
    price_model: Any = None,
) -> tuple[BiddingInputs, dict[str, Any]]:
    """Scenario generation (+ reduction) and the bidding inputs for one day.

    ``cache`` (a dict owned by the caller) keeps the unreduced market and the rival
    scenarios per (date, seed): they do not depend on ``reduce_to`` or the switching cost
    (the reduction draws no random numbers), so a study generates them once per day.
    ``price_model``: a fitted :class:`evagg.scenarios.PriceModel` for ``date`` (skips
    the SARIMAX fit).
    """
    from evagg.scenarios import fast_forward_reduction

    key = (str(date), seed)
    if cache is None or key not in cache:
        generated = _generate(prices, date, cfg, seed, price_model)
        if cache is not None:
            cache[key] = generated
    else:
        generated = cache[key]
    market, rivals = generated
    meta: dict[str, Any] = {"n_generated": market.n_scenarios}
    if reduce_to is not None and reduce_to < market.n_scenarios:
        red = fast_forward_reduction(market, reduce_to)
        market = red.scenarios
        meta["kantorovich_distance"] = red.kantorovich_distance
    inputs = BiddingInputs(
        market=market,
        rivals=rivals,
        price_min_eur_per_mwh=0.0,
        price_max_eur_per_mwh=cfg.price_max_eur_per_mwh,
        switching_cost_eur_per_mwh=switching_cost,
    )
    meta.update(n_market=market.n_scenarios, n_rival=rivals.n_scenarios)
    return inputs, meta


def _generate(
    prices: pd.Series, date: Any, cfg: Config, seed: int, price_model: Any
) -> tuple[ScenarioSet, ScenarioSet]:
    """Unreduced market scenarios and merged rival scenarios of one day (one generator)."""
    from evagg.scenarios import market_scenarios, rival_price_scenarios

    rng = np.random.default_rng(seed)
    idx = market_day_index(prices, date)
    demand = expected_demand_profile(idx, cfg.n_evs, cfg.n_sim_evs, seed=seed)
    market = market_scenarios(prices, date, demand, cfg.n_scenarios, rng, price_model=price_model)
    forecast = rival_forecast(prices, idx, cfg.n_rivals)
    rivals = _group_identical(rival_price_scenarios(forecast, cfg.n_rival_scenarios, 0.15, rng))
    return market, rivals


def _group_identical(ss: ScenarioSet) -> ScenarioSet:
    """Merge identical roulette-wheel draws into one scenario with summed probability."""
    feats = np.round(ss.features(), 9)
    _, first, inverse = np.unique(feats, axis=0, return_index=True, return_inverse=True)
    probs = np.bincount(inverse.ravel(), weights=ss.p)
    order = np.sort(first)
    labels = [ss.scenarios[i] for i in order]
    p = [probs[inverse.ravel()[i]] for i in order]
    return ss.subset(labels, np.asarray(p) / np.sum(p))


@dataclass
class BiddingStudyResult:
    """Tables of the study (pandas frames) and the per-β results.

    ``summary_table`` has one row per (K, case, β) solve; :meth:`summary` gives the
    JSON-able key numbers and :attr:`verifications` the certificates."""

    config: Config
    summary_table: pd.DataFrame
    hourly: pd.DataFrame
    scenario_profits: pd.DataFrame
    rival_expected: pd.DataFrame
    out_of_sample: pd.DataFrame
    vss: pd.DataFrame
    certificates: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    results: dict[tuple[float, float, str], BiddingResult] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Per-solve key numbers (case, K, β, profit, CVaR, energies, certificate gap) and
        the out-of-sample means per strategy [EUR/day]."""
        cols = [
            "switching_cost_eur_per_mwh",
            "case",
            "beta",
            "status",
            "formulation",
            "expected_profit_eur",
            "cvar_eur",
            "expected_da_mwh",
            "expected_pos_bal_mwh",
            "expected_neg_bal_mwh",
            "max_certificate_gap",
        ]
        out: dict[str, Any] = {
            "date": self.config.date,
            "solves": self.summary_table[cols].to_dict(orient="records"),
        }
        if not self.out_of_sample.empty:
            means = self.out_of_sample.drop(columns=["date", "draw"]).mean()
            out["out_of_sample_mean_eur"] = {k: float(v) for k, v in means.items()}
        return out

    @property
    def verifications(self) -> list[Verification]:
        """Worst bilevel certificate per case: follower optimality gap and strong-duality
        residual (the solve raises :class:`evagg.VerificationError` above tolerance)."""
        checks = []
        for case, g in self.certificates.groupby("case", sort=False):
            n = int(g["n_followers"].sum())
            checks.append(
                check_at_most(
                    f"bilevel certificate ({case}): follower optimality gap (rel)",
                    float(g["max_relative_gap"].max()),
                    1e-6,
                    f"{n} follower problems over {len(g)} solves, leader's decision fixed",
                )
            )
            checks.append(
                check_at_most(
                    f"bilevel certificate ({case}): strong duality residual",
                    float(g["max_duality_gap"].max()),
                    1e-6,
                    "c'y = b'μ + h'ν at the MILP values",
                )
            )
        return checks


def _hourly(res: BiddingResult, k: float, case: str) -> pd.DataFrame:
    p = res.scenario_probability.to_numpy()
    out = pd.DataFrame(
        {
            "offered_price_eur_per_mwh": res.decision.price_eur_per_mwh,
            "da_mwh": res.decision.da_mwh,
            "expected_pos_bal_mwh": res.e_pos_mwh.to_numpy() @ p,
            "expected_neg_bal_mwh": res.e_neg_mwh.to_numpy() @ p,
            "expected_supplied_mwh": res.e_ch_mwh.to_numpy() @ p,
            "expected_share": res.expected_share,
        }
    )
    out.index.name = "time"
    out = out.reset_index()
    out.insert(0, "case", case)
    out.insert(0, "switching_cost_eur_per_mwh", k)
    out.insert(0, "beta", res.beta)
    return out


def run(
    cfg: Config,
    prices: pd.Series | None = None,
    progress: Progress | None = None,
) -> BiddingStudyResult:
    """Run the whole study (β sweep for each K, unreduced check, out of sample, VSS).

    Parameters
    ----------
    cfg
        Study settings.
    prices
        Hourly NL day-ahead prices; default the bundled ENTSO-E series.
    progress
        Called with a short label after each solve (the CLI drives a progress bar).
    """
    from evagg.data import load_nl_day_ahead_prices

    if prices is None:
        prices = load_nl_day_ahead_prices()
    market_day_index(prices, cfg.date)
    _check_oos_days(prices, cfg)
    tick = progress or (lambda _label: None)
    summaries, hourly, profits, certs = [], [], [], []
    results: dict[tuple[float, float, str], BiddingResult] = {}
    meta: dict[str, Any] = {"config": cfg.model_dump(mode="json")}
    rival_expected = pd.DataFrame()
    cases: list[tuple[str, int | None, Sequence[float]]] = [("reduced", cfg.reduce_to, cfg.betas)]
    if cfg.rival_recourse_sweep:
        cases.append(("rival_recourse", cfg.reduce_to, cfg.betas))
    if cfg.reduce_to is not None and cfg.unreduced_betas:
        cases.append(("unreduced", None, cfg.unreduced_betas))
    from evagg.scenarios import fit_price_model

    price_model = fit_price_model(prices, cfg.date)
    generated: dict[Any, Any] = {}  # scenarios of the day, shared by every K and case
    for k in cfg.switching_costs_eur_per_mwh:
        cache: dict[int | None, tuple[BiddingInputs, dict[str, Any]]] = {}
        for case, red, betas in cases:
            if red not in cache:
                cache[red] = build_inputs(
                    prices,
                    cfg.date,
                    cfg,
                    reduce_to=red,
                    switching_cost=k,
                    seed=cfg.seed,
                    cache=generated,
                    price_model=price_model,
                )
            inputs, m = cache[red]
            meta[f"{case}_K{k:g}"] = m
            if rival_expected.empty:
                rival_expected = pd.DataFrame(
                    {q.split("_")[0]: inputs.rivals.expected(q) for q in inputs.rivals.quantities}
                )
            model = build_bidding(
                inputs, formulation=cfg.formulation, rival_recourse=case == "rival_recourse"
            )
            for b in betas:
                res = solve(model, beta=b)
                results[(k, b, case)] = res
                row = {"switching_cost_eur_per_mwh": k, "case": case, **res.summary()}
                row["n_market_scenarios"] = inputs.market.n_scenarios
                row["n_rival_scenarios"] = inputs.rivals.n_scenarios
                summaries.append(row)
                hourly.append(_hourly(res, k, case))
                sp = res.scenario_profit.rename("profit_eur").to_frame()
                sp["probability"] = res.scenario_probability.to_numpy()
                sp["beta"], sp["switching_cost_eur_per_mwh"], sp["case"] = b, k, case
                sp = sp.reset_index().rename(columns={"index": "scenario"})
                sp["scenario"] = sp["scenario"].astype(str)  # "omega|xi" labels with recourse
                profits.append(sp)
                fam = res.binding_bigm["family"].value_counts().to_dict()
                certs.append(
                    {
                        "beta": b,
                        "switching_cost_eur_per_mwh": k,
                        "case": case,
                        "max_relative_gap": res.certificate.max_gap,
                        "max_duality_gap": res.certificate.max_duality_gap,
                        "primal_residual": res.certificate.primal_residual,
                        "n_followers": int(res.certificate.gaps.size),
                        **{f"binding_{f}": int(n) for f, n in fam.items()},
                    }
                )
                tick(f"K={k:g} {case} beta={b:g}")
    oos, vss = _out_of_sample(prices, cfg, tick, price_model)
    return BiddingStudyResult(
        config=cfg,
        summary_table=pd.DataFrame(summaries),
        hourly=pd.concat(hourly, ignore_index=True),
        scenario_profits=pd.concat(profits, ignore_index=True),
        rival_expected=rival_expected,
        out_of_sample=oos,
        vss=vss,
        certificates=pd.DataFrame(certs).fillna(0),
        meta=meta,
        results=results,
    )


run_bidding_study = run
"""Former name of :func:`run`."""


def market_day_index(prices: pd.Series, date: Any) -> pd.DatetimeIndex:
    """Hourly index of the local market day ``date`` (23/24/25 h), in the prices' zone.

    The decision uses only data before the day, so a day whose own realised prices have
    a gap (the bundled series lacks 2023-12-31 00:00) is still decided on the full
    day; only scoring it out of sample needs every hour (:func:`missing_hours`).
    """
    from evagg.scenarios._common import local_day

    tz = pd.DatetimeIndex(prices.index).tz
    start, end = local_day("date", date, tz)
    if not ((prices.index >= start) & (prices.index < end)).any():
        raise InputError("date", str(date), "no day-ahead prices for this day")
    return pd.date_range(start, end, freq="1h", inclusive="left", name=prices.index.name)


def missing_hours(prices: pd.Series, date: Any) -> pd.DatetimeIndex:
    """Hours of the local day ``date`` without a realised day-ahead price."""
    return market_day_index(prices, date).difference(pd.DatetimeIndex(prices.index))


def _check_oos_days(prices: pd.Series, cfg: Config) -> None:
    """Before any work: every out-of-sample day has all its realised prices."""
    for d in range(1, cfg.oos_days + 1):
        day = _oos_day(cfg, d)
        gap = missing_hours(prices, day)
        if len(gap):
            raise InputError(
                "oos_days",
                cfg.oos_days,
                f"out-of-sample day {day} has no realised price at {gap[0]} "
                f"({len(gap)} hour(s) missing in the data), so it cannot be scored; "
                "lower oos_days or pick another date",
            )


def _oos_day(cfg: Config, d: int) -> str:
    return (pd.Timestamp(cfg.date) + pd.Timedelta(days=d)).strftime("%Y-%m-%d")


def _realised(
    prices: pd.Series,
    inputs: BiddingInputs,
    cfg: BiddingStudyConfig,
    seed: int,
) -> ScenarioSet:
    """Realised outcomes of the day: actual DA prices, draws of premia, rival errors, demand."""
    from evagg.scenarios import balancing_price_scenarios, rival_price_scenarios

    idx = inputs.time_index
    n = cfg.oos_draws
    gap = idx.difference(pd.DatetimeIndex(prices.index))
    if len(gap):
        raise InputError("date", str(idx[0].date()), f"no realised day-ahead price at {gap[0]}")
    actual = prices.loc[idx].to_numpy()
    cols = pd.Index([f"r{i}" for i in range(n)], name="scenario")
    da = ScenarioSet.equiprobable(
        {DA_PRICE: pd.DataFrame(np.repeat(actual[:, None], n, 1), index=idx, columns=cols)}
    )
    rng = np.random.default_rng(seed)
    full = balancing_price_scenarios(da, None, rng)
    # eq. (1) at the actual price against the forecast mean, floor 10 EUR/MWh as evagg's
    # demand scenarios do.
    lam_hat = inputs.market.expected(DA_PRICE).to_numpy()
    e_hat = inputs.market.expected(DEMAND).to_numpy()
    dem = np.maximum(e_hat * (1 + 0.2 * (actual - lam_hat) / np.maximum(np.abs(lam_hat), 10.0)), 0)
    data = dict(full.data)
    data[DEMAND] = pd.DataFrame(np.repeat(dem[:, None], n, 1), index=idx, columns=cols)
    forecast = rival_forecast(prices, idx, cfg.n_rivals)
    riv = rival_price_scenarios(forecast, n, 0.15, rng)
    for q in riv.quantities:
        data[q] = riv[q].set_axis(cols, axis=1)
    return ScenarioSet.equiprobable(data)


def _single(realised: ScenarioSet, label: Any) -> tuple[ScenarioSet, ScenarioSet]:
    one = pd.Series([1.0], index=pd.Index([label], name="scenario"), name="probability")
    mk = ScenarioSet(
        {q: realised[q].loc[:, [label]] for q in (DA_PRICE, POS_PRICE, NEG_PRICE, DEMAND)}, one
    )
    rv = ScenarioSet(
        {q: realised[q].loc[:, [label]] for q in realised.quantities if q.startswith("rival")},
        one,
    )
    return mk, rv


def outcome_inputs(realised: ScenarioSet, label: Any, template: BiddingInputs) -> BiddingInputs:
    """Single-scenario inputs of one realised outcome (perfect foresight), with the price
    bounds, switching costs and initial shares of ``template``."""
    mk, rv = _single(realised, label)
    return BiddingInputs(
        mk,
        rv,
        template.price_min_eur_per_mwh,
        template.price_max_eur_per_mwh,
        switching_cost_eur_per_mwh=template.k_matrix,
        initial_shares=template.x0,
        p_max_mwh=max(template.p_max, float(mk.array(DEMAND).max())),
    )


def _out_of_sample(
    prices: pd.Series, cfg: BiddingStudyConfig, tick: Progress, price_model: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from evagg.scenarios import refilter_price_model

    rows, vss_rows = [], []
    k = cfg.switching_costs_eur_per_mwh[0]
    for d in range(1, cfg.oos_days + 1):
        day = _oos_day(cfg, d)
        # SARIMAX parameters of the study day (data before it), filtered up to the day.
        model_d = refilter_price_model(price_model, prices, day)
        inputs, _ = build_inputs(
            prices,
            day,
            cfg,
            reduce_to=cfg.reduce_to,
            switching_cost=k,
            seed=cfg.seed + d,
            price_model=model_d,
        )
        stoch = solve(build_bidding(inputs, formulation=cfg.formulation), beta=cfg.oos_beta)
        joint = solve(
            build_bidding(inputs, formulation=cfg.formulation, rival_recourse=True),
            beta=cfg.oos_beta,
        )
        ev_inp = expected_value_inputs(inputs)
        ev = solve(build_bidding(ev_inp, formulation=cfg.formulation), beta=0.0)
        # In-sample value of the stochastic solution at the same beta: RP - EEV, the EV
        # decision (DA, prices) fixed in the stochastic model. With limits (8)-(9) the EV
        # decision can be infeasible (EEV = -inf); the settlement recourse (no limits) gives
        # both decisions a finite value on equal terms.
        st_p = stoch.decision.price_eur_per_mwh.to_numpy()
        st_d = stoch.decision.da_mwh.to_numpy()
        ev_p = ev.decision.price_eur_per_mwh.to_numpy()
        ev_d = ev.decision.da_mwh.to_numpy()
        eev = evaluate_fixed_decision(inputs, ev_p, cfg.oos_beta, ev_d)
        rp_s = evaluate_fixed_decision(inputs, st_p, cfg.oos_beta, st_d, market_limits=False)
        eev_s = evaluate_fixed_decision(inputs, ev_p, cfg.oos_beta, ev_d, market_limits=False)
        vss_rows.append(
            {
                "date": day,
                "beta": cfg.oos_beta,
                "rp_eur": stoch.solve_info.objective,
                "eev_eur": eev,
                "vss_eur": stoch.solve_info.objective - eev,
                "rp_settlement_eur": rp_s,
                "eev_settlement_eur": eev_s,
                "vss_settlement_eur": rp_s - eev_s,
            }
        )
        realised = _realised(prices, inputs, cfg, seed=cfg.seed + 1000 + d)
        kmat, x0 = inputs.k_matrix, inputs.x0
        p_st = evaluate_bidding(
            stoch.decision, realised, switching_cost_eur_per_mwh=kmat, initial_shares=x0
        )
        p_ev = evaluate_bidding(
            ev.decision, realised, switching_cost_eur_per_mwh=kmat, initial_shares=x0
        )
        pf = []
        for lab in realised.scenarios:
            pf_inp = outcome_inputs(realised, lab, inputs)
            # Exact breakpoint enumeration (cross-checked against the KKT MILP in the tests)
            # keeps the many single-scenario solves fast.
            pf.append(solve(build_bidding(pf_inp, formulation="enumeration")).expected_profit)
        p_jt = evaluate_bidding(
            joint.decision, realised, switching_cost_eur_per_mwh=kmat, initial_shares=x0
        )
        for lab, a, aj, b, c in zip(realised.scenarios, p_st, p_jt, p_ev, pf, strict=True):
            rows.append(
                {
                    "date": day,
                    "draw": lab,
                    "stochastic_eur": a,
                    "stochastic_rival_recourse_eur": aj,
                    "expected_value_eur": b,
                    "perfect_foresight_eur": c,
                }
            )
        tick(f"out of sample {day}")
    return pd.DataFrame(rows), pd.DataFrame(vss_rows)


def write_outputs(res: BiddingStudyResult, out_dir: str | Path) -> list[Path]:
    """Write tables (CSV + Parquet), plots (PNG) and certificates to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = {
        "summary": res.summary_table,
        "hourly": res.hourly,
        "scenario_profits": res.scenario_profits,
        "rival_expected_prices": res.rival_expected.reset_index(),
        "out_of_sample": res.out_of_sample,
        "vss": res.vss,
        "certificates": res.certificates,
    }
    for name, df in tables.items():
        csv = out / f"{name}.csv"
        df.to_csv(csv, index=False)
        pq = out / f"{name}.parquet"
        df.to_parquet(pq, index=False)
        written += [csv, pq]
    meta = out / "meta.json"
    meta.write_text(json.dumps(res.meta, indent=2, default=str))
    written.append(meta)
    written.append(write_json(out / "summary.json", res.summary()))
    written += save_plots(res, out)
    return written


def save_plots(res: BiddingStudyResult, out: Path) -> list[Path]:
    """Write the study's figures (:func:`evagg.report.bidding.bidding_study_figures`)."""
    from evagg.report.bidding import bidding_study_figures

    paths = []
    for name, fig in bidding_study_figures(res).items():
        fig.savefig(out / name, dpi=120)
        paths.append(out / name)
    return paths
