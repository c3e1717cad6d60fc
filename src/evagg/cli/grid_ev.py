"""``evagg grid ev-day``: what uncontrolled EV charging does to the IEEE 33-bus feeder."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evagg.cli._tables import OUT_ROOT, kv_table
from evagg.cli.grid import grid_app
from evagg.studies.ev_grid_day import Config, EVGridDaySummary, run, write_outputs


def _limit(g: EVGridDaySummary) -> str:
    return f"bus {g.binding_bus}" if g.binding_limit == "voltage" else g.binding_limit


def ev_grid_rows(g: EVGridDaySummary) -> list[tuple[str, str]]:
    """Headline rows of an EV grid-impact day (shared with ``evagg demo``)."""
    return [
        (
            f"EVs hosted at bus {g.ev_bus} (uncontrolled charging)",
            f"{g.hosting_vehicles:.0f} (limit: {_limit(g)} at {g.binding_time[11:16]})",
        ),
        ("lowest voltage [pu]: no EVs → EVs", f"{g.min_v_pu_base:.4f} → {g.min_v_pu_ev:.4f}"),
        (
            f"mean DLMP at bus {g.ev_bus} [EUR/MWh]: no EVs → EVs",
            f"{g.mean_dlmp_ev_bus_base:.2f} → {g.mean_dlmp_ev_bus_ev:.2f}",
        ),
        (
            f"peak DLMP at bus {g.ev_bus} [EUR/MWh]: no EVs → EVs",
            f"{g.max_dlmp_ev_bus_base:.2f} → {g.max_dlmp_ev_bus_ev:.2f}",
        ),
        ("daily losses [MWh]: no EVs → EVs", f"{g.losses_mwh_base:.3f} → {g.losses_mwh_ev:.3f}"),
        ("energy cost [EUR]: no EVs → EVs", f"{g.cost_eur_base:.0f} → {g.cost_eur_ev:.0f}"),
        (
            "SOCP relaxation gap (rel) / AC check max |ΔV| [pu]",
            f"{g.max_relaxation_gap_rel:.1e} / {g.max_ac_dv_pu:.1e}",
        ),
    ]


def ev_day(
    date: Annotated[str, typer.Option("--date", help="Market day YYYY-MM-DD (NL prices).")] = (
        "2024-06-12"
    ),
    bus: Annotated[
        int, typer.Option("--bus", help="pandapower bus index of the EVs (17 = far end).")
    ] = 17,
    network: Annotated[
        str,
        typer.Option(
            "--network",
            help="pandapower.networks name, JSON file or simbench:<code> (base loads "
            "follow the Table A1 shape)",
        ),
    ] = "case33bw",
    v_min: Annotated[float, typer.Option("--v-min", help="Lower voltage limit [pu].")] = 0.95,
    v_max: Annotated[float, typer.Option("--v-max", help="Upper voltage limit [pu].")] = 1.05,
    v_slack_max: Annotated[
        float, typer.Option("--v-slack-max", help="Highest substation voltage [pu].")
    ] = 1.05,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = OUT_ROOT / "grid-ev-day",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic fleet.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Hosting capacity and grid impact of uncontrolled EV charging on a feeder.

    Base loads follow the seed 003 Table A1 daily shape, energy is priced at the real NL
    day-ahead price; the largest fleet whose charging keeps every bus within the voltage
    band is found by one SOCP, then DLMPs, voltages and losses are compared with and
    without it. Every OPF is checked against a pandapower AC power flow.
    """
    with Console(stderr=True).status("solving base, hosting-capacity and EV OPFs (AC-checked)"):
        result = run(
            Config(
                date=date,
                network=network,
                ev_bus=bus,
                v_min_pu=v_min,
                v_max_pu=v_max,
                v_slack_max_pu=v_slack_max,
                seed=seed,
            )
        )
        write_outputs(result, out)
    s = result.stats
    if as_json:
        print(json.dumps(asdict(s), indent=1, default=str))
        return
    title = f"EV charging on {result.case}, {s.date} ({s.kwh_per_vehicle_day:.1f} kWh/EV/day)"
    tab = kv_table(title, ev_grid_rows(s))
    con = Console()
    con.print(tab)
    con.print(f"files in {out}/ (ev_impact.png, base/, ev/)")


def register(app: typer.Typer) -> None:
    """Add ``ev-day`` to the ``grid`` command group."""
    grid_app.command("ev-day")(ev_day)
