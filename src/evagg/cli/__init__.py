"""The ``evagg`` command (typer + rich).

Each module in this package that defines ``register(app)`` adds its commands; this file
discovers them, so new commands need no edit here.
"""

from __future__ import annotations

import importlib
import io
import os
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


def _keep_stdout_for_python() -> None:
    """Route file descriptor 1 to stderr; Python's ``sys.stdout`` keeps the real stdout.

    Solvers and other compiled libraries write logs and banners straight to descriptor 1
    (HiGHS prints a copyright banner on every solve). After this, only what evagg prints
    through ``sys.stdout`` (tables, or the JSON of ``--json``) reaches standard output;
    everything written at C level goes to standard error.
    """
    try:
        sys.stdout.flush()
        real = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError):  # no real descriptors (embedded interpreter)
        return
    sys.stdout = io.TextIOWrapper(
        os.fdopen(real, "wb"), encoding=sys.stdout.encoding or "utf-8", line_buffering=True
    )


def main() -> None:
    """Entry point: run the app, turning an ``EvaggError`` into a one-line message, exit 2."""
    _keep_stdout_for_python()
    try:
        app()
    except EvaggError as exc:
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}")
        sys.exit(2)
    except MemoryError as exc:  # a size option beyond this machine (bounds catch most)
        err_console.print(
            f"[bold red]error:[/] MemoryError: the problem does not fit in memory ({exc}); "
            "reduce the size options (fleet, users, scenarios, days)"
        )
        sys.exit(2)
