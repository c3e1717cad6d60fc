"""Figures of the microgrid study (seed 003 Figs. 11–16 analogues, GA convergence)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evagg.report import style

__all__ = [
    "convergence_figure",
    "losses_figure",
    "tie_line_figure",
    "voltage_heatmap_figure",
    "voltage_profile_figure",
    "write_figures",
]


def _case(result: Any) -> str:
    c = result.config
    return f"case33bw, EVA at node {c.eva_node}, {c.disturbance} disturbance"


def _date(result: Any) -> str:
    return str(pd.Timestamp(result.series["time"].iloc[0]).date())


def voltage_heatmap_figure(result: Any, scenario: str, method: str) -> Figure:
    """AC voltage per bus (seed node numbering) and slot [pu], band 0.95–1.02 pu."""
    v = result.voltages[(scenario, method)]
    fd = result.feeder
    order = np.argsort(np.asarray(fd.bus_index))
    fig, ax = style.new_figure(figsize=(10, 6))
    im = ax.pcolormesh(
        np.arange(v.shape[1] + 1),
        np.arange(v.shape[0] + 1),
        v[order],
        cmap="viridis",
        vmin=0.9,
        vmax=1.03,
    )
    ax.grid(False)
    ax.invert_yaxis()
    ticks = np.arange(0, v.shape[1] + 1, 16)
    ax.set_xticks(ticks, [f"{t // 4:02d}:{15 * (t % 4):02d}" for t in ticks])
    ax.set_yticks(np.arange(0, v.shape[0], 4) + 0.5, [str(i + 1) for i in range(0, v.shape[0], 4)])
    ax.set_xlabel(style.axis_label("time of day (slot start)", "hh:mm"))
    ax.set_ylabel(style.axis_label("bus (seed node number)", None))
    fig.colorbar(im, ax=ax, label=style.axis_label("voltage", "pu"))
    style.title(ax, f"AC voltage, {scenario}, {method}", _case(result), _date(result))
    return fig


def voltage_profile_figure(result: Any, slot: int | None = None) -> Figure:
    """Voltage along every branch path at the slot of lowest voltage, per scenario/method."""
    fd = result.feeder
    keys = list(result.voltages)
    if slot is None:
        v_ref = result.voltages[keys[-1]]
        slot = int(np.argmin(v_ref[1:].min(axis=0)))
    fig, ax = style.new_figure(figsize=(10, 5))
    for i, key in enumerate(keys):
        style.feeder_profile(
            ax,
            fd,
            result.voltages[key][:, slot],
            label=f"{key[0]}, {key[1]}",
            color=style.color(i),
            label_leaves=i == 0,
        )
    for lim in (0.95, 1.02):
        ax.axhline(lim, color="0.4", linestyle="--", linewidth=0.8)
    ax.set_xlabel(style.axis_label("distance from the substation", "branches"))
    ax.set_ylabel(style.axis_label("voltage", "pu"))
    style.legend_outside(ax)
    t = pd.Timestamp(result.series["time"].iloc[slot]).strftime("%H:%M")
    style.title(ax, f"Voltage profile per branch path at {t}", _case(result), _date(result))
    return fig


def _per_case(result: Any, column: str, what: str, unit: str) -> Figure:
    fig, ax = style.new_figure(figsize=(10, 5))
    for i, ((scen, meth), df) in enumerate(result.series.groupby(["scenario", "method"])):
        idx = pd.DatetimeIndex(df["time"])
        style.hourly_steps(ax, idx, df[column], label=f"{scen}, {meth}", color=style.color(i))
    idx = pd.DatetimeIndex(result.series["time"].iloc[:96])
    for name, (a, b) in (("T1", ("10:30", "14:30")), ("T2", ("19:00", "22:00"))):
        day = idx[0].normalize()
        ax.axvspan(
            day + pd.Timedelta(f"{a}:00"), day + pd.Timedelta(f"{b}:00"), color="0.9", zorder=0
        )
        ax.text(
            day + pd.Timedelta(f"{a}:00"),
            0.98,
            f" {name}",
            transform=ax.get_xaxis_transform(),
            va="top",
        )
    style.time_axis(ax, idx)
    ax.set_ylabel(style.axis_label(what, unit))
    style.legend_outside(ax)
    style.title(ax, what.capitalize(), _case(result), _date(result))
    return fig


def losses_figure(result: Any) -> Figure:
    """Network losses per slot [kW] with the peak periods T1 and T2 shaded (Figs. 13, 16)."""
    return _per_case(result, "loss_kw", "network losses", "kW")


def tie_line_figure(result: Any) -> Figure:
    """Substation (tie-line) import per slot [kW]."""
    return _per_case(result, "tie_kw", "tie-line power", "kW")


def convergence_figure(result: Any) -> Figure:
    """GA best penalised fitness per generation vs the convex optimum (AC-evaluated)."""
    fig, ax = style.new_figure(figsize=(11, 5))
    cases = result.cases.set_index(["scenario", "method"])
    for i, (scen, curve) in enumerate(result.ga_curves.items()):
        ax.plot(np.arange(1, curve.size + 1), curve, color=style.color(i), label=f"GA, {scen}")
        if (scen, "convex") in cases.index:
            ax.axhline(
                cases.loc[(scen, "convex"), "objective_ac"],
                color=style.color(i),
                linestyle="--",
                label=f"convex optimum, {scen}",
            )
    ax.set_yscale("log")
    ax.set_xlabel(style.axis_label("generation", ""))
    ax.set_ylabel(style.axis_label("eq. (13) + penalties (normalised)", ""))
    style.legend_outside(ax)
    style.title(ax, "GA vs convex optimum", _case(result), _date(result))
    return fig


def write_figures(result: Any, out: Path) -> list[Path]:
    """Write every figure of the study as PNG; returns the paths."""
    figs: dict[str, Figure] = {
        "voltage_profile.png": voltage_profile_figure(result),
        "losses.png": losses_figure(result),
        "tie_line.png": tie_line_figure(result),
    }
    first = next(iter(result.voltages))
    figs["voltage_heatmap.png"] = voltage_heatmap_figure(result, *first)
    if result.ga_curves:
        figs["ga_convergence.png"] = convergence_figure(result)
    return style.save_figures(figs, out)
