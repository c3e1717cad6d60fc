"""Figures of the reliability study (matplotlib ``Figure`` objects; no global backend)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from evagg.reliability.curves import CalibrationResult

__all__ = ["bid_curve_figure", "calibration_figure", "reliability_figure", "user_mix_figure"]


def reliability_figure(curves: dict[str, pd.Series], target: float = 0.95) -> Figure:
    """Reliability vs bid, one line per label (seed 003 Fig. 5 style)."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for label, s in curves.items():
        ax.plot(s.index.to_numpy(float), s.to_numpy(float), label=label)
    ax.axhline(target, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("bid C [kWh]")
    ax.set_ylabel("reliability P(S ≥ C)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def bid_curve_figure(
    curve: pd.DataFrame, delivered: pd.Series | None = None, target: float = 0.95
) -> Figure:
    """Bid at the target reliability per slot and method, with expected and realised offer."""
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.add_subplot()
    x = curve.index.tz_localize(None) if isinstance(curve.index, pd.DatetimeIndex) else curve.index
    for col in curve.columns:
        if col.startswith("bid_"):
            ax.plot(x, curve[col], label=f"{col[4:-4]} bid at R ≥ {target:g}")
    if "expected_kwh" in curve:
        ax.plot(x, curve["expected_kwh"], color="grey", ls=":", label="expected offer")
    if delivered is not None:
        ax.plot(x, delivered.to_numpy(float), color="black", lw=0.8, label="realised offer")
    ax.set_ylabel("V2G energy [kWh]")
    ax.set_xlabel("slot start (local time)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def calibration_figure(result: CalibrationResult) -> Figure:
    """Predicted reliability vs observed frequency of meeting the bid, per method."""
    fig = Figure(figsize=(5.2, 5.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect calibration")
    for m, sub in result.table.groupby("method"):
        sub = sub[sub["count"] >= 5]
        brier = float(result.summary["brier"].to_dict()[m])
        ax.plot(sub["predicted"], sub["observed"], marker="o", label=f"{m} (Brier {brier:.4f})")
    ax.set_xlabel("predicted reliability")
    ax.set_ylabel("observed frequency of meeting the bid")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def user_mix_figure(curves: pd.DataFrame, target: float = 0.95) -> Figure:
    """Reliability vs bid per user mix, long : short : residential (seed 003 Fig. 7 style)."""
    lines = {f"long:short:res {k}": curves.loc[k] for k in curves.index}
    return reliability_figure(lines, target=target) if lines else Figure()
