"""``evagg scenarios``: market scenarios for one real day, reduced, plotted and scored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evagg.cli._tables import OUT_ROOT, kv_table, print_json
from evagg.studies.scenario_day import Config, ScenarioDaySummary, output_names, run, write_outputs


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a (day not in data)" if value is None else f"{value:.{digits}f}{unit}"


def summary_table(s: ScenarioDaySummary, out: Path | None = None) -> Table:
    """Rich table of a :class:`ScenarioDaySummary`."""
    rows = [
        ("scenarios generated → kept", f"{s.n_scenarios} → {s.n_reduced}"),
        ("price model", f"{s.price_model} ({'converged' if s.converged else 'NOT converged'})"),
        ("training window", f"{s.train_start} .. {s.train_end}"),
        ("training hours filled by interpolation", str(s.filled_hours)),
        ("MAE scenario mean [EUR/MWh]", _fmt(s.mae_eur_per_mwh)),
        ("MAE flat training mean [EUR/MWh]", _fmt(s.baseline_mae_eur_per_mwh)),
        ("RMSE scenario mean [EUR/MWh]", _fmt(s.rmse_eur_per_mwh)),
        ("RMSE flat training mean [EUR/MWh]", _fmt(s.baseline_rmse_eur_per_mwh)),
        ("MAE reduced-set mean [EUR/MWh]", _fmt(s.reduced_mae_eur_per_mwh)),
        (
            "CRPS all / reduced [EUR/MWh]",
            f"{_fmt(s.crps_eur_per_mwh)} / {_fmt(s.reduced_crps_eur_per_mwh)}",
        ),
        (
            "realised hours inside 5–95 % band",
            "n/a" if s.coverage_5_95 is None else f"{100 * s.coverage_5_95:.0f} %",
        ),
        ("Kantorovich distance (standardised)", f"{s.kantorovich_distance:.3f}"),
        ("expected EV demand [MWh/day]", f"{s.expected_demand_mwh:.2f} ({s.demand_source})"),
        (
            "time: fit / generate / reduce [s]",
            "{fit_s:.2f} / {generate_s:.2f} / {reduce_s:.3f}".format(**s.timings_s),
        ),
        ("time: total [s]", f"{s.timings_s['total_s']:.1f}"),
    ]
    if out is not None:
        names = output_names(s.date)
        rows.append(("fan chart", str(out / names["png"])))
        rows.append(
            ("CSV (all / reduced)", f"{out / names['csv_scenarios']}\n{out / names['csv_reduced']}")
        )
    return kv_table(f"evagg scenarios: NL day-ahead market, {s.date} ({s.n_hours} h)", rows)


def scenarios(
    date: Annotated[
        str, typer.Option("--date", help="Local market day YYYY-MM-DD (NL prices 2015-2025).")
    ],
    n: Annotated[int, typer.Option("--n", help="Number of scenarios generated.")] = 200,
    reduce_to: Annotated[
        int, typer.Option("--reduce-to", help="Scenarios kept by fast forward selection.")
    ] = 10,
    out: Annotated[Path, typer.Option("--out", help="Output folder (PNG, CSV).")] = OUT_ROOT
    / "scenarios",
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same output.")] = 0,
    n_vehicles: Annotated[
        int, typer.Option("--vehicles", help="Synthetic fleet size for the EV demand.")
    ] = 1000,
    train_days: Annotated[
        int, typer.Option("--train-days", help="Days of prices before the day used to fit.")
    ] = 28,
    max_gap_hours: Annotated[
        int, typer.Option("--max-gap-hours", help="Longest price gap to interpolate.")
    ] = 2,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="Hide the progress bar.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the summary as JSON.")
    ] = False,
) -> None:
    """Scenarios of one real day: day-ahead and balancing prices, EV demand.

    Generates SARIMAX price paths (fitted on days before the date only), reduces them by
    fast forward selection, and writes a fan chart and CSVs with probabilities.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    cfg = Config(
        date=date,
        n=n,
        reduce_to=reduce_to,
        seed=seed,
        n_vehicles=n_vehicles,
        train_days=train_days,
        max_gap_hours=max_gap_hours,
    )
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]scenario day[/] {task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=no_progress,
    ) as bar:
        task = bar.add_task("starting", total=None)
        result = run(cfg, progress=lambda stage: bar.update(task, description=stage))
        bar.update(task, description="writing fan chart and CSV")
        write_outputs(result, out)
    if as_json:
        print_json(result.summary())
        return
    Console().print(summary_table(result.stats, out))


def register(app: typer.Typer) -> None:
    """Add the ``scenarios`` command."""
    app.command("scenarios")(scenarios)
