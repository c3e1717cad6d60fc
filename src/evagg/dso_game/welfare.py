"""Welfare of the three parties and the centralised social optimum (beyond seed 000).

Welfare of a day (transfers between DSO, aggregators and users cancel):

.. math::

    W = \\sum_k U_k(D_k) - \\text{OPF objective} - \\sum_k Δt \\sum_t (C^b_t E^b_{k,t}
        - C^s_t E^s_{k,t} + c^{deg}(r^c + r^d)) - \\text{users' time and distance costs}

with the users' gross utility of the elastic demand, the integral of the inverse demand
C(D) = C^ref + S^{-1}(D − D⁰) (S = :func:`demand_slopes`, symmetric for a symmetric ε),
written in the prices that produce D (:func:`utility_eur`):

.. math::

    U_k = Δt \\big( C^{ref} \\textstyle\\sum_t D_t
        + \\tfrac12 (C - C^{ref})^T S (C - C^{ref}) \\big).

The centralised optimum maximises W over the same users' station assignment: prices
C ∈ [C^min, C^max] (so D within the elastic demand's range), storage and real-time trades
without the exclusivity binaries (a relaxation: its W is an upper bound even of the
binary problem), and the DSO's OPF, all in one SOCP. Every game outcome with that
assignment is feasible for it, so W(central) ≥ W(game) holds by construction; the
price of anarchy is W(central) / W(game).
"""

from __future__ import annotations

from collections.abc import Sequence

import cvxpy as cp
import numpy as np
import numpy.typing as npt

from evagg.dso_game.aggregator import AggregatorSpec, demand_slopes
from evagg.dso_game.dso import DSOAdapter, DSOSolution

__all__ = ["central_optimum", "utility_eur"]

FloatArray = npt.NDArray[np.float64]


def utility_eur(
    eps: FloatArray, d0_mw: FloatArray, c_ref: float, price: FloatArray, dt_h: float
) -> float:
    """Users' gross utility U of one station's demand at charging prices ``price`` [EUR].

    With D = D⁰ + S (C − C^ref) (S = :func:`demand_slopes`, symmetric for a symmetric ε)
    the integral of the inverse demand is
    U = Δt (C^ref Σ_t D_t + ½ (C − C^ref)ᵀ S (C − C^ref)); written in prices it stays well
    scaled (S⁻¹ has entries ~1e5 on small demands).
    """
    a = demand_slopes(eps, d0_mw, c_ref)
    s = (a + a.T) / 2.0
    y = np.asarray(price, dtype=float) - c_ref
    dem = d0_mw + a @ y
    return float(dt_h * (c_ref * dem.sum() + 0.5 * y @ s @ y))


def central_optimum(
    dso: DSOAdapter,
    specs: Sequence[AggregatorSpec],
    eps: FloatArray,
    c_ref: float,
    d0_mw: FloatArray,
    rt_buy: FloatArray,
    rt_sell: FloatArray,
) -> tuple[float, DSOSolution, FloatArray]:
    """Maximise welfare (without the users' fixed time costs) in one SOCP.

    Returns
    -------
    welfare_eur, opf, demand_mw
        W without the users' time and distance costs [EUR], the OPF solution and the
        planner's demand per station (K, T) [MW].
    """
    t = d0_mw.shape[1]
    dt = dso.model.dt_h
    cost_terms, cons, withdrawals, demands = [], [], [], []
    for k, spec in enumerate(specs):
        d0 = d0_mw[k]
        a = demand_slopes(eps, d0, c_ref)
        c = cp.Variable(t)
        dem = d0 + a @ (c - c_ref)
        rc, rd, eb, es = (cp.Variable(t, nonneg=True) for _ in range(4))
        soc = cp.Variable(t + 1)
        r, smax = spec.storage_kw / 1e3, spec.storage_kwh / 1e3
        w_eig, v = np.linalg.eigh(-(a + a.T) / 2.0)
        root = v * np.sqrt(np.maximum(w_eig, 0.0))[None, :]
        util = c_ref * cp.sum(dem) - 0.5 * cp.sum_squares(root.T @ (c - c_ref))
        cost_terms.append(
            dt
            * (
                -util
                + rt_buy @ eb
                - rt_sell @ es
                + spec.wear_eur_per_mwh * cp.sum(rc + rd)
                + spec.wear_quad_eur_per_mw2h * (cp.sum_squares(rc) + cp.sum_squares(rd))
            )
        )
        cons += [
            c >= spec.price_min_eur_per_mwh,
            c <= spec.price_max_eur_per_mwh,
            dem >= 0,
            dem + rc - rd + es - eb >= 0,  # contract purchase E^c ≥ 0
            eb <= spec.m_mw,
            es <= rd,
            rc <= r,
            rd <= r,
            soc[1:] == soc[:-1] + dt * (spec.eta_ch * rc - rd / spec.eta_dis),
            soc >= 0,
            soc <= smax,
            soc[0] == 0.5 * smax,
            soc[t] >= soc[0],
        ]
        withdrawals.append(dem + rc - rd)
        demands.append(dem)
    sol = dso.solve_joint(cp.vstack(withdrawals), cp.sum(cp.hstack(cost_terms)), cons)
    demand = np.array([np.asarray(d.value, dtype=float) for d in demands])
    return -float(sol.opf.objective_eur), sol, demand
