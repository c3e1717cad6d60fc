"""Rich tables shared by the commands."""

from __future__ import annotations

from collections.abc import Iterable

from rich.markup import escape
from rich.table import Table


def kv_table(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    """Two-column ``quantity | value`` table; cells are escaped (units in brackets survive)."""
    tab = Table(title=escape(title))
    tab.add_column("quantity")
    tab.add_column("value", justify="right")
    for k, v in rows:
        tab.add_row(escape(k), escape(v))
    return tab
