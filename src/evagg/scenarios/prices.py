"""Day-ahead price scenarios from a seasonal ARIMA model (seed 002 §2.2 and §5.1)."""

from __future__ import annotations

import inspect
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tsa.statespace.sarimax import SARIMAX

from evagg._checks import check_time_index
from evagg.errors import InputError, SolverError
from evagg.scenarios._common import SeedLike, as_generator, check_count, local_day, scenario_labels
from evagg.scenarios.scenario_set import ScenarioSet

__all__ = [
    "DA_PRICE",
    "PriceModel",
    "day_ahead_price_scenarios",
    "fit_price_model",
    "refilter_price_model",
]

DA_PRICE = "da_price_eur_per_mwh"
"""Quantity name of day-ahead price scenarios [EUR/MWh]."""

DEFAULT_ORDER = (2, 0, 1)
DEFAULT_SEASONAL_ORDER = (1, 0, 0, 24)
MIN_TRAIN_DAYS = 7


@dataclass(frozen=True)
class PriceModel:
    """A seasonal ARIMA fitted on the days before a target market day.

    Attributes
    ----------
    results
        The fitted statsmodels ``SARIMAXResults``.
    train_index
        Time index of the training prices (ends one step before ``day_index[0]``).
    day_index
        Hours of the target local market day (23, 24 or 25 of them).
    order, seasonal_order
        ARIMA orders ``(p, d, q)`` and ``(P, D, Q, s)``.
    converged
        Whether the likelihood optimiser reported convergence.
    fit_seconds
        Wall time of the fit [s].
    filled_hours
        Missing training hours filled by linear interpolation (``max_gap_hours``).
    """

    results: Any
    train_index: pd.DatetimeIndex
    day_index: pd.DatetimeIndex
    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int]
    converged: bool
    fit_seconds: float
    filled_hours: int = 0

    @property
    def name(self) -> str:
        """Model label, e.g. ``SARIMAX(2,0,1)(1,0,0,24)+c``."""
        o, so = self.order, self.seasonal_order
        return f"SARIMAX({o[0]},{o[1]},{o[2]})({so[0]},{so[1]},{so[2]},{so[3]})+c"

    def simulate(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Simulate ``n`` paths over ``day_index`` from the end of the sample, shape (T, n).

        statsmodels draws each path's initial state from the filtered moments at the end of
        the sample and passes it in explicitly, but still re-runs the model's stationary
        initialisation (a Lyapunov solve, ~50 ms for the 26 states) once per path, whose
        result it then ignores. evagg swaps in a trivial known initialisation for the call:
        the paths are the same bytes (tested) and 200 paths take ~0.05 s instead of ~5-10 s.
        """
        from statsmodels.tsa.statespace.initialization import Initialization

        kw = _rng_keyword()
        ssm = self.results.model.ssm
        saved = ssm.initialization
        k = ssm.k_states
        ssm.initialization = Initialization(
            k, "known", constant=np.zeros(k), stationary_cov=np.eye(k)
        )
        try:
            sim = self.results.simulate(
                nsimulations=len(self.day_index), repetitions=n, anchor="end", **{kw: rng}
            )
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise SolverError(f"{self.name} simulation", type(exc).__name__, str(exc)) from None
        finally:
            ssm.initialization = saved
        return np.asarray(sim, dtype=float).reshape(len(self.day_index), n)


def _rng_keyword() -> str:
    """statsmodels >= 0.15 calls the generator argument ``rng``, 0.14 ``random_state``."""
    from statsmodels.tsa.statespace.mlemodel import MLEResults

    params = inspect.signature(MLEResults.simulate).parameters
    return "rng" if "rng" in params else "random_state"


def _split(
    prices: pd.Series, date: Any, train_days: int, max_gap_hours: int = 0
) -> tuple[pd.Series, pd.DatetimeIndex, int]:
    if not isinstance(prices, pd.Series):
        raise InputError("prices", type(prices).__name__, "must be a pandas Series [EUR/MWh]")
    idx = prices.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
        raise InputError("prices.index", type(idx).__name__, "must be a tz-aware DatetimeIndex")
    if len(idx) < 2 or not idx.is_monotonic_increasing:
        raise InputError("prices.index", len(idx), "must be increasing with >= 2 timestamps")
    if isinstance(train_days, bool) or not isinstance(train_days, int | np.integer):
        raise InputError("train_days", train_days, "must be an integer number of days")
    if train_days < MIN_TRAIN_DAYS:
        raise InputError("train_days", train_days, f"need at least {MIN_TRAIN_DAYS} days")
    step = pd.Timedelta(hours=1)
    start, end = local_day("date", date, idx.tz)
    day_index = pd.date_range(start, end, freq="1h", inclusive="left", name=idx.name)
    train_start = (start.tz_localize(None) - pd.Timedelta(days=int(train_days))).tz_localize(
        idx.tz, ambiguous=True, nonexistent="shift_forward"
    )
    if start > idx[-1] + step or end <= idx[0]:
        raise InputError(
            "date", str(start.date()), f"outside the price data ({idx[0]} .. {idx[-1]})"
        )
    if train_start < idx[0]:
        raise InputError(
            "date",
            str(start.date()),
            f"too little history: train_days={train_days} needs prices from {train_start}, "
            f"data start at {idx[0]}",
        )
    train = prices.loc[(idx >= train_start) & (idx < start)]
    filled = 0
    if isinstance(max_gap_hours, bool) or not isinstance(max_gap_hours, int | np.integer):
        raise InputError("max_gap_hours", max_gap_hours, "must be an integer >= 0")
    if max_gap_hours < 0:
        raise InputError("max_gap_hours", max_gap_hours, "must be an integer >= 0")
    if max_gap_hours > 0 and not train.index.has_duplicates:
        full = pd.date_range(train_start, start, freq="1h", inclusive="left", name=idx.name)
        missing = ~full.isin(train.index)
        if missing.any() and train.index.isin(full).all():
            run, longest = 0, 0
            for m in missing:
                run = run + 1 if m else 0
                longest = max(longest, run)
            # a gap at the window's first hour is interpolated from the price just before
            # the window (e.g. 2024-01-28 with 28 days: the window starts at the missing
            # 2023-12-31 00:00); none there, or a gap at the last hour, is an error
            lead = prices.loc[(idx < train_start) & (idx >= train_start - (longest + 1) * step)]
            if longest > max_gap_hours or (missing[0] and lead.empty) or missing[-1]:
                raise InputError(
                    "prices",
                    f"{int(missing.sum())} missing hours, longest gap {longest} h",
                    f"training window {train_start} .. {start - step} has a gap longer than "
                    f"max_gap_hours={max_gap_hours} or at its edge",
                )
            grid = lead.index.append(full)
            train = (
                pd.concat([lead, train])
                .reindex(grid)
                .interpolate(method="time", limit_area="inside")
                .loc[full]
            )
            filled = int(missing.sum())
    try:
        tidx = check_time_index("prices.index (training window)", train.index)
    except InputError as exc:
        raise InputError(
            exc.field,
            exc.value,
            exc.reason + "; pass max_gap_hours=k to interpolate gaps of up "
            "to k hours in the training window (recorded in PriceModel.filled_hours)",
        ) from None
    if len(tidx) < 2 or tidx[1] - tidx[0] != step:
        raise InputError(
            "prices.index", str(tidx[1] - tidx[0]), "day-ahead price scenarios need hourly prices"
        )
    if tidx[0] != train_start or tidx[-1] != start - step:
        raise InputError(
            "prices",
            f"{tidx[0]} .. {tidx[-1]}",
            f"training window must cover {train_start} .. {start - step} without gaps",
        )
    vals = train.to_numpy(dtype=float)
    if not np.all(np.isfinite(vals)):
        k = int(np.argmax(~np.isfinite(vals)))
        raise InputError("prices", vals[k], f"non-finite price at {tidx[k]}")
    return train, day_index, filled


def fit_price_model(
    prices: pd.Series,
    date: Any,
    train_days: int = 28,
    order: tuple[int, int, int] = DEFAULT_ORDER,
    seasonal_order: tuple[int, int, int, int] = DEFAULT_SEASONAL_ORDER,
    max_gap_hours: int = 0,
) -> PriceModel:
    r"""Fit a seasonal ARIMA to the ``train_days`` days of prices strictly before ``date``.

    Model (statsmodels ``SARIMAX`` with constant ``c``), on the hourly price
    :math:`\lambda_t` [EUR/MWh], default orders (2,0,1)(1,0,0,24):

    .. math::
        (1-\phi_1 L-\phi_2 L^2)(1-\Phi_1 L^{24})\,\lambda_t
        = c + (1+\theta_1 L)\,\varepsilon_t,
        \quad \varepsilon_t \sim N(0, \sigma^2)

    Seed 002 §5.1 fits ARIMA models to a year of Nord Pool prices and simulates 200 paths
    from the estimated error terms. evagg changes: a rolling training window of the
    ``train_days`` days just before the target day (default 4 weeks, chosen because
    it fits in one to three seconds and follows the current price level), a daily
    seasonal AR term (lag 24), and no transform, so negative prices are allowed. The
    maximum-likelihood fit runs to convergence (at most 200 iterations, no parameter
    covariance is computed since only simulation is needed); whether it
    converged is recorded in ``PriceModel.converged``. On ten random held-out days of
    2019-2024 this specification's forecast had a mean absolute error of 24 EUR/MWh
    against 53 EUR/MWh for the flat mean of the training window (a seasonal MA term,
    (1,0,1,24), was not better and was slower to fit; Saturday/Sunday dummies as
    regressors made the MAE worse on 20 random days, 30.6 against 28.6 EUR/MWh).

    Parameters
    ----------
    prices
        Hourly day-ahead prices [EUR/MWh] on a tz-aware index (the market's time zone
        defines the day).
    date
        Target local market day (``"YYYY-MM-DD"``, date or timestamp).
    train_days
        Days of history used (>= 7); the window ends at the day's local midnight.
    order, seasonal_order
        SARIMAX orders ``(p, d, q)``, ``(P, D, Q, s)``.
    max_gap_hours
        Missing hours in the training window are an error by default (0). With k > 0,
        interior gaps of at most k consecutive hours are filled by linear
        interpolation in time and counted in ``PriceModel.filled_hours`` (the bundled
        NL series lacks the hours 2023-12-31 00:00 and 2024-12-31 00:00).

    Returns
    -------
    PriceModel

    Raises
    ------
    InputError
        Non-hourly or non-finite prices, date outside the data, too little history.
    SolverError
        The likelihood could not be evaluated by L-BFGS nor by Powell's method.
    """
    train, day_index, filled = _split(prices, date, train_days, max_gap_hours)
    t0 = time.perf_counter()
    model = SARIMAX(
        train.to_numpy(dtype=float),
        order=order,
        seasonal_order=seasonal_order,
        trend="c",
        concentrate_scale=True,
    )
    res = None
    failures: list[str] = []
    # L-BFGS first (fast); Powell (derivative-free) if the Kalman filter's numerical
    # linear algebra fails at an L-BFGS trial point
    for method in ("lbfgs", "powell"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = model.fit(disp=False, maxiter=200, cov_type="none", method=method)
            except (np.linalg.LinAlgError, ValueError) as exc:
                failures.append(f"{method}: {type(exc).__name__}: {exc}")
                continue
        break
    if res is None:
        raise SolverError(
            f"SARIMAX{tuple(order)}{tuple(seasonal_order)} fit for {day_index[0].date()}",
            "failed",
            "; ".join(failures),
        )
    retvals = res.mle_retvals or {}
    converged = bool(retvals.get("converged", True))
    converged = converged and not any("converge" in str(w.message).lower() for w in caught)
    return PriceModel(
        results=res,
        train_index=pd.DatetimeIndex(train.index),
        day_index=day_index,
        order=tuple(order),  # type: ignore[arg-type]
        seasonal_order=tuple(seasonal_order),  # type: ignore[arg-type]
        converged=converged,
        fit_seconds=time.perf_counter() - t0,
        filled_hours=filled,
    )


def refilter_price_model(
    model: PriceModel,
    prices: pd.Series,
    date: Any,
    train_days: int = 28,
    max_gap_hours: int = 0,
) -> PriceModel:
    r"""``model``'s estimated parameters applied, without re-estimation, to a later day.

    The Kalman filter runs on the ``train_days`` days of prices strictly before ``date``
    with the parameters of ``model`` (statsmodels ``results.apply(refit=False)``), so the
    simulated paths start from that day's latest prices. evagg addition for backtests:
    the maximum-likelihood fit (10–25 s) is done once per refit period and each day costs
    one filter pass (< 1 s). Out of sample by construction: ``model`` must have been
    fitted on data that ends before ``date``.

    Raises
    ------
    InputError
        If ``model`` was fitted on prices from ``date`` or later (look-ahead).
    """
    train, day_index, filled = _split(prices, date, train_days, max_gap_hours)
    if model.train_index[-1] >= day_index[0]:
        raise InputError(
            "model",
            str(model.train_index[-1]),
            f"was fitted on prices up to this time, not before {day_index[0]} (look-ahead)",
        )
    t0 = time.perf_counter()
    try:
        res = model.results.apply(train.to_numpy(dtype=float), refit=False)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise SolverError(
            f"{model.name} filter for {day_index[0].date()}", "failed", str(exc)
        ) from None
    return PriceModel(
        results=res,
        train_index=pd.DatetimeIndex(train.index),
        day_index=day_index,
        order=model.order,
        seasonal_order=model.seasonal_order,
        converged=model.converged,
        fit_seconds=time.perf_counter() - t0,
        filled_hours=filled,
    )


def day_ahead_price_scenarios(
    prices: pd.Series,
    date: Any,
    n: int = 200,
    train_days: int = 28,
    seed: SeedLike = None,
    *,
    model: PriceModel | None = None,
    max_gap_hours: int = 0,
) -> ScenarioSet:
    r"""Equiprobable day-ahead price scenarios for one local market day.

    Fits :func:`fit_price_model` on the prices strictly before ``date`` (or uses
    ``model``) and simulates ``n`` paths of the fitted SARIMAX from the end of the
    training sample (``simulate(..., anchor="end")``), each with probability 1/n.

    Parameters
    ----------
    prices
        Hourly prices [EUR/MWh], tz-aware. Prices on or after ``date`` are never used.
    date
        Target local market day; the scenarios cover its 23, 24 or 25 hours.
    n
        Number of scenarios (>= 1).
    train_days
        Training window [days] before ``date``.
    seed
        Int or ``numpy.random.Generator``; the same seed gives identical scenarios.
    model
        A :class:`PriceModel` already fitted for this ``date`` (skips the fit).
    max_gap_hours
        Longest training gap filled by interpolation (see :func:`fit_price_model`).

    Returns
    -------
    ScenarioSet
        Quantity ``"da_price_eur_per_mwh"`` (time × scenario); ``meta`` holds the model
        name, training window, convergence flag and fit time.
    """
    n = check_count("n", n)
    rng = as_generator(seed)
    if model is None:
        model = fit_price_model(prices, date, train_days, max_gap_hours=max_gap_hours)
    else:
        start, end = local_day("date", date, model.day_index.tz)
        if model.day_index[0] != start or model.day_index[-1] >= end:
            raise InputError("model", model.name, f"was fitted for another day than {date}")
    paths = model.simulate(n, rng)
    frame = pd.DataFrame(paths, index=model.day_index, columns=scenario_labels(n))
    meta = {
        "price_model": model.name,
        "train_start": str(model.train_index[0]),
        "train_end": str(model.train_index[-1]),
        "converged": model.converged,
        "fit_seconds": model.fit_seconds,
        "filled_hours": model.filled_hours,
    }
    return ScenarioSet.equiprobable({DA_PRICE: frame}, meta)
