"""Figures of the DSO ↔ aggregators game study (:mod:`evagg.studies.dso_game`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.ticker import MaxNLocator

from evagg.report.style import (
    axis_label,
    color,
    hourly_steps,
    legend_outside,
    new_figure,
    save_figure,
    time_axis,
    title,
)

if TYPE_CHECKING:
    from evagg.studies.dso_game import DSOGameResult

__all__ = ["write_figures"]


def write_figures(result: DSOGameResult, out: Path) -> list[Path]:
    """Convergence, DLMP and price by aggregator, station shares, points and comparison."""
    cfg = result.config
    case = f"{cfg.network}, aggregators at buses {', '.join(map(str, cfg.aggregators))}"
    date = str(result.days["date"].iloc[-1])
    files = []

    fig, (a1, a2) = new_figure(2, 1, figsize=(9, 6), sharex=True)
    tr = result.trajectory
    a1.semilogy(tr["iteration"], tr["max_dprice_eur_per_mwh"], marker="o", label="max |ΔDLMP|")
    a1.set_ylabel(axis_label("change", "EUR/MWh"))
    a2.semilogy(
        tr["iteration"], tr["max_dload_mw"], marker="o", color=color(1), label="max |Δload|"
    )
    a2.set_ylabel(axis_label("change", "MW"))
    a2.set_xlabel(axis_label("iteration", ""))
    for ax in (a1, a2):
        legend_outside(ax)
    title(fig, "Game convergence (last day)", case, date)
    files.append(save_figure(fig, out / "convergence.png"))

    fig, ax = new_figure(figsize=(10, 5))
    pr = result.prices
    idx = pd.DatetimeIndex(pr.index)
    hourly_steps(
        ax, idx, pr["substation_price_eur_per_mwh"], color="grey", label="substation (NL DA)"
    )
    for k, b in enumerate(cfg.aggregators):
        hourly_steps(ax, idx, pr[f"dlmp_{b}"], color=color(k), ls="--", label=f"DLMP bus {b}")
        hourly_steps(ax, idx, pr[f"price_{b}"], color=color(k), label=f"charging price bus {b}")
    ax.set_ylabel(axis_label("price", "EUR/MWh"))
    time_axis(ax, idx)
    legend_outside(ax)
    title(ax, "DLMP and charging price by aggregator", case, date)
    files.append(save_figure(fig, out / "prices.png"))

    days = result.days
    fig, (a1, a2) = new_figure(2, 1, figsize=(9, 6), sharex=True)
    for k, b in enumerate(cfg.aggregators):
        a1.plot(days["day"], days[f"share_{b}"], marker="o", color=color(k), label=f"bus {b}")
    a1.set_ylabel(axis_label("station share", ""))
    a2.plot(days["day"], days["mean_discount"], marker="o", label="mean fee discount factor")
    a2.plot(days["day"], days["recommended_share"], marker="s", label="chose recommended station")
    a2.plot(days["day"], days["off_peak_share"], marker="^", label="started off-peak")
    a2.set_ylabel(axis_label("share / factor", ""))
    a2.set_xlabel(axis_label("day", "d"))
    a2.xaxis.set_major_locator(MaxNLocator(integer=True))  # days are whole
    for ax in (a1, a2):
        legend_outside(ax)
    last = (pd.Timestamp(cfg.date) + pd.Timedelta(days=cfg.days - 1)).date()
    span = cfg.date if cfg.days == 1 else f"{cfg.date} to {last}"
    title(fig, f"Station choice and points over {cfg.days} day(s)", case, span)
    files.append(save_figure(fig, out / "shares_points.png"))

    if not result.comparison.empty:
        comp = result.comparison.set_index("case")
        fig, ax = new_figure(figsize=(9, 4.5))
        ax.bar(comp.index, comp["welfare_eur"], color=[color(i) for i in range(len(comp))])
        ax.set_ylabel(axis_label("welfare", "EUR"))
        ax.set_xlabel(axis_label("case", None))
        ax.tick_params(axis="x", labelrotation=15)
        title(ax, "Welfare by coordination case", case, date)
        files.append(save_figure(fig, out / "comparison.png"))
    return files
