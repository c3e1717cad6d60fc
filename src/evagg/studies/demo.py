"""The evagg demo: one real market day through every decision evagg supports.

1. **Market scenarios** (seed 002 §5.1): 200 SARIMAX day-ahead price paths fitted on the
   28 days before the day, balancing prices and EV demand, reduced to 10 by fast
   forward selection; scored against the realised prices.
2. **Bidding** (seed 002): the aggregator's day-ahead purchase and offered charging
   price against three rivals (switching cost 10 EUR/MWh), 7 reduced scenarios, for a
   risk-neutral (β = 0) and a risk-averse (β = 10) aggregator; every solution carries
   its equilibrium certificate.
3. **V2G reliability** (seed 003): a 74-vehicle fleet with 60 days of history; the
   largest V2G bid per 15-min slot deliverable with probability ≥ 0.95, compound
   Poisson vs exact Poisson-binomial.
4. **Grid impact** (seed 000 §3): uncontrolled charging at the end of the IEEE 33-bus
   feeder — hosting capacity, DLMPs, voltages, losses (SOCP DistFlow, AC-checked).
5. **V2G contract pricing** (seed 001): hourly prices for 200 users (30 % on V2G
   contracts) by a certified leader–follower MILP; V2G dispatch held, re-optimised hour
   by hour, or with perfect foresight, settled at the realised prices.
6. **Microgrid voltage coordination** (seed 003 §6): the EVA at node 30 covers a PV
   shortfall with its reliable (0.95) V2G power; eq. (13) by the exact SOCP, AC-verified
   (Table A1 day on case33bw with Table 9 PV).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from pydantic import Field

from evagg._checks import IsoDate
from evagg.bidding import build_bidding, solve
from evagg.data import load_nl_day_ahead_prices
from evagg.fleet import synthesize_fleet
from evagg.reliability import (
    bid_curve,
    build_slot_model,
    delivered_kwh,
    monte_carlo_agreement,
)
from evagg.studies import ev_grid_day, scenario_day, v2g_pricing
from evagg.studies.base import (
    SEED_MAX_32,
    StudyConfig,
    Verification,
    check_at_most,
    mc_verification,
    write_json,
)
from evagg.studies.bidding_day import BiddingStudyConfig, build_inputs

__all__ = ["DEMO_DATE", "Config", "DemoResult", "run", "write_outputs"]

DEMO_DATE = "2024-06-12"
"""A mid-week June day of the bundled NL prices (midday solar dip, evening peak)."""

MC_SAMPLES = 20_000
"""Monte Carlo samples of the reliability cross-check."""


class Config(StudyConfig):
    """The demo: one real NL market day through scenarios, bidding, V2G reliability, grid."""

    seed_max: ClassVar[int] = SEED_MAX_32  # its reliability and microgrid steps

    date: IsoDate = Field(default=DEMO_DATE, description="Market day YYYY-MM-DD (NL prices).")
    seed: int = Field(default=0, description="Seed of every random step.")


@dataclass(frozen=True)
class DemoResult:
    """Results of the seven demo steps (each a table or a study result)."""

    config: Config
    scenarios: scenario_day.ScenarioDayResult
    bidding: pd.DataFrame
    bidding_hourly: pd.DataFrame
    reliability: dict[str, float]
    reliability_curve: pd.DataFrame
    realised_kwh: pd.Series
    grid: ev_grid_day.EVGridDayResult
    checks: tuple[Verification, ...]
    timings_s: dict[str, float] = field(default_factory=dict)
    v2g: v2g_pricing.V2GPricingResult | None = None
    microgrid: Any = None  # evagg.studies.microgrid.MicrogridResult (seed 003 §6 step)
    game: Any = None  # evagg.studies.dso_game.DSOGameResult (seed 000 game, one day)

    @property
    def date(self) -> str:
        """The market day."""
        return self.config.date

    def summary(self) -> dict[str, Any]:
        """JSON-able headline numbers of each step (``summary.json``)."""
        return {
            "date": self.date,
            "scenarios": self.scenarios.summary(),
            "bidding": self.bidding.to_dict(orient="records"),
            "reliability": self.reliability,
            "grid": self.grid.summary(),
            "v2g_pricing": self.v2g.summary() if self.v2g is not None else None,
            "microgrid": None if self.microgrid is None else self.microgrid.summary(),
            "dso_game": None if self.game is None else self.game.summary(),
            "timings_s": self.timings_s,
        }

    @property
    def verifications(self) -> list[Verification]:
        """Every step's verifications: scenarios, bidding certificates, Monte Carlo
        agreement of the reliability, relaxation gaps and AC checks of the grid OPFs."""
        v2g = self.v2g.verifications if self.v2g is not None else []
        mg = [] if self.microgrid is None else self.microgrid.verifications
        return [
            *self.scenarios.verifications,
            *self.checks,
            *self.grid.verifications,
            *v2g,
            *mg,
            *([] if self.game is None else self.game.verifications),
        ]


def _expected_total(energy_mwh: pd.DataFrame, probability: pd.Series) -> float:
    """Σ_ω p_ω Σ_t E_tω for a time × scenario table [MWh]."""
    per_scenario = energy_mwh.sum(axis=0).to_numpy(float)
    return float(per_scenario @ probability.reindex(energy_mwh.columns).to_numpy(float))


def _bidding(
    date: str, prices: pd.Series, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[Verification]]:
    cfg = BiddingStudyConfig(date=date)
    inputs, _ = build_inputs(prices, date, cfg, reduce_to=7, switching_cost=10.0, seed=seed)
    model = build_bidding(inputs, 0.0)
    rows, hourly, checks = [], {}, []
    for beta in (0.0, 10.0):
        res = solve(model, beta)
        prob = res.scenario_probability
        cert = res.certificate
        rows.append(
            {
                "beta": beta,
                "expected_profit_eur": res.expected_profit,
                "cvar95_eur": res.cvar,
                "da_mwh": float(res.decision.da_mwh.sum()),
                "expected_pos_balancing_mwh": _expected_total(res.e_pos_mwh, prob),
                "expected_neg_balancing_mwh": _expected_total(res.e_neg_mwh, prob),
                "mean_offered_price_eur_per_mwh": float(res.decision.price_eur_per_mwh.mean()),
                "max_certificate_gap": cert.max_gap,
            }
        )
        detail = f"{cert.gaps.size} followers re-solved with the leader's decision fixed"
        checks.append(
            check_at_most(
                f"bilevel certificate: follower optimality gap (rel), β = {beta:g}",
                cert.max_gap,
                cert.tolerance,
                detail,
            )
        )
        checks.append(
            check_at_most(
                f"bilevel certificate: strong duality residual, β = {beta:g}",
                cert.max_duality_gap,
                cert.tolerance,
                "c'y = b'μ + h'ν at the MILP values",
            )
        )
        hourly[f"da_mwh_beta{beta:g}"] = res.decision.da_mwh
        hourly[f"price_eur_per_mwh_beta{beta:g}"] = res.decision.price_eur_per_mwh
    return pd.DataFrame(rows), pd.DataFrame(hourly), checks


def _reliability(
    date: str, seed: int
) -> tuple[dict[str, float], pd.DataFrame, pd.Series, Verification]:
    days = 60
    start = pd.Timestamp(date) - pd.Timedelta(days=days - 1)
    fleet = synthesize_fleet(74, days, start=start, seed=seed)
    day = fleet.end - pd.Timedelta(days=1)
    model = build_slot_model(fleet, day)
    curve = bid_curve(model, target=0.95)
    real = delivered_kwh(fleet, model)
    k = model.pos("10:30")
    bid = float(curve["bid_exact_kwh"].iloc[k])
    mc = monte_carlo_agreement(model, "10:30", bid, MC_SAMPLES, seed)
    check = mc_verification(mc)
    r_exact, r_mc = mc.exact, mc.monte_carlo
    stats = {
        "n_vehicles": float(fleet.n_vehicles),
        "expected_kwh_1030": float(curve["expected_kwh"].iloc[k]),
        "bid_poisson_kwh_1030": float(curve["bid_poisson_kwh"].iloc[k]),
        "bid_exact_kwh_1030": bid,
        "reliability_exact_1030": r_exact,
        "reliability_monte_carlo_1030": r_mc,
        "daily_bid_exact_mwh": float(curve["bid_exact_kwh"].sum() / 1e3),
        "slots_realised_below_exact_bid": float((real < curve["bid_exact_kwh"]).sum()),
        "n_slots": float(len(curve)),
    }
    return stats, curve, real, check


def run(config: Config, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Run the seven demo steps on bundled real data; nothing is written.

    Parameters
    ----------
    config
        The day (within the bundled NL prices, 2015-01-29 .. 2025-01-07) and the seed of
        every random step (same seed, same numbers).
    progress
        Called with the name of each step as it starts.
    """
    say = progress or (lambda _: None)
    date, seed = config.date, config.seed
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    say("market scenarios")
    t = time.perf_counter()
    prices = load_nl_day_ahead_prices()
    scen = scenario_day.run(
        scenario_day.Config(date=date, n=200, reduce_to=10, seed=seed), prices=prices
    )
    timings["scenarios_s"] = time.perf_counter() - t

    say("bidding against rivals")
    t = time.perf_counter()
    bidding, hourly, bid_checks = _bidding(date, prices, seed)
    timings["bidding_s"] = time.perf_counter() - t

    say("V2G reliability")
    t = time.perf_counter()
    rel, curve, real, rel_check = _reliability(date, seed)
    timings["reliability_s"] = time.perf_counter() - t

    say("grid impact")
    t = time.perf_counter()
    grid = ev_grid_day.run(ev_grid_day.Config(date=date, seed=seed), prices=prices)
    timings["grid_s"] = time.perf_counter() - t

    say("V2G contract pricing")
    t = time.perf_counter()
    v2g = v2g_pricing.demo_step(date, seed, prices=prices)
    timings["v2g_pricing_s"] = time.perf_counter() - t

    say("microgrid voltage coordination")
    t = time.perf_counter()
    from evagg.studies import microgrid

    mg = microgrid.demo_step(seed=seed)
    timings["microgrid_s"] = time.perf_counter() - t
    say("DSO game with points")
    t = time.perf_counter()
    from evagg.studies import dso_game

    game = dso_game.demo_step(date, seed=seed)
    timings["dso_game_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    return DemoResult(
        config=config,
        scenarios=scen,
        bidding=bidding,
        bidding_hourly=hourly,
        reliability=rel,
        reliability_curve=curve,
        realised_kwh=real,
        grid=grid,
        checks=(*bid_checks, rel_check),
        timings_s=timings,
        v2g=v2g,
        microgrid=mg,
        game=game,
    )


def write_outputs(result: DemoResult, out_dir: str | Path) -> list[Path]:
    """Write every step's files: ``scenarios/``, ``bidding/``, ``reliability/``,
    ``grid/``, ``v2g_pricing/``, ``microgrid/``, ``dso_game/`` and ``summary.json``;
    returns the paths."""
    from evagg.report.bidding import demo_decision_figure
    from evagg.report.reliability import bid_curve_figure

    out = Path(out_dir)
    files = scenario_day.write_outputs(result.scenarios, out / "scenarios")
    bid_dir = out / "bidding"
    bid_dir.mkdir(parents=True, exist_ok=True)
    result.bidding.to_csv(bid_dir / "bidding_by_beta.csv", index=False)
    result.bidding_hourly.to_csv(bid_dir / "bidding_hourly.csv")
    fig = demo_decision_figure(result.bidding_hourly, (0.0, 10.0), result.date)
    fig.savefig(bid_dir / "bidding_decision.png", dpi=120)
    files += [bid_dir / n for n in ("bidding_by_beta.csv", "bidding_hourly.csv")]
    files.append(bid_dir / "bidding_decision.png")
    rel_dir = out / "reliability"
    rel_dir.mkdir(parents=True, exist_ok=True)
    result.reliability_curve.assign(realised_kwh=result.realised_kwh).to_csv(
        rel_dir / "v2g_bid_curve.csv"
    )
    n_ev = int(result.reliability["n_vehicles"])
    bid_curve_figure(
        result.reliability_curve,
        result.realised_kwh,
        0.95,
        case=f"synthetic fleet of {n_ev} EVs",
    ).savefig(rel_dir / "v2g_bid_curve.png", dpi=120)
    files += [rel_dir / "v2g_bid_curve.csv", rel_dir / "v2g_bid_curve.png"]
    files += ev_grid_day.write_outputs(result.grid, out / "grid")
    if result.v2g is not None:
        files += v2g_pricing.write_outputs(result.v2g, out / "v2g_pricing")
    if result.microgrid is not None:
        from evagg.studies import microgrid

        files += microgrid.write_outputs(result.microgrid, out / "microgrid")
    if result.game is not None:
        from evagg.studies import dso_game

        files += dso_game.write_outputs(result.game, out / "dso_game")
    files.append(write_json(out / "summary.json", result.summary()))
    return files
