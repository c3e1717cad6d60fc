"""Figures of the stochastic bi-level bidding study (seed 002) and of its backtest, in the
shared style."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evagg.errors import InputError
from evagg.report import style

__all__ = ["bidding_study_figures", "demo_decision_figure", "plot_cumulative_profit"]

CASE = "NL day-ahead market, 3 rivals"
"""Case name of the bidding figures."""


def demo_decision_figure(hourly: pd.DataFrame, betas: Sequence[float], date: str) -> Figure:
    """Day-ahead purchase and offered price per hour for each β (left-aligned steps)."""
    idx = pd.DatetimeIndex(hourly.index)
    fig, (ax1, ax2) = style.new_figure(2, 1, figsize=(10, 5.5), sharex=True)
    for i, beta in enumerate(betas):
        c = style.color(2 * i)
        style.hourly_steps(ax1, idx, hourly[f"da_mwh_beta{beta:g}"], color=c, label=f"β = {beta:g}")
        style.hourly_steps(
            ax2, idx, hourly[f"price_eur_per_mwh_beta{beta:g}"], color=c, label=f"β = {beta:g}"
        )
    ax1.set_ylabel(style.axis_label("day-ahead purchase", "MWh"))
    ax2.set_ylabel(style.axis_label("offered price", "EUR/MWh"))
    style.time_axis(ax2, idx)
    style.legend_outside(ax1)
    style.title(fig, "Here-and-now decision by risk weight", f"{CASE}, K = 10 EUR/MWh", date)
    return fig


def plot_cumulative_profit(
    daily: pd.DataFrame, column: str = "profit_eur", case: str = CASE
) -> Figure:
    """Cumulative realised profit over the days, one line per strategy [kEUR].

    ``daily`` holds the backtest rows (``date``, ``strategy``, ``draw``, ``column``);
    draws of a day are averaged. A day's profit is added at its date (steps).
    """
    missing = [c for c in ("date", "strategy", column) if c not in daily.columns]
    if missing:
        raise InputError("daily.columns", list(daily.columns), f"missing {missing}")
    per_day = daily.groupby(["strategy", "date"], sort=False)[column].mean().reset_index()
    fig, ax = style.new_figure(figsize=(9, 4.8))
    for i, (name, g) in enumerate(per_day.groupby("strategy", sort=False)):
        g = g.sort_values("date")
        x = pd.to_datetime(g["date"])
        cum = g[column].cumsum() / 1000.0
        ax.plot(x, cum, drawstyle="steps-post", color=style.color(i), label=name)
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xlabel(style.axis_label("market day", None))
    ax.set_ylabel(style.axis_label("cumulative profit", "kEUR"))
    dates = sorted(per_day["date"].unique())
    ties = "ties to the rivals" if column == "profit_eur" else "ties to the aggregator"
    style.title(ax, f"Out-of-sample bidding profit ({ties})", case, f"{dates[0]} to {dates[-1]}")
    style.legend_outside(ax)
    return fig


def _label_points(
    ax: Any,
    xs: np.ndarray,
    ys: np.ndarray,
    labels: list[str],
    spans: tuple[float, float],
    placed: list[tuple[float, float]],
) -> list[str]:
    """Label points, skipping any within 8 % (x) / 6 % (y) of the data ``spans`` of a
    point already labelled in ``placed`` (shared across series, so no text is printed over
    text); returns the labels left out."""
    x_span, y_span = spans
    skipped = []
    for x, y, lab in zip(xs, ys, labels, strict=True):
        if any(abs(x - px) / x_span < 0.08 and abs(y - py) / y_span < 0.06 for px, py in placed):
            skipped.append(lab)
            continue
        placed.append((x, y))
        ax.annotate(lab, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
    return skipped


def _frontier(res: Any, case: str, date: str) -> Figure:
    s = res.summary_table
    red = s[s["case"] == "reduced"]
    fig, ax = style.new_figure(figsize=(8.5, 5))
    notes = []
    spans = (
        float(np.ptp(red["cvar_eur"].to_numpy(float))) or 1.0,
        float(np.ptp(red["expected_profit_eur"].to_numpy(float))) or 1.0,
    )
    placed: list[tuple[float, float]] = []
    for i, (k, g) in enumerate(red.groupby("switching_cost_eur_per_mwh")):
        g = g.sort_values("beta")
        x, y = g["cvar_eur"].to_numpy(float), g["expected_profit_eur"].to_numpy(float)
        ax.plot(x, y, "o-", color=style.color(2 * i), label=f"K = {k:g} EUR/MWh")
        skipped = _label_points(ax, x, y, [f"β={b:g}" for b in g["beta"]], spans, placed)
        if skipped:
            notes.append(f"K={k:g}: {', '.join(skipped)}")
    ax.set_xlabel(style.axis_label("CVaR$_{0.95}$ of daily profit", "EUR"))
    ax.set_ylabel(style.axis_label("expected daily profit", "EUR"))
    style.title(ax, "Efficient frontier (points: β)", case, date)
    style.legend_outside(ax)
    if notes:  # below the axes, inside the figure (the layout leaves room for it)
        fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))  # type: ignore[call-arg, union-attr]
        fig.text(
            0.01,
            0.01,
            "Unlabelled points (next to a labelled one): " + "; ".join(notes),
            fontsize=7,
            color="0.3",
        )
    return fig


def _profit_cdf(res: Any, case: str, date: str) -> Figure:
    k0 = res.config.switching_costs_eur_per_mwh[0]
    sp = res.scenario_profits
    sp = sp[(sp["case"] == "reduced") & (sp["switching_cost_eur_per_mwh"] == k0)]
    fig, ax = style.new_figure(figsize=(8.5, 5))
    for i, (b, g) in enumerate(sp.groupby("beta")):
        g = g.sort_values("profit_eur")
        ax.step(
            g["profit_eur"],
            np.cumsum(g["probability"]),
            where="post",
            color=style.color(i),
            label=f"β = {b:g}",
        )
    ax.set_xlabel(style.axis_label("scenario profit", "EUR/day"))
    ax.set_ylabel(style.axis_label("cumulative probability", ""))
    style.title(ax, f"Profit distribution (K = {k0:g} EUR/MWh)", case, date)
    style.legend_outside(ax)
    return fig


def _mid_beta(res: Any) -> tuple[float, float, pd.DataFrame]:
    k0 = res.config.switching_costs_eur_per_mwh[0]
    h = res.hourly
    h = h[(h["case"] == "reduced") & (h["switching_cost_eur_per_mwh"] == k0)]
    betas = sorted(h["beta"].unique())
    b_mid = betas[len(betas) // 2]
    return k0, b_mid, h[h["beta"] == b_mid]


def _prices(res: Any, case: str, date: str) -> Figure:
    k0, b_mid, hb = _mid_beta(res)
    idx = pd.DatetimeIndex(pd.to_datetime(hb["time"]))
    fig, ax = style.new_figure(figsize=(10, 5))
    for i, col in enumerate(res.rival_expected.columns):
        style.hourly_steps(
            ax, idx, res.rival_expected[col], color=style.color(i + 1), ls=":", label=f"{col} (E)"
        )
    style.hourly_steps(
        ax, idx, hb["offered_price_eur_per_mwh"], color="black", lw=2, label="aggregator"
    )
    ax.set_ylabel(style.axis_label("offered price", "EUR/MWh"))
    style.time_axis(ax, idx)
    style.title(ax, f"Offered vs expected rival prices (β = {b_mid:g}, K = {k0:g})", case, date)
    style.legend_outside(ax)
    return fig


def _shares(res: Any, case: str, date: str) -> Figure | None:
    k0, b_mid, _ = _mid_beta(res)
    key = (k0, b_mid, "reduced")
    if key not in res.results:
        return None
    sh = res.results[key].expected_shares
    fig, ax = style.new_figure(figsize=(10, 5))
    bottom = np.zeros(len(sh))
    hours = np.arange(len(sh))
    for i, col in enumerate(sh.columns):
        vals = sh[col].to_numpy(float)
        ax.bar(hours, vals, bottom=bottom, width=1.0, align="edge", color=style.color(i), label=col)
        bottom += vals
    ax.set_xlim(0, len(sh))
    ax.set_xlabel(style.axis_label("hour of the day (bar = [h, h+1))", "h"))
    ax.set_ylabel(style.axis_label("expected share of EV demand", ""))
    style.title(ax, f"Demand shares (β = {b_mid:g}, K = {k0:g} EUR/MWh)", case, date)
    style.legend_outside(ax)
    return fig


def _energies(res: Any, case: str, date: str) -> Figure:
    s = res.summary_table
    fig, ax = style.new_figure(figsize=(9.5, 5))
    sweeps = s[s["case"] != "unreduced"]
    i = 0
    names = {
        "expected_da_mwh": ("day-ahead", "-"),
        "expected_pos_bal_mwh": ("+balancing", "--"),
        "expected_neg_bal_mwh": ("−balancing", ":"),
    }
    for (case_name, k_cost), g in sweeps.groupby(["case", "switching_cost_eur_per_mwh"]):
        tag = "" if case_name == "reduced" else ", rival recourse"
        for col, (what, ls) in names.items():
            ax.plot(
                g["beta"],
                g[col],
                ls,
                marker="o",
                color=style.color(i),
                label=f"{what}, K={k_cost:g}{tag}",
            )
            i += 1
    ax.set_xscale("log")
    ax.set_xlabel(style.axis_label("risk weight β", ""))
    ax.set_ylabel(style.axis_label("expected energy", "MWh/day"))
    style.title(ax, "Expected DA, +B, −B energy vs β (seed 002 Table 1)", case, date)
    style.legend_outside(ax)
    return fig


def _out_of_sample(res: Any, case: str) -> Figure | None:
    if res.out_of_sample.empty:
        return None
    cols = {
        "stochastic_eur": "stochastic",
        "stochastic_rival_recourse_eur": "stochastic, rival recourse",
        "expected_value_eur": "expected value",
        "perfect_foresight_eur": "perfect foresight",
    }
    o = res.out_of_sample.groupby("date")[list(cols)].mean()
    fig, ax = style.new_figure(figsize=(9, 5))
    x = np.arange(len(o))
    for i, col in enumerate(o.columns):
        ax.bar(
            x + (i - 1.5) * 0.2, o[col].to_numpy(), width=0.2, color=style.color(i), label=cols[col]
        )
    ax.set_xticks(x, list(o.index))
    ax.set_xlabel(style.axis_label("market day", None))
    ax.set_ylabel(style.axis_label("mean realised profit", "EUR/day"))
    style.title(ax, "Out of sample", case, f"{o.index[0]} to {o.index[-1]}")
    style.legend_outside(ax)
    return fig


def bidding_study_figures(res: Any) -> dict[str, Figure]:
    """Figures of a :class:`evagg.studies.bidding_day.BiddingStudyResult` by file name.

    ``frontier.png`` (seed Fig. 8), ``profit_cdf.png`` (Fig. 7, whole day),
    ``prices.png`` (Fig. 13), ``shares.png`` (Fig. 14), ``energies.png`` (Table 1 /
    Figs. 10–12 totals), ``out_of_sample.png``.
    """
    case = f"NL day-ahead market, {res.config.n_rivals} rivals"
    date = res.config.date
    figs: dict[str, Figure | None] = {
        "frontier.png": _frontier(res, case, date),
        "profit_cdf.png": _profit_cdf(res, case, date),
        "prices.png": _prices(res, case, date),
        "shares.png": _shares(res, case, date),
        "energies.png": _energies(res, case, date),
        "out_of_sample.png": _out_of_sample(res, case),
    }
    return {k: v for k, v in figs.items() if v is not None}
