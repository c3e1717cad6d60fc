"""EV users of one market day: plug-in windows, energy needs, contracts, follower classes.

A *user-day* is one plug-in session as seen from one local market day of ``T`` hours
(23, 24 or 25): the hours ``start_h .. end_h - 1`` it is plugged in for the whole hour,
the energy it must receive in those hours and its charger and battery. Users come from
:class:`evagg.fleet.Fleet` (ElaadNL statistics) via :func:`users_from_fleet`; the pricing
game sees them grouped into a few follower classes (:func:`group_users`), the V2G
dispatch sees every vehicle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg.errors import InputError
from evagg.fleet import Fleet

__all__ = [
    "CONTRACTS",
    "USER_COLUMNS",
    "Grouping",
    "group_users",
    "users_from_fleet",
    "validate_users",
]

CONTRACTS = ("ordinary", "v2g")
"""Contract types of seed 001: ordinary charging, and V2G (aggregator may discharge)."""

USER_COLUMNS = (
    "contract",
    "start_h",
    "end_h",
    "energy_kwh",
    "p_max_kw",
    "p_dis_kw",
    "battery_kwh",
    "efficiency",
    "e0_kwh",
)
_H_NS = 3_600_000_000_000


def users_from_fleet(
    fleet: Fleet, day_start: pd.Timestamp, n_hours: int, v2g_share: float, seed: int
) -> pd.DataFrame:
    """User-days of the sessions that overlap the day ``[day_start, day_start + n_hours h)``.

    A session plugged in over the whole hours ``a .. b-1`` of the day (and over ``H``
    whole hours in total) must receive ``E_day = min(E·h_day/H, P·h_day)`` [kWh] within
    the day, with ``h_day = b − a``: its metered energy ``E`` prorated by plugged-in
    time, so a session crossing midnight leaves the rest to the next day (evagg's
    choice; the seed prices one day of users without crossing sessions). Sessions with no
    whole hour in the day are dropped. Energy lost to rounding to whole hours (the part
    above ``P·h_day``) is not served and is reported by the study.

    The battery holds ``e0 = max(0, B − η·E_day)`` at the window start (the users of
    :func:`evagg.fleet.synthesize_fleet` charge to full); a vehicle is on a V2G contract
    with probability ``v2g_share`` if its model is V2G-capable (seeded draw).
    """
    if not 0.0 <= v2g_share <= 1.0:
        raise InputError("v2g_share", v2g_share, "must be within [0, 1]")
    s = fleet.sessions
    t0 = day_start.value
    a_ns = s["arrival"].to_numpy(dtype="datetime64[ns]").astype(np.int64) - t0
    d_ns = s["departure"].to_numpy(dtype="datetime64[ns]").astype(np.int64) - t0
    first = -((-a_ns) // _H_NS)  # ceil: first whole hour plugged in
    last = d_ns // _H_NS  # floor: end of the last whole hour
    total_h = np.maximum(last - first, 0)
    a = np.clip(first, 0, n_hours)
    b = np.clip(last, 0, n_hours)
    keep = b > a
    v = fleet.vehicles.loc[s["vehicle_id"].to_numpy()[keep]]
    h_day = (b - a)[keep].astype(float)
    e = s["energy_kwh"].to_numpy(float)[keep] * h_day / total_h[keep]
    p = v["max_charge_kw"].to_numpy(float)
    e_day = np.minimum(e, p * h_day)
    eta = v["efficiency"].to_numpy(float)
    batt = v["battery_kwh"].to_numpy(float)
    rng = np.random.default_rng(seed)
    v2g = (rng.random(len(v)) < v2g_share) & v["v2g"].to_numpy(bool)
    users = pd.DataFrame(
        {
            "contract": np.where(v2g, "v2g", "ordinary"),
            "start_h": a[keep].astype(int),
            "end_h": b[keep].astype(int),
            "energy_kwh": e_day,
            "p_max_kw": p,
            "p_dis_kw": np.where(v2g, v["max_discharge_kw"].to_numpy(float), 0.0),
            "battery_kwh": batt,
            "efficiency": eta,
            "e0_kwh": np.maximum(0.0, batt - eta * e_day),
            "vehicle_id": v.index.to_numpy(),
            "unserved_kwh": e - e_day,
        },
        index=pd.Index([f"u{i:04d}" for i in range(len(v))], name="user_id"),
    )
    return users


def validate_users(users: Any, n_hours: int) -> pd.DataFrame:
    """Check a user table (columns :data:`USER_COLUMNS`); return it with clean dtypes.

    Raises
    ------
    InputError
        Missing columns, unknown contract, a window outside ``0 .. n_hours`` or empty,
        non-finite or negative values, a user needing more energy than its charger
        delivers in its window (``energy_kwh > p_max_kw·(end_h − start_h)``), or a
        battery that cannot take the need (``e0 + η·E > battery``).
    """
    if not isinstance(users, pd.DataFrame):
        raise InputError("users", type(users).__name__, "must be a pandas DataFrame")
    miss = [c for c in USER_COLUMNS if c not in users.columns]
    if miss:
        raise InputError("users", list(users.columns), f"missing column(s) {miss}")
    if users.empty:
        raise InputError("users", "empty", "no user is plugged in on this day")
    u = users.copy()
    bad_c = ~u["contract"].isin(CONTRACTS)
    if bad_c.any():
        raise InputError(
            f"users.contract[{u.index[bad_c][0]}]",
            u["contract"][bad_c].iloc[0],
            f"must be one of {CONTRACTS}",
        )
    for col in USER_COLUMNS[1:]:
        x = pd.to_numeric(u[col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(x) | (x < 0)
        if col in ("p_max_kw", "battery_kwh", "efficiency"):
            bad |= x <= 0
        if col == "efficiency":
            bad |= x > 1
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(f"users.{col}[{u.index[k]}]", x[k], "must be finite and positive")
        u[col] = x
    a, b = u["start_h"].to_numpy(), u["end_h"].to_numpy()
    bad = (a != np.round(a)) | (b != np.round(b)) | (a >= b) | (b > n_hours)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"users.end_h[{u.index[k]}]",
            (a[k], b[k]),
            f"window must be whole hours with 0 <= start_h < end_h <= {n_hours}",
        )
    u["start_h"], u["end_h"] = a.astype(int), b.astype(int)
    cap = u["p_max_kw"].to_numpy() * (b - a)
    e = u["energy_kwh"].to_numpy()
    over = e > cap * (1 + 1e-9) + 1e-9
    if over.any():
        k = int(np.flatnonzero(over)[0])
        raise InputError(
            f"users.energy_kwh[{u.index[k]}]",
            float(e[k]),
            f"more than {u['p_max_kw'].iloc[k]:g} kW can deliver in its {int(b[k] - a[k])} h "
            f"window ({cap[k]:g} kWh)",
        )
    full = u["e0_kwh"] + u["efficiency"] * u["energy_kwh"]
    big = (full > u["battery_kwh"] * (1 + 1e-9) + 1e-9).to_numpy()
    if big.any():
        k = int(np.flatnonzero(big)[0])
        raise InputError(
            f"users.e0_kwh[{u.index[k]}]",
            float(u["e0_kwh"].iloc[k]),
            "e0 + efficiency * energy exceeds battery_kwh",
        )
    return u


@dataclass(frozen=True)
class Grouping:
    """Follower classes of the pricing game and how well they represent the users.

    Attributes
    ----------
    classes
        One row per class: ``contract``, ``start_h``, ``end_h``, ``energy_kwh``,
        ``p_max_kw`` (of one representative user) and ``n_users``.
    membership
        Class id per user (index of ``users``).
    errors
        Per class: mean absolute deviation of members from the representative in
        ``start_h``, ``end_h`` [h] and ``energy_kwh`` [kWh], and ``capped_kwh``
        (representative energy cut to what its window allows).
    """

    classes: pd.DataFrame
    membership: pd.Series
    errors: pd.DataFrame

    def summary(self) -> dict[str, float]:
        """Fleet-level grouping error (user-weighted means)."""
        n = self.classes["n_users"].to_numpy(float)
        w = n / n.sum()
        return {
            "n_classes": float(len(self.classes)),
            "mae_start_h": float(w @ self.errors["mae_start_h"]),
            "mae_end_h": float(w @ self.errors["mae_end_h"]),
            "mae_energy_kwh": float(w @ self.errors["mae_energy_kwh"]),
            "capped_kwh": float(n @ self.errors["capped_kwh"]),
        }


def _kmeans_labels(x: npt.NDArray[np.float64], k: int, seed: int) -> npt.NDArray[np.int64]:
    from sklearn.cluster import KMeans

    distinct = np.unique(x, axis=0).shape[0]
    k = max(1, min(k, distinct))
    if k == 1:
        return np.zeros(len(x), dtype=np.int64)
    km = KMeans(n_clusters=k, n_init=4, random_state=seed % 2**32).fit(x)
    return np.asarray(km.labels_, dtype=np.int64)


def group_users(users: pd.DataFrame, n_classes: int, seed: int) -> Grouping:
    """Group users of each contract type into at most ``n_classes`` follower classes.

    k-means (scikit-learn, ``n_init=4``, seeded) on (start hour, end hour, hours of
    charging needed ``E/P``). A class's representative user has the rounded median window,
    the mean charger power and the mean energy (cut to ``P·(end − start)`` if the median
    window is too short; the cut is reported as ``capped_kwh``). The grouping error is
    the members' mean absolute deviation from their representative; its effect on the
    aggregator's profit is measured by the study (prices evaluated on every user).
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise InputError("n_classes", n_classes, "must be an integer >= 1")
    rows: list[dict[str, Any]] = []
    errs: list[dict[str, Any]] = []
    member = pd.Series("", index=users.index, dtype=object)
    for contract in CONTRACTS:
        sub = users[users["contract"] == contract]
        if sub.empty:
            continue
        feats = np.column_stack([sub["start_h"], sub["end_h"], sub["energy_kwh"] / sub["p_max_kw"]])
        labels = _kmeans_labels(feats.astype(float), n_classes, seed)
        for lab in np.unique(labels):
            m = sub[labels == lab]
            cid = f"{contract}{len([r for r in rows if r['contract'] == contract])}"
            a = int(np.round(m["start_h"].median()))
            b = max(int(np.round(m["end_h"].median())), a + 1)
            p = float(m["p_max_kw"].mean())
            e = float(m["energy_kwh"].mean())
            rows.append(
                {
                    "class_id": cid,
                    "contract": contract,
                    "start_h": a,
                    "end_h": b,
                    "energy_kwh": min(e, p * (b - a)),
                    "p_max_kw": p,
                    "n_users": len(m),
                }
            )
            errs.append(
                {
                    "class_id": cid,
                    "mae_start_h": float(np.abs(m["start_h"] - a).mean()),
                    "mae_end_h": float(np.abs(m["end_h"] - b).mean()),
                    "mae_energy_kwh": float(np.abs(m["energy_kwh"] - e).mean()),
                    "capped_kwh": max(0.0, e - p * (b - a)),
                }
            )
            member[m.index] = cid
    classes = pd.DataFrame(rows).set_index("class_id")
    return Grouping(classes, member.rename("class_id"), pd.DataFrame(errs).set_index("class_id"))
