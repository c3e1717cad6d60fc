"""Hosting capacity: the largest number of identical units a feeder hosts at one bus.

Problem (one SOCP, the OPF's builders plus one variable): maximise n subject to the
DistFlow OPF with n · (per-unit withdrawal profile) added at the bus, 0 ≤ n ≤ n̄. The
objective is ``w · (−n) + cost`` with the weight w [EUR per unit] far above a unit's
energy cost, so n is lexicographically first: n* is the largest fleet within the
voltage band and line limits (the cost only breaks ties). Since n* does not depend on
the tie-break, the price enters as max(price, 1 EUR/MWh): the objective then increases
with the losses, the condition under which the relaxation is exact (Gan, Li, Topcu &
Low, IEEE TAC 2015), also on negative-price days. The −w·n term itself rewards load,
so the one-SOCP answer can still be inexact (2023-12-31: relative gap 1.3e-4, an
overestimate); then n* is found by bisection between 0 and that upper bound on
fixed-n OPFs, each exact, where relaxation feasibility is AC feasibility (the
convex–concave remedy was tried here: its iterates were ``optimal_inaccurate`` for 30
solves). The returned OPF is verified (relaxation gap, AC power flow). The OPF at the
hosted fleet with the real prices is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from evagg._checks import as_finite_array
from evagg.errors import InfeasibleError, InputError
from evagg.grid.distflow import DPP_MAX_PARAM_ENTRIES, DistFlowModel, DistFlowOptions, OPFResult
from evagg.grid.feeder import Feeder
from evagg.optim.core import solve_cvxpy

__all__ = ["TIE_BREAK_MIN_EUR_PER_MWH", "HostingResult", "hosting_capacity"]

BISECTION_TOL_UNITS = 1e-2
"""Width of the final bisection bracket [units] (the studies round n down)."""

TIE_BREAK_MIN_EUR_PER_MWH = 1.0
"""Floor of the tie-break price in the hosting problem [EUR/MWh] (keeps it exact)."""


@dataclass(frozen=True)
class HostingResult:
    """Largest hosted number of units [-] and the verified OPF at it."""

    n_units: float
    opf: OPFResult
    n_solves: int = 1


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
    price = np.maximum(
        as_finite_array("price_eur_per_mwh", price_eur_per_mwh), TIE_BREAK_MIN_EUR_PER_MWH
    )
    relaxed = replace(options, remedy="none", accept_inexact=True)
    model = DistFlowModel(feeder, t, dt_h, relaxed, time_index)
    n_var = cp.Variable(nonneg=True, name="n_units")
    model.add_injection(-model.bus_selector([bus]) @ (n_var * prof[None, :]))
    model.add_constraints([n_var <= float(max_units)])
    model.add_cost(-weight_eur_per_unit * n_var)
    model.set_loads(p_load_mw, q_load_mvar)
    model.set_price(price)
    res = model.solve(solver, verify=False)
    n_up = float(np.asarray(n_var.value).item())
    if res.relaxation_gap_rel <= options.relaxation_tol:
        return HostingResult(n_up, model.solve(solver), 1)
    # inexact (the −w·n term rewards load): bisection on n with fixed-n OPFs, each exact
    # (cost increasing in the losses), so "relaxation feasible" = "AC feasible"
    fixed = DistFlowModel(feeder, t, dt_h, options, time_index)
    n_par = cp.Parameter(nonneg=True, name="n_units")
    fixed.add_injection(-fixed.bus_selector([bus]) @ (n_par * prof[None, :]))
    fixed.set_loads(p_load_mw, q_load_mvar)
    fixed.set_price(price)
    lo, hi, solves = 0.0, n_up, 1
    prob, dpp = fixed.build(), fixed.param_entries <= DPP_MAX_PARAM_ENTRIES
    while hi - lo > BISECTION_TOL_UNITS:
        n_par.value = 0.5 * (lo + hi)
        solves += 1
        try:  # feasibility only: no diagnosis, no verification until the end
            solve_cvxpy(
                prob, name="hosting_bisection", kind="socp", solver=solver, ignore_dpp=not dpp
            )
            lo = float(n_par.value)
        except InfeasibleError:
            hi = float(n_par.value)
    n_par.value = lo
    return HostingResult(lo, fixed.solve(solver), solves)
