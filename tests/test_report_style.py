"""The shared figure style (evagg.report.style)."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from evagg.grid import Feeder
from evagg.report import style


def test_palette_has_twelve_distinct_colours() -> None:
    rgb = np.array([to_rgb(c) for c in style.PALETTE])
    assert len(style.PALETTE) == 12
    # pairwise distance in RGB: no two colours nearly equal (0.15 of the unit cube)
    d = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1) + np.eye(12)
    assert d.min() > 0.15
    _fig, ax = style.new_figure()
    cols = [ax.plot([0, 1], [i, i])[0].get_color() for i in range(12)]
    assert len({c.lower() for c in cols}) == 12


def test_style_context_restores_rcparams() -> None:
    before = mpl.rcParams["axes.titlesize"]
    with style.style():
        assert mpl.rcParams["axes.titlesize"] == style.RC["axes.titlesize"]
    assert mpl.rcParams["axes.titlesize"] == before


def test_hourly_steps_left_aligned_last_step_extended() -> None:
    idx = pd.date_range("2024-03-31", periods=23, freq="1h", tz="Europe/Amsterdam")
    _fig, ax = style.new_figure()
    line = style.hourly_steps(ax, idx, np.arange(23.0))
    x, y = line.get_data()
    assert line.get_drawstyle() == "steps-post"
    assert len(x) == 24 and y[-1] == y[-2] == 22.0
    # value i covers [idx[i], idx[i+1]): first x is the first hour's start (not centred)
    assert pd.Timestamp(x[0]) == idx[0]
    assert pd.Timestamp(x[-1]) == idx[-1] + pd.Timedelta(hours=1)  # DST day: 23 real hours
    band = style.hourly_steps(ax, np.arange(4), [1.0, 2.0, 3.0, 4.0], fill_to=0.0)
    assert band is not None


def test_title_and_axis_label() -> None:
    fig, ax = style.new_figure()
    assert style.title(ax, "DLMP", "case33bw", "2024-06-12") == "DLMP — case33bw, 2024-06-12"
    assert ax.get_title() == "DLMP — case33bw, 2024-06-12"
    style.title(fig, "Overview", "NL market", "2024-06-12")
    assert fig.get_suptitle().endswith("2024-06-12")
    assert style.axis_label("price", "EUR/MWh") == "price [EUR/MWh]"
    assert style.axis_label("share", "") == "share [-]"
    assert style.axis_label("bus", None) == "bus"


def test_legend_outside_axes() -> None:
    fig, ax = style.new_figure()
    ax.plot([0, 1], [0, 1], label="a")
    leg = style.legend_outside(ax)
    fig.canvas.draw()
    box = leg.get_window_extent()
    assert box.x0 >= ax.get_window_extent().x1 - 1
    assert style.legend_outside(style.new_figure()[1]) is None


def test_robust_limits_ignore_one_outlier() -> None:
    v = np.r_[np.linspace(0, 10, 200), 1e4]
    lo, hi = style.robust_limits(v)
    assert hi < 20 and lo < 0.5


def test_feeder_profile_only_joins_adjacent_buses() -> None:
    feeder = Feeder.from_pandapower()  # case33bw: laterals at buses 1, 2 and 5
    v = pd.Series(1.0 - 0.002 * np.arange(33), index=feeder.bus_index)
    _fig, ax = style.new_figure()
    lines = style.feeder_profile(ax, feeder, v, label="12:00")
    pos = {b: k for k, b in enumerate(feeder.bus_index)}
    depth = np.zeros(33, int)
    for k, p in enumerate(feeder.parent):
        depth[k] = 0 if p < 0 else depth[p] + 1
    n_segments = 0
    for line in lines:
        x, y = line.get_data()
        # recover the buses from (depth, v): v is unique per bus here
        ks = [pos[int(b)] for b in v.index[np.searchsorted(-v.to_numpy(), -np.asarray(y))]]
        assert list(depth[ks]) == list(x)
        for a, b in itertools.pairwise(ks):
            assert feeder.parent[b] == a  # every segment is a branch
        n_segments += len(ks) - 1
    assert n_segments == 32  # each branch drawn exactly once
    assert len(lines) == 4  # main feeder + three laterals
    assert sum(line.get_label() == "12:00" for line in lines) == 1


@pytest.mark.parametrize("where", ["right", "below"])
def test_legend_positions(where: str) -> None:
    _fig, ax = style.new_figure()
    ax.plot([0, 1], [0, 1], label="x")
    assert style.legend_outside(ax, where) is not None


def test_save_figures_uses_the_style_and_keeps_an_outside_legend(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    fig, ax = style.new_figure(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="a rather long legend entry")
    style.legend_outside(ax)
    (path,) = style.save_figures({"f.png": fig}, tmp_path)
    assert path == tmp_path / "f.png"
    h, w = mpimg.imread(path).shape[:2]
    # the style's 120 dpi; the tight bounding box widens the 4-inch canvas for the legend
    assert 3 * 120 * 0.8 < h < 3 * 120 * 1.2
    assert w > 4 * 120
