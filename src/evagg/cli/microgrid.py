"""``evagg microgrid``: voltage coordination with PV and a reliability-limited EVA (seed 003 §6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from evagg.errors import InputError


def _floats(name: str, text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(name, text, "comma-separated numbers, e.g. 0.95,0.84,0.55") from None


def microgrid_command(
    eva_bus: int = typer.Option(30, help="EVA node (seed numbering 2..33; seed: 14, 16, 23, 30)."),
    disturbance: str = typer.Option("pv", help="'pv' (PV forecast too high) or 'load'."),
    reliability: str = typer.Option("0.95,0.84,0.55", help="EVA bid reliability levels."),
    method: str = typer.Option("convex,ga", help="Solvers: convex, ga (comma-separated)."),
    ga_generations: int = typer.Option(30, help="GA generations (population 40)."),
    ga_stop: str = typer.Option(
        "generations",
        help="GA stop: 'generations' (--ga-generations) or 'stall' (the seed's MATLAB ga "
        "rule: 50 generations improving <= 1e-6; can take thousands of generations).",
    ),
    no_eva: bool = typer.Option(True, help="Also run the scenario without EVA."),
    seed: int = typer.Option(0, help="Seed of the fleet and the GA."),
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("evagg-out/microgrid"),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON on stdout."),
) -> None:
    """Seed 003 §6: eq. (13) by exact SOCP and by the GA baseline, one AC evaluation."""
    from evagg.studies.microgrid import Config, run, write_outputs

    cfg = Config(
        eva_node=eva_bus,
        disturbance=disturbance,
        reliability=_floats("--reliability", reliability),
        methods=tuple(m.strip() for m in method.split(",") if m.strip()),
        ga_generations=ga_generations,
        ga_stop=ga_stop,
        include_no_eva=no_eva,
        seed=seed,
    )
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("fleet and reliable power", total=None)
        res = run(
            cfg, progress=lambda s, i, n: bar.update(task, description=s, completed=i, total=n)
        )
    write_outputs(res, out)
    if as_json:
        print(json.dumps({**res.summary(), "out": str(out)}, indent=2))
        return
    con = Console()
    tab = Table(title=f"Microgrid, EVA at node {eva_bus}, {disturbance} disturbance")
    cols = ("scenario", "method", "F (AC)", "time [s]", "V min", "V max", "loss T1", "loss T2")
    for c in cols:
        tab.add_column(c, justify="right")
    fmt = (
        ("objective_ac", ".4f"),
        ("time_s", ".1f"),
        ("v_min_pu", ".4f"),
        ("v_max_pu", ".4f"),
        ("loss_T1_kwh", ".1f"),
        ("loss_T2_kwh", ".1f"),
    )
    for r in res.cases.to_dict("records"):
        cells = [f"{float(r[k]):{f}}" for k, f in fmt]
        tab.add_row(str(r["scenario"]), str(r["method"]), *cells)
    con.print(tab)
    econ = res.economics[["scenario", "method", "microgrid_gain", "eva_gain"]]
    con.print(econ.round(2).to_string(index=False))
    con.print(f"files written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``microgrid`` command."""
    app.command("microgrid")(microgrid_command)
