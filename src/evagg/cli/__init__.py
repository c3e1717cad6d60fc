"""The ``evagg`` command (typer + rich).

Each module in this package that defines ``register(app)`` adds its commands; this file
discovers them, so new commands need no edit here.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

from evagg.errors import EvaggError

app = typer.Typer(
    name="evagg",
    help="Decisions of an EV aggregator: markets, V2G pricing and reliability, grid impact.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
err_console = Console(stderr=True)


def _register_all() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    """Entry point: run the app, turning an ``EvaggError`` into a one-line message, exit 2."""
    try:
        app()
    except EvaggError as exc:
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}")
        sys.exit(2)
