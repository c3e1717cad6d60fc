"""EV fleets: vehicles, plug-in sessions, availability and energy needs (domain layer).

A :class:`Fleet` is two tables — vehicles and plug-in sessions — plus the period and
time step they are analysed at. Fleets come from :func:`synthesize_fleet` (sampled from
the bundled ElaadNL charging statistics and EV registration data, with the user classes
of seed 003 Table 1) or from a user's own sessions via :meth:`Fleet.from_sessions`.

Conventions
-----------
- ``energy_kwh`` of a session is the energy drawn from the charger (metered, grid side);
  the battery gains ``efficiency * energy_kwh``. A session is physically consistent when
  ``energy_kwh <= max_charge_kw * connection_h``.
- A vehicle is *available* in a slot ``[s, s + step)`` when it is plugged in for the
  whole slot (``arrival <= s`` and ``departure >= s + step``).
- All timestamps are tz-aware; the slot grid is regular in absolute time (a local day has
  92 or 100 quarter-hours at DST changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg._checks import parse_timestamp, session_limit_violation
from evagg.data import (
    load_elaad_arrival,
    load_elaad_connection_time_quantiles,
    load_elaad_energy_demand_quantiles,
    load_elaad_mean_session_length,
    load_ev_specs,
)
from evagg.errors import InputError

__all__ = [
    "SESSION_COLUMNS",
    "USER_TYPES",
    "VEHICLE_COLUMNS",
    "Fleet",
    "synthesize_fleet",
]

USER_TYPES = ("short_commute", "long_commute", "residential")
"""User classes of seed 003 Table 1."""

SESSION_COLUMNS = ("vehicle_id", "arrival", "departure", "energy_kwh", "location")
VEHICLE_COLUMNS = (
    "user_type",
    "model",
    "battery_kwh",
    "max_charge_kw",
    "max_discharge_kw",
    "efficiency",
    "v2g",
)
_STEPS = {"15min": pd.Timedelta("15min"), "1h": pd.Timedelta("1h")}
_NS_PER_H = 3_600_000_000_000
_DEFAULT_MIX = {"short_commute": 41, "long_commute": 25, "residential": 8}  # seed 003 §5.1

# Daily driving energy at the battery [kWh/day], uniform per vehicle within these bands:
# with a 0.9 charging efficiency the metered daily charge Q̄d then falls inside the seed's
# Table 1 class (residential ≤ 3, short 3–6, long > 6 kWh/day).
_RATE_BAND = {
    "short_commute": (3.3, 5.2),
    "long_commute": (6.5, 12.0),
    "residential": (1.0, 2.5),
}


def _step(step: str) -> pd.Timedelta:
    if step not in _STEPS:
        raise InputError("step", step, f"must be one of {sorted(_STEPS)}")
    return _STEPS[step]


@dataclass(frozen=True)
class Fleet:
    """A fleet of EVs and their plug-in sessions over a period.

    Attributes
    ----------
    vehicles
        Indexed by ``vehicle_id`` (str); columns ``user_type``, ``model``,
        ``battery_kwh`` [kWh], ``max_charge_kw`` [kW], ``max_discharge_kw`` [kW] (0 if
        not V2G-capable), ``efficiency`` [-] (one-way, charge and discharge), ``v2g``.
    sessions
        Columns ``vehicle_id``, ``arrival``, ``departure`` (tz-aware), ``energy_kwh``
        [kWh, metered], ``location`` (home/workplace/public/unknown); sorted by vehicle
        and arrival; sessions of one vehicle never overlap.
    start, end
        Analysis period ``[start, end)``, tz-aware.
    step
        Default slot length, ``"15min"`` or ``"1h"``.
    """

    vehicles: pd.DataFrame
    sessions: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    step: str = "15min"

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_sessions(
        cls,
        sessions: pd.DataFrame,
        vehicles: pd.DataFrame | None = None,
        step: str = "15min",
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
        limits: dict[str, float] | None = None,
    ) -> Fleet:
        """Build a fleet from real sessions (e.g. ``evagg.io.read_sessions`` output).

        Parameters
        ----------
        sessions
            Columns ``vehicle_id``, ``arrival``, ``departure`` (tz-aware, same zone),
            ``energy_kwh`` [kWh, ≥ 0], optional ``location``.
        vehicles
            Optional vehicle table (see class docstring) indexed by ``vehicle_id``. If
            omitted, each vehicle gets a 60 kWh battery (or 1.1 × its largest session
            energy if larger), a charge/discharge power of 11 kW (or its highest observed
            average session power if larger), efficiency 0.9, V2G-capable and
            ``user_type="unknown"`` (use :func:`evagg.reliability.classify_users`).
        step
            Default slot length.
        start, end
            Analysis period; default: local midnight before the first arrival to local
            midnight after the last departure.
        limits
            Overrides of the session plausibility bounds
            (:data:`evagg._checks.SESSION_LIMITS`: length, energy, mean power).

        Raises
        ------
        InputError
            Missing columns, naive or mixed time zones, NaN, negative energies, departure
            not after arrival, overlapping sessions of one vehicle, energy the charger
            cannot deliver in the connection time, vehicles missing from ``vehicles``.
        """
        _step(step)
        s = _validate_sessions(sessions)
        hours = (s["departure"] - s["arrival"]).dt.total_seconds() / 3600
        hit = session_limit_violation(s["energy_kwh"], hours, limits)
        if hit is not None:
            k, col, reason = hit
            value = s[col].iloc[k]
            raise InputError(
                f"sessions.{col}[{k}] (vehicle {s['vehicle_id'].iloc[k]})", value, reason
            )
        tz = s["arrival"].dt.tz
        if vehicles is None:
            g = s.assign(
                p=s["energy_kwh"] / ((s["departure"] - s["arrival"]).dt.total_seconds() / 3600)
            ).groupby("vehicle_id")
            vmax_e = g["energy_kwh"].max()
            vmax_p = g["p"].max()
            ids = vmax_e.index
            battery = np.maximum(60.0, 1.1 * vmax_e.to_numpy())
            power = np.maximum(11.0, np.ceil(vmax_p.to_numpy() * 100) / 100)
            vehicles = pd.DataFrame(
                {
                    "user_type": "unknown",
                    "model": "unknown",
                    "battery_kwh": battery,
                    "max_charge_kw": power,
                    "max_discharge_kw": power,
                    "efficiency": 0.9,
                    "v2g": True,
                },
                index=pd.Index(ids, name="vehicle_id"),
            )
        v = _validate_vehicles(vehicles)
        missing = sorted(set(s["vehicle_id"]) - set(v.index))
        if missing:
            raise InputError("sessions.vehicle_id", missing[:5], "vehicles not in vehicles table")
        _check_deliverable(s, v)
        lo = s["arrival"].min().normalize() if start is None else _ts("start", start, str(tz))
        hi = (
            _next_midnight(s["departure"].max() - pd.Timedelta("1ns"))
            if end is None
            else _ts("end", end, str(tz))
        )
        if hi <= lo:
            raise InputError("start/end", (str(lo), str(hi)), "end must be after start")
        return cls(vehicles=v, sessions=s, start=lo, end=hi, step=step)

    # ------------------------------------------------------------------ basic views
    @property
    def n_vehicles(self) -> int:
        """Number of vehicles."""
        return len(self.vehicles)

    @property
    def vehicle_ids(self) -> pd.Index:
        """Vehicle identifiers in table order (the column order of every time × vehicle frame)."""
        return self.vehicles.index

    @property
    def tz(self) -> Any:
        """Time zone of the fleet's timestamps."""
        return self.start.tz

    def time_index(self, step: str | None = None) -> pd.DatetimeIndex:
        """Slot start times ``[start, end)`` at ``step`` (default: the fleet's step)."""
        dt = _step(step or self.step)
        return pd.date_range(self.start, self.end, freq=dt, inclusive="left", name="time")

    def _session_arrays(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        pos = self.vehicle_ids.get_indexer(pd.Index(self.sessions["vehicle_id"]))
        a = self.sessions["arrival"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        d = self.sessions["departure"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        return pos.astype(np.int64), a, d

    def availability(self, step: str | None = None) -> pd.DataFrame:
        """Plugged-in indicator per slot: time × vehicle, bool.

        A vehicle is available in ``[s, s + step)`` when a session covers the whole slot.
        """
        idx = self.time_index(step)
        dt = _step(step or self.step).value
        t0 = self.start.value
        n_t = len(idx)
        pos, a, d = self._session_arrays()
        first = np.clip(-((t0 - a) // dt), 0, n_t)  # ceil((a - t0) / dt)
        last = np.clip((d - t0) // dt, 0, n_t)  # slots fully covered end here (exclusive)
        ok = last > first
        # sessions of one vehicle never overlap, so the running count is 0 or 1 (int8)
        diff = np.zeros((n_t + 1, self.n_vehicles), dtype=np.int8)
        np.add.at(diff, (first[ok], pos[ok]), 1)
        np.add.at(diff, (last[ok], pos[ok]), -1)
        avail = np.cumsum(diff[:-1], axis=0, dtype=np.int8) > 0
        return pd.DataFrame(avail, index=idx, columns=self.vehicle_ids)

    def energy_need_kwh(self, step: str | None = None, at: str = "arrival") -> pd.DataFrame:
        """Energy requested by sessions [kWh, metered], time × vehicle.

        Each session's ``energy_kwh`` is placed in the slot of its arrival (``at=
        "arrival"``: energy that becomes requested) or of its departure (``at=
        "departure"``: energy due by that slot's start at the latest).
        """
        if at not in ("arrival", "departure"):
            raise InputError("at", at, "must be 'arrival' or 'departure'")
        idx = self.time_index(step)
        dt = _step(step or self.step).value
        pos, a, d = self._session_arrays()
        t = a if at == "arrival" else d
        k = (t - self.start.value) // dt
        if at == "departure":
            # a departure exactly on a slot boundary is due at the end of the previous slot
            k = (t - self.start.value - 1) // dt
        ok = (k >= 0) & (k < len(idx))
        out = np.zeros((len(idx), self.n_vehicles))
        np.add.at(out, (k[ok], pos[ok]), self.sessions["energy_kwh"].to_numpy(float)[ok])
        return pd.DataFrame(out, index=idx, columns=self.vehicle_ids)

    def uncontrolled_load_kw(self, step: str | None = None) -> pd.Series:
        """Aggregate charging power if every vehicle charges at full power on arrival [kW].

        Session ``i`` draws ``max_charge_kw`` from ``arrival`` for ``energy_kwh /
        max_charge_kw`` hours (never past departure, checked at construction). The value
        of a slot is the mean power over the slot: ``Σ_i p_i·|[a_i, b_i) ∩ slot| / step``.
        Computed exactly from sorted cumulative sums, O((sessions + slots)·log).
        """
        idx = self.time_index(step)
        dt = _step(step or self.step).value
        pos, a, _ = self._session_arrays()
        p = self.vehicles["max_charge_kw"].to_numpy(float)[pos]
        e = self.sessions["energy_kwh"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            dur_ns = np.where(p > 0, e / p * _NS_PER_H, 0.0)
        b = a + np.round(dur_ns).astype(np.int64)
        edges = self.start.value + dt * np.arange(len(idx) + 1, dtype=np.int64)
        g = _ramp_integral(edges, a, p) - _ramp_integral(edges, b, p)  # [kW·ns]
        # each term is a non-negative overlap; differences of cumulative sums leave only
        # round-off negatives (~1e-12 kW), set to zero
        energy = np.maximum(np.diff(g), 0.0)
        return pd.Series(energy / dt, index=idx, name="ev_load_kw")

    @property
    def days(self) -> int:
        """Number of (calendar) days in the period, rounded up."""
        return int(np.ceil((self.end - self.start) / pd.Timedelta(days=1)))


def _next_midnight(ts: pd.Timestamp) -> pd.Timestamp:
    """Local midnight after ``ts`` (wall clock, correct across DST changes)."""
    naive = ts.tz_localize(None).normalize() + pd.Timedelta(days=1)
    return naive.tz_localize(ts.tz)


def _ramp_integral(
    t: npt.NDArray[np.int64], a: npt.NDArray[np.int64], p: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``G(t) = Σ_i p_i·max(0, t − a_i)`` for every ``t`` (ns, relative to ``t[0]``)."""
    order = np.argsort(a, kind="stable")
    a_s = (a[order] - t[0]).astype(np.float64)
    p_s = p[order]
    cp = np.concatenate([[0.0], np.cumsum(p_s)])
    cpa = np.concatenate([[0.0], np.cumsum(p_s * a_s)])
    k = np.searchsorted(a_s, (t - t[0]).astype(np.float64), side="right")
    tt = (t - t[0]).astype(np.float64)
    return tt * cp[k] - cpa[k]


# ---------------------------------------------------------------------- validation
def _ts(field: str, value: pd.Timestamp | str, tz: str) -> pd.Timestamp:
    return parse_timestamp(field, value, tz)


def _validate_sessions(sessions: Any) -> pd.DataFrame:
    if not isinstance(sessions, pd.DataFrame):
        raise InputError("sessions", type(sessions).__name__, "must be a pandas DataFrame")
    need = ["vehicle_id", "arrival", "departure", "energy_kwh"]
    miss = [c for c in need if c not in sessions.columns]
    if miss:
        raise InputError("sessions", list(sessions.columns), f"missing column(s) {miss}")
    if sessions.empty:
        raise InputError("sessions", "empty", "no sessions")
    s = sessions.reset_index(drop=True).copy()
    if s["vehicle_id"].isna().any():
        row = int(np.flatnonzero(s["vehicle_id"].isna())[0])
        raise InputError(f"sessions.vehicle_id[{row}]", None, "missing vehicle id")
    s["vehicle_id"] = s["vehicle_id"].astype(str)
    tz = None
    for col in ("arrival", "departure"):
        ser = s[col]
        if not isinstance(ser.dtype, pd.DatetimeTZDtype):
            raise InputError(
                f"sessions.{col}", str(ser.dtype), "must be tz-aware datetimes (datetime64[ns, tz])"
            )
        if ser.isna().any():
            row = int(np.flatnonzero(ser.isna())[0])
            raise InputError(f"sessions.{col}[{row}]", None, "missing timestamp")
        tz = tz or str(ser.dt.tz)
        if str(ser.dt.tz) != tz:
            raise InputError(f"sessions.{col}", str(ser.dt.tz), f"time zone differs from {tz}")
        s[col] = ser.astype(pd.DatetimeTZDtype("ns", tz))
    try:
        e = s["energy_kwh"].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise InputError(
            "sessions.energy_kwh", s["energy_kwh"].head(3).tolist(), "not numeric"
        ) from None
    bad = ~np.isfinite(e) | (e < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"sessions.energy_kwh[{row}]", e[row], "must be finite and >= 0")
    s["energy_kwh"] = e
    dur = s["departure"] - s["arrival"]
    if (dur <= pd.Timedelta(0)).any():
        row = int(np.flatnonzero(dur <= pd.Timedelta(0))[0])
        raise InputError(
            f"sessions.departure[{row}]",
            str(s["departure"].iloc[row]),
            f"not after arrival {s['arrival'].iloc[row]}",
        )
    if "location" not in s.columns:
        s["location"] = "unknown"
    s["location"] = s["location"].fillna("unknown").astype(str)
    s = s.sort_values(["vehicle_id", "arrival"], kind="stable").reset_index(drop=True)
    same = s["vehicle_id"].to_numpy()[1:] == s["vehicle_id"].to_numpy()[:-1]
    overlap = same & (s["arrival"].to_numpy()[1:] < s["departure"].to_numpy()[:-1])
    if overlap.any():
        k = int(np.flatnonzero(overlap)[0])
        raise InputError(
            f"sessions.arrival (vehicle {s['vehicle_id'].iloc[k + 1]})",
            str(s["arrival"].iloc[k + 1]),
            f"overlaps the previous session ending {s['departure'].iloc[k]}",
        )
    return s[list(SESSION_COLUMNS)]


def _validate_vehicles(vehicles: Any) -> pd.DataFrame:
    if not isinstance(vehicles, pd.DataFrame):
        raise InputError("vehicles", type(vehicles).__name__, "must be a pandas DataFrame")
    v = vehicles.copy()
    if "vehicle_id" in v.columns:
        v = v.set_index("vehicle_id")
    v.index = pd.Index(v.index.astype(str), name="vehicle_id")
    if v.index.has_duplicates:
        raise InputError("vehicles.vehicle_id", v.index[v.index.duplicated()][0], "duplicate")
    for col, default in (
        ("user_type", "unknown"),
        ("model", "unknown"),
        ("efficiency", 0.9),
        ("v2g", True),
    ):
        if col not in v.columns:
            v[col] = default
    for col in ("battery_kwh", "max_charge_kw"):
        if col not in v.columns:
            raise InputError("vehicles", list(v.columns), f"missing column {col!r}")
    v["v2g"] = _as_flags(v["v2g"])
    if "max_discharge_kw" not in v.columns:
        v["max_discharge_kw"] = np.where(v["v2g"], v["max_charge_kw"], 0.0)
    for col in ("battery_kwh", "max_charge_kw", "max_discharge_kw", "efficiency"):
        x = pd.to_numeric(v[col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(x) | (x < 0) | ((x == 0) & (col != "max_discharge_kw"))
        if col == "efficiency":
            bad |= x > 1
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(f"vehicles.{col}[{v.index[k]}]", x[k], "invalid value")
        v[col] = x
    return v[list(VEHICLE_COLUMNS)]


_TRUE = {"true", "yes", "y", "1", "1.0"}
_FALSE = {"false", "no", "n", "0", "0.0"}


def _as_flags(col: pd.Series) -> pd.Series:
    """Strict boolean column: bools, 0/1 or true/false/yes/no strings (a plain ``astype(bool)``
    would read the string ``"no"`` as True)."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype(bool)
    out = []
    for vid, x in col.items():
        key = str(x).strip().lower()
        if isinstance(x, bool | np.bool_) or key in _TRUE | _FALSE:
            out.append(bool(x) if isinstance(x, bool | np.bool_) else key in _TRUE)
        else:
            raise InputError(f"vehicles.v2g[{vid}]", x, "must be true/false, yes/no or 1/0")
    return pd.Series(out, index=col.index, dtype=bool)


def _check_deliverable(s: pd.DataFrame, v: pd.DataFrame) -> None:
    p = v["max_charge_kw"].reindex(s["vehicle_id"]).to_numpy(float)
    hours = (s["departure"] - s["arrival"]).dt.total_seconds().to_numpy() / 3600
    e = s["energy_kwh"].to_numpy(float)
    bad = e > p * hours * (1 + 1e-9) + 1e-9
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"sessions.energy_kwh[{k}] (vehicle {s['vehicle_id'].iloc[k]})",
            e[k],
            f"exceeds what {p[k]:g} kW delivers in {hours[k]:.3g} h",
        )
    batt = v["battery_kwh"].reindex(s["vehicle_id"]).to_numpy(float)
    eff = v["efficiency"].reindex(s["vehicle_id"]).to_numpy(float)
    over = eff * e > batt * (1 + 1e-9)
    if over.any():
        k = int(np.flatnonzero(over)[0])
        raise InputError(
            f"sessions.energy_kwh[{k}] (vehicle {s['vehicle_id'].iloc[k]})",
            e[k],
            f"more than the {batt[k]:g} kWh battery can take",
        )


# ---------------------------------------------------------------------- synthesis
def _quantile_sampler(
    exceed_table: pd.DataFrame, column: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(cdf levels, values) from an ElaadNL exceedance table, ready for np.interp."""
    q = 1.0 - exceed_table.index.to_numpy(float) / 100.0
    vals = exceed_table[column].to_numpy(float)
    order = np.argsort(q)
    return q[order], np.maximum.accumulate(vals[order])


def _tod_sampler(
    probs: npt.NDArray[np.float64], lo_h: float, hi_h: float
) -> npt.NDArray[np.float64]:
    """Cumulative distribution over 96 quarter-hours restricted to ``[lo_h, hi_h)``."""
    hours = np.arange(96) / 4.0
    p = np.where((hours >= lo_h) & (hours < hi_h), probs, 0.0)
    if p.sum() <= 0:
        p = ((hours >= lo_h) & (hours < hi_h)).astype(float)
    return np.cumsum(p / p.sum())


def _draw_tod(rng: np.random.Generator, cdf: npt.NDArray[np.float64], n: int) -> Any:
    k = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), 95)
    return (k + rng.random(n)) * 0.25  # hours after midnight


def _mean_len(table: pd.DataFrame, col: str) -> npt.NDArray[np.float64]:
    """Mean session length [h] on a 48 half-hour grid, gaps filled from neighbours."""
    s = table[col].interpolate(limit_direction="both")
    return s.to_numpy(float)


def synthesize_fleet(
    n_vehicles: int,
    days: int,
    start: str | pd.Timestamp = "2024-03-04",
    step: str = "15min",
    mix: dict[str, float] | None = None,
    seed: int | np.random.Generator | None = None,
    tz: str = "Europe/Amsterdam",
    v2g_share: float = 1.0,
    efficiency: float = 0.9,
) -> Fleet:
    """Sample a synthetic but realistic EV fleet with ``days`` days of plug-in sessions.

    Vehicles
        Models drawn by Dutch registration share (``evagg.data.load_ev_specs``); a vehicle
        is V2G-capable with probability ``v2g_share`` and then discharges at its AC charge
        power (the 2024 V2G-enabled list has discharge = charge power for every model).
    User types (seed 003 Table 1)
        ``mix`` gives the proportions of ``short_commute``, ``long_commute``,
        ``residential`` (default 41 : 25 : 8, the seed's 74 Pecan Street users). Each
        vehicle has a daily driving energy drawn uniformly in a type band (short 3.3–5.2,
        long 6.5–12, residential 1.0–2.5 kWh/day at the battery), so that the metered daily
        charge Q̄d lands in the seed's class, and a plug-in routine:

        - long commute: workplace session on weekdays (ElaadNL workplace arrivals 05–11 h,
          length = ElaadNL mean length for that arrival × a ratio drawn from the workplace
          connection-time distribution), home session every evening (home arrivals
          15–24 h on weekdays, 10–24 h at weekends; at most 16 h before a weekday), and a
          public session on 70 % of days (public arrivals 08–20 h, after work on weekdays;
          ElaadNL public connection time and energy): charge interval ≈ 11–12 h;
        - short commute: home session on 85 % of evenings (same home model): ≈ 28 h;
        - residential: home arrivals 09–22 h, connection time from the upper tail (≥ 30 h)
          of the ElaadNL home connection-time distribution (the car stays plugged in for
          days between rare trips): interval > 45 h.

    Energy and SOC
        Driving energy since the previous arrival is ``rate × elapsed days × ε`` with
        ``ε ~ Gamma(4, 1/4)`` (floor: SOC 10 %); at each session the vehicle charges to full
        at ``max_charge_kw``, limited by the connection time: ``energy_kwh = min(p·h,
        (battery − e_arrival)/η)``; public sessions stop earlier at an ElaadNL public
        energy draw. SOC therefore stays in [0.1, 1] and sessions of one vehicle never
        overlap (an arrival waits for the previous departure plus travel time; a session
        pushed past its day is dropped).

    Parameters
    ----------
    n_vehicles, days
        Fleet size and number of local calendar days from ``start``.
    start
        First day (local midnight in ``tz``).
    step
        Default slot length of the fleet, ``"15min"`` or ``"1h"``.
    mix
        Proportions per user type (need not sum to 1).
    seed
        Seed or Generator; same seed, same fleet.
    tz
        Time zone of all timestamps.
    v2g_share
        Probability [0, 1] that a vehicle is V2G-capable.
    efficiency
        One-way charge/discharge efficiency (0, 1].

    Returns
    -------
    Fleet
        Vehicles ``ev0000``, ``ev0001``, ...; sessions sorted by vehicle and arrival.

    Notes
    -----
    Fully vectorised over vehicles; the loop runs over days × 3 session kinds, so
    10,000 vehicles × 120 days take a few seconds.
    """
    if isinstance(n_vehicles, bool) or not isinstance(n_vehicles, int | np.integer):
        raise InputError("n_vehicles", n_vehicles, "must be a positive integer")
    if n_vehicles <= 0:
        raise InputError("n_vehicles", n_vehicles, "must be a positive integer")
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days <= 0:
        raise InputError("days", days, "must be a positive integer")
    _step(step)
    if not 0.0 <= float(v2g_share) <= 1.0:
        raise InputError("v2g_share", v2g_share, "must lie in [0, 1]")
    if not 0.0 < float(efficiency) <= 1.0:
        raise InputError("efficiency", efficiency, "must lie in (0, 1]")
    mix = dict(_DEFAULT_MIX if mix is None else mix)
    unknown = sorted(set(mix) - set(USER_TYPES))
    if unknown:
        raise InputError("mix", mix, f"unknown user type(s) {unknown}; use {USER_TYPES}")
    w = np.array([float(mix.get(t, 0.0)) for t in USER_TYPES])
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InputError("mix", mix, "proportions must be >= 0 with a positive sum")
    w = w / w.sum()
    t0 = parse_timestamp("start", start, tz).normalize()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(n_vehicles)
    eta = float(efficiency)

    # vehicles ---------------------------------------------------------------
    specs = load_ev_specs()
    model_idx = rng.choice(len(specs), size=n, p=specs["share"].to_numpy(float))
    utype = rng.choice(3, size=n, p=w)
    v2g = rng.random(n) < float(v2g_share)
    battery = specs["battery_kwh"].to_numpy(float)[model_idx]
    p_ch = specs["max_ac_charge_kw"].to_numpy(float)[model_idx]
    lo = np.array([_RATE_BAND[t][0] for t in USER_TYPES])[utype]
    hi = np.array([_RATE_BAND[t][1] for t in USER_TYPES])[utype]
    rate = lo + (hi - lo) * rng.random(n)  # kWh/day at the battery
    ids = pd.Index([f"ev{i:04d}" for i in range(n)], name="vehicle_id")
    vehicles = pd.DataFrame(
        {
            "user_type": np.array(USER_TYPES)[utype],
            "model": specs.index.to_numpy()[model_idx],
            "battery_kwh": battery,
            "max_charge_kw": p_ch,
            "max_discharge_kw": np.where(v2g, p_ch, 0.0),
            "efficiency": eta,
            "v2g": v2g,
        },
        index=ids,
    )

    # ElaadNL statistics -----------------------------------------------------
    arr_wd = load_elaad_arrival(weekend=False)
    arr_we = load_elaad_arrival(weekend=True)
    conn = load_elaad_connection_time_quantiles()
    energy_q = load_elaad_energy_demand_quantiles()
    mean_len = load_elaad_mean_session_length()
    q_home, v_home = _quantile_sampler(conn, "home_h")
    q_work, v_work = _quantile_sampler(conn, "workplace_h")
    q_pub, v_pub = _quantile_sampler(conn, "public_h")
    q_epub, v_epub = _quantile_sampler(energy_q, "public_kwh")
    # ratio to the mean: lengths = mean-by-arrival × (draw / mean of the distribution)
    u_grid = np.linspace(0.0005, 0.9995, 1000)
    mean_home = float(np.interp(u_grid, q_home, v_home).mean())
    mean_work = float(np.interp(u_grid, q_work, v_work).mean())
    len_home = _mean_len(mean_len, "home_h")
    len_work = _mean_len(mean_len, "workplace_h")
    u_res_lo = float(np.interp(30.0, v_home, q_home))  # residential: home times ≥ 30 h

    cdf = {
        ("home", False, "c"): _tod_sampler(arr_wd["home"].to_numpy(), 15, 24),
        ("home", True, "c"): _tod_sampler(arr_we["home"].to_numpy(), 10, 24),
        ("home", False, "r"): _tod_sampler(arr_wd["home"].to_numpy(), 9, 22),
        ("home", True, "r"): _tod_sampler(arr_we["home"].to_numpy(), 9, 22),
        ("workplace", False, "c"): _tod_sampler(arr_wd["workplace"].to_numpy(), 5, 11),
        ("public", False, "c"): _tod_sampler(arr_wd["public"].to_numpy(), 8, 20),
        ("public", True, "c"): _tod_sampler(arr_we["public"].to_numpy(), 8, 20),
    }

    is_short = utype == 0
    is_long = utype == 1
    is_res = utype == 2
    t_free = np.full(n, t0.value - _NS_PER_H, dtype=np.int64)  # last departure [ns]
    last_arr = np.full(n, t0.value - 12 * _NS_PER_H, dtype=np.int64)
    e_batt = battery * (0.6 + 0.4 * rng.random(n))  # energy in the battery [kWh]
    day_starts = pd.date_range(t0, periods=days + 1, freq="D").asi8
    out_v: list[npt.NDArray[np.int64]] = []
    out_a: list[npt.NDArray[np.int64]] = []
    out_d: list[npt.NDArray[np.int64]] = []
    out_e: list[npt.NDArray[np.float64]] = []
    out_l: list[npt.NDArray[np.int64]] = []
    loc_names = ("home", "workplace", "public")

    for d in range(days):
        day0 = int(day_starts[d])
        weekend = pd.Timestamp(day0, tz=tz).dayofweek >= 5
        for kind in ("workplace", "public", "home"):
            if kind == "workplace":
                if weekend:
                    continue
                active = is_long & (rng.random(n) < 0.95)
                tod = _draw_tod(rng, cdf[("workplace", False, "c")], n)
                win_hi = 11.0
            elif kind == "public":
                active = (is_long & (rng.random(n) < 0.7)) | (is_short & (rng.random(n) < 0.03))
                tod = _draw_tod(rng, cdf[("public", weekend, "c")], n)
                win_hi = 20.0
            else:
                active = is_long | (is_short & (rng.random(n) < 0.85)) | is_res
                tod = np.where(
                    is_res,
                    _draw_tod(rng, cdf[("home", weekend, "r")], n),
                    _draw_tod(rng, cdf[("home", weekend, "c")], n),
                )
                win_hi = 24.0
            travel = np.where(is_res, 2.0, 0.5) * _NS_PER_H
            arrival = np.maximum(day0 + (tod * _NS_PER_H).astype(np.int64), t_free + travel)
            arrival = arrival.astype(np.int64)
            # dropped if pushed more than 2 h past the kind's arrival window
            active &= arrival < day0 + int((win_hi + 2.0) * _NS_PER_H)
            if not active.any():
                continue
            idx = np.flatnonzero(active)
            m = len(idx)
            tod_a = ((arrival[idx] - day0) / _NS_PER_H) % 24.0
            half = np.minimum((tod_a * 2).astype(int), 47)
            if kind == "workplace":
                ratio = np.interp(rng.random(m), q_work, v_work) / mean_work
                hours = np.clip(len_work[half] * ratio, 1.0, 14.0)
            elif kind == "public":
                hours = np.clip(np.interp(rng.random(m), q_pub, v_pub), 0.5, 12.0)
            else:
                ratio = np.interp(rng.random(m), q_home, v_home) / mean_home
                h_c = np.clip(len_home[half] * ratio, 1.0, 16.0 if not weekend else 40.0)
                u_r = u_res_lo + (1.0 - u_res_lo) * rng.random(m)
                h_r = np.interp(u_r, q_home, v_home)
                hours = np.where(is_res[idx], np.maximum(h_r, 30.0), h_c)
            dep = arrival[idx] + (hours * _NS_PER_H).astype(np.int64)
            # driving energy since the previous arrival, SOC floor 10 %
            elapsed_d = (arrival[idx] - last_arr[idx]) / (24 * _NS_PER_H)
            drive = rate[idx] * elapsed_d * rng.gamma(4.0, 0.25, m)
            e_arr = np.maximum(e_batt[idx] - drive, np.minimum(e_batt[idx], 0.1 * battery[idx]))
            deficit = np.maximum(battery[idx] - e_arr, 0.0) / eta  # metered kWh to full
            energy = np.minimum(p_ch[idx] * hours, deficit)
            if kind == "public":
                energy = np.minimum(energy, np.interp(rng.random(m), q_epub, v_epub))
            e_batt[idx] = np.minimum(e_arr + eta * energy, battery[idx])
            t_free[idx] = dep
            last_arr[idx] = arrival[idx]
            out_v.append(idx)
            out_a.append(arrival[idx])
            out_d.append(dep)
            out_e.append(energy)
            out_l.append(np.full(m, loc_names.index(kind)))

    vid = np.concatenate(out_v)
    arr = np.concatenate(out_a)
    dep = np.concatenate(out_d)
    order = np.lexsort((arr, vid))
    sessions = pd.DataFrame(
        {
            "vehicle_id": ids.to_numpy()[vid[order]],
            "arrival": pd.to_datetime(arr[order], utc=True).tz_convert(tz),
            "departure": pd.to_datetime(dep[order], utc=True).tz_convert(tz),
            "energy_kwh": np.concatenate(out_e)[order],
            "location": np.array(loc_names)[np.concatenate(out_l)[order]],
        }
    )
    end = pd.Timestamp(int(day_starts[days]), tz=tz)
    return Fleet(vehicles=vehicles, sessions=sessions, start=t0, end=end, step=step)
