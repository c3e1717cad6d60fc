"""Point forecasts of one day's day-ahead prices, made before the day (no look-ahead).

``"sarimax"``: the mean path of evagg's seasonal ARIMA (:func:`evagg.scenarios.prices.
fit_price_model`, 28 days of training by default, training gaps of up to 2 h
interpolated); ``"weekly_profile"``: for each local clock hour, the mean price of that
hour over the 7 days before (a cheap, transparent baseline for long backtests).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evagg.errors import InputError
from evagg.scenarios.prices import fit_price_model

__all__ = ["ForecastMethod", "point_forecast"]

ForecastMethod = Literal["sarimax", "weekly_profile"]


def point_forecast(
    prices: pd.Series,
    day_index: pd.DatetimeIndex,
    method: ForecastMethod = "sarimax",
    train_days: int = 28,
) -> np.ndarray:
    """Forecast [EUR/MWh] of the hours ``day_index`` (one local day) from earlier prices."""
    start = day_index[0]
    if method == "sarimax":
        model = fit_price_model(prices, start, train_days, max_gap_hours=2)
        return np.asarray(model.results.forecast(len(day_index)), dtype=float)
    if method != "weekly_profile":
        raise InputError("forecast", method, "must be 'sarimax' or 'weekly_profile'")
    past = prices[(prices.index < start) & (prices.index >= start - pd.Timedelta(days=8))]
    local = pd.DatetimeIndex(past.index).tz_convert(day_index.tz)
    days = (start.tz_localize(None).normalize() - local.tz_localize(None).normalize()).days
    window = past[(days >= 1) & (days <= 7)]
    if window.empty:
        raise InputError("date", str(start.date()), "no prices in the 7 days before it")
    hour = pd.DatetimeIndex(window.index).tz_convert(day_index.tz).hour
    profile = window.groupby(hour).mean()
    wanted = day_index.hour
    out = profile.reindex(wanted).to_numpy(float)
    return np.where(np.isfinite(out), out, float(window.mean()))
