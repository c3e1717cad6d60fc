"""``evagg backtest STUDY ...``: a per-day study over a date range on dask.distributed.

This module owns the ``backtest`` command group and the options every backtest shares;
each study adds its sub-command from its own CLI module::

    from evagg.cli.backtest import backtest_app, run_backtest_command

    @backtest_app.command("my-study")
    def my_study(start: StartOpt, end: EndOpt, ...) -> None:
        run_backtest_command("my-study", day_fn, start=start, ...)

(typer builds the group when the command runs, so sub-commands registered by modules
imported later are included.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from evagg.backtest import BacktestResult, DayFn, run_backtest
from evagg.cli._tables import kv_table

__all__ = [
    "EndOpt",
    "EveryOpt",
    "JsonOpt",
    "NoProgressOpt",
    "ResumeOpt",
    "SchedulerOpt",
    "SeedOpt",
    "StartOpt",
    "WorkersOpt",
    "backtest_app",
    "register",
    "run_backtest_command",
]

backtest_app = typer.Typer(
    name="backtest",
    help="Run a per-day study over a date range on dask.distributed: one task per day, "
    "each day written atomically to OUT/days/, resumable with --resume after a kill.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

StartOpt = Annotated[str, typer.Option("--start", help="First day YYYY-MM-DD.")]
EndOpt = Annotated[str, typer.Option("--end", help="Last day YYYY-MM-DD (inclusive).")]
WorkersOpt = Annotated[
    int, typer.Option("--workers", help="Worker processes of the local dask cluster.")
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Address of a running dask scheduler (tcp://host:8786) instead of a local "
        "cluster; 'synchronous' runs the days in this process.",
    ),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue the run in --out; finished days are kept.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Run seed (each day gets its own).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only the summary as JSON.")]
EveryOpt = Annotated[
    int, typer.Option("--every", help="Run every N-th day only (a stated subsample).")
]
NoProgressOpt = Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")]


def run_backtest_command(
    study: str,
    day_fn: DayFn,
    *,
    start: str,
    end: str,
    out: Path,
    workers: int = 2,
    scheduler: str | None = None,
    resume: bool = False,
    seed: int = 0,
    as_json: bool = False,
    progress: bool = True,
    data_range: Any = None,
    finish: Callable[[BacktestResult], dict[str, Any]] | None = None,
    every: int = 1,
) -> BacktestResult:
    """Run the backtest, let the study summarise it, write ``summary.json``, print.

    ``finish(result)`` writes the study's own tables/figures into ``result.out_dir`` and
    returns its JSON-able summary (merged under ``"study"``).
    """
    res = run_backtest(
        day_fn,
        start,
        end,
        out,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        seed=seed,
        progress=progress,
        data_range=data_range,
        every=every,
    )
    summary: dict[str, Any] = {"study": study, "start": start, "end": end, "seed": seed}
    summary["every"] = every
    summary["backtest"] = res.summary()
    if finish is not None and not res.daily.empty:
        summary["results"] = finish(res)
    (Path(out) / "summary.json").write_text(
        json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8"
    )
    if as_json:
        typer.echo(json.dumps(summary, indent=1, default=str))
        return res
    rows = [
        ("days", str(res.n_days)),
        ("computed / resumed", f"{res.n_computed} / {res.n_resumed}"),
        ("failed days", str(len(res.failures))),
    ]
    rows += [
        (f"failed {f['date']}", f"{f['error_type']}: {f['message']}"[:120])
        for f in summary["backtest"]["failures"]
    ]
    rows += [(k, _fmt(v)) for k, v in (summary.get("results") or {}).items() if _scalar(v)]
    con = Console()
    con.print(kv_table(f"backtest {study} {start} .. {end}", rows))
    con.print(f"files written to {out}")
    return res


def _scalar(v: Any) -> bool:
    return isinstance(v, int | float | str) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    return f"{v:,.2f}" if isinstance(v, float) else str(v)


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command group (studies add their sub-commands)."""
    app.add_typer(backtest_app, name="backtest")
