"""Allocation of bids across vehicles over several slots, and user-mix curves.

Allocation (seed 003 §5.3.1(2), eq. 19, Table 7). In each bid slot, among the vehicles
actually plugged in:

- ``"priority"``: vehicles ranked by SOC at the start of the slot (highest first)
  discharge their remaining V2G energy in turn until the bid is covered (the last one
  only partly); the bid is met iff ``Σ_{present} E_{i,t} ≥ C_t`` (eq. 19);
- ``"equal"``: every present vehicle is asked for ``C_t / m`` (m present vehicles) and
  delivers ``min(C_t/m, E_{i,t})``; the bid is met iff the deliveries add up to ``C_t``.

Energies are updated slot to slot (eq. 8): ``E_{i,t+1} = E_{i,t} − Q_{i,t}``; SOC is
``(0.2·BE + H_av + E_{i,t}) / BE`` (start of day: 0.8·BE of usable energy).

evagg changes: the seed lets a selected vehicle release all its V2G energy; here it
releases only what the bid still needs, so no energy is wasted on over-delivery; equal
shares are among vehicles present (among all contracted vehicles, any absence would
fail the bid). Reliability is estimated by Monte Carlo: each sample draws, for every
vehicle independently, one history day and uses that day's presence in all bid slots
(so a vehicle's presence in the two slots keeps its real correlation).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evagg.errors import InputError
from evagg.fleet import Fleet
from evagg.reliability.curves import reliability_curves
from evagg.reliability.model import SlotModel, build_slot_model, presence_by_day

__all__ = ["allocation_reliability", "user_mix_curves"]

SEED_MIXES: dict[str, tuple[float, float, float]] = {
    "1.5:1:0.25": (1.5, 1.0, 0.25),
    "1:1:0.25": (1.0, 1.0, 0.25),
    "1:1:0.5": (1.0, 1.0, 0.5),
    "0.5:1:0.5": (0.5, 1.0, 0.5),
}
"""Seed 003 Table 8 mixes, long commute : short commute : residential."""


def allocation_reliability(
    fleet: Fleet,
    day: Any,
    slots: Sequence[str],
    bids_kwh: Any,
    rules: Sequence[str] = ("priority", "equal"),
    n_samples: int = 20_000,
    window_days: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Reliability of several bid slots in one day under each allocation rule.

    Parameters
    ----------
    fleet
        Fleet with history before ``day``.
    day
        Target day.
    slots
        Bid slots in time order (``"10:00"``, ``"18:30"``).
    bids_kwh
        Array rows × len(slots): each row is one bid scenario (``C_{t1}``, ``C_{t2}``, ...)
        [kWh of V2G energy].
    rules
        ``"priority"`` and/or ``"equal"``.
    n_samples
        Monte Carlo samples (bootstrap of history days per vehicle).
    window_days
        History length.
    seed
        Seed; same seed, same estimate.

    Returns
    -------
    pandas.DataFrame
        One row per (bid row, slot, rule): ``bid_kwh``, ``reliability``, ``std_error``.
    """
    bids = np.atleast_2d(np.asarray(bids_kwh, dtype=float))
    if bids.shape[1] != len(slots):
        raise InputError("bids_kwh", bids.shape, f"need {len(slots)} columns (one per slot)")
    if np.any(~np.isfinite(bids)) or np.any(bids < 0):
        raise InputError("bids_kwh", bids_kwh, "need finite bids >= 0")
    bad = [r for r in rules if r not in ("priority", "equal")]
    if bad:
        raise InputError("rules", bad, "must be 'priority' or 'equal'")
    model = build_slot_model(fleet, day, window_days=window_days)
    ts = [model.slot(s) for s in slots]
    if any(b <= a for a, b in itertools.pairwise(ts)):
        raise InputError("slots", list(slots), "must be in increasing time order")
    days, pres = presence_by_day(fleet)
    # the same history days the presence probabilities were fitted on (same day type)
    if model.history_days is not None:
        hist = days.get_indexer(model.history_days)
    else:
        hist = np.flatnonzero(days < model.day)[-model.n_history_days :]
    dt = pd.Timedelta(fleet.step)
    k_slot = [int((t.tz_localize(None) - t.tz_localize(None).normalize()) // dt) for t in ts]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = fleet.n_vehicles
    draw = rng.choice(hist, size=(int(n_samples), n))  # history day per sample, vehicle
    present = np.stack([pres[draw, k, np.arange(n)[None, :]] for k in k_slot])  # (slots, S, N)
    e0 = model.energy["e_start_kwh"].to_numpy(float)
    battery = fleet.vehicles["battery_kwh"].to_numpy(float)
    reserve = 0.2 * battery + model.energy["h_av_hi_kwh"].clip(lower=0).to_numpy(float)
    rows = []
    for rule in rules:
        for b_i, brow in enumerate(bids):
            e = np.broadcast_to(e0, (int(n_samples), n)).copy()
            for s_i, c in enumerate(brow):
                pr = present[s_i]
                avail = np.where(pr, e, 0.0)
                if rule == "priority":
                    soc = np.where(pr, (reserve + e) / battery, -np.inf)
                    order = np.argsort(-soc, axis=1, kind="stable")
                    a_sorted = np.take_along_axis(avail, order, axis=1)
                    before = np.cumsum(a_sorted, axis=1) - a_sorted
                    q_sorted = np.clip(c - before, 0.0, a_sorted)
                    q = np.empty_like(q_sorted)
                    np.put_along_axis(q, order, q_sorted, axis=1)
                    met = avail.sum(axis=1) >= c - 1e-9
                else:
                    m = pr.sum(axis=1)
                    share = np.where(m > 0, c / np.maximum(m, 1), np.inf)
                    q = np.where(pr, np.minimum(share[:, None], e), 0.0)
                    met = (m > 0) & (q.sum(axis=1) >= c - 1e-9) | (c <= 0)
                e = e - q
                r = float(met.mean())
                rows.append(
                    {
                        "row": b_i,
                        "slot": ts[s_i],
                        "rule": rule,
                        "bid_kwh": float(c),
                        "reliability": r,
                        "std_error": float(np.sqrt(r * (1 - r) / n_samples)),
                    }
                )
    return pd.DataFrame(rows)


def _subset_model(model: SlotModel, ids: pd.Index) -> SlotModel:
    return SlotModel(
        day=model.day,
        p=model.p[ids],
        v_kwh=model.v_kwh[ids],
        energy=model.energy.loc[ids],
        basis=model.basis,
        n_history_days=model.n_history_days,
        history_days=model.history_days,
    )


def user_mix_curves(
    fleet: Fleet,
    day: Any,
    slot: str,
    bids_kwh: Any,
    mixes: Mapping[str, tuple[float, float, float]] | None = None,
    n_vehicles: int = 74,
    method: str = "poisson",
    type_column: str = "user_type",
    seed: int | np.random.Generator | None = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reliability curves for different user mixes (seed 003 Table 8, Fig. 7).

    For each mix (long commute : short commute : residential) ``n_vehicles`` vehicles are
    drawn without replacement from ``fleet`` by type; the model of ``day`` is restricted
    to them.

    Returns
    -------
    (lambdas, curves)
        ``lambdas``: per mix, counts per type, ``λ`` of the slot and the bid at 0.95;
        ``curves``: mix × bid reliability table.
    """
    mixes = dict(SEED_MIXES if mixes is None else mixes)
    model = build_slot_model(fleet, day)
    t = model.slot(slot)
    types = fleet.vehicles[type_column]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    order = ("long_commute", "short_commute", "residential")
    lam_rows, curves = [], {}
    for name, w in mixes.items():
        w_arr = np.asarray(w, dtype=float)
        if w_arr.shape != (3,) or np.any(w_arr < 0) or w_arr.sum() <= 0:
            raise InputError("mixes", {name: w}, "need 3 proportions >= 0 (long:short:res)")
        counts = np.floor(w_arr / w_arr.sum() * n_vehicles).astype(int)
        counts[np.argmax(w_arr)] += n_vehicles - counts.sum()
        ids: list[str] = []
        for typ, c in zip(order, counts, strict=True):
            pool = types.index[types == typ]
            if len(pool) < c:
                raise InputError(
                    "fleet",
                    f"{len(pool)} {typ}",
                    f"mix {name} needs {c} {typ} vehicles; synthesize a larger fleet",
                )
            ids.extend(rng.choice(pool.to_numpy(), size=c, replace=False).tolist())
        sub = _subset_model(model, pd.Index(ids))
        rel, c95 = reliability_curves(sub, bids_kwh, method)
        curves[name] = rel.iloc[model.pos(t)]
        lam_rows.append(
            {
                "mix": name,
                **{f"n_{typ}": int(c) for typ, c in zip(order, counts, strict=True)},
                "lambda": float(sub.p.to_numpy()[model.pos(t)].sum()),
                "bid_at_095_kwh": float(c95.to_numpy()[model.pos(t)]),
            }
        )
    return pd.DataFrame(lam_rows).set_index("mix"), pd.DataFrame(curves).T
