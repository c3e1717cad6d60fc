"""Rebuild a ``ScenarioSet`` from its long (tidy) table, e.g. a CSV written by a study."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evagg.errors import InputError
from evagg.scenarios.scenario_set import ScenarioSet

__all__ = ["scenario_set_from_long"]


def scenario_set_from_long(frame: pd.DataFrame, tz: Any = None) -> ScenarioSet:
    """Inverse of :meth:`ScenarioSet.to_long`.

    Parameters
    ----------
    frame
        One row per (time, scenario): either a ``(time, scenario)`` MultiIndex or
        columns ``time`` and ``scenario``; a ``probability`` column (constant within a
        scenario); every other column is a quantity. Times may be strings with UTC
        offsets (as in evagg's CSVs) or tz-aware timestamps.
    tz
        Time zone of the returned index (default: that of the parsed times, UTC for
        strings).

    Returns
    -------
    ScenarioSet

    Raises
    ------
    InputError
        Missing columns, a probability that differs within one scenario, a missing or
        duplicate (time, scenario) pair, or anything :class:`ScenarioSet` rejects.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError("frame", type(frame).__name__, "must be a DataFrame")
    df = frame.reset_index() if isinstance(frame.index, pd.MultiIndex) else frame.copy()
    missing = [c for c in ("time", "scenario", "probability") if c not in df.columns]
    if missing:
        raise InputError("frame.columns", list(df.columns), f"missing {missing}")
    quantities = [c for c in df.columns if c not in ("time", "scenario", "probability")]
    if not quantities:
        raise InputError("frame.columns", list(df.columns), "no quantity columns")
    times = df["time"]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        try:
            times = pd.to_datetime(times, utc=True)
        except (TypeError, ValueError) as exc:
            raise InputError("frame['time']", times.iloc[0], f"not a timestamp ({exc})") from None
    if tz is not None:
        times = times.dt.tz_convert(tz)
    df["time"] = times
    if df.duplicated(["time", "scenario"]).any():
        row = df.loc[df.duplicated(["time", "scenario"])].iloc[0]
        raise InputError("frame", (str(row["time"]), row["scenario"]), "duplicate time/scenario")
    probs = df.groupby("scenario", sort=False)["probability"]
    spread = (probs.max() - probs.min()).to_numpy()
    if np.any(spread > 1e-12):
        bad = probs.max().index[int(np.argmax(spread))]
        raise InputError("frame['probability']", bad, "differs between rows of one scenario")
    p = probs.first()
    p.index.name = "scenario"
    data = {}
    for q in quantities:
        wide = df.pivot(index="time", columns="scenario", values=q)
        if wide.isna().to_numpy().any():
            raise InputError(f"frame[{q!r}]", "NaN", "a (time, scenario) pair is missing")
        wide = wide.loc[:, p.index]
        wide.index = pd.DatetimeIndex(wide.index, name="time")
        wide.columns.name = "scenario"
        data[q] = wide
    return ScenarioSet(data, p.rename("probability"))
