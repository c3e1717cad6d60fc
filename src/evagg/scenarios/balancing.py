"""Positive/negative balancing price scenarios from a stochastic premium over day-ahead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evagg._checks import check_time_index
from evagg.errors import InputError, MisalignedIndexError
from evagg.scenarios._common import SeedLike, as_generator
from evagg.scenarios.prices import DA_PRICE
from evagg.scenarios.scenario_set import ScenarioSet

__all__ = [
    "NEG_BAL_PRICE",
    "POS_BAL_PRICE",
    "BalancingPremiumModel",
    "balancing_price_scenarios",
]

POS_BAL_PRICE = "pos_bal_price_eur_per_mwh"
"""Positive-imbalance (up-regulation) price the aggregator pays when short [EUR/MWh]."""
NEG_BAL_PRICE = "neg_bal_price_eur_per_mwh"
"""Negative-imbalance (down-regulation) price the aggregator receives when long [EUR/MWh]."""

_EPS_PREMIUM = 0.01  # [EUR/MWh] premia at or below this count as "no premium"
_MIN_FIT_POINTS = 48


@dataclass(frozen=True)
class BalancingPremiumModel:
    r"""Stochastic premium of the balancing prices over the day-ahead price.

    For hour :math:`t` and scenario :math:`\omega`, with :math:`\lambda^{DA}_{t,\omega}`
    the day-ahead price [EUR/MWh]:

    .. math::
        \lambda^{+,B}_{t,\omega} = \lambda^{DA}_{t,\omega} + B^+_{t,\omega}
            \exp(\mu^+ + \sigma^+ Z^+_{t,\omega}), \qquad
        \lambda^{-,B}_{t,\omega} = \lambda^{DA}_{t,\omega} - B^-_{t,\omega}
            \exp(\mu^- + \sigma^- Z^-_{t,\omega})

    :math:`B^\pm \sim \mathrm{Bernoulli}(1-q^\pm)` i.i.d. (hours without a premium) and
    :math:`Z^\pm` a stationary Gaussian AR(1) over hours,
    :math:`Z_t = \rho Z_{t-1} + \sqrt{1-\rho^2}\,\varepsilon_t`, :math:`Z_0, \varepsilon_t
    \sim N(0,1)`, independent between the two sides and of the day-ahead path. Hence
    :math:`\lambda^{-,B} \le \lambda^{DA} \le \lambda^{+,B}` in every scenario, and the
    premia are log-normal, their tails set by :math:`\sigma^\pm`.

    Seed 002 (§2.2, §5.1, Figs. 4-5) fits separate ARIMA models to Nord Pool 2016
    positive and negative imbalance prices. No public imbalance series is bundled with
    evagg, so evagg instead derives balancing prices from the day-ahead paths with this
    premium model; :meth:`fit` estimates its parameters from a user's ENTSO-E imbalance
    export (``evagg.io.read_entsoe_imbalance_prices``).

    Defaults (not fitted; an assumption to be replaced by :meth:`fit` on real data):
    median premium exp(μ) = 12 EUR/MWh on both sides, σ⁺ = 0.9 (mean ≈ 18, 95th
    percentile ≈ 53 EUR/MWh) and σ⁻ = 1.2 (mean ≈ 25, 95th percentile ≈ 87 EUR/MWh),
    i.e. a heavier tail on the negative side as the task's reading of the seed
    requires; ρ = 0.7 (imbalance states persist over a few hours); q = 0 (a premium in
    every hour, the conservative choice for an aggregator that must buy or sell).
    These are the order of magnitude of hourly-averaged imbalance-to-day-ahead spreads
    in north-west European markets before 2021 and only illustrate the model.

    Attributes
    ----------
    pos_log_mean, neg_log_mean
        μ⁺, μ⁻: mean of the log premium [log EUR/MWh].
    pos_log_sd, neg_log_sd
        σ⁺, σ⁻ ≥ 0: standard deviation of the log premium.
    pos_zero_prob, neg_zero_prob
        q⁺, q⁻ in [0, 1): probability that an hour has no premium.
    pos_rho, neg_rho
        ρ⁺, ρ⁻ in [0, 1): lag-one (hourly) autocorrelation of :math:`Z^\pm`.
    """

    pos_log_mean: float = float(np.log(12.0))
    pos_log_sd: float = 0.9
    neg_log_mean: float = float(np.log(12.0))
    neg_log_sd: float = 1.2
    pos_zero_prob: float = 0.0
    neg_zero_prob: float = 0.0
    pos_rho: float = 0.7
    neg_rho: float = 0.7

    def __post_init__(self) -> None:
        for name in ("pos_log_mean", "neg_log_mean"):
            v = getattr(self, name)
            if not np.isfinite(v):
                raise InputError(name, v, "must be finite")
        for name in ("pos_log_sd", "neg_log_sd"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise InputError(name, v, "must be a finite number >= 0")
        for name in ("pos_zero_prob", "neg_zero_prob", "pos_rho", "neg_rho"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0 <= v < 1):
                raise InputError(name, v, "must lie in [0, 1)")

    def premium_mean(self, side: str) -> float:
        """Expected premium [EUR/MWh] of ``side`` (``"pos"`` or ``"neg"``)."""
        if side not in ("pos", "neg"):
            raise InputError("side", side, "must be 'pos' or 'neg'")
        mu, sd, q = (getattr(self, f"{side}_{k}") for k in ("log_mean", "log_sd", "zero_prob"))
        return float((1 - q) * np.exp(mu + 0.5 * sd**2))

    @classmethod
    def fit(cls, imbalance: pd.DataFrame, day_ahead: pd.Series) -> BalancingPremiumModel:
        r"""Estimate the premium model from observed imbalance and day-ahead prices.

        Observed premia :math:`d^+_t = \lambda^{+}_t - \lambda^{DA}_t` and
        :math:`d^-_t = \lambda^{DA}_t - \lambda^{-}_t` per day-ahead period. Per side,
        :math:`q` = share of periods with :math:`d \le 0.01` EUR/MWh (under single
        imbalance pricing the price may fall on the "wrong" side of day-ahead; evagg's
        scenarios keep :math:`\lambda^- \le \lambda^{DA} \le \lambda^+`, so such hours
        count as no premium); μ, σ = mean and sample standard deviation of
        :math:`\ln d` over the other periods; ρ = correlation of :math:`\ln d_t` and
        :math:`\ln d_{t+1}` over consecutive pairs with a premium, clipped to [0, 0.99].

        Parameters
        ----------
        imbalance
            Columns ``pos_price_eur_per_mwh`` and ``neg_price_eur_per_mwh`` [EUR/MWh] on
            a regular tz-aware index. A finer step than ``day_ahead`` (e.g. 15 min) is
            averaged to the day-ahead periods; every such period must be complete.
        day_ahead
            Day-ahead prices [EUR/MWh] on a regular tz-aware index that contains every
            (aggregated) imbalance period. Nothing is aligned silently: a missing
            period raises :class:`MisalignedIndexError`.

        Returns
        -------
        BalancingPremiumModel

        Raises
        ------
        InputError
            Missing columns, non-finite values, incompatible steps, partial periods or
            fewer than 48 periods with a premium on a side.
        """
        if not isinstance(imbalance, pd.DataFrame):
            raise InputError("imbalance", type(imbalance).__name__, "must be a DataFrame")
        if not isinstance(day_ahead, pd.Series):
            raise InputError("day_ahead", type(day_ahead).__name__, "must be a Series")
        cols = ["pos_price_eur_per_mwh", "neg_price_eur_per_mwh"]
        missing = [c for c in cols if c not in imbalance.columns]
        if missing:
            raise InputError("imbalance.columns", list(imbalance.columns), f"missing {missing}")
        imb_idx = check_time_index("imbalance.index", imbalance.index)
        da_idx = check_time_index("day_ahead.index", day_ahead.index)
        if len(imb_idx) < 2 or len(da_idx) < 2:
            raise InputError("imbalance/day_ahead", len(imb_idx), "need at least two periods")
        imb_vals = imbalance[cols].to_numpy(dtype=float)
        if not np.all(np.isfinite(imb_vals)):
            r, c = np.argwhere(~np.isfinite(imb_vals))[0]
            raise InputError(f"imbalance[{cols[c]!r}]", imb_vals[r, c], f"at {imb_idx[r]}")
        imb_step = int(imb_idx.asi8[1] - imb_idx.asi8[0])
        da_step = int(da_idx.asi8[1] - da_idx.asi8[0])
        if da_step % imb_step != 0:
            raise InputError(
                "imbalance.index",
                str(pd.Timedelta(imb_step, unit="ns")),
                f"step must divide the day-ahead step {pd.Timedelta(da_step, unit='ns')}",
            )
        per = da_step // imb_step
        origin = int(da_idx.asi8[0])
        period = origin + ((imb_idx.asi8 - origin) // da_step) * da_step
        frame = pd.DataFrame(imb_vals, columns=cols)
        frame["period"] = period
        grouped = frame.groupby("period", sort=True)
        counts = grouped.size()
        if np.any(counts.to_numpy() != per):
            bad = int(counts.index.to_numpy()[np.argmax(counts.to_numpy() != per)])
            raise InputError(
                "imbalance.index",
                str(pd.Timestamp(bad, tz="UTC").tz_convert(imb_idx.tz)),
                f"incomplete day-ahead period ({per} imbalance steps expected)",
            )
        means = grouped.mean()
        periods = pd.DatetimeIndex(pd.to_datetime(means.index.to_numpy(), utc=True)).tz_convert(
            da_idx.tz
        )
        pos_in = periods.isin(da_idx)
        if not pos_in.all():
            raise MisalignedIndexError(
                "day_ahead.index",
                f"{len(da_idx)} labels from {da_idx[0]}",
                f"has no price for imbalance period {periods[~pos_in][0]}",
            )
        da = day_ahead.loc[periods].to_numpy(dtype=float)
        if not np.all(np.isfinite(da)):
            raise InputError("day_ahead", da[~np.isfinite(da)][0], "non-finite price")
        d_pos = means[cols[0]].to_numpy() - da
        d_neg = da - means[cols[1]].to_numpy()
        contiguous = np.diff(means.index.to_numpy()) == da_step
        params: dict[str, float] = {}
        for side, d in (("pos", d_pos), ("neg", d_neg)):
            has = d > _EPS_PREMIUM
            if int(has.sum()) < _MIN_FIT_POINTS:
                raise InputError(
                    f"imbalance[{side}]",
                    int(has.sum()),
                    f"need at least {_MIN_FIT_POINTS} periods with a {side} premium",
                )
            logd = np.log(np.where(has, d, 1.0))
            pair = has[:-1] & has[1:] & contiguous
            rho = 0.0
            if pair.sum() >= 3:
                a, b = logd[:-1][pair], logd[1:][pair]
                if np.std(a) > 0 and np.std(b) > 0:
                    rho = float(np.corrcoef(a, b)[0, 1])
            params[f"{side}_log_mean"] = float(logd[has].mean())
            params[f"{side}_log_sd"] = float(logd[has].std(ddof=1))
            params[f"{side}_zero_prob"] = float(min(1.0 - has.mean(), 0.99))
            params[f"{side}_rho"] = float(np.clip(rho, 0.0, 0.99))
        return cls(**params)

    def sample_premia(
        self, shape: tuple[int, int], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw positive and negative premia [EUR/MWh], each of shape (S, T)."""
        out = []
        for side in ("pos", "neg"):
            mu, sd, q, rho = (
                getattr(self, f"{side}_{k}") for k in ("log_mean", "log_sd", "zero_prob", "rho")
            )
            eps = rng.standard_normal(shape)
            z = np.empty(shape)
            z[:, 0] = eps[:, 0]
            innov = np.sqrt(1.0 - rho**2)
            for t in range(1, shape[1]):  # recursion over T hours, vectorised over S
                z[:, t] = rho * z[:, t - 1] + innov * eps[:, t]
            on = rng.random(shape) >= q
            out.append(np.where(on, np.exp(mu + sd * z), 0.0))
        return out[0], out[1]


def balancing_price_scenarios(
    da: ScenarioSet, model: BalancingPremiumModel | None = None, seed: SeedLike = None
) -> ScenarioSet:
    """Add positive/negative balancing price scenarios to a day-ahead scenario set.

    Parameters
    ----------
    da
        Scenario set holding ``"da_price_eur_per_mwh"`` [EUR/MWh].
    model
        Premium model (default :class:`BalancingPremiumModel()`; see its equations).
    seed
        Int or ``numpy.random.Generator``; the same seed gives identical scenarios.

    Returns
    -------
    ScenarioSet
        All quantities of ``da`` plus ``"pos_bal_price_eur_per_mwh"`` (≥ day-ahead, paid
        when short) and ``"neg_bal_price_eur_per_mwh"`` (≤ day-ahead, received when
        long), same scenarios and probabilities.
    """
    if not isinstance(da, ScenarioSet):
        raise InputError("da", type(da).__name__, "must be a ScenarioSet")
    if model is None:
        model = BalancingPremiumModel()
    elif not isinstance(model, BalancingPremiumModel):
        raise InputError("model", type(model).__name__, "must be a BalancingPremiumModel")
    for q in (POS_BAL_PRICE, NEG_BAL_PRICE):
        if q in da.quantities:
            raise InputError("da", q, "already holds balancing prices")
    rng = as_generator(seed)
    lam = da.array(DA_PRICE)
    pos, neg = model.sample_premia(lam.shape, rng)
    frame = da[DA_PRICE]
    data: dict[str, pd.DataFrame] = dict(da.data)
    data[POS_BAL_PRICE] = pd.DataFrame((lam + pos).T, index=frame.index, columns=frame.columns)
    data[NEG_BAL_PRICE] = pd.DataFrame((lam - neg).T, index=frame.index, columns=frame.columns)
    meta: dict[str, Any] = {**da.meta, "balancing_model": repr(model)}
    return ScenarioSet(data, da.probabilities, meta)
