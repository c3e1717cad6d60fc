"""``evagg backtest bidding``: bidding strategies out of sample over a date range."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def bidding(
    start: Annotated[str, typer.Option(help="First market day YYYY-MM-DD.")] = "2024-01-01",
    end: Annotated[str, typer.Option(help="Last market day YYYY-MM-DD (inclusive).")] = (
        "2024-12-31"
    ),
    strategies: Annotated[
        str,
        typer.Option(
            help="Comma-separated: seed_b<β>, recourse_b<β>, expected_value, simple_rule, "
            "perfect_foresight."
        ),
    ] = "seed_b0,seed_b1,recourse_b0,recourse_b1,expected_value,simple_rule,perfect_foresight",
    workers: Annotated[int, typer.Option(help="Local dask workers.")] = 2,
    scheduler: Annotated[
        str | None, typer.Option(help="dask scheduler address (default: local cluster).")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Keep days already computed in OUT.")] = False,
    every_days: Annotated[
        int, typer.Option(help="Evaluate every k-th day from START (a stated subsample).")
    ] = 1,
    order: Annotated[
        str,
        typer.Option(
            help="'date' or 'spread' (bit-reversed: a run stopped early samples the range)."
        ),
    ] = "date",
    switching_cost: Annotated[float, typer.Option(help="Switching cost K [EUR/MWh].")] = 10.0,
    scenarios: Annotated[int, typer.Option(help="Market scenarios generated per day.")] = 200,
    reduce_to: Annotated[int, typer.Option(help="Kept after fast forward reduction.")] = 7,
    margin: Annotated[
        float, typer.Option(help="Simple rule: undercut of the cheapest rival [EUR/MWh].")
    ] = 5.0,
    draws: Annotated[int, typer.Option(help="Realised outcomes scored per day.")] = 1,
    seed: Annotated[int, typer.Option(help="Base seed (one seed per day derived from it).")] = 0,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path(
        "evagg-out/backtest-bidding"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print only the summary JSON.")] = False,
) -> None:
    """Bid every day with each strategy on data before the day; score it on the day.

    Writes `daily.csv` (one row per day, strategy and draw), `strategy_summary.csv`
    (mean daily profit, CVaR0.95 of daily profit, share of losing days, % of perfect
    foresight; pessimistic and optimistic tie-breaks), `summary.json`,
    `cumulative_profit.png` and the engine's per-day files to OUT.
    """
    from evagg.studies.bidding_backtest import Config, run, write_outputs

    names = tuple(s.strip() for s in strategies.split(",") if s.strip())
    cfg = Config(
        start=start,
        end=end,
        every_days=every_days,
        workers=workers,
        seed=seed,
        days_dir=str(out),
        resume=resume,
        order=order,  # type: ignore[arg-type]  # Config validates the value
        strategies=names,
        switching_cost_eur_per_mwh=switching_cost,
        n_scenarios=scenarios,
        reduce_to=reduce_to,
        rule_margin_eur_per_mwh=margin,
        n_draws=draws,
    )  # invalid values raise ConfigError naming the option and the value
    res = run(cfg, scheduler=scheduler, show_progress=not as_json)
    write_outputs(res, out)
    if as_json:
        typer.echo(json.dumps(res.summary(), default=str))
        return
    table = Table(title=f"bidding {start} to {end}, pessimistic ties (optimistic in brackets)")
    for col in ("strategy", "days", "mean [EUR/d]", "CVaR95 [EUR/d]", "losing days", "% of PF"):
        table.add_column(col)
    for r in res.summary_table.to_dict(orient="records"):
        table.add_row(
            r["strategy"],
            str(r["n_days"]),
            f"{r['mean_daily_profit_eur']:.0f} ({r['mean_daily_profit_eur_optimistic']:.0f})",
            f"{r['cvar95_daily_profit_eur']:.0f} ({r['cvar95_daily_profit_eur_optimistic']:.0f})",
            f"{100 * r['losing_day_share']:.1f} %",
            f"{r['pct_of_perfect_foresight']:.1f}",
        )
    Console().print(table)
    if len(res.failures):
        Console(stderr=True).print(f"[yellow]{len(res.failures)} days failed[/] (failures.csv)")
    Console().print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``bidding`` to the ``backtest`` group (created by ``evagg.cli.backtest``)."""
    for group in app.registered_groups:
        if group.name == "backtest" and group.typer_instance is not None:
            group.typer_instance.command("bidding")(bidding)
            return
    sub = typer.Typer(help="Run a per-day study over a date range.", no_args_is_help=True)
    sub.command("bidding")(bidding)
    app.add_typer(sub, name="backtest")
