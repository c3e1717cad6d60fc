"""User classification from charging histories (seed 003 §2, Table 1).

Features per vehicle (from its sessions over the fleet period of ``D`` days):

- ``qd_kwh_per_day``: desired charge value Q̄d = metered energy / D [kWh/day];
- ``interval_h``: desired charge interval In = 24·D / number of sessions [h];
- ``work_time_share``: share of sessions arriving on weekdays 09:00–17:00 (the seed's
  commuter working hours), describing the habitual charge period.

Rule (Table 1): residential Q̄d ≤ 3 and In > 45 h; short commute 3 < Q̄d ≤ 6 and
12 < In ≤ 45 h; long commute Q̄d > 6 and In ≤ 12 h. When the two criteria disagree
Q̄d decides (the seed lists it first) and ``rule_consistent`` is False.

Clustering option: k-means (scikit-learn, k = 3) on standardised
``log Q̄d, log In, work_time_share``; clusters are named by their mean Q̄d (lowest:
residential, highest: long commute).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evagg.errors import InputError
from evagg.fleet import Fleet

__all__ = ["classify_users", "compare_classifications", "user_features"]

_QD = (3.0, 6.0)
_IN = (12.0, 45.0)


def user_features(fleet: Fleet) -> pd.DataFrame:
    """Q̄d [kWh/day], In [h] and work-time share per vehicle (vehicles without sessions: NaN)."""
    s = fleet.sessions
    arr = s["arrival"]
    hour = arr.dt.hour + arr.dt.minute / 60.0
    work = (arr.dt.dayofweek < 5) & (hour >= 9.0) & (hour < 17.0)
    g = s.assign(work=work.astype(float)).groupby("vehicle_id")
    days = (fleet.end - fleet.start) / pd.Timedelta(days=1)
    out = pd.DataFrame(
        {
            "qd_kwh_per_day": g["energy_kwh"].sum() / days,
            "interval_h": 24.0 * days / g.size(),
            "work_time_share": g["work"].mean(),
            "n_sessions": g.size(),
        }
    )
    return out.reindex(fleet.vehicle_ids)


def _rule(f: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    qd = f["qd_kwh_per_day"].to_numpy(float)
    iv = f["interval_h"].to_numpy(float)
    by_qd = np.where(
        qd <= _QD[0], "residential", np.where(qd <= _QD[1], "short_commute", "long_commute")
    )
    by_in = np.where(
        iv > _IN[1], "residential", np.where(iv > _IN[0], "short_commute", "long_commute")
    )
    return by_qd, by_qd == by_in


def classify_users(
    fleet: Fleet, method: str = "rule", seed: int | np.random.Generator | None = 0
) -> pd.DataFrame:
    """Classify the fleet's users into seed 003 Table 1 classes.

    Parameters
    ----------
    fleet
        Fleet with sessions.
    method
        ``"rule"`` (Table 1 thresholds) or ``"kmeans"`` (data-driven clustering).
    seed
        Seed of k-means initialisation.

    Returns
    -------
    pandas.DataFrame
        :func:`user_features` plus ``user_type`` and (rule) ``rule_consistent``.
    """
    f = user_features(fleet)
    has = f["n_sessions"].notna().to_numpy()
    if not has.any():
        raise InputError("fleet.sessions", 0, "no sessions to classify")
    f = f.copy()
    if method == "rule":
        lab, ok = _rule(f.fillna({"qd_kwh_per_day": 0.0, "interval_h": np.inf}))
        f["user_type"] = np.where(has, lab, "unknown")
        f["rule_consistent"] = ok & has
        return f
    if method != "kmeans":
        raise InputError("method", method, "must be 'rule' or 'kmeans'")
    from sklearn.cluster import KMeans

    x = np.column_stack(
        [
            np.log(f["qd_kwh_per_day"].to_numpy(float)[has] + 0.1),
            np.log(f["interval_h"].to_numpy(float)[has]),
            f["work_time_share"].to_numpy(float)[has],
        ]
    )
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    k = min(3, int(has.sum()))
    rs = seed if isinstance(seed, int) else int(np.random.default_rng(seed).integers(2**31))
    km = KMeans(n_clusters=k, n_init=10, random_state=rs).fit(x)
    qd = f["qd_kwh_per_day"].to_numpy(float)[has]
    means = np.array([qd[km.labels_ == c].mean() for c in range(k)])
    names = ["residential", "short_commute", "long_commute"][:k] if k == 3 else None
    order = np.argsort(means)
    mapping = {int(c): (names[i] if names else f"cluster{i}") for i, c in enumerate(order)}
    lab = np.full(len(f), "unknown", dtype=object)
    lab[has] = [mapping[int(c)] for c in km.labels_]
    f["user_type"] = lab
    return f


def compare_classifications(
    fleet: Fleet, seed: int | np.random.Generator | None = 0
) -> pd.DataFrame:
    """Rule-based vs k-means (and the fleet's own labels if known) on the same fleet.

    Returns a table with one row per class and columns: number of vehicles per method,
    mean Q̄d and In of the rule classes, and the agreement of k-means and of the
    synthetic labels with the rule (share of vehicles of the rule class given the same
    label). The overall agreement and adjusted Rand index are in ``attrs``.
    """
    from sklearn.metrics import adjusted_rand_score

    rule = classify_users(fleet, "rule")
    km = classify_users(fleet, "kmeans", seed=seed)
    truth = fleet.vehicles["user_type"]
    rows = []
    for t in ("short_commute", "long_commute", "residential"):
        m = rule["user_type"] == t

        def _mean(x: pd.Series, m: pd.Series = m) -> float:
            return float(x[m].mean()) if m.any() else float("nan")

        row = {
            "user_type": t,
            "n_rule": int(m.sum()),
            "n_kmeans": int((km["user_type"] == t).sum()),
            "n_fleet_label": int((truth == t).sum()),
            "qd_mean_kwh_per_day": _mean(rule["qd_kwh_per_day"]),
            "interval_mean_h": _mean(rule["interval_h"]),
            "rule_consistent_share": _mean(rule["rule_consistent"].astype(float)),
            "kmeans_agrees_share": _mean((km["user_type"] == t).astype(float)),
            "fleet_label_agrees_share": _mean((truth == t).astype(float)),
        }
        rows.append(row)
    out = pd.DataFrame(rows).set_index("user_type")
    out.attrs["kmeans_vs_rule_agreement"] = float((km["user_type"] == rule["user_type"]).mean())
    out.attrs["kmeans_vs_rule_ari"] = float(adjusted_rand_score(rule["user_type"], km["user_type"]))
    if (truth != "unknown").any():
        out.attrs["rule_vs_label_agreement"] = float((truth == rule["user_type"]).mean())
    return out
