"""``evagg bidding``: the seed 002 case study (risk-averse bidding against rivals)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from evagg.cli._tables import OUT_ROOT
from evagg.errors import InputError


def _floats(field: str, text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(field, text, "expected comma-separated numbers, e.g. 0.1,1,10") from None
    if not vals:
        raise InputError(field, text, "need at least one value")
    return vals


def bidding(
    date: Annotated[str, typer.Option(help="Target market day YYYY-MM-DD (local).")] = "2024-03-12",
    beta: Annotated[str, typer.Option(help="Risk weights β, comma-separated.")] = (
        "0.1,1,5,10,20,25,30,100"
    ),
    scenarios: Annotated[int, typer.Option(help="Market scenarios generated (SARIMAX).")] = 200,
    reduce_to: Annotated[
        int, typer.Option(help="Kept by fast forward reduction (0: no reduction).")
    ] = 7,
    rivals: Annotated[int, typer.Option(help="Number of rival aggregators (1-3).")] = 3,
    switching_cost: Annotated[
        str, typer.Option(help="Switching costs K [EUR/MWh] to study, comma-separated.")
    ] = "0,10",
    oos_days: Annotated[
        int, typer.Option(help="Following days scored out of sample (0: skip).")
    ] = 3,
    oos_draws: Annotated[
        int, typer.Option(help="Draws of balancing premia / rival errors per day.")
    ] = 20,
    unreduced_beta: Annotated[
        str, typer.Option(help="β values also solved on the unreduced set ('' to skip).")
    ] = "1",
    formulation: Annotated[
        str,
        typer.Option(
            help="'auto' (= enumeration), 'kkt' (seed eqs. 16-32) or "
            "'enumeration' (exact, no big-M)."
        ),
    ] = "auto",
    rival_recourse: Annotated[
        bool,
        typer.Option(help="Also sweep β with recourse on the rivals' outcome (evagg extension)."),
    ] = True,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same numbers).")] = 2024,
    out: Annotated[Path, typer.Option(help="Output directory.")] = OUT_ROOT / "bidding",
    as_json: Annotated[bool, typer.Option("--json", help="Print per-β results as JSON.")] = False,
) -> None:
    """Stochastic bi-level DA + balancing bidding with rival aggregators (seed 002).

    Writes CSV/Parquet tables, plots (frontier, profit CDFs, prices, shares, energies,
    out of sample) and the equilibrium certificates to OUT.
    """
    from evagg.studies.bidding_day import BiddingStudyConfig, run_bidding_study, write_outputs

    betas = _floats("--beta", beta)
    ks = _floats("--switching-cost", switching_cost)
    unred = _floats("--unreduced-beta", unreduced_beta) if unreduced_beta.strip() else ()
    cfg = BiddingStudyConfig(
        date=date,
        betas=betas,
        n_scenarios=scenarios,
        reduce_to=reduce_to or None,
        n_rivals=rivals,
        switching_costs_eur_per_mwh=ks,
        oos_days=oos_days,
        oos_draws=oos_draws,
        unreduced_betas=unred if reduce_to else (),
        formulation=formulation,
        rival_recourse_sweep=rival_recourse,
        seed=seed,
    )
    n_unred = len(unred) if reduce_to else 0
    total = len(ks) * (len(betas) * (2 if rival_recourse else 1) + n_unred) + oos_days
    err = Console(stderr=True)
    with Progress(
        TextColumn("[bold]bidding[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} {task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=as_json,
    ) as bar:
        task = bar.add_task("scenarios", total=total)
        res = run_bidding_study(
            cfg, progress=lambda label: bar.update(task, advance=1, description=label)
        )
    files = write_outputs(res, out)
    if as_json:
        typer.echo(json.dumps(res.summary()["solves"], indent=2))
    else:
        Console().print(res.summary_table.round(3).to_string(index=False))
        Console().print(f"wrote {len(files)} files to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``bidding`` command."""
    app.command("bidding")(bidding)
