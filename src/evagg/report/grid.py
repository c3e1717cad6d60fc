"""Files and figures of a DistFlow OPF result (DLMP heat map, voltage profile, tables)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evagg.grid import OPFResult


def plot_opf(res: OPFResult, out: Path) -> list[Path]:
    """Write ``dlmp_heatmap.png`` (bus × slot DLMP) and ``voltage.png`` (|V| by bus)."""

    dl = res.dlmp_eur_per_mwh
    fig = Figure(figsize=(9, 5))
    ax = fig.add_subplot()
    im = ax.imshow(dl.to_numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(dl.index)), [str(b) for b in dl.index], fontsize=6)
    ax.set_xlabel("slot")
    ax.set_ylabel("bus (pandapower index)")
    ax.set_title("DLMP [EUR/MWh]")
    fig.colorbar(im, ax=ax)
    fig.savefig(out / "dlmp_heatmap.png", dpi=120, bbox_inches="tight")

    v = res.v_pu
    fig = Figure(figsize=(9, 4))
    ax = fig.add_subplot()
    order = np.argsort(v.index.to_numpy())
    for t in range(v.shape[1]) if v.shape[1] <= 8 else np.linspace(0, v.shape[1] - 1, 6, dtype=int):
        ax.plot(v.index.to_numpy()[order], v.iloc[order, t], marker=".", label=str(v.columns[t]))
    ax.plot(
        v.index.to_numpy()[order], v.min(axis=1).to_numpy()[order], "k--", label="min over slots"
    )
    ax.set_xlabel("bus (pandapower index)")
    ax.set_ylabel("|V| (pu)")
    ax.legend(fontsize=6)
    fig.savefig(out / "voltage.png", dpi=120, bbox_inches="tight")
    return [out / "dlmp_heatmap.png", out / "voltage.png"]


def write_opf_outputs(res: OPFResult, out: Path) -> list[Path]:
    """Write an OPF result: per-bus long table (Parquet + CSV), DLMP and voltage tables,
    per-slot losses and substation exchange, ``summary.json`` and the two plots."""
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
    return [out / "opf_buses.parquet", out / "summary.json", *plot_opf(res, out)]
