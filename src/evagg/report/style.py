"""One style for every figure evagg writes.

Rules (issue 9 §3): a title naming what is shown, the case and the date; units in
brackets on every axis; hourly quantities drawn as left-aligned steps (the value of hour
``h`` covers ``[h, h+1)``, the last step extended to the end of the day); legends outside
the data; a colour-blind-safe palette with enough distinct colours for 12 series;
feeder voltage profiles drawn per branch path (never a line joining buses that are not
adjacent).

Figures are built on ``matplotlib.figure.Figure`` objects (no pyplot, no global backend).
Use :func:`new_figure` (or :func:`apply_style` / :func:`style` for code that must use
rcParams) and the helpers below.

Palette: Paul Tol's "muted" scheme (9 colours, distinguishable under the common forms of
colour-vision deficiency, https://personal.sron.nl/~pault/) followed by the
blue of his "bright", the orange of his "vibrant" scheme and a dark grey, giving 12
distinct colours (no pair closer than 0.15 in RGB; tested).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "PALETTE",
    "RC",
    "apply_style",
    "axis_label",
    "color",
    "feeder_profile",
    "hourly_steps",
    "legend_outside",
    "new_figure",
    "robust_limits",
    "save_figure",
    "save_figures",
    "style",
    "time_axis",
    "title",
]

PALETTE: tuple[str, ...] = (
    "#332288",  # indigo
    "#88CCEE",  # cyan
    "#44AA99",  # teal
    "#117733",  # green
    "#999933",  # olive
    "#DDCC77",  # sand
    "#CC6677",  # rose
    "#882255",  # wine
    "#AA4499",  # purple
    "#4477AA",  # blue (bright)
    "#EE7733",  # orange (vibrant)
    "#555555",  # dark grey
)
"""Twelve colour-blind-safe colours (Paul Tol muted + bright), in cycle order."""

RC: dict[str, Any] = {
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 11,
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "image.cmap": "viridis",
}
"""The rcParams of the style (matplotlib names)."""


def color(i: int) -> str:
    """The ``i``-th palette colour (cycling after 12)."""
    return PALETTE[i % len(PALETTE)]


def apply_style() -> None:
    """Set :data:`RC` in matplotlib's global rcParams (for scripts and notebooks)."""
    mpl.rcParams.update(RC)  # type: ignore[arg-type]


@contextmanager
def style() -> Iterator[None]:
    """Context manager: :data:`RC` applies inside the block, previous rcParams after."""
    with mpl.rc_context(RC):  # type: ignore[arg-type]
        yield


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A ``Figure`` in the style with ``nrows × ncols`` axes (constrained layout).

    Returns ``(fig, axes)`` like ``pyplot.subplots`` (one ``Axes`` when 1 × 1). The style
    is captured at creation, so the figure looks the same whatever rcParams are later.
    """
    kwargs.setdefault("layout", "constrained")
    sharex = kwargs.pop("sharex", False)
    sharey = kwargs.pop("sharey", False)
    with style():
        fig = Figure(**kwargs)
        axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=True)
        for ax in np.atleast_1d(axes).ravel():
            ax.set_prop_cycle(RC["axes.prop_cycle"])
            ax.grid(True, alpha=RC["grid.alpha"])
            ax.tick_params(labelsize=RC["xtick.labelsize"])
    return fig, axes


def axis_label(quantity: str, unit: str | None) -> str:
    """``"quantity [unit]"`` (``"quantity [-]"`` for a dimensionless quantity: ``unit=""``).

    ``unit=None`` means the axis is a category or index axis (bus, scenario) and gets no
    bracket.
    """
    if unit is None:
        return quantity
    return f"{quantity} [{unit or '-'}]"


def title(target: Axes | Figure, what: str, case: str, date: str | None = None) -> str:
    """Set the title ``"<what> — <case>, <date>"`` on an ``Axes`` or a figure (suptitle).

    Every figure names what it shows, the case (feeder, fleet, market) and the date
    (the market day, or a range). Returns the text set.
    """
    text = f"{what} — {case}" + (f", {date}" if date else "")
    if isinstance(target, Figure):
        target.suptitle(text, fontsize=RC["figure.titlesize"])
    else:
        target.set_title(text, fontsize=RC["axes.titlesize"])
    return text


def _step_edges(index: pd.Index | Sequence[Any]) -> np.ndarray:
    """Left edges of each step plus the end of the last one (real time, DST-safe)."""
    idx = pd.Index(index)
    if isinstance(idx, pd.DatetimeIndex):
        step = idx[-1] - idx[-2] if len(idx) > 1 else pd.Timedelta(hours=1)
        return np.asarray(pd.DatetimeIndex([*idx, idx[-1] + step]).to_pydatetime())
    x = np.asarray(idx, dtype=float)
    step_f = x[-1] - x[-2] if len(x) > 1 else 1.0
    return np.append(x, x[-1] + step_f)


def hourly_steps(
    ax: Axes,
    index: pd.Index | Sequence[Any],
    values: Any,
    *,
    fill_to: Any = None,
    **kwargs: Any,
) -> Any:
    """Draw ``values`` as left-aligned steps: value ``i`` covers ``[index[i], index[i+1])``.

    The last step is extended by one period, so the first and the last hour are as wide
    as the others (``drawstyle="steps-post"``). ``index`` is a ``DatetimeIndex`` (drawn in
    real time, so 23/25-hour days are right) or numbers (hours, slots). With ``fill_to``
    (a scalar or an array like ``values``) the band between the two is filled instead
    (``kwargs`` go to ``fill_between``). Returns the matplotlib artist.
    """
    x = _step_edges(index)
    y = np.asarray(values, dtype=float)
    y = np.append(y, y[-1])
    if fill_to is not None:
        lo = np.broadcast_to(np.asarray(fill_to, dtype=float), (len(y) - 1,))
        return ax.fill_between(x, np.append(lo, lo[-1]), y, step="post", **kwargs)
    (line,) = ax.plot(x, y, drawstyle="steps-post", **kwargs)
    return line


def time_axis(ax: Axes, index: pd.DatetimeIndex, fmt: str = "%H:%M") -> None:
    """Hour-of-day ticks in the index's time zone and the label ``time [<tz>]``."""
    from matplotlib.dates import DateFormatter

    ax.xaxis.set_major_formatter(DateFormatter(fmt, tz=index.tz))
    ax.set_xlabel(axis_label("time", str(index.tz)))


def legend_outside(ax: Axes, where: str = "right", **kwargs: Any) -> Any:
    """Legend outside the axes (``"right"`` or ``"below"``), never over the data."""
    handles, _labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    kwargs.setdefault("fontsize", RC["legend.fontsize"])
    kwargs.setdefault("title_fontsize", RC["legend.fontsize"])
    kwargs.setdefault("frameon", RC["legend.frameon"])
    if where == "below":
        kwargs.setdefault("ncols", min(4, len(handles)))
        return ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.18), borderaxespad=0.0, **kwargs
        )
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def save_figure(fig: Figure, path: Path | str, dpi: float | None = None) -> Path:
    """Write ``fig`` (PNG by the suffix) in the style: :data:`RC`'s resolution (or
    ``dpi``) and tight bounding box, so that a legend outside the data is not cut off.
    Returns the path."""
    path = Path(path)
    with style():
        fig.savefig(path, dpi=RC["savefig.dpi"] if dpi is None else dpi)
    return path


def save_figures(figs: Mapping[str, Figure], out_dir: Path | str) -> list[Path]:
    """Write ``{file name: figure}`` into ``out_dir`` with :func:`save_figure`; the paths."""
    return [save_figure(fig, Path(out_dir) / name) for name, fig in figs.items()]


def robust_limits(values: Any, q: float = 0.01, pad: float = 0.08) -> tuple[float, float]:
    """Axis limits spanning the ``q``–``1−q`` quantiles (+ padding), so one outlier does
    not squash a panel; the caller says in the label or a note that points are clipped."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (0.0, 1.0)
    lo, hi = np.quantile(v, [q, 1 - q])
    span = hi - lo or max(abs(hi), 1.0)
    return (float(lo - pad * span), float(hi + pad * span))


def feeder_profile(
    ax: Axes,
    feeder: Any,
    v_pu: pd.Series | np.ndarray,
    *,
    label: str | None = None,
    label_leaves: bool = True,
    **kwargs: Any,
) -> list[Any]:
    """Voltage profile along the feeder, one line per branch path from the substation.

    ``feeder`` is a :class:`evagg.grid.Feeder` (``parent`` gives each bus position's
    parent position, ``-1`` at the root; ``bus_index`` the pandapower bus numbers);
    ``v_pu`` is given per bus in the order of ``feeder.bus_index`` (a Series indexed by
    bus number is reordered). The x-axis is the bus's electrical position: number of
    branches from the substation. Each path from a branching point (or the root) to a
    leaf is drawn separately, starting at its parent bus, so no line joins buses that
    are not adjacent and shared segments are drawn once. With ``label_leaves`` each
    leaf's bus number is written at its end. Returns the line artists (the first
    carries ``label``).
    """
    buses = pd.Index(feeder.bus_index)
    if isinstance(v_pu, pd.Series):
        v = v_pu.reindex(buses).to_numpy(float)
    else:
        v = np.asarray(v_pu, dtype=float)
    parent = np.asarray(feeder.parent, dtype=int)
    n = len(parent)
    depth = np.zeros(n, dtype=int)
    for k in range(n):  # breadth-first order: a parent comes before its children
        depth[k] = 0 if parent[k] < 0 else depth[parent[k]] + 1
    has_child = np.zeros(n, dtype=bool)
    has_child[parent[parent >= 0]] = True
    kwargs.setdefault("color", color(0))
    drawn = np.zeros(n, dtype=bool)
    drawn[parent < 0] = True
    lines: list[Any] = []
    for leaf in sorted(np.flatnonzero(~has_child), key=lambda k: -depth[k]):
        path = [int(leaf)]
        while not drawn[path[-1]]:
            path.append(int(parent[path[-1]]))
        drawn[path] = True
        path.reverse()
        (line,) = ax.plot(
            depth[path], v[path], marker=".", label=None if lines else label, **kwargs
        )
        lines.append(line)
        if label_leaves:
            ax.annotate(
                str(buses[leaf]),
                (float(depth[leaf]), float(v[leaf])),
                fontsize=6,
                xytext=(3, 0),
                textcoords="offset points",
                color=kwargs["color"],
                va="center",
            )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(axis_label("branches from the substation (leaf bus number at line end)", "-"))
    ax.set_ylabel(axis_label("voltage magnitude", "pu"))
    return lines
