"""The EV aggregator's bids and reliable power from :mod:`evagg.reliability`.

The microgrid needs power (kW) per slot, so the slot model must use the power basis:
each present vehicle offers ``min(η·E_{i,t}, P_dis·Δt)`` kWh in the slot (see
``docs/reliability.md``: the seed's 950–1300 "kWh" are not deliverable by 74 vehicles
within 15 minutes). The bid at reliability τ is the exact model's safe bid (true
reliability ≥ τ), divided by Δt; the reliable power is the bid at 0.95.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evagg.errors import InputError
from evagg.fleet import Fleet
from evagg.reliability import SlotModel, poisson_binomial_batch

__all__ = ["check_levels", "eva_bids", "fleet_limits"]


def check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    """Reliability levels in (0, 1]; raises ``InputError`` naming the bad value."""
    out = []
    for r in levels:
        r = float(r)
        if not (np.isfinite(r) and 0 < r <= 1):
            raise InputError("reliability", r, "must lie in (0, 1]")
        out.append(r)
    if not out:
        raise InputError("reliability", levels, "give at least one level")
    return tuple(out)


def eva_bids(model: SlotModel, levels: Sequence[float] = (0.95, 0.84, 0.55)) -> pd.DataFrame:
    """Bid per slot at each reliability level [kW] (columns = levels), exact model.

    A level of 1 gives the surely deliverable power (vehicles present with probability 1).
    """
    lv = check_levels(levels)
    if model.basis != "power":
        raise InputError("model.basis", model.basis, "the microgrid needs basis='power'")
    dt_h = float((model.p.index[1] - model.p.index[0]) / pd.Timedelta(hours=1))
    dists = poisson_binomial_batch(model.p.to_numpy(float), model.v_kwh.to_numpy(float))
    data = {r: [d.quantile_bid(min(r, 1 - 1e-9)) / dt_h for d in dists] for r in lv}
    return pd.DataFrame(data, index=model.p.index)


def fleet_limits(fleet: Fleet) -> tuple[float, float]:
    """(battery capacity Σ BE [kWh], apparent-power limit Σ P_dis [kVA]) of the V2G fleet."""
    veh = fleet.vehicles[fleet.vehicles["v2g"].astype(bool)]
    return float(veh["battery_kwh"].sum()), float(veh["max_discharge_kw"].sum())
