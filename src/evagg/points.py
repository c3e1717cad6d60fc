"""Reservations, points and service fees of the aggregators' points system (seed 000 §5).

Seed 000 §5.2 defines the points ("integral") of EV user n as (OCR-garbled; evagg reads)

.. math::

    \\mathrm{points}_n = \\sum_{c} \\Big( e^{-φ\\,Δt_{n,c}} + K_{n,c} + μ\\, t_c \\Big)

over the user's charging events c, with

* ``Δt`` the arrival offset against the reservation [min]: |offset| < 5 min is
  *punctual*, 5–20 min *late*, ≥ 20 min the reservation is *cancelled* and recorded as
  30 min (seed §5.1 (2)); φ [1/min] the penalty coefficient for breach of contract;
* ``K = +1`` if the user charged at the station the system recommended (lowest
  distribution cost plus congestion), ``−1`` otherwise (seed: I_re = 1, I_os = −1);
* ``t_c = +1`` for an off-peak (valley) slot, ``−1`` for a peak slot, μ the peak-valley
  coefficient.

§5.3: the service fee is ``C^cre = e_k · exp(−g · points)`` within bounds. evagg applies
the seed's bounds to the aggregator's fee coefficient ``e_k`` (its decision) and bounds
the points discount ``exp(−g·points)`` to ``[discount_floor, 1]``: negative points never
raise a fee above ``e_k`` and the discount is at most ``1 − discount_floor``.

Station choice (§5.1): each user weighs station and start shift by the generalised cost
``energy payment + value of time · (travel + queue + shift) + distance cost − value of
points · points earned``; the choice is a multinomial logit of scale τ on it
(:func:`logit_choice`; τ → 0 is the seed's least-cost choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg._checks import as_finite_array
from evagg.data import load_elaad_arrival, load_elaad_energy_demand_quantiles, load_ev_specs
from evagg.errors import InputError
from evagg.fleet import _draw_tod, _quantile_sampler, _tod_sampler

__all__ = [
    "BAND_CANCELLED",
    "BAND_LATE",
    "BAND_PUNCTUAL",
    "ChoiceParams",
    "PointsRules",
    "Trips",
    "UserPopulation",
    "discount_factor",
    "draw_trips",
    "event_points",
    "logit_choice",
    "recorded_offset_min",
    "reservation_band",
    "service_fee",
    "synthesize_users",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BAND_PUNCTUAL, BAND_LATE, BAND_CANCELLED = "punctual", "late", "cancelled"


@dataclass(frozen=True)
class PointsRules:
    """Parameters of the points system (seed 000 §5.1–5.3).

    Attributes
    ----------
    phi_per_min
        Penalty coefficient φ for breach of the reservation [1/min].
    g_per_point
        Decay g of the service fee with points [1/point].
    mu
        Peak-valley coefficient μ [points].
    punctual_min, cancel_min, cancelled_record_min
        Band edges 5 and 20 min and the offset recorded for a cancelled reservation
        (30 min) [min].
    discount_floor
        Lowest discount factor exp(−g·points) [-].
    """

    phi_per_min: float = 0.05
    g_per_point: float = 0.02
    mu: float = 0.5
    punctual_min: float = 5.0
    cancel_min: float = 20.0
    cancelled_record_min: float = 30.0
    discount_floor: float = 0.5

    def __post_init__(self) -> None:
        for name in ("phi_per_min", "g_per_point", "mu"):
            val = getattr(self, name)
            if not (np.isfinite(val) and val >= 0):
                raise InputError(name, val, "must be finite and ≥ 0")
        if not 0 < self.punctual_min < self.cancel_min <= self.cancelled_record_min:
            raise InputError(
                "punctual_min/cancel_min/cancelled_record_min",
                (self.punctual_min, self.cancel_min, self.cancelled_record_min),
                "need 0 < punctual < cancel ≤ recorded",
            )
        if not 0 < self.discount_floor <= 1:
            raise InputError("discount_floor", self.discount_floor, "must lie in (0, 1]")


def reservation_band(offset_min: npt.ArrayLike, rules: PointsRules | None = None) -> npt.NDArray:
    """Band of each arrival offset |Δt|: punctual (< 5), late (5–20), cancelled (≥ 20 min)."""
    r = rules or PointsRules()
    a = np.abs(as_finite_array("offset_min", offset_min))
    return np.where(
        a < r.punctual_min, BAND_PUNCTUAL, np.where(a < r.cancel_min, BAND_LATE, BAND_CANCELLED)
    )


def recorded_offset_min(offset_min: npt.ArrayLike, rules: PointsRules | None = None) -> FloatArray:
    """Δt used for the points: |offset|, or 30 min once the reservation is cancelled [min]."""
    r = rules or PointsRules()
    a = np.abs(as_finite_array("offset_min", offset_min))
    return np.where(a >= r.cancel_min, r.cancelled_record_min, a)


def event_points(
    offset_min: npt.ArrayLike,
    recommended: npt.ArrayLike,
    off_peak: npt.ArrayLike,
    rules: PointsRules | None = None,
) -> FloatArray:
    """Points of charging events: exp(−φ Δt) + K + μ t_c (seed 000 §5.2) [points].

    Parameters
    ----------
    offset_min
        Arrival minus reserved time [min].
    recommended
        Whether the user charged at the recommended station (K = +1, else −1).
    off_peak
        Whether the charging slot is off-peak (t_c = +1, else −1).
    """
    r = rules or PointsRules()
    k = np.where(np.asarray(recommended, dtype=bool), 1.0, -1.0)
    tc = np.where(np.asarray(off_peak, dtype=bool), 1.0, -1.0)
    return np.exp(-r.phi_per_min * recorded_offset_min(offset_min, r)) + k + r.mu * tc


def discount_factor(points: npt.ArrayLike, rules: PointsRules | None = None) -> FloatArray:
    """clip(exp(−g · points), discount_floor, 1) [-] (seed 000 §5.3, bounded)."""
    r = rules or PointsRules()
    p = as_finite_array("points", points)
    return np.clip(np.exp(-r.g_per_point * p), r.discount_floor, 1.0)


def service_fee(
    fee_coef_eur_per_mwh: npt.ArrayLike,
    points: npt.ArrayLike,
    rules: PointsRules | None = None,
) -> FloatArray:
    """Service fee C^cre = e_k · clip(exp(−g·points)) [EUR/MWh] (seed 000 §5.3)."""
    e = as_finite_array("fee_coef_eur_per_mwh", fee_coef_eur_per_mwh)
    return e * discount_factor(points, rules)


# ------------------------------------------------------------------- synthetic users
@dataclass(frozen=True)
class UserPopulation:
    """Synthetic EV users: home bus, charging power and punctuality (one trip per day).

    Attributes
    ----------
    home_bus
        pandapower bus index of each user's home (N,).
    p_max_kw
        Charging power: min(car's AC power, pile power) [kW] (N,).
    mean_offset_min
        Mean absolute arrival offset against the reservation [min] (N,).
    """

    home_bus: IntArray
    p_max_kw: FloatArray
    mean_offset_min: FloatArray

    @property
    def n(self) -> int:
        """Number of users."""
        return int(self.home_bus.size)


def synthesize_users(
    n_users: int,
    buses: npt.ArrayLike,
    seed: int | np.random.Generator | None,
    pile_kw: float = 22.0,
) -> UserPopulation:
    """Draw users: home bus uniform over ``buses``, car from the NL registration shares.

    Punctuality: mean offset ~ Gamma(2, 4 min) per user (median ≈ 7 min; about one
    reservation in six is cancelled). Same seed, same users.
    """
    if isinstance(n_users, bool) or not isinstance(n_users, int | np.integer) or n_users < 1:
        raise InputError("n_users", n_users, "must be a positive integer")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    b = np.asarray(buses, dtype=np.int64)
    specs = load_ev_specs()
    car = rng.choice(len(specs), size=n_users, p=specs["share"].to_numpy(float))
    p = np.minimum(specs["max_ac_charge_kw"].to_numpy(float)[car], pile_kw)
    return UserPopulation(
        home_bus=rng.choice(b, size=n_users),
        p_max_kw=p,
        mean_offset_min=rng.gamma(2.0, 4.0, size=n_users),
    )


@dataclass(frozen=True)
class Trips:
    """One day's charging trips, one per user.

    Attributes
    ----------
    arrival_slot
        Preferred (reserved) start slot, 0..T−1 (N,).
    energy_kwh
        Energy to charge [kWh] (N,).
    offset_min
        Arrival minus reserved time [min] (N,).
    """

    arrival_slot: IntArray
    energy_kwh: FloatArray
    offset_min: FloatArray


def draw_trips(
    users: UserPopulation,
    n_slots: int,
    seed: int | np.random.Generator | None,
    weekend: bool = False,
) -> Trips:
    """Draw one day's trips from the ElaadNL public-charging statistics.

    Arrival time: ElaadNL public arrival distribution (15-min resolution, mapped onto
    ``n_slots`` slots of the day); energy: ElaadNL public energy-per-session
    distribution, capped at 60 kWh; offset: ± Exp(user's mean).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = users.n
    cdf = _tod_sampler(load_elaad_arrival(weekend)["public"].to_numpy(float), 0.0, 24.0)
    hours = _draw_tod(rng, cdf, n)
    slot = np.minimum((hours / 24.0 * n_slots).astype(np.int64), n_slots - 1)
    q, vals = _quantile_sampler(load_elaad_energy_demand_quantiles(), "public_kwh")
    energy = np.minimum(np.interp(rng.random(n), q, vals), 60.0)
    energy = np.maximum(energy, 1.0)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    offset = sign * rng.exponential(users.mean_offset_min)
    return Trips(arrival_slot=slot, energy_kwh=energy, offset_min=offset)


def charging_profiles_kwh(
    trips: Trips, p_max_kw: FloatArray, n_slots: int, dt_h: float, shifts_slots: IntArray
) -> FloatArray:
    """Energy per slot of each user and start shift, charging at full power (N, S, T) [kWh].

    The day is periodic: a session running past midnight continues at slot 0.
    """
    n = trips.energy_kwh.size
    per_slot = p_max_kw * dt_h  # kWh per full slot
    k = np.arange(n_slots)
    full = np.floor(trips.energy_kwh / per_slot)
    rest = trips.energy_kwh - full * per_slot
    base = np.where(
        k[None, :] < full[:, None],
        per_slot[:, None],
        np.where(k[None, :] == full[:, None], rest[:, None], 0.0),
    )  # (N, T) relative to the start
    out = np.zeros((n, shifts_slots.size, n_slots))
    idx = (
        trips.arrival_slot[:, None, None] + shifts_slots[None, :, None] + k[None, None, :]
    ) % n_slots
    np.put_along_axis(out, idx, np.broadcast_to(base[:, None, :], out.shape), axis=2)
    return out


@dataclass(frozen=True)
class ChoiceParams:
    """Users' generalised-cost weights (seed 000 §5.1).

    Attributes
    ----------
    value_of_time_eur_per_h
        Value of travel and queue time [EUR/h].
    shift_cost_eur_per_h
        Inconvenience of starting later than planned [EUR/h].
    eur_per_km
        Distance cost [EUR/km].
    speed_km_per_h
        Travel speed [km/h].
    km_per_hop
        Road distance per feeder branch between two buses [km].
    eur_per_point
        Value a user attaches to one point (future fee savings) [EUR/point].
    queue_max_h
        Queue time when a station's piles are all busy at arrival [h]; queue =
        queue_max_h · min(occupancy/piles, 1.5)².
    shifts_h
        Start shifts a user may choose [h].
    """

    value_of_time_eur_per_h: float = 12.0
    shift_cost_eur_per_h: float = 1.5
    eur_per_km: float = 0.2
    speed_km_per_h: float = 30.0
    km_per_hop: float = 0.5
    eur_per_point: float = 0.3
    queue_max_h: float = 0.5
    shifts_h: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0)


def logit_choice(cost_eur: npt.ArrayLike, temperature_eur: float) -> FloatArray:
    r"""Multinomial-logit choice probabilities over options (N, O) [-].

    .. math::  P_{n,o} = \frac{\exp(-c_{n,o}/τ)}{\sum_{o'} \exp(-c_{n,o'}/τ)}

    the random-utility reading of seed 000 §5.1's "least generalised cost" (McFadden's
    conditional logit: each user's cost of an option carries an unobserved i.i.d. Gumbel
    term of scale τ [EUR]); τ → 0 gives the seed's deterministic argmin. Population
    shares at these probabilities, at the costs they cause, are a stochastic user
    equilibrium (Daganzo & Sheffi 1977).

    Parameters
    ----------
    cost_eur
        Generalised cost per user and option (N, O) [EUR].
    temperature_eur
        τ > 0 [EUR].
    """
    c = as_finite_array("cost_eur", cost_eur)
    if c.ndim != 2:
        raise InputError("cost_eur", c.shape, "must be (users, options)")
    if not (np.isfinite(temperature_eur) and temperature_eur > 0):
        raise InputError("temperature_eur", temperature_eur, "must be > 0")
    z = np.exp(-(c - c.min(axis=1, keepdims=True)) / temperature_eur)
    return z / z.sum(axis=1, keepdims=True)


def bus_distance_hops(path_matrix: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Number of branches between bus positions ``a`` (N,) and ``b`` (K,) of a radial feeder."""
    pm = np.asarray(path_matrix, dtype=float)
    pa, pb = pm[np.asarray(a)], pm[np.asarray(b)]
    return pa.sum(1)[:, None] + pb.sum(1)[None, :] - 2.0 * pa @ pb.T


def trips_frame(trips: Trips) -> pd.DataFrame:
    """Trips as a table (one row per user)."""
    return pd.DataFrame(
        {
            "arrival_slot": trips.arrival_slot,
            "energy_kwh": trips.energy_kwh,
            "offset_min": trips.offset_min,
        }
    )
