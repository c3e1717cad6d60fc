"""Figures of the V2G-pricing study (seed 001): prices, V2G dispatch and SOC, revenue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evagg.report.style import (
    axis_label,
    color,
    hourly_steps,
    legend_outside,
    new_figure,
    time_axis,
    title,
)

if TYPE_CHECKING:
    from evagg.studies.v2g_pricing import V2GPricingResult

__all__ = ["day_figures", "monthly_figure"]


def prices_figure(result: V2GPricingResult, case: str) -> Figure:
    """Prices to users vs day-ahead forecast and realised prices (two panels)."""
    h = result.hourly
    idx = pd.DatetimeIndex(h.index)
    fig, (ax1, ax2) = new_figure(2, 1, figsize=(9, 6), sharex=True)
    hourly_steps(ax1, idx, h["price_to_users_eur_per_kwh"], color=color(0), label="to users")
    cap = result.config.price_cap_eur_per_kwh
    ax1.axhline(cap, color=color(3), ls="--", label=f"cap / flat tariff {cap:g}")
    ax1.set_ylabel(axis_label("charging price", "EUR/kWh"))
    legend_outside(ax1)
    hourly_steps(ax2, idx, h["forecast_price_eur_per_mwh"], color=color(1), label="forecast")
    hourly_steps(ax2, idx, h["realised_price_eur_per_mwh"], color=color(2), label="realised")
    ax2.set_ylabel(axis_label("NL day-ahead price", "EUR/MWh"))
    legend_outside(ax2)
    time_axis(ax2, idx)
    title(
        fig, "Charging prices of the pricing game vs NL day-ahead prices", case, result.config.date
    )
    return fig


def dispatch_figure(result: V2GPricingResult, case: str) -> Figure:
    """V2G fleet net grid energy per strategy, and stored energy (SOC band)."""
    h = result.hourly
    idx = pd.DatetimeIndex(h.index)
    fig, (ax1, ax2) = new_figure(2, 1, figsize=(9, 6), sharex=True)
    for i, (col, lab) in enumerate(
        [
            ("v2g_net_kwh_plan", "day-ahead plan (hold)"),
            ("v2g_net_kwh_rolling", "rolling"),
            ("v2g_net_kwh_pf", "perfect foresight"),
        ]
    ):
        hourly_steps(ax1, idx, h[col], color=color(i), label=lab)
    hourly_steps(ax1, idx, h["ordinary_kwh"], color=color(5), ls=":", label="ordinary users")
    ax1.axhline(0.0, color="0.3", lw=0.8)
    ax1.set_ylabel(axis_label("net grid energy", "kWh"))
    legend_outside(ax1)
    soc = result.soc
    if not soc.empty:
        lo = soc.min(axis=1).to_numpy()
        hi = soc.max(axis=1).to_numpy()
        hourly_steps(
            ax2, idx, hi, fill_to=lo, color=color(7), alpha=0.3, label="range of strategies"
        )
        for i, col in enumerate(soc.columns):
            hourly_steps(ax2, idx, soc[col], color=color(i), label=col.replace("_", " "))
    ax2.set_ylabel(axis_label("V2G fleet stored energy", "kWh"))
    legend_outside(ax2)
    time_axis(ax2, idx)
    title(fig, "V2G dispatch: hold vs rolling vs perfect foresight", case, result.config.date)
    return fig


def waterfall_figure(result: V2GPricingResult, case: str) -> Figure:
    """Aggregator's profit per strategy at realised prices and the loss vs perfect foresight."""
    s = result.strategies
    fig, ax = new_figure(figsize=(8, 4))
    names = list(s.index)
    x = np.arange(len(names))
    ax.bar(x, s["profit_eur"], color=[color(i) for i in range(len(names))])
    for xi, (p, loss) in enumerate(
        zip(s["profit_eur"], s["loss_vs_perfect_foresight_eur"], strict=True)
    ):
        ax.annotate(f"{p:,.1f}\n(loss {loss:,.1f})", (xi, p), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [n.replace("_", " ") for n in names])
    ax.set_ylabel(axis_label("profit at realised prices", "EUR"))
    ax.set_xlabel(axis_label("real-time strategy", ""))
    title(ax, "Aggregator profit by real-time strategy", case, result.config.date)
    return fig


def day_figures(result: V2GPricingResult, case: str) -> dict[str, Figure]:
    """Every figure of a day, by file name."""
    return {
        "prices.png": prices_figure(result, case),
        "v2g_dispatch.png": dispatch_figure(result, case),
        "profit_by_strategy.png": waterfall_figure(result, case),
    }


def monthly_figure(monthly: pd.DataFrame, case: str, period: str) -> Figure:
    """Monthly loss vs perfect foresight of hold and rolling, and the loss reduction."""
    fig, (ax1, ax2) = new_figure(2, 1, figsize=(9, 6), sharex=True)
    x = np.arange(len(monthly))
    labels = [str(p) for p in monthly.index]
    ax1.bar(x - 0.2, monthly["loss_eur_hold"], width=0.4, color=color(0), label="hold")
    ax1.bar(x + 0.2, monthly["loss_eur_rolling"], width=0.4, color=color(1), label="rolling")
    ax1.set_ylabel(axis_label("loss vs perfect foresight", "EUR"))
    legend_outside(ax1)
    ax2.bar(x, 100 * monthly["loss_reduction_rolling_vs_hold"], color=color(2))
    ax2.axhline(33, color=color(3), ls="--", label="seed 001: ~33 %")
    ax2.set_ylabel(axis_label("loss reduction, rolling vs hold", "%"))
    ax2.set_xticks(x, labels, rotation=45)
    ax2.set_xlabel(axis_label("month", "YYYY-MM"))
    legend_outside(ax2)
    title(fig, "V2G real-time strategies by month", case, period)
    return fig
