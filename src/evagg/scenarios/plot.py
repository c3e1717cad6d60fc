"""Fan chart of a scenario set against the realised series."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

from evagg.errors import InputError
from evagg.scenarios.scenario_set import ScenarioSet

__all__ = ["plot_fan_chart", "weighted_quantiles"]


def weighted_quantiles(values: np.ndarray, p: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Probability-weighted quantiles per time step of ``values`` (S, T); shape (len(qs), T).

    Inverse of the weighted empirical CDF (smallest value whose cumulative
    probability reaches the level).
    """
    order = np.argsort(values, axis=0)
    v = np.take_along_axis(values, order, axis=0)
    cum = np.cumsum(p[order], axis=0)
    out = np.empty((len(qs), values.shape[1]))
    for i, q in enumerate(qs):
        k = np.argmax(cum >= q - 1e-12, axis=0)
        out[i] = v[k, np.arange(values.shape[1])]
    return out


def plot_fan_chart(
    ss: ScenarioSet,
    quantity: str,
    realised: pd.Series | None = None,
    ax: Axes | None = None,
    reduced: ScenarioSet | None = None,
    title: str | None = None,
) -> Figure:
    """Fan chart: 5–95 % and 25–75 % bands, median, optional reduced scenarios and realised.

    Parameters
    ----------
    ss
        Scenario set; quantiles are probability-weighted.
    quantity
        Quantity to draw, e.g. ``"da_price_eur_per_mwh"``.
    realised
        Realised series on exactly ``ss.time_index`` (else ``MisalignedIndexError``).
    ax
        Axes to draw on; by default a new ``matplotlib.figure.Figure`` (no pyplot, no
        backend needed) is created.
    reduced
        A reduced set to overlay, line width proportional to probability.
    title
        Axes title (default: the quantity name).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from evagg._checks import check_same_index

    values = ss.array(quantity)
    idx = ss.time_index
    if realised is not None:
        if not isinstance(realised, pd.Series):
            raise InputError("realised", type(realised).__name__, "must be a pandas Series")
        check_same_index(["ss.time_index", "realised.index"], [idx, realised.index])
    if reduced is not None:
        check_same_index(["ss.time_index", "reduced.time_index"], [idx, reduced.time_index])
    if ax is None:
        fig = Figure(figsize=(9, 4.5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    # step plots need the end of the last period; plot in real time (DST-safe)
    step = idx[-1] - idx[-2] if len(idx) > 1 else pd.Timedelta(hours=1)
    x = pd.DatetimeIndex([*idx, idx[-1] + step]).to_pydatetime()

    def ext(v: np.ndarray) -> np.ndarray:
        return np.append(v, v[-1])

    q = weighted_quantiles(values, ss.p, (0.05, 0.25, 0.5, 0.75, 0.95))
    ax.fill_between(
        x, ext(q[0]), ext(q[4]), color="tab:blue", alpha=0.18, step="post", label="5–95 %"
    )
    ax.fill_between(
        x, ext(q[1]), ext(q[3]), color="tab:blue", alpha=0.35, step="post", label="25–75 %"
    )
    ax.step(x, ext(q[2]), where="post", color="tab:blue", lw=1.5, label="median")
    mean = ss.expected(quantity).to_numpy()
    ax.step(x, ext(mean), where="post", color="tab:blue", lw=1.0, ls="--", label="mean")
    if reduced is not None:
        rv = reduced.array(quantity)
        pmax = float(reduced.p.max())
        for k in range(rv.shape[0]):
            ax.step(
                x,
                ext(rv[k]),
                where="post",
                color="0.35",
                alpha=0.8,
                lw=0.4 + 2.0 * reduced.p[k] / pmax,
                label=f"reduced ({reduced.n_scenarios})" if k == 0 else None,
            )
    if realised is not None:
        y = realised.to_numpy(dtype=float)
        ax.step(x, ext(y), where="post", color="black", lw=2.0, label="realised")
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=idx.tz))
    ax.set_xlabel(f"time ({idx.tz})")
    ax.set_ylabel(quantity)
    ax.set_title(title or quantity)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig
