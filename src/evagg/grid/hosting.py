"""Hosting capacity: the largest number of identical units a feeder hosts at one bus.

Problem (one SOCP, the OPF's builders plus one variable): maximise n subject to the
DistFlow OPF with n · (per-unit withdrawal profile) added at the bus, 0 ≤ n ≤ n̄. The
objective is ``w · (−n) + cost`` with the weight w [EUR per unit] far above a unit's
energy cost, so n is lexicographically first: n* is the largest fleet within the
voltage band and line limits (the cost only breaks ties). Verified like every OPF
(relaxation gap, AC power flow); a negative price is handled by the OPF's remedy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from evagg._checks import as_finite_array
from evagg.errors import InputError
from evagg.grid.distflow import DistFlowModel, DistFlowOptions, OPFResult
from evagg.grid.feeder import Feeder

__all__ = ["HostingResult", "hosting_capacity"]


@dataclass(frozen=True)
class HostingResult:
    """Largest hosted number of units [-] and the verified OPF at it."""

    n_units: float
    opf: OPFResult


def hosting_capacity(
    feeder: Feeder,
    unit_profile_mw: Any,
    bus: int,
    *,
    p_load_mw: Any,
    q_load_mvar: Any | None,
    price_eur_per_mwh: Any,
    options: DistFlowOptions,
    time_index: pd.Index | None = None,
    dt_h: float = 1.0,
    max_units: float = 5000.0,
    weight_eur_per_unit: float = 100.0,
    solver: str | None = None,
) -> HostingResult:
    """Hosting capacity of ``bus`` for units withdrawing ``unit_profile_mw`` (T,) [MW].

    Parameters
    ----------
    feeder, options, time_index, dt_h, solver
        As for :class:`evagg.grid.DistFlowModel`.
    unit_profile_mw
        Withdrawal of one unit per slot [MW] (e.g. one EV's expected charging).
    bus
        pandapower bus index of the units.
    p_load_mw, q_load_mvar, price_eur_per_mwh
        Other loads (N, T) [MW, Mvar] and the substation price (T,) [EUR/MWh].
    max_units
        Upper bound n̄ of the search [-].
    weight_eur_per_unit
        Objective weight of one hosted unit [EUR]; must exceed a unit's energy cost.
    """
    prof = as_finite_array("unit_profile_mw", unit_profile_mw)
    t = prof.size
    if prof.ndim != 1 or t < 1:
        raise InputError("unit_profile_mw", prof.shape, "must be a 1-D per-slot profile")
    if not (np.isfinite(max_units) and max_units > 0):
        raise InputError("max_units", max_units, "must be a positive number")
    model = DistFlowModel(feeder, t, dt_h, options, time_index)
    n_var = cp.Variable(nonneg=True, name="n_units")
    model.add_injection(-model.bus_selector([bus]) @ (n_var * prof[None, :]))
    model.add_constraints([n_var <= float(max_units)])
    model.add_cost(-weight_eur_per_unit * n_var)
    model.set_loads(p_load_mw, q_load_mvar)
    model.set_price(price_eur_per_mwh)
    res = model.solve(solver)
    return HostingResult(float(np.asarray(n_var.value).item()), res)
