"""V2G capacity reliability of an EV fleet (seed 003 §3, eqs. 4–8).

Per vehicle ``i`` (history before the target day):

- daily battery-side charged energy ``c_{i,d} = η·Σ energy_kwh`` of sessions arriving on
  day ``d``; average daily consumption with its confidence interval (eq. 6)
  ``H_av = mean_d c_{i,d} ± z_{β/2}·s/√N``;
- daily V2G energy (eq. 7) ``E_start = 0.8·BE − H_av`` (upper end of the interval by
  default: conservative), 0 for vehicles without V2G;
- energy still offerable in slot ``t`` (eq. 8) ``E_{i,t} = E_start − Σ_{τ<t} Q_{i,τ}``.

Per slot ``t`` of the target day:

- presence probability ``p_{i,t}``: share of history days (same day type) on which the
  vehicle was plugged in for the whole slot, with a Jeffreys pseudo-count
  ``(k + ½)/(n + 1)``; ``E[M_t] = Σ_i (1 − p_{i,t})`` missed vehicles and the Poisson
  parameter ``λ_t = n − E[M_t] = Σ_i p_{i,t}`` (eq. 5; the seed rounds λ to an integer,
  evagg keeps it real);
- V2G energy of a present vehicle ``v_{i,t}``: ``basis="energy"`` (the seed's): the
  offerable energy ``E_{i,t}`` [kWh]; ``basis="power"``: what it can deliver to the grid
  within the slot, ``min(η·E_{i,t}, P_dis·Δt)`` [kWh per slot].

Reliability ``R_t(C) = P(S_t ≥ C)`` by (a) compound Poisson with severity
``F_t = Σ_i p_{i,t} δ(v_{i,t}) / λ_t`` (``method="poisson"``: FFT; ``"panjer"``;
``"gmm"``: severity replaced by a Gaussian mixture fitted to it, K ∈ {1, 2} by BIC) or
(b) ``method="exact"``: ``S_t = Σ_i B_{i,t} v_{i,t}``, ``B ~ Bernoulli(p)`` independent.

Eq. (4) as printed sums distribution functions of the severity against Poisson weights
and calls it P(Z > C); evagg computes the compound survival function itself:
``P(S ≥ C) = Σ_n Pois(n; λ)·P(V_1 + … + V_n ≥ C)`` (by FFT/Panjer, not by the series).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from evagg._checks import parse_timestamp
from evagg.errors import InputError
from evagg.fleet import Fleet
from evagg.reliability.compound import (
    LatticeDistribution,
    auto_grid_kwh,
    compound_poisson_fft,
    compound_poisson_panjer,
    discretize,
)
from evagg.reliability.exact import poisson_binomial_sum

__all__ = [
    "METHODS",
    "GaussianMixtureFit",
    "SlotModel",
    "build_slot_model",
    "daily_charged_kwh",
    "delivered_kwh",
    "fit_gaussian_mixture",
    "presence_by_day",
    "reliability_table",
    "slot_distribution",
    "v2g_energy",
]

METHODS = ("poisson", "panjer", "gmm", "exact")
_BASES = ("energy", "power")


def _day(fleet: Fleet, day: Any, field: str = "day") -> pd.Timestamp:
    ts = parse_timestamp(field, day, fleet.tz).normalize()
    if not fleet.start <= ts < fleet.end:
        raise InputError(field, str(day), f"outside the fleet period {fleet.start}..{fleet.end}")
    return ts


def _window(window_days: Any) -> int:
    """History window [days]: an integer ≥ 2 (``-0:`` would silently mean all days)."""
    if isinstance(window_days, bool) or not isinstance(window_days, int | np.integer):
        raise InputError("window_days", window_days, "must be an integer >= 2 or None")
    if window_days < 2:
        raise InputError("window_days", window_days, "must be an integer >= 2 or None")
    return int(window_days)


def _days(fleet: Fleet) -> pd.DatetimeIndex:
    return pd.date_range(fleet.start, fleet.end, freq="D", inclusive="left")


def daily_charged_kwh(fleet: Fleet) -> pd.DataFrame:
    """Battery-side energy charged per local day of arrival [kWh], day × vehicle."""
    s = fleet.sessions
    eff = fleet.vehicles["efficiency"].reindex(s["vehicle_id"]).to_numpy(float)
    day = s["arrival"].dt.normalize()
    frame = pd.DataFrame(
        {"day": day, "vehicle_id": s["vehicle_id"], "e": eff * s["energy_kwh"].to_numpy()}
    )
    table = frame.pivot_table(index="day", columns="vehicle_id", values="e", aggfunc="sum")
    days = _days(fleet)
    return table.reindex(index=days, columns=fleet.vehicle_ids).fillna(0.0)


def v2g_energy(
    fleet: Fleet,
    before: Any | None = None,
    window_days: int | None = None,
    confidence: float = 0.95,
    bound: str = "upper",
    soc_max: float = 0.8,
) -> pd.DataFrame:
    """Daily consumption interval (eq. 6) and daily V2G energy (eq. 7) per vehicle.

    Parameters
    ----------
    fleet
        The fleet.
    before
        Use history days strictly before this day (default: the whole period).
    window_days
        Use at most this many days before ``before`` (default: all).
    confidence
        Confidence level ``1 − β`` of eq. (6).
    bound
        Which ``H_av`` eq. (7) uses: ``"upper"`` (conservative, default), ``"mean"`` or
        ``"lower"``.
    soc_max
        Usable share of the battery at the start of the day (seed: 0.8, i.e. SOC floor 0.2).

    Returns
    -------
    pandas.DataFrame
        Indexed by vehicle: ``h_av_kwh``, ``h_av_lo_kwh``, ``h_av_hi_kwh`` [kWh/day],
        ``e_start_kwh``, ``e_start_lo_kwh``, ``e_start_hi_kwh`` [kWh], ``n_days``.
    """
    if bound not in ("upper", "mean", "lower"):
        raise InputError("bound", bound, "must be 'upper', 'mean' or 'lower'")
    if not 0 < confidence < 1:
        raise InputError("confidence", confidence, "must lie in (0, 1)")
    daily = daily_charged_kwh(fleet)
    if before is not None:
        daily = daily.loc[daily.index < _day(fleet, before, "before")]
    if window_days is not None:
        daily = daily.iloc[-_window(window_days) :]
    n = len(daily)
    if n < 2:
        raise InputError("before/window_days", (before, window_days), "need >= 2 history days")
    mean = daily.mean()
    s = daily.std(ddof=1)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    half = z * s / np.sqrt(n)
    battery = fleet.vehicles["battery_kwh"]
    cap = np.where(fleet.vehicles["v2g"], 1.0, 0.0)
    out = pd.DataFrame(
        {
            "h_av_kwh": mean,
            "h_av_lo_kwh": mean - half,
            "h_av_hi_kwh": mean + half,
        }
    )
    usable = soc_max * battery
    out["e_start_lo_kwh"] = np.maximum(usable - out["h_av_hi_kwh"], 0.0) * cap
    out["e_start_hi_kwh"] = np.maximum(usable - out["h_av_lo_kwh"], 0.0) * cap
    chosen = {"upper": "h_av_hi_kwh", "mean": "h_av_kwh", "lower": "h_av_lo_kwh"}[bound]
    out["e_start_kwh"] = np.maximum(usable - out[chosen], 0.0) * cap
    out["n_days"] = n
    return out


def presence_by_day(fleet: Fleet, step: str | None = None) -> tuple[pd.DatetimeIndex, Any]:
    """Availability as (days, slot of day, vehicle) bool array with the day labels.

    Slots of day are ``k·step`` after local midnight (DST days: the repeated hour
    overwrites, the missing hour stays unavailable).
    """
    av = fleet.availability(step)
    days = _days(fleet)
    dt = pd.Timedelta(step or fleet.step)
    per_day = int(pd.Timedelta(days=1) / dt)
    local = pd.DatetimeIndex(av.index).tz_localize(None)
    d_idx = ((local.normalize() - days[0].tz_localize(None)) // pd.Timedelta(days=1)).to_numpy()
    s_idx = ((local - local.normalize()) // dt).to_numpy()
    out = np.zeros((len(days), per_day, fleet.n_vehicles), dtype=bool)
    ok = (d_idx >= 0) & (d_idx < len(days)) & (s_idx < per_day)
    out[d_idx[ok], s_idx[ok]] = av.to_numpy()[ok]
    return days, out


@dataclass(frozen=True)
class SlotModel:
    """Inputs of the reliability models for the slots of one target day.

    Attributes
    ----------
    day
        Target day (local midnight).
    p
        Presence probability, slot × vehicle (slot labels: tz-aware start times).
    v_kwh
        V2G energy of each vehicle if present, slot × vehicle [kWh] (see ``basis``).
    energy
        Output of :func:`v2g_energy` for the history used.
    basis
        ``"energy"`` or ``"power"``.
    n_history_days
        Number of history days behind ``p``.
    history_days
        The history days behind ``p`` (local midnights; with ``same_day_type`` only days
        of the target's type), so that resampling studies draw from the same days.
    """

    day: pd.Timestamp
    p: pd.DataFrame
    v_kwh: pd.DataFrame
    energy: pd.DataFrame
    basis: str
    n_history_days: int
    history_days: pd.DatetimeIndex | None = None

    @property
    def lam(self) -> pd.Series:
        """Poisson parameter per slot, ``λ_t = n − E[M_t] = Σ_i p_{i,t}`` (eq. 5)."""
        return self.p.sum(axis=1).rename("lambda")

    @property
    def expected_missed(self) -> pd.Series:
        """Expected number of missed (not plugged-in) vehicles per slot, ``E[M_t]``."""
        return (1.0 - self.p).sum(axis=1).rename("expected_missed")

    def slot(self, when: Any) -> pd.Timestamp:
        """Slot label for a time of day (``"10:30"``) or a timestamp."""
        if isinstance(when, str) and len(when) <= 5 and ":" in when:
            try:
                ts = pd.Timestamp(f"{self.day.date()} {when}").tz_localize(self.day.tz)
            except (ValueError, TypeError):
                raise InputError("slot", when, "not a time of day HH:MM") from None
        else:
            ts = parse_timestamp("slot", when, self.day.tz)
        hit = self.p.index[self.p.index <= ts]
        if hit.empty or ts >= self.p.index[-1] + (self.p.index[1] - self.p.index[0]):
            raise InputError("slot", str(when), f"not within {self.day.date()}")
        if hit[-1] != ts:
            step = self.p.index[1] - self.p.index[0]
            raise InputError(
                "slot",
                str(when),
                f"not on the data's {step.total_seconds() / 60:g}-min slot grid (nearest "
                f"earlier slot starts {hit[-1].strftime('%H:%M')}); never snapped silently",
            )
        return pd.Timestamp(hit[-1])

    def pos(self, when: Any) -> int:
        """Row position of a slot (see :meth:`slot`)."""
        return int(np.flatnonzero(self.p.index == self.slot(when))[0])

    def severity(self, slot: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Severity sample of slot ``t``: values ``v_{i,t}`` and weights ``p_{i,t}``."""
        t = self.slot(slot)
        return self.v_kwh.loc[t].to_numpy(float), self.p.loc[t].to_numpy(float)


def build_slot_model(
    fleet: Fleet,
    day: Any,
    window_days: int | None = None,
    basis: str = "energy",
    confidence: float = 0.95,
    bound: str = "upper",
    same_day_type: bool = True,
    pseudo_count: float = 0.5,
    committed_kwh: pd.DataFrame | None = None,
    step: str | None = None,
) -> SlotModel:
    """Fit presence probabilities and V2G energies on the days before ``day``.

    Parameters
    ----------
    fleet
        Fleet with history before ``day``.
    day
        Target day (day t+1 of the seed).
    window_days
        History length (default: all days before ``day``).
    basis
        ``"energy"`` (seed: V2G energy stock per vehicle, eqs. 7–8) or ``"power"``
        (energy deliverable within the slot at the discharge power limit).
    confidence, bound
        Passed to :func:`v2g_energy`.
    same_day_type
        Use only history days of the same type (weekday / weekend) when at least 3 exist.
    pseudo_count
        ``a`` in ``p = (k + a)/(n + 2a)`` (0: raw frequency; default ½, Jeffreys).
    committed_kwh
        Energy already allocated per slot and vehicle (eq. 8), slot × vehicle [kWh];
        it reduces the energy of later slots.
    step
        Slot length (default: the fleet's).
    """
    if basis not in _BASES:
        raise InputError("basis", basis, f"must be one of {_BASES}")
    target = _day(fleet, day)
    days, pres = presence_by_day(fleet, step)
    hist = np.flatnonzero(days < target)
    if window_days is not None:
        hist = hist[-_window(window_days) :]
    if hist.size < 2:
        raise InputError("day", str(day), "need at least 2 history days before the target day")
    if same_day_type:
        weekend = days.dayofweek >= 5
        same = hist[weekend[hist] == (target.dayofweek >= 5)]
        if same.size >= 3:
            hist = same
    k = pres[hist].sum(axis=0).astype(float)  # (slots, vehicles)
    a = float(pseudo_count)
    if not (np.isfinite(a) and a >= 0):
        raise InputError("pseudo_count", pseudo_count, "must be a finite number >= 0")
    p = (k + a) / (hist.size + 2 * a)
    dt = pd.Timedelta(step or fleet.step)
    idx, sod = _day_slots(fleet, target, step)
    p = p[sod]  # slot labels in absolute time; DST days have 92 or 100 slots
    p_df = pd.DataFrame(p, index=idx, columns=fleet.vehicle_ids)
    energy = v2g_energy(
        fleet, before=target, window_days=window_days, confidence=confidence, bound=bound
    )
    e = np.broadcast_to(energy["e_start_kwh"].to_numpy(float), p.shape).copy()
    if committed_kwh is not None:
        if not committed_kwh.index.equals(idx) or not committed_kwh.columns.equals(
            fleet.vehicle_ids
        ):
            raise InputError(
                "committed_kwh", committed_kwh.shape, "must be slot × vehicle of the target day"
            )
        done = np.cumsum(committed_kwh.to_numpy(float), axis=0) - committed_kwh.to_numpy(float)
        e = np.maximum(e - done, 0.0)  # eq. 8
    if basis == "power":
        veh = fleet.vehicles
        cap = veh["max_discharge_kw"].to_numpy(float) * dt / pd.Timedelta("1h")
        e = np.minimum(veh["efficiency"].to_numpy(float) * e, cap)
    v_df = pd.DataFrame(e, index=idx, columns=fleet.vehicle_ids)
    return SlotModel(
        day=target,
        p=p_df,
        v_kwh=v_df,
        energy=energy,
        basis=basis,
        n_history_days=hist.size,
        history_days=days[hist],
    )


def _day_slots(
    fleet: Fleet, day: pd.Timestamp, step: str | None
) -> tuple[pd.DatetimeIndex, npt.NDArray[np.int64]]:
    """Slot labels of one local day (absolute time) and their local slot-of-day numbers."""
    idx = fleet.time_index(step)
    nxt = (day.tz_localize(None) + pd.Timedelta(days=1)).tz_localize(day.tz)
    idx = idx[(idx >= day) & (idx < nxt)]
    dt = pd.Timedelta(step or fleet.step)
    local = pd.DatetimeIndex(idx).tz_localize(None)
    sod = ((local - local.normalize()) // dt).to_numpy().astype(np.int64)
    return pd.DatetimeIndex(idx, name="time"), sod


def delivered_kwh(fleet: Fleet, model: SlotModel, step: str | None = None) -> pd.Series:
    """What the fleet really offered on the model's day: ``Σ_i 1[plugged]·v_{i,t}`` [kWh]."""
    av = fleet.availability(step)
    real = av.loc[model.p.index].to_numpy()
    return pd.Series(
        (real * model.v_kwh.to_numpy()).sum(axis=1), index=model.p.index, name="delivered_kwh"
    )


# ------------------------------------------------------------------- Gaussian mixtures
@dataclass(frozen=True)
class GaussianMixtureFit:
    """Gaussian mixture fitted to a sample (seed 003 Tables 3–4).

    ``weights``, ``means``, ``sds`` per component (K = 1 or 2 chosen by BIC); goodness of
    fit against the sample histogram density: ``sse = Σ (f̂ − f)²``, ``sst = Σ (f − f̄)²``,
    ``r2 = 1 − sse/sst``.
    """

    weights: npt.NDArray[np.float64]
    means: npt.NDArray[np.float64]
    sds: npt.NDArray[np.float64]
    bic: npt.NDArray[np.float64]
    sse: float
    sst: float
    r2: float

    @property
    def k(self) -> int:
        """Number of components."""
        return int(self.weights.size)

    def cdf(self, x: Any) -> npt.NDArray[np.float64]:
        """Mixture distribution function."""
        x = np.asarray(x, dtype=float)[..., None]
        sds = np.maximum(self.sds, 1e-12)
        return np.asarray((self.weights * stats.norm.cdf(x, self.means, sds)).sum(axis=-1))

    def pdf(self, x: Any) -> npt.NDArray[np.float64]:
        """Mixture density (eq. 9)."""
        x = np.asarray(x, dtype=float)[..., None]
        sds = np.maximum(self.sds, 1e-12)
        return np.asarray((self.weights * stats.norm.pdf(x, self.means, sds)).sum(axis=-1))


def fit_gaussian_mixture(
    sample: Any,
    max_components: int = 2,
    seed: int | np.random.Generator | None = 0,
    bins: int = 40,
) -> GaussianMixtureFit:
    """Fit K ∈ {1, …, max_components} Gaussian mixtures (scikit-learn EM), pick K by BIC."""
    from sklearn.mixture import GaussianMixture

    x = np.asarray(sample, dtype=float).reshape(-1, 1)
    if x.shape[0] < 10 or not np.all(np.isfinite(x)):
        raise InputError("sample", x.shape[0], "need at least 10 finite values")
    if isinstance(seed, np.random.Generator):
        rs = int(seed.integers(2**31))  # consume the caller's stream (reproducible)
    else:
        rs = int(seed) if seed is not None else 0
    if float(np.ptp(x)) == 0.0:
        w, mu, sd = np.array([1.0]), np.array([float(x[0, 0])]), np.array([0.0])
        return GaussianMixtureFit(w, mu, sd, np.array([np.nan]), 0.0, 0.0, 1.0)
    fits = [
        GaussianMixture(k, random_state=rs, n_init=2).fit(x) for k in range(1, max_components + 1)
    ]
    bic = np.array([f.bic(x) for f in fits])
    best = fits[int(np.argmin(bic))]
    w = best.weights_.ravel()
    mu = best.means_.ravel()
    sd = np.sqrt(best.covariances_.ravel())
    dens, edges = np.histogram(x.ravel(), bins=bins, density=True)
    mid = 0.5 * (edges[1:] + edges[:-1])
    fitted = (w * stats.norm.pdf(mid[:, None], mu, sd)).sum(axis=1)
    sse = float(((fitted - dens) ** 2).sum())
    sst = float(((dens - dens.mean()) ** 2).sum())
    r2 = 1.0 - sse / sst if sst > 0 else 1.0
    return GaussianMixtureFit(w, mu, sd, bic, sse, sst, r2)


def _gmm_severity(
    values: npt.NDArray[np.float64], weights: npt.NDArray[np.float64], h: float, seed: int
) -> tuple[npt.NDArray[np.float64], int]:
    rng = np.random.default_rng(seed)
    pos = weights > 0
    sample = rng.choice(values[pos], size=4000, p=weights[pos] / weights[pos].sum())
    fit = fit_gaussian_mixture(sample, seed=seed)
    if fit.sds.max() == 0.0:
        return discretize(np.array([values[pos][0]]), None, h)
    hi = float(values.max()) + 6 * float(fit.sds.max())
    edges = np.arange(0.0, hi + h, h)
    cdf = fit.cdf(edges)
    cdf = (cdf - cdf[0]) / (cdf[-1] - cdf[0])  # truncated to [0, hi]: energies are >= 0
    mass = np.diff(cdf)
    return discretize(edges[:-1] + 0.5 * h, mass + 1e-300, h)


def slot_distribution(
    p: Any, v: Any, method: str = "poisson", h: float | None = None, seed: int = 0
) -> LatticeDistribution:
    """Distribution of the V2G energy the fleet offers in one slot.

    Parameters
    ----------
    p
        Presence probabilities per vehicle.
    v
        V2G energy per vehicle if present [kWh].
    method
        ``"poisson"`` (a, FFT), ``"panjer"`` (a, recursion), ``"gmm"`` (a, Gaussian-
        mixture severity) or ``"exact"`` (b).
    h
        Lattice spacing [kWh]; default :func:`~evagg.reliability.compound.auto_grid_kwh`.
    seed
        Seed of the resampling behind the Gaussian-mixture fit.
    """
    if method not in METHODS:
        raise InputError("method", method, f"must be one of {METHODS}")
    pp = np.asarray(p, dtype=float)
    vv = np.asarray(v, dtype=float)
    if method == "exact":  # own lattice choice (σ/R, see evagg.reliability.exact)
        return poisson_binomial_sum(pp, vv, h)
    h = auto_grid_kwh(pp, vv) if h is None else float(h)
    lam = float(pp.sum())
    if lam == 0.0:
        return LatticeDistribution(pmf=np.array([1.0]), lo=0, h=h)
    if method == "gmm":
        f, lo = _gmm_severity(vv, pp, h, seed)
    else:
        f, lo = discretize(vv, pp, h)
    if method == "panjer":
        f0 = np.concatenate([np.zeros(lo), f])
        return compound_poisson_panjer(lam, f0, h)
    return compound_poisson_fft(lam, f, h, sev_lo=lo)


def reliability_table(
    model: SlotModel,
    slots: Any,
    bids_kwh: Any,
    methods: tuple[str, ...] = ("poisson", "exact"),
    target: float = 0.95,
    h: float | None = None,
) -> pd.DataFrame:
    """Reliability ``R_t(C)`` per slot, bid and method (seed 003 Table 5 layout).

    Returns
    -------
    pandas.DataFrame
        Long table with columns ``slot``, ``method``, ``lambda``, ``bid_kwh``,
        ``reliability``, ``bid_at_target_kwh`` (largest ``C`` with ``R ≥ target``).
    """
    bids = np.atleast_1d(np.asarray(bids_kwh, dtype=float))
    if bids.size == 0 or np.any(~np.isfinite(bids)) or np.any(bids < 0):
        raise InputError("bids_kwh", bids_kwh, "need finite bids >= 0")
    rows = []
    for s in np.atleast_1d(np.asarray(slots, dtype=object)):
        t = model.slot(s)
        v, p = model.v_kwh.loc[t].to_numpy(float), model.p.loc[t].to_numpy(float)
        hh = auto_grid_kwh(p, v) if h is None else h
        for m in methods:
            dist = slot_distribution(p, v, m, h if m == "exact" else hh)
            r = dist.sf(bids)
            c95 = dist.quantile_bid(target)
            for b, rr in zip(bids, r, strict=True):
                rows.append(
                    {
                        "slot": t,
                        "method": m,
                        "lambda": float(p.sum()),
                        "bid_kwh": float(b),
                        "reliability": float(rr),
                        "bid_at_target_kwh": c95,
                    }
                )
    return pd.DataFrame(rows)
