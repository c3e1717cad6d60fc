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
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from evagg.bidding import build_bidding, solve
from evagg.data import load_nl_day_ahead_prices
from evagg.fleet import synthesize_fleet
from evagg.reliability import bid_curve, bid_curve_figure, build_slot_model, delivered_kwh
from evagg.studies import ev_grid_day, scenario_day
from evagg.studies.bidding_day import BiddingStudyConfig, build_inputs

__all__ = ["DEMO_DATE", "DemoSummary", "run"]

DEMO_DATE = "2024-06-12"
"""A mid-week June day of the bundled NL prices (midday solar dip, evening peak)."""


@dataclass(frozen=True)
class DemoSummary:
    """Headline numbers of each demo step and where its files are."""

    date: str
    scenarios: scenario_day.ScenarioDaySummary
    bidding: pd.DataFrame
    reliability: dict[str, float]
    grid: ev_grid_day.EVGridDaySummary
    timings_s: dict[str, float] = field(default_factory=dict)
    out_dir: str = ""


def _expected_total(energy_mwh: pd.DataFrame, probability: pd.Series) -> float:
    """Σ_ω p_ω Σ_t E_tω for a time × scenario table [MWh]."""
    per_scenario = energy_mwh.sum(axis=0).to_numpy(float)
    return float(per_scenario @ probability.reindex(energy_mwh.columns).to_numpy(float))


def _bidding(date: str, prices: pd.Series, out: Path, seed: int) -> pd.DataFrame:
    cfg = BiddingStudyConfig(date=date)
    inputs, _ = build_inputs(prices, date, cfg, reduce_to=7, switching_cost=10.0, seed=seed)
    model = build_bidding(inputs, 0.0)
    rows, hourly = [], {}
    for beta in (0.0, 10.0):
        res = solve(model, beta)
        prob = res.scenario_probability
        rows.append(
            {
                "beta": beta,
                "expected_profit_eur": res.expected_profit,
                "cvar95_eur": res.cvar,
                "da_mwh": float(res.decision.da_mwh.sum()),
                "expected_pos_balancing_mwh": _expected_total(res.e_pos_mwh, prob),
                "expected_neg_balancing_mwh": _expected_total(res.e_neg_mwh, prob),
                "mean_offered_price_eur_per_mwh": float(res.decision.price_eur_per_mwh.mean()),
                "max_certificate_gap": res.certificate.max_gap,
            }
        )
        hourly[f"da_mwh_beta{beta:g}"] = res.decision.da_mwh
        hourly[f"price_eur_per_mwh_beta{beta:g}"] = res.decision.price_eur_per_mwh
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "bidding_by_beta.csv", index=False)
    hours = pd.DataFrame(hourly)
    hours.to_csv(out / "bidding_hourly.csv")
    fig = Figure(figsize=(9, 5))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    x = [t.strftime("%H") for t in pd.DatetimeIndex(hours.index)]
    for beta in (0.0, 10.0):
        ax1.step(x, hours[f"da_mwh_beta{beta:g}"], where="mid", label=f"β = {beta:g}")
        ax2.step(x, hours[f"price_eur_per_mwh_beta{beta:g}"], where="mid", label=f"β = {beta:g}")
    ax1.set_ylabel("DA purchase [MWh]")
    ax2.set_ylabel("offered price [EUR/MWh]")
    ax2.set_xlabel("hour")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Aggregator's here-and-now decision, {date} (3 rivals, K = 10 EUR/MWh)")
    fig.tight_layout()
    fig.savefig(out / "bidding_decision.png", dpi=120)
    return table


def _reliability(date: str, out: Path, seed: int) -> dict[str, float]:
    days = 60
    start = pd.Timestamp(date) - pd.Timedelta(days=days - 1)
    fleet = synthesize_fleet(74, days, start=start, seed=seed)
    day = fleet.end - pd.Timedelta(days=1)
    model = build_slot_model(fleet, day)
    curve = bid_curve(model, target=0.95)
    real = delivered_kwh(fleet, model)
    out.mkdir(parents=True, exist_ok=True)
    curve.assign(realised_kwh=real).to_csv(out / "v2g_bid_curve.csv")
    bid_curve_figure(curve, real, 0.95).savefig(out / "v2g_bid_curve.png", dpi=120)
    k = model.pos("10:30")
    return {
        "n_vehicles": float(fleet.n_vehicles),
        "expected_kwh_1030": float(curve["expected_kwh"].iloc[k]),
        "bid_poisson_kwh_1030": float(curve["bid_poisson_kwh"].iloc[k]),
        "bid_exact_kwh_1030": float(curve["bid_exact_kwh"].iloc[k]),
        "daily_bid_exact_mwh": float(curve["bid_exact_kwh"].sum() / 1e3),
        "slots_realised_below_exact_bid": float((real < curve["bid_exact_kwh"]).sum()),
        "n_slots": float(len(curve)),
    }


def run(
    date: str = DEMO_DATE,
    out_dir: str | Path = "evagg-out/demo",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Run the four demo steps on bundled real data and write every file to ``out_dir``.

    Parameters
    ----------
    date
        Market day ``YYYY-MM-DD`` within the bundled NL prices (2015-01-29 .. 2025-01-07).
    out_dir
        Output folder: ``scenarios/``, ``bidding/``, ``reliability/``, ``grid/`` and
        ``summary.json``.
    seed
        Seed of every random step; same seed, same numbers.
    progress
        Called with the name of each step as it starts.
    """
    out = Path(out_dir)
    say = progress or (lambda _: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    say("market scenarios")
    t = time.perf_counter()
    prices = load_nl_day_ahead_prices()
    scen = scenario_day.run(
        date,
        n=200,
        reduce_to=10,
        out_dir=out / "scenarios",
        seed=seed,
        progress=False,
        prices=prices,
    )
    timings["scenarios_s"] = time.perf_counter() - t

    say("bidding against rivals")
    t = time.perf_counter()
    bidding = _bidding(date, prices, out / "bidding", seed)
    timings["bidding_s"] = time.perf_counter() - t

    say("V2G reliability")
    t = time.perf_counter()
    rel = _reliability(date, out / "reliability", seed)
    timings["reliability_s"] = time.perf_counter() - t

    say("grid impact")
    t = time.perf_counter()
    grid = ev_grid_day.run(date, out / "grid", seed=seed, prices=prices)
    timings["grid_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    summary = DemoSummary(
        date=date,
        scenarios=scen,
        bidding=bidding,
        reliability=rel,
        grid=grid,
        timings_s=timings,
        out_dir=str(out),
    )
    payload: dict[str, Any] = {
        "date": date,
        "scenarios": asdict(scen),
        "bidding": bidding.to_dict(orient="records"),
        "reliability": rel,
        "grid": asdict(grid),
        "timings_s": timings,
    }
    (out / "summary.json").write_text(json.dumps(payload, indent=1, default=str))
    return summary
