"""Figures of the V2G reliability study (seed 003), in the shared style."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from evagg.reliability import CalibrationResult
from evagg.report import style

__all__ = ["bid_curve_figure", "calibration_figure", "reliability_figure", "user_mix_figure"]


def reliability_figure(
    curves: dict[str, pd.Series],
    target: float = 0.95,
    case: str = "EV fleet",
    date: str | None = None,
    what: str = "Reliability of a V2G bid",
) -> Figure:
    """Reliability vs bid, one line per label (seed 003 Fig. 5 style)."""
    fig, ax = style.new_figure(figsize=(8, 4.5))
    for i, (label, s) in enumerate(curves.items()):
        ax.plot(s.index.to_numpy(float), s.to_numpy(float), color=style.color(i), label=label)
    ax.axhline(target, color="0.4", lw=0.8, ls="--", label=f"target {target:g}")
    ax.set_xlabel(style.axis_label("bid C (V2G energy)", "kWh"))
    ax.set_ylabel(style.axis_label("reliability P(S ≥ C)", ""))
    ax.set_ylim(-0.02, 1.02)
    style.title(ax, what, case, date)
    style.legend_outside(ax)
    return fig


def bid_curve_figure(
    curve: pd.DataFrame,
    delivered: pd.Series | None = None,
    target: float = 0.95,
    case: str = "EV fleet",
) -> Figure:
    """Bid at the target reliability per slot and method, with expected and realised offer
    (left-aligned slot steps)."""
    fig, ax = style.new_figure(figsize=(10, 4.5))
    idx = pd.DatetimeIndex(curve.index)
    i = 0
    for col in curve.columns:
        if col.startswith("bid_"):
            label = f"{col[4:-4]} bid at R ≥ {target:g}"
            style.hourly_steps(ax, idx, curve[col], color=style.color(i), label=label)
            i += 1
    if "expected_kwh" in curve:
        style.hourly_steps(
            ax, idx, curve["expected_kwh"], color="0.45", ls=":", label="expected offer"
        )
    if delivered is not None:
        style.hourly_steps(ax, idx, delivered, color="black", lw=0.8, label="realised offer")
    ax.set_ylabel(style.axis_label("V2G energy per slot", "kWh"))
    style.time_axis(ax, idx)
    style.title(ax, "V2G bid per slot", case, str(idx[0].date()))
    style.legend_outside(ax)
    return fig


def calibration_figure(
    result: CalibrationResult, case: str = "EV fleet", date: str | None = None
) -> Figure:
    """Predicted reliability vs observed frequency of meeting the bid, per method."""
    fig, ax = style.new_figure(figsize=(7.5, 5.0))
    ax.plot([0, 1], [0, 1], color="0.4", lw=0.8, ls="--", label="perfect calibration")
    for i, (m, sub) in enumerate(result.table.groupby("method")):
        sub = sub[sub["count"] >= 5]
        brier = float(result.summary["brier"].to_dict()[m])
        ax.plot(
            sub["predicted"],
            sub["observed"],
            marker="o",
            color=style.color(i),
            label=f"{m} (Brier {brier:.4f})",
        )
    ax.set_xlabel(style.axis_label("predicted reliability", ""))
    ax.set_ylabel(style.axis_label("observed frequency of meeting the bid", ""))
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    style.title(ax, "Calibration on held-out days", case, date)
    style.legend_outside(ax)
    return fig


def user_mix_figure(
    curves: pd.DataFrame, target: float = 0.95, case: str = "EV fleet", date: str | None = None
) -> Figure:
    """Reliability vs bid per user mix, long : short : residential (seed 003 Fig. 7 style)."""
    lines = {f"long:short:res {k}": curves.loc[k] for k in curves.index}
    return reliability_figure(
        lines, target=target, case=case, date=date, what="Reliability by user mix"
    )
