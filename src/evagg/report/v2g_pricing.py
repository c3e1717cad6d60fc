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
        hourly_steps(
            ax2,
            idx,
            soc["fleet_capacity_kwh"],
            fill_to=soc["fleet_floor_kwh"],
            color=color(7),
            alpha=0.25,
            label="floor .. capacity (all V2G EVs)",
        )
        for i, col in enumerate(["day_ahead_plan", "rolling", "perfect_foresight"]):
            hourly_steps(ax2, idx, soc[col], color=color(i), label=col.replace("_", " "))
    ax2.set_ylabel(axis_label("V2G fleet stored energy", "kWh"))
    legend_outside(ax2)
    time_axis(ax2, idx)
    title(fig, "V2G dispatch: hold vs rolling vs perfect foresight", case, result.config.date)
    return fig


def waterfall_figure(result: V2GPricingResult, case: str) -> Figure:
    """Left: the rolling strategy's profit built up from users' payments (waterfall);
    right: profit and loss vs perfect foresight of every strategy, at realised prices."""
    s = result.strategies
    profit, cost = s["profit_eur"].to_dict(), s["v2g_fleet_cost_eur"].to_dict()
    pay = float(result.numbers["users_payments_eur"])
    ordinary = pay - (profit["no_v2g"] + cost["no_v2g"])
    steps = [
        ("users' payments", pay),
        ("ordinary users' energy", -ordinary),
        ("V2G users' energy", -cost["no_v2g"]),
        ("V2G arbitrage (rolling)", cost["no_v2g"] - cost["rolling"]),
    ]
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(11, 4.5))
    level = 0.0
    for i, (_name, delta) in enumerate(steps):
        ax1.bar(i, delta, bottom=level, color=color(0 if delta >= 0 else 3))
        level += delta
    ax1.bar(len(steps), level, color=color(2))
    ax1.set_xticks(
        range(len(steps) + 1), [n for n, _ in steps] + ["profit"], rotation=30, ha="right"
    )
    ax1.set_ylabel(axis_label("amount at realised prices", "EUR"))
    ax1.set_xlabel(axis_label("component", ""))
    names = list(s.index)
    x = np.arange(len(names))
    ax2.bar(x, s["profit_eur"], color=[color(i) for i in range(len(names))])
    for xi, (p, loss) in enumerate(
        zip(s["profit_eur"], s["loss_vs_perfect_foresight_eur"], strict=True)
    ):
        ax2.annotate(f"{p:,.1f}\n(loss {loss:,.1f})", (xi, p), ha="center", va="bottom", fontsize=8)
    ax2.set_xticks(x, [n.replace("_", " ") for n in names], rotation=30, ha="right")
    lo, hi = float(s["profit_eur"].min()), float(s["profit_eur"].max())
    ax2.set_ylim(lo - 0.5 * (hi - lo + 1.0), hi + 0.5 * (hi - lo + 1.0))
    ax2.set_ylabel(axis_label("profit at realised prices", "EUR"))
    ax2.set_xlabel(axis_label("real-time strategy", ""))
    title(fig, "Aggregator profit: waterfall (rolling) and by strategy", case, result.config.date)
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
