"""Figures of the stochastic bi-level bidding study (seed 002) and of its backtest, in the
shared style."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from evagg.errors import InputError
from evagg.report import style

__all__ = ["demo_decision_figure", "plot_cumulative_profit"]

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
