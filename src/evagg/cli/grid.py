"""``evagg grid``: SOCP DistFlow OPF with DLMPs on a pandapower feeder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from evagg.errors import InputError
from evagg.io import read_load_profile
from evagg.report.grid import write_opf_outputs

grid_app = typer.Typer(help="Distribution grid: DistFlow OPF, DLMPs, AC verification.")
_console = Console(stderr=True)


def opf(
    network: Annotated[
        str,
        typer.Option(
            help="pandapower.networks name, pandapower JSON file, or simbench:<code> "
            "(e.g. simbench:1-LV-rural1--0-sw)"
        ),
    ] = "case33bw",
    ext_grid: Annotated[
        int | None,
        typer.Option(help="External grid whose feeder to solve, if the network has several"),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(
            help="simbench: networks: day of their profiles (YYYY-MM-DD in 2016) as 96 "
            "quarter-hour loads and generation"
        ),
    ] = None,
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
        Path | None,
        typer.Option(help="Directory for Parquet/CSV tables and plots [default: none written]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Solve the SOCP DistFlow OPF and print DLMPs, voltages and verification figures."""
    from evagg.grid import DistFlowModel, DistFlowOptions, feeder_from_network

    if profile is not None and not profile.exists():
        raise InputError("profile", str(profile), "file does not exist")
    if date is not None and not network.startswith("simbench:"):
        raise InputError(
            "date", date, "only networks simbench:<code> have profiles; use --profile CSV"
        )
    if date is not None and profile is not None:
        raise InputError("date/profile", (date, str(profile)), "give one of --date, --profile")
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
        feeder = feeder_from_network(network, ext_grid=ext_grid)
        price: Any = price_eur_per_mwh
        if date is not None:
            model = _simbench_model(feeder, date, opts)
        elif profile is None:
            model = DistFlowModel(feeder, 1, dt_h, opts)
        else:
            prof = read_load_profile(profile, feeder.bus_index)
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
            write_opf_outputs(res, out, feeder, case=feeder.name or str(network))
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
    if res.remedy == "pccp":
        console.print(
            f"relaxation inexact (e.g. negative price): AC-feasible point by the convex-"
            f"concave procedure ({res.pccp_iterations} solves); relaxation lower bound "
            f"{res.lower_bound_eur:.2f} EUR (docs/grid.md §10)"
        )
    console.print(
        f"DLMP range {res.dlmp_eur_per_mwh.min().min():.3f} – "
        f"{res.dlmp_eur_per_mwh.max().max():.3f} EUR/MWh"
    )
    if out is not None:
        console.print(f"results written to {out}")


def _simbench_model(feeder: Any, date: str, opts: Any) -> Any:
    """A 96-slot OPF with the SimBench profiles of ``date`` as loads and injections."""
    from evagg.grid import DistFlowModel, simbench_day

    day = simbench_day(feeder, date)
    model = DistFlowModel(feeder, len(day.time_index), 0.25, opts, time_index=day.time_index)
    model.set_loads(day.p_load_mw, day.q_load_mvar)
    model.set_injections(day.p_inj_mw, day.q_inj_mvar)
    return model


def register(app: typer.Typer) -> None:
    """Add the ``grid`` sub-command group to the ``evagg`` app."""
    grid_app.command("opf")(opf)
    app.add_typer(grid_app, name="grid")
