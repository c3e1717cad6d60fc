"""Figures of scenario sets: fan charts against the realised series."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from evagg._checks import check_same_index
from evagg.errors import InputError
from evagg.report import style
from evagg.scenarios import (
    DA_PRICE,
    EV_DEMAND,
    NEG_BAL_PRICE,
    POS_BAL_PRICE,
    ScenarioSet,
    weighted_quantiles,
)

__all__ = ["QUANTITY_LABELS", "plot_fan_chart", "scenario_day_figure"]

QUANTITY_LABELS: dict[str, tuple[str, str]] = {
    DA_PRICE: ("day-ahead price", "EUR/MWh"),
    POS_BAL_PRICE: ("positive balancing price", "EUR/MWh"),
    NEG_BAL_PRICE: ("negative balancing price", "EUR/MWh"),
    EV_DEMAND: ("EV demand", "MWh/h"),
}
"""Readable name and unit of each scenario quantity (axis labels, never raw columns)."""


def _label(quantity: str) -> str:
    name, unit = QUANTITY_LABELS.get(quantity, (quantity.replace("_", " "), ""))
    return style.axis_label(name, unit)


def plot_fan_chart(
    ss: ScenarioSet,
    quantity: str,
    realised: pd.Series | None = None,
    ax: Axes | None = None,
    reduced: ScenarioSet | None = None,
    title: str | None = None,
    legend: bool = True,
) -> Figure:
    """Fan chart: 5–95 % and 25–75 % bands, median, mean, reduced scenarios and realised.

    Hourly values are left-aligned steps (:func:`evagg.report.style.hourly_steps`).

    Parameters
    ----------
    ss
        Scenario set; quantiles are probability-weighted.
    quantity
        Quantity to draw, e.g. ``"da_price_eur_per_mwh"`` (axis label from
        :data:`QUANTITY_LABELS`).
    realised
        Realised series on exactly ``ss.time_index`` (else ``MisalignedIndexError``).
    ax
        Axes to draw on; by default a new styled figure.
    reduced
        A reduced set to overlay, line width proportional to probability.
    title
        Axes title (default: the quantity's readable name and the day).
    legend
        Draw the legend outside the axes (right).
    """
    values = ss.array(quantity)
    idx = ss.time_index
    if realised is not None:
        if not isinstance(realised, pd.Series):
            raise InputError("realised", type(realised).__name__, "must be a pandas Series")
        check_same_index(["ss.time_index", "realised.index"], [idx, realised.index])
    if reduced is not None:
        check_same_index(["ss.time_index", "reduced.time_index"], [idx, reduced.time_index])
    if ax is None:
        fig, ax = style.new_figure(figsize=(9, 4.5))
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    c = style.color(9)
    q = weighted_quantiles(values, ss.p, (0.05, 0.25, 0.5, 0.75, 0.95))
    style.hourly_steps(ax, idx, q[4], fill_to=q[0], color=c, alpha=0.18, lw=0, label="5–95 %")
    style.hourly_steps(ax, idx, q[3], fill_to=q[1], color=c, alpha=0.35, lw=0, label="25–75 %")
    style.hourly_steps(ax, idx, q[2], color=c, lw=1.5, label="median")
    style.hourly_steps(ax, idx, ss.expected(quantity), color=c, lw=1.0, ls="--", label="mean")
    if reduced is not None:
        rv = reduced.array(quantity)
        pmax = float(reduced.p.max())
        for k in range(rv.shape[0]):
            style.hourly_steps(
                ax,
                idx,
                rv[k],
                color="0.45",
                alpha=0.8,
                lw=0.4 + 2.0 * reduced.p[k] / pmax,
                label=f"reduced ({reduced.n_scenarios})" if k == 0 else None,
            )
    if realised is not None:
        style.hourly_steps(ax, idx, realised, color="black", lw=2.0, label="realised")
    _clip_outliers(ax, q, realised, reduced.array(quantity) if reduced is not None else None)
    style.time_axis(ax, pd.DatetimeIndex(idx))
    ax.set_ylabel(_label(quantity))
    ax.set_title(title or f"{QUANTITY_LABELS.get(quantity, (quantity,))[0]}, {idx[0].date()}")
    if legend:
        style.legend_outside(ax)
    return fig


def _clip_outliers(
    ax: Axes, q: np.ndarray, realised: pd.Series | None, lines: np.ndarray | None
) -> None:
    """y-limits from the 5–95 % band and the realised series (+15 %), so that one extreme
    reduced scenario does not squash the panel; the clipped values are counted on the plot."""
    core = [q[0], q[4]] + ([realised.to_numpy(float)] if realised is not None else [])
    lo = float(np.min([np.min(c) for c in core]))
    hi = float(np.max([np.max(c) for c in core]))
    pad = 0.15 * ((hi - lo) or max(abs(hi), 1.0))
    lo, hi = lo - pad, hi + pad
    if lines is None:
        return
    n_out = int(np.sum((lines < lo) | (lines > hi)))
    if n_out:
        ax.set_ylim(lo, hi)
        ax.text(
            0.01,
            0.02,
            f"{n_out} reduced-scenario hour values beyond the axis "
            f"(range {lines.min():.0f} to {lines.max():.0f})",
            transform=ax.transAxes,
            fontsize=7,
            color="0.3",
        )


def scenario_day_figure(
    ss: ScenarioSet, reduced: ScenarioSet, realised: pd.Series | None, date: str, case: str
) -> Figure:
    """Four fan charts (day-ahead, ±balancing prices, EV demand) of one market day."""
    fig, axes = style.new_figure(2, 2, figsize=(13, 8), sharex=True)
    for ax, q in zip(axes.ravel(), QUANTITY_LABELS, strict=True):
        name, unit = QUANTITY_LABELS[q]
        plot_fan_chart(
            ss,
            q,
            realised if q == DA_PRICE else None,
            ax=ax,
            reduced=reduced,
            title=f"{name} [{unit}]",
            legend=False,
        )
    handles, labels = axes[0, 0].get_legend_handles_labels()  # the panel with 'realised'
    fig.legend(handles, labels, loc="outside right upper", fontsize=style.RC["legend.fontsize"])
    what = f"Scenarios: {ss.n_scenarios} generated, {reduced.n_scenarios} kept"
    style.title(fig, what, case, date)
    return fig
