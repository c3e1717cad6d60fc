"""``evagg data``: what data ships with evagg."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from evagg.data import datasets

data_app = typer.Typer(help="Bundled real datasets.", no_args_is_help=True)


@data_app.command("list")
def list_datasets() -> None:
    """List bundled datasets with period, resolution, source and licence."""
    table = Table(title="evagg bundled datasets", show_lines=True)
    for col in ("name", "loader", "period", "resolution", "source", "licence"):
        table.add_column(col, overflow="fold")
    for name, row in datasets().iterrows():
        table.add_row(
            str(name),
            f"evagg.data.{row['loader']}",
            row["period"],
            row["resolution"],
            row["source"],
            row["licence"],
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group."""
    app.add_typer(data_app, name="data")
