"""``evagg game``: the DSO ↔ EV aggregators Stackelberg game with points (seed 000)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from evagg.dso_game import GameNotConverged
from evagg.studies.dso_game import Config, run, write_outputs


def game(
    date: Annotated[
        str, typer.Option("--date", help="First market day YYYY-MM-DD.")
    ] = "2024-06-12",
    aggregators: Annotated[
        str, typer.Option("--aggregators", help="Comma-separated aggregator buses.")
    ] = "14,23,30",
    days: Annotated[int, typer.Option("--days", help="Days simulated (points accumulate).")] = 30,
    points: Annotated[str, typer.Option("--points", help="Points system: on or off.")] = "on",
    users: Annotated[int, typer.Option("--users", help="Number of EV users.")] = 300,
    slot_minutes: Annotated[int, typer.Option("--slot-minutes", help="15, 30 or 60.")] = 15,
    compare: Annotated[
        bool, typer.Option("--compare/--no-compare", help="Cases (i)-(iv) on the last day.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of users and trips.")] = 0,
    epsilon_eur: Annotated[
        float,
        typer.Option(
            "--epsilon-eur",
            help="Accept an ε-equilibrium: a settled point where no aggregator gains more "
            "than this [EUR] by deviating (default 0: exact equilibria only).",
        ),
    ] = 0.0,
    max_iter: Annotated[
        int,
        typer.Option(
            "--max-iter",
            help="Outer iterations per day before the day is declared not converged.",
        ),
    ] = 150,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("evagg-out/game"),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the summary as JSON.")
    ] = False,
) -> None:
    """DSO OPF → DLMPs → aggregators' exact best responses → users' choices, to a certified
    equilibrium each day; exits 1 if a day does not converge."""
    if points not in ("on", "off"):
        from evagg.errors import InputError

        raise InputError("points", points, "must be 'on' or 'off'")
    try:
        buses = tuple(int(b) for b in aggregators.split(","))
    except ValueError:
        from evagg.errors import InputError

        raise InputError("aggregators", aggregators, "comma-separated integers") from None
    cfg = Config(
        date=date,
        aggregators=buses,
        days=days,
        points=points == "on",
        n_users=users,
        slot_minutes=slot_minutes,
        compare=compare,
        seed=seed,
        epsilon_eur=epsilon_eur,
        max_iter=max_iter,
    )
    err = Console(stderr=True)
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("game: day 1", total=days)
            res = run(
                cfg, progress=lambda s, i, n: bar.update(task, description=s, completed=i, total=n)
            )
    except GameNotConverged as exc:
        err.print(f"[bold red]not converged:[/] {exc}")
        kept = ""
        if not exc.days_done.empty:
            out.mkdir(parents=True, exist_ok=True)
            exc.days_done.to_csv(out / "days_done.csv", index=False)
            exc.trajectory.to_csv(out / "failed_day_trajectory.csv", index=False)
            kept = str(out / "days_done.csv")
            err.print(f"{len(exc.days_done)} certified day(s) before it: {kept}")
        if as_json:
            print(
                json.dumps(
                    {
                        "converged": False,
                        "day": exc.day,
                        "iterations": exc.iterations,
                        "days_certified": len(exc.days_done),
                        "days_done_csv": kept,
                    }
                )
            )
        sys.exit(1)
    write_outputs(res, out)
    s = res.summary()
    if as_json:
        print(json.dumps(s, indent=1, default=str))
        return
    tab = Table(title=f"DSO game, {cfg.date} (+{days - 1} days), points {points}")
    tab.add_column("quantity")
    tab.add_column("value", justify="right")
    tab.add_row("converged days", f"{s['converged_days']}/{s['days']}")
    tab.add_row("iterations (last day)", str(s["iterations_last_day"]))
    tab.add_row("max best-response gap", f"{s['max_best_response_gap']:.1e}")
    if s["epsilon_days"]:
        tab.add_row(
            "ε-equilibrium days / largest ε [EUR]",
            f"{s['epsilon_days']} / {s['max_epsilon_eur']:.3g}",
        )
    tab.add_row("DSO cost last day [EUR]", f"{s['dso_cost_eur_last_day']:.0f}")
    for b, p in s["profits_eur_last_day"].items():
        tab.add_row(f"profit aggregator bus {b} [EUR]", f"{p:.0f}")
    tab.add_row("users' payments last day [EUR]", f"{s['user_cost_eur_last_day']:.0f}")
    tab.add_row(
        "peak import [MW] / v_min [pu]",
        f"{s['peak_mw_last_day']:.3f} / {s['v_min_pu_last_day']:.4f}",
    )
    Console().print(tab)
    Console().print(f"files in {out}/")


def register(app: typer.Typer) -> None:
    """Add ``game``."""
    app.command("game")(game)
