"""``evagg grid``: SOCP DistFlow OPF with DLMPs on a pandapower feeder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from evagg.errors import DataFileError, InputError
from evagg.report.grid import write_opf_outputs

grid_app = typer.Typer(help="Distribution grid: DistFlow OPF, DLMPs, AC verification.")
_console = Console(stderr=True)


def read_profile_csv(path: Path, bus_index: pd.Index) -> dict[str, Any]:
    """Read a multi-period profile CSV.

    Format: first column ``time`` (ISO timestamps with UTC offset, or slot numbers), then
    either a ``load_scale`` column (factor on every bus's base load) or per-bus columns
    ``p_mw_<bus>`` [MW] (buses not listed keep their base load), and optionally
    ``price_eur_per_mwh``. Returns ``time_index``, ``dt_h`` (inferred from timestamps,
    else ``None``), and ``load_scale`` / ``p_mw`` (dict bus → array) / ``price``.
    """
    spath = str(path)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataFileError(spath, None, None, None, f"cannot read CSV ({exc})") from None
    if len(df) == 0 or df.columns[0] != "time":
        raise DataFileError(
            spath,
            None,
            df.columns[0] if len(df.columns) else None,
            None,
            "first column must be 'time' and the file must have rows",
        )
    out: dict[str, Any] = {"dt_h": None}
    raw = df["time"]
    if pd.api.types.is_numeric_dtype(raw):
        out["time_index"] = pd.Index(raw.astype(int), name="slot")
    else:
        try:
            ti = pd.DatetimeIndex(pd.to_datetime(raw, utc=True), name="time")
        except (ValueError, TypeError) as exc:
            raise DataFileError(
                spath, None, "time", raw.iloc[0], f"not a timestamp ({exc})"
            ) from None
        if len(ti) > 1:
            steps = np.diff(ti.asi8)
            if np.any(steps != steps[0]) or steps[0] <= 0:
                k = int(np.argmax(steps != steps[0])) + 2
                raise DataFileError(spath, k, "time", str(raw.iloc[k - 1]), "irregular time step")
            out["dt_h"] = float(steps[0]) / 3.6e12
        out["time_index"] = ti
    for col in df.columns[1:]:
        vals = pd.to_numeric(df[col], errors="coerce")
        if vals.isna().any():
            row = int(np.argmax(vals.isna().to_numpy())) + 1
            raise DataFileError(spath, row, col, df[col].iloc[row - 1], "not a finite number")
    if "price_eur_per_mwh" in df.columns:
        out["price"] = df["price_eur_per_mwh"].to_numpy(float)
    bus_cols = [c for c in df.columns if c.startswith("p_mw_")]
    if "load_scale" in df.columns and bus_cols:
        raise DataFileError(
            spath, None, "load_scale", None, "give load_scale or p_mw_<bus>, not both"
        )
    if "load_scale" in df.columns:
        out["load_scale"] = df["load_scale"].to_numpy(float)
    elif bus_cols:
        pmw: dict[int, Any] = {}
        for c in bus_cols:
            try:
                b = int(c.removeprefix("p_mw_"))
            except ValueError:
                raise DataFileError(spath, None, c, c, "bus column must be p_mw_<int>") from None
            if b not in bus_index:
                raise DataFileError(spath, None, c, b, "bus is not an in-service feeder bus")
            pmw[b] = df[c].to_numpy(float)
        out["p_mw"] = pmw
    else:
        raise DataFileError(
            spath, None, None, list(df.columns), "needs load_scale or p_mw_<bus> columns"
        )
    return out


def opf(
    network: Annotated[
        str, typer.Option(help="pandapower.networks name or pandapower JSON file")
    ] = "case33bw",
    price_eur_per_mwh: Annotated[
        float, typer.Option(help="Substation energy price [EUR/MWh]")
    ] = 50.0,
    v_min: Annotated[float | None, typer.Option(help="Lower voltage limit, all buses (pu)")] = None,
    v_max: Annotated[float | None, typer.Option(help="Upper voltage limit, all buses (pu)")] = None,
    v_slack_min: Annotated[
        float | None, typer.Option(help="Substation voltage lower bound (pu)")
    ] = None,
    v_slack_max: Annotated[
        float | None, typer.Option(help="Substation voltage upper bound (pu)")
    ] = None,
    soft_voltage: Annotated[
        bool, typer.Option(help="Penalise voltage violations instead of hard limits")
    ] = False,
    a2_eur_per_mwh: Annotated[float, typer.Option(help="Extra weight on losses [EUR/MWh]")] = 0.0,
    profile: Annotated[
        Path | None, typer.Option(help="Multi-period profile CSV (see docs/grid.md)")
    ] = None,
    dt_h: Annotated[
        float, typer.Option(help="Slot length (h) when the profile has slot numbers")
    ] = 1.0,
    accept_inexact: Annotated[
        bool, typer.Option(help="Return an inexact relaxation anyway")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Directory for Parquet/CSV tables and plots")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Solve the SOCP DistFlow OPF and print DLMPs, voltages and verification figures."""
    from evagg.grid import DistFlowModel, DistFlowOptions, Feeder, load_network

    if profile is not None and not profile.exists():
        raise InputError("profile", str(profile), "file does not exist")
    opts = DistFlowOptions(
        v_min_pu=v_min,
        v_max_pu=v_max,
        v_slack_min_pu=v_slack_min,
        v_slack_max_pu=v_slack_max,
        soft_voltage=soft_voltage,
        a2_eur_per_mwh=a2_eur_per_mwh,
        accept_inexact=accept_inexact,
    )
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_console,
        transient=True,
    ) as prog:
        task = prog.add_task("loading network", total=None)
        feeder = Feeder.from_pandapower(load_network(network))
        price: Any = price_eur_per_mwh
        if profile is None:
            model = DistFlowModel(feeder, 1, dt_h, opts)
        else:
            prof = read_profile_csv(profile, feeder.bus_index)
            ti = prof["time_index"]
            model = DistFlowModel(feeder, len(ti), prof["dt_h"] or dt_h, opts, time_index=ti)
            if "load_scale" in prof:
                model.scale_loads(prof["load_scale"])
            else:
                p = np.repeat(feeder.p_load_mw[:, None], len(ti), 1)
                for b, vals in prof["p_mw"].items():
                    p[feeder.bus_position(b)] = vals
                model.set_loads(p)
            price = prof.get("price", price_eur_per_mwh)
        model.set_price(price)
        prog.update(task, description=f"solving {feeder.n_bus} buses × {model.n_slots} slots")
        res = model.solve()
        if out is not None:
            prog.update(task, description="writing results")
            write_opf_outputs(res, out)
    if as_json:
        typer.echo(json.dumps(res.summary(), indent=1))
        return
    s = res.summary()
    console = Console()
    console.print(
        f"[bold]{s['status']}[/]  cost {s['cost_eur_per_h']:.2f} EUR/h  "
        f"losses {1e3 * float((res.losses_mw * res.dt_h).sum()):.1f} kWh  "
        f"min V {res.v_pu.min().min():.4f} pu  gap {res.relaxation_gap_rel:.1e} "
        f"({'exact' if res.exact else 'INEXACT'})  AC |ΔV| {res.ac_max_dv_pu:.1e} pu"
    )
    console.print(
        f"DLMP range {res.dlmp_eur_per_mwh.min().min():.3f} – "
        f"{res.dlmp_eur_per_mwh.max().max():.3f} EUR/MWh"
    )
    if out is not None:
        console.print(f"results written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``grid`` sub-command group to the ``evagg`` app."""
    grid_app.command("opf")(opf)
    app.add_typer(grid_app, name="grid")
