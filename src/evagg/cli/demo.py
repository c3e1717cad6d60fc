"""``evagg demo``: the main job on bundled real data, in well under two minutes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evagg.cli.scenarios import summary_table
from evagg.studies.scenario_day import run as run_scenario_day

DEMO_DATE = "2024-06-12"
"""A mid-week June day of the bundled NL prices (midday solar dip, evening peak)."""


def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("evagg-out/demo"),
    date: Annotated[str, typer.Option("--date", help="Market day YYYY-MM-DD.")] = DEMO_DATE,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Hide progress bars.")] = False,
) -> None:
    """Run evagg on bundled real data: NL day-ahead prices of one day → 200 ARIMA
    scenarios with balancing prices and EV demand → fast forward reduction to 10 →
    fan chart PNG, scenario CSVs and a scored summary."""
    console = Console()
    t0 = time.perf_counter()
    console.rule(f"[bold]evagg demo[/] — market scenarios for {date}")
    summary = run_scenario_day(
        date, n=200, reduce_to=10, out_dir=out, seed=seed, progress=not no_progress
    )
    console.print(summary_table(summary))
    console.print(f"[green]done[/] in {time.perf_counter() - t0:.1f} s; outputs in {out}/")


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""
    app.command("demo")(demo)
