"""Shared fixtures: one demo run per session (with report.html) and figure capture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

TITLE_RE = re.compile(r" — .+, (\d{4}-\d{2}-\d{2}|single period)")
"""A figure title in the style: '<what> — <case>, <date>' (evagg.report.style.title)."""

RAW_NAME_RE = re.compile(r"\b[a-z0-9]+(_[a-z0-9]+)+\b")
"""A snake_case column name such as ``ev_demand_mwh`` (never an axis label)."""


@pytest.fixture
def captured_figures(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Figure]]]:
    """Every ``Figure.savefig`` call during the test: ``(file name, figure)``."""
    seen: list[tuple[str, Figure]] = []
    _capture(monkeypatch, seen)
    yield seen


def _capture(mp: pytest.MonkeyPatch, seen: list[tuple[str, Figure]]) -> None:
    original = Figure.savefig

    def savefig(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((Path(str(fname)).name, self))
        return original(self, fname, *args, **kwargs)

    mp.setattr(Figure, "savefig", savefig)


def assert_readable(name: str, fig: Figure) -> None:
    """The style's rules a test can check: a title with case and date, every data axes
    with a y label, every column of axes with an x label, units in brackets (or a
    category axis such as buses)."""
    titles = [fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)]
    assert any(TITLE_RE.search(t) for t in titles if t), f"{name}: no title with case and date"
    data_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    for ax in data_axes:
        y = ax.get_ylabel()
        assert y, f"{name}: axes without y label"
        assert "[" in y or y.startswith("bus"), f"{name}: y label without unit: {y!r}"
        x = ax.get_xlabel() or next(
            (o.get_xlabel() for o in ax.get_shared_x_axes().get_siblings(ax) if o.get_xlabel()),
            "",
        )
        assert x, f"{name}: axes without x label"
        assert "[" in x or x.startswith("bus") or x.startswith("hour"), f"{name}: x unit: {x!r}"
        plain = re.sub(r"\$[^$]*\$", "", x + " " + y)  # mathtext such as CVaR$_{0.95}$
        assert not RAW_NAME_RE.search(plain), f"{name}: raw column name as label: {x!r} / {y!r}"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, Figure]]]:
    """``evagg demo --html`` once per session: the folder and the figures it saved."""
    from typer.testing import CliRunner

    from evagg.cli import app

    out = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    seen: list[tuple[str, Figure]] = []
    _capture(mp, seen)
    try:
        res = CliRunner().invoke(app, ["demo", "--out", str(out), "--no-progress", "--html"])
    finally:
        mp.undo()
    assert res.exit_code == 0, res.output
    return out, seen
