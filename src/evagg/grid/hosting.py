"""Hosting capacity: the largest number of identical units a feeder hosts at one bus.

Problem (one SOCP, the OPF's builders plus one variable): maximise n subject to the
DistFlow OPF with n · (per-unit withdrawal profile) added at the bus, 0 ≤ n ≤ n̄. The
objective is ``w · (−n) + cost`` with the weight w [EUR per unit] far above a unit's
energy cost, so n is lexicographically first: n* is the largest fleet within the
voltage band and line limits (the cost only breaks ties). Since n* does not depend on
the tie-break, the price enters as max(price, 1 EUR/MWh): the objective then increases
with the losses, the condition under which the relaxation is exact (Gan, Li, Topcu &
Low, IEEE TAC 2015), also on negative-price days (the convex–concave remedy works here
too, but the −w·n term makes its iterates poorly conditioned: measured 30 solves,
mostly ``optimal_inaccurate``, on 2024-05-12). Verified like every OPF (relaxation gap,
AC power flow). The OPF at the hosted fleet with the real prices is the caller's.
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

__all__ = ["TIE_BREAK_MIN_EUR_PER_MWH", "HostingResult", "hosting_capacity"]

TIE_BREAK_MIN_EUR_PER_MWH = 1.0
"""Floor of the tie-break price in the hosting problem [EUR/MWh] (keeps it exact)."""


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
    price = as_finite_array("price_eur_per_mwh", price_eur_per_mwh)
    model.set_price(np.maximum(price, TIE_BREAK_MIN_EUR_PER_MWH))
    res = model.solve(solver)
    return HostingResult(float(np.asarray(n_var.value).item()), res)
