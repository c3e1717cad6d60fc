r"""Day-ahead price forecasts the V2G plan is made on, and their hourly updates.

``"sarimax"``: the mean path of evagg's seasonal ARIMA (:func:`evagg.scenarios.prices.
fit_price_model`, 28 days of training by default, training gaps of up to 2 h
interpolated). Rolling update at hour ``h``: the Kalman filter is run on the realised
prices of hours ``0..h`` (``SARIMAXResults.extend``, parameters kept) and the remaining
hours are its conditional mean forecast.

``"weekly_profile"``: for each local clock hour, the mean price of that hour over the 7
days before (a cheap, transparent baseline). Rolling update: the error revealed at hour
``h`` persists with a decay ``φ`` per hour, :math:`\hat\pi_t = f_t + \phi^{t-h}(\pi_h -
f_h)`.

A view at hour ``h`` is computed from the realised prices of hours ``0..h`` only (the
function is never given later prices): the rolling strategy is non-anticipative by
construction, and tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg.errors import InputError
from evagg.scenarios.prices import fit_price_model

__all__ = ["DayForecast", "ForecastMethod", "point_forecast"]

ForecastMethod = Literal["sarimax", "weekly_profile"]


@dataclass(frozen=True)
class DayForecast:
    """A day's price forecast [EUR/MWh] and how it is updated as hours are revealed."""

    values: npt.NDArray[np.float64]
    method: str
    error_persistence: float = 0.8
    results: Any = None

    def view(self, revealed: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Prices as seen at hour ``h = len(revealed) − 1``: realised up to ``h``, updated
        forecast after (see the module docstring)."""
        prefix = np.asarray(revealed, dtype=float)
        n_t, h = self.values.size, prefix.size - 1
        if not 0 <= h < n_t:
            raise InputError("revealed", prefix.size, f"need 1..{n_t} revealed hours")
        if h == n_t - 1:
            return prefix.copy()
        if self.results is not None:
            rest = np.asarray(self.results.extend(prefix).forecast(n_t - h - 1), dtype=float)
        else:
            decay = self.error_persistence ** np.arange(1, n_t - h)
            rest = self.values[h + 1 :] + decay * (prefix[-1] - self.values[h])
        return np.concatenate([prefix, rest])


def point_forecast(
    prices: pd.Series,
    day_index: pd.DatetimeIndex,
    method: ForecastMethod = "sarimax",
    train_days: int = 28,
    error_persistence: float = 0.8,
) -> DayForecast:
    """Forecast the hours ``day_index`` (one local day) from the prices before it."""
    start = day_index[0]
    if method == "sarimax":
        model = fit_price_model(prices, start, train_days, max_gap_hours=2)
        values = np.asarray(model.results.forecast(len(day_index)), dtype=float)
        return DayForecast(values, method, error_persistence, model.results)
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
    out = profile.reindex(day_index.hour).to_numpy(float)
    values = np.where(np.isfinite(out), out, float(window.mean()))
    return DayForecast(values, method, error_persistence)
