"""Figures of the stochastic bi-level bidding study (seed 002), in the shared style."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from evagg.report import style

__all__ = ["demo_decision_figure"]

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
