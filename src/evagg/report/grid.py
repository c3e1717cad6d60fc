"""Files and figures of DistFlow OPF results (DLMP heat map, voltage profile, EV impact)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evagg.grid import Feeder, OPFResult
from evagg.report import style

__all__ = ["dlmp_heatmap_figure", "ev_impact_figure", "voltage_figure", "write_opf_outputs"]


def _date_of(res: OPFResult) -> str:
    cols = res.v_pu.columns
    if isinstance(cols, pd.DatetimeIndex) and len(cols):
        return str(cols[0].date())
    return "single period"


def _slot_labels(cols: pd.Index) -> list[str]:
    if isinstance(cols, pd.DatetimeIndex):
        return [t.strftime("%H:%M") for t in cols]
    return [str(c) for c in cols]


def dlmp_heatmap_figure(res: OPFResult, case: str, date: str | None = None) -> Figure:
    """DLMP per bus and slot [EUR/MWh]; each cell spans its slot (left edge = slot start)."""
    dl = res.dlmp_eur_per_mwh
    fig, ax = style.new_figure(figsize=(10, 6))
    n_t = dl.shape[1]
    im = ax.pcolormesh(
        np.arange(n_t + 1), np.arange(len(dl.index) + 1), dl.to_numpy(), cmap="viridis"
    )
    ax.invert_yaxis()
    ax.grid(False)
    ax.set_yticks(np.arange(len(dl.index)) + 0.5, [str(b) for b in dl.index], fontsize=6)
    labels = _slot_labels(dl.columns)
    step = max(1, n_t // 12)
    ax.set_xticks(np.arange(0, n_t, step), labels[::step], rotation=45, fontsize=7)
    tz = getattr(dl.columns, "tz", None)
    ax.set_xlabel(style.axis_label("slot start", str(tz) if tz is not None else None))
    ax.set_ylabel("bus (pandapower index)")
    fig.colorbar(im, ax=ax, label=style.axis_label("DLMP", "EUR/MWh"))
    style.title(ax, "Nodal price (DLMP) per bus and slot", case, date or _date_of(res))
    return fig


def voltage_figure(
    res: OPFResult, feeder: Feeder | None, case: str, date: str | None = None
) -> Figure:
    """Voltage along the feeder per branch path for a few slots (incl. the lowest-voltage
    one) and the minimum over slots; without a feeder, voltage per bus as points."""
    v = res.v_pu
    fig, ax = style.new_figure(figsize=(9, 4.8))
    n_t = v.shape[1]
    worst = int(np.argmin(v.min(axis=0).to_numpy()))
    picks = sorted(set(np.linspace(0, n_t - 1, min(n_t, 5), dtype=int).tolist()) | {worst})
    labels = _slot_labels(v.columns)
    for i, t in enumerate(picks):
        lab = f"{labels[t]}" + (" (lowest)" if t == worst else "")
        if feeder is not None:
            style.feeder_profile(
                ax, feeder, v.iloc[:, t], label=lab, color=style.color(i), label_leaves=i == 0
            )
        else:
            ax.plot(v.index.to_numpy(), v.iloc[:, t], ".", color=style.color(i), label=lab)
    if feeder is None:
        ax.set_xlabel("bus (pandapower index)")
        ax.set_ylabel(style.axis_label("voltage magnitude", "pu"))
    style.title(ax, "Voltage profile along the feeder", case, date or _date_of(res))
    style.legend_outside(ax, title="slot start")
    return fig


def ev_impact_figure(
    base: OPFResult,
    ev: OPFResult,
    bus: int,
    n_vehicles: int,
    price: pd.Series,
    v_min_pu: float,
    case: str,
) -> Figure:
    """DLMP at the EV bus and the lowest voltage per hour, without and with the EVs
    (left-aligned hourly steps)."""
    idx = pd.DatetimeIndex(price.index)
    fig, (ax1, ax2) = style.new_figure(2, 1, figsize=(10, 6.5), sharex=True)
    style.hourly_steps(ax1, idx, price, color="0.4", label="NL day-ahead (substation)")
    style.hourly_steps(
        ax1, idx, base.dlmp_eur_per_mwh.loc[bus], color=style.color(0), label="DLMP, no EVs"
    )
    style.hourly_steps(
        ax1,
        idx,
        ev.dlmp_eur_per_mwh.loc[bus],
        color=style.color(6),
        label=f"DLMP, {n_vehicles} EVs",
    )
    ax1.set_ylabel(style.axis_label(f"price at bus {bus}", "EUR/MWh"))
    style.legend_outside(ax1)
    style.hourly_steps(
        ax2, idx, base.v_pu.min(axis=0), color=style.color(0), label="lowest voltage, no EVs"
    )
    style.hourly_steps(
        ax2,
        idx,
        ev.v_pu.min(axis=0),
        color=style.color(6),
        label=f"lowest voltage, {n_vehicles} EVs",
    )
    ax2.axhline(v_min_pu, color="k", ls="--", lw=0.8, label=f"limit {v_min_pu:g} pu")
    ax2.set_ylabel(style.axis_label("lowest bus voltage", "pu"))
    style.time_axis(ax2, idx)
    style.legend_outside(ax2)
    style.title(
        fig, f"Uncontrolled charging at bus {bus} (hosting limit)", case, str(idx[0].date())
    )
    return fig


def write_opf_outputs(
    res: OPFResult,
    out: Path,
    feeder: Feeder | None = None,
    case: str = "feeder",
    date: str | None = None,
) -> list[Path]:
    """Write an OPF result: per-bus long table (Parquet + CSV), DLMP and voltage tables,
    per-slot losses and substation exchange, ``summary.json``, ``dlmp_heatmap.png`` and
    ``voltage.png`` (profile per branch path when ``feeder`` is given)."""
    out.mkdir(parents=True, exist_ok=True)
    long = pd.Series(res.v_pu.stack(), name="v_pu").to_frame()
    long["dlmp_eur_per_mwh"] = res.dlmp_eur_per_mwh.stack()
    for k, df in res.dlmp_components.items():
        long[f"dlmp_{k}_eur_per_mwh"] = df.stack()
    long["qlmp_eur_per_mvarh"] = res.qlmp_eur_per_mvarh.stack()
    long.index = long.index.set_names(["bus", "slot"])
    long = long.reset_index()
    long["slot"] = long["slot"].astype(str)
    long.to_parquet(out / "opf_buses.parquet", index=False)
    long.to_csv(out / "opf_buses.csv", index=False)
    res.dlmp_eur_per_mwh.to_csv(out / "dlmp_eur_per_mwh.csv")
    res.v_pu.to_csv(out / "v_pu.csv")
    pd.DataFrame(
        {"losses_mw": res.losses_mw, "p_ext_mw": res.p_ext_mw, "q_ext_mvar": res.q_ext_mvar}
    ).to_csv(out / "slots.csv")
    (out / "summary.json").write_text(json.dumps(res.summary(), indent=1))
    style.save_figure(dlmp_heatmap_figure(res, case, date), out / "dlmp_heatmap.png")
    style.save_figure(voltage_figure(res, feeder, case, date), out / "voltage.png")
    return [
        out / "opf_buses.parquet",
        out / "summary.json",
        out / "dlmp_heatmap.png",
        out / "voltage.png",
    ]
