"""``evagg demo``: the main job on bundled real data, in well under two minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from evagg.cli._tables import kv_table
from evagg.cli.grid_ev import ev_grid_rows
from evagg.cli.scenarios import summary_table
from evagg.studies.demo import DEMO_DATE, Config, DemoResult


def _bidding_table(s: DemoResult) -> Table:
    tab = Table(title="Bidding against 3 rivals (7 scenarios, K = 10 EUR/MWh)")
    cols = [
        ("β", "beta", "{:g}"),
        ("E[profit] EUR", "expected_profit_eur", "{:.0f}"),
        ("CVaR95 EUR", "cvar95_eur", "{:.0f}"),
        ("DA MWh", "da_mwh", "{:.1f}"),
        ("E[+B] MWh", "expected_pos_balancing_mwh", "{:.2f}"),
        ("E[−B] MWh", "expected_neg_balancing_mwh", "{:.2f}"),
        ("mean offer EUR/MWh", "mean_offered_price_eur_per_mwh", "{:.1f}"),
        ("certificate gap", "max_certificate_gap", "{:.1e}"),
    ]
    for head, _, _ in cols:
        tab.add_column(escape(head), justify="right")
    for _, row in s.bidding.iterrows():
        tab.add_row(*[fmt.format(row[key]) for _, key, fmt in cols])
    return tab


def _tail_table(s: DemoResult) -> Table:
    r, g = s.reliability, s.grid.stats
    rows = [
        (
            f"V2G bid at 10:30, R ≥ 0.95, {r['n_vehicles']:.0f} EVs [kWh]",
            f"exact {r['bid_exact_kwh_1030']:.0f} / compound Poisson "
            f"{r['bid_poisson_kwh_1030']:.0f} (expected {r['expected_kwh_1030']:.0f})",
        ),
        (
            "slots whose realised offer fell below the exact bid",
            f"{r['slots_realised_below_exact_bid']:.0f} of {r['n_slots']:.0f}",
        ),
        *ev_grid_rows(g),
    ]
    return kv_table("V2G reliability and grid impact", rows)


def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("evagg-out/demo"),
    date: Annotated[str, typer.Option("--date", help="Market day YYYY-MM-DD.")] = DEMO_DATE,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="Hide the progress display.")
    ] = False,
    html: Annotated[
        bool, typer.Option("--html", help="Also write a self-contained report.html.")
    ] = False,
) -> None:
    """Run evagg end to end on one real NL market day (under a minute).

    Scenarios of prices, balancing prices and EV demand; bidding against rival
    aggregators; V2G capacity reliability; grid impact of EV charging on the IEEE 33-bus
    feeder. Every result is verified; files go to --out (with run.json and
    verifications.json; `--html` adds report.html).
    """
    from evagg.studies import demo as demo_study
    from evagg.studies.registry import Study, execute

    console = Console()
    console.rule(f"[bold]evagg demo[/] — {date}")
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=no_progress,
    ) as bar:
        task = bar.add_task("starting", total=6)
        seen: list[str] = []

        def step(name: str) -> None:
            if seen:
                bar.advance(task)
            seen.append(name)
            bar.update(task, description=f"step {len(seen)}/6: {name}")

        study = Study("demo", demo_study)
        config = Config(date=date, seed=seed)
        summary, _files = execute(study, config, out, progress=step)
        if html:
            from evagg.report.html import write_report

            bar.update(task, description="writing report.html")
            write_report(out)
    console.print(summary_table(summary.scenarios.stats))
    console.print(_bidding_table(summary))
    console.print(_tail_table(summary))
    if summary.v2g is not None:
        from evagg.cli.v2g_pricing import strategy_table

        console.print(strategy_table(summary.v2g))
    t = summary.timings_s
    # every step the demo ran and every folder it wrote (microgrid/, dso_game/ included)
    steps = ", ".join(
        f"{k.removesuffix('_s').replace('_', ' ')} {v:.1f}" for k, v in t.items() if k != "total_s"
    )
    folders = "".join(f", {p.name}/" for p in sorted(out.iterdir()) if p.is_dir())
    console.print(
        f"[green]done[/] in {t['total_s']:.1f} s ({steps}); files in {out}/ (summary.json, "
        f"run.json{folders}" + (", report.html)" if html else ")")
    )


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""
    app.command("demo")(demo)
