"""Rich tables shared by the commands."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from evagg.errors import EvaggError


def kv_table(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    """Two-column ``quantity | value`` table; cells are escaped (units in brackets such as
    ``[s]`` or ``[kWh]`` would otherwise be read as rich markup and vanish) and fold
    instead of being cut, so paths stay whole on an 80-column terminal."""
    tab = Table(title=escape(title))
    tab.add_column("quantity", overflow="fold")
    tab.add_column("value", justify="right", overflow="fold")
    for k, v in rows:
        tab.add_row(escape(k), escape(v))
    return tab


OUT_ROOT = Path("evagg-out")
"""Root of the default output folders: ``evagg-out/<command>/`` (git-ignored)."""


def print_json(payload: Any) -> None:
    """Print ``payload`` as strict JSON on stdout (the only stdout output of ``--json``).

    NaN/inf never leave evagg: a non-finite number raises instead of printing the
    invalid JSON token ``NaN``.
    """
    try:
        text = json.dumps(payload, indent=1, default=str, allow_nan=False)
    except ValueError as exc:
        raise EvaggError(f"result contains a non-finite number ({exc}); not printed") from None
    typer.echo(text)
