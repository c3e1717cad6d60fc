"""``evagg v2g-pricing`` (one day) and ``evagg backtest v2g-pricing`` (a date range)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evagg.cli._tables import kv_table
from evagg.cli.backtest import (
    EndOpt,
    EveryOpt,
    JsonOpt,
    NoProgressOpt,
    ResumeOpt,
    SchedulerOpt,
    SeedOpt,
    StartOpt,
    WorkersOpt,
    backtest_app,
)

_FLEET = Annotated[int, typer.Option("--fleet-size", help="Vehicles in the synthetic fleet.")]
_SHARE = Annotated[float, typer.Option("--v2g-share", help="Share of users on V2G contracts.")]
_FORECAST = Annotated[
    str, typer.Option("--forecast", help="Day-ahead forecast: sarimax or weekly_profile.")
]
_CLASSES = Annotated[int, typer.Option("--classes", help="Follower classes per contract.")]


def v2g_pricing_command(
    date: Annotated[str, typer.Option("--date", help="Market day YYYY-MM-DD.")] = "2024-06-12",
    fleet_size: _FLEET = 200,
    v2g_share: _SHARE = 0.3,
    n_classes: _CLASSES = 6,
    price_cap: Annotated[
        float, typer.Option("--price-cap", help="Average-price cap [EUR/kWh].")
    ] = 0.30,
    compensation: Annotated[
        float, typer.Option("--compensation", help="V2G compensation [EUR/kWh].")
    ] = 0.05,
    forecast: _FORECAST = "sarimax",
    seed: SeedOpt = 0,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        "evagg-out/v2g-pricing"
    ),
    as_json: JsonOpt = False,
) -> None:
    """V2G contract pricing for one NL day (seed 001): leader–follower prices (certified
    MILP), stage-2 V2G dispatch, and hold vs rolling vs perfect foresight at realised
    prices; users' costs vs a flat tariff. Files (CSV, PNG, summary.json) go to --out."""
    from evagg.studies import v2g_pricing as study
    from evagg.studies.registry import Study, execute

    config = study.Config(
        date=date,
        fleet_size=fleet_size,
        v2g_share=v2g_share,
        n_classes=n_classes,
        price_cap_eur_per_kwh=price_cap,
        compensation_eur_per_kwh=compensation,
        forecast=forecast,  # type: ignore[arg-type]  # validated by the Config
        seed=seed,
    )
    with Console(stderr=True).status("V2G pricing") as status:
        result, _ = execute(
            Study("v2g_pricing", study), config, out, progress=lambda s: status.update(s)
        )
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=1, default=str))
        return
    con = Console()
    con.print(strategy_table(result))
    con.print(kv_table(f"V2G pricing {date}", [(k, _fmt(v)) for k, v in summary.items()]))
    con.print(f"files written to {out}")


def strategy_table(result: Any) -> Table:
    """Rich table: profit and loss vs perfect foresight per real-time strategy."""
    n = result.numbers
    tab = Table(
        title=escape(
            f"V2G pricing {result.config.date}: {n['n_users']} user-days, "
            f"{n['n_v2g_users']} on V2G; mean price {n['mean_price_to_users_eur_per_kwh']:.3f} "
            f"EUR/kWh; certificate gap {n['certificate_gap']:.1e}"
        )
    )
    for col in ("strategy", "profit [EUR]", "loss vs perfect foresight [EUR]", "V2G [kWh]"):
        tab.add_column(escape(col), justify="right")
    for name, r in result.strategies.iterrows():
        tab.add_row(
            str(name).replace("_", " "),
            f"{r['profit_eur']:.2f}",
            f"{r['loss_vs_perfect_foresight_eur']:.2f}",
            f"{r['discharged_kwh']:.1f}",
        )
    return tab


def _fmt(v: Any) -> str:
    return f"{v:,.4g}" if isinstance(v, float) else str(v)


@backtest_app.command("v2g-pricing")
def v2g_pricing_backtest(
    start: StartOpt = "2024-01-01",
    end: EndOpt = "2024-12-31",
    workers: WorkersOpt = 2,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        "evagg-out/backtest/v2g-pricing"
    ),
    fleet_size: _FLEET = 200,
    v2g_share: _SHARE = 0.3,
    n_classes: _CLASSES = 6,
    forecast: _FORECAST = "sarimax",
    every: EveryOpt = 1,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
    no_progress: NoProgressOpt = False,
) -> None:
    """The V2G-pricing day over a date range (one dask task per day, resumable): daily
    table, annual summary (profit, loss vs perfect foresight of hold and rolling, loss
    reduction), monthly table and plot; failed days (e.g. a missing price hour) listed.
    The same study as `evagg run` with study = "v2g_pricing_backtest"."""
    from evagg.studies import v2g_pricing_backtest as study

    config = study.Config(
        start=start,
        end=end,
        every_days=every,
        workers=workers,
        seed=seed,
        days_dir=str(out),
        resume=resume,
        fleet_size=fleet_size,
        v2g_share=v2g_share,
        n_classes=n_classes,
        forecast=forecast,  # type: ignore[arg-type]  # validated by the Config
    )
    res = study.run(config, scheduler=scheduler, show_progress=not (no_progress or as_json))
    study.write_outputs(res, out)
    summary = res.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=1, default=str))
        return
    rows = [
        ("days computed / resumed", f"{res.n_computed} / {res.n_resumed}"),
        ("failed days", str(summary["n_failures"])),
        *((f"failed {f['date']}", f["error"][:120]) for f in summary["failures"]),
        *((k, _fmt(v)) for k, v in res.totals.items()),
    ]
    con = Console()
    con.print(kv_table(f"backtest v2g-pricing {start} .. {end}", rows))
    con.print(f"files written to {escape(str(out))}")


def register(app: typer.Typer) -> None:
    """Add the ``v2g-pricing`` command (the backtest sub-command registers itself)."""
    app.command("v2g-pricing")(v2g_pricing_command)
