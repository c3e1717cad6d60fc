"""``evagg backtest STUDY ...``: a per-day study over a date range on dask.distributed.

This module owns the ``backtest`` command group and the options every backtest shares;
each backtest study (``Config`` on :class:`evagg.studies.base.BacktestRangeConfig`,
``run``, ``write_outputs``) adds its sub-command from its own CLI module::

    from evagg.cli.backtest import backtest_app, StartOpt, EndOpt

    @backtest_app.command("my-study")
    def my_study(start: StartOpt = "2024-01-01", end: EndOpt = "2024-12-31", ...) -> None:
        write_outputs(run(Config(start=start, end=end, ...)), out)

(typer builds the group when the command runs, so sub-commands registered by modules
imported later are included.)
"""

from __future__ import annotations

from typing import Annotated

import typer

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


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command group (studies add their sub-commands)."""
    app.add_typer(backtest_app, name="backtest")
