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

The centralised optimum maximises W over the same users' station assignment (the
game's choice probabilities, so the same expected reference demand D⁰): prices
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
import scipy.sparse as sp

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

    Scaling (the first formulation, in prices [EUR/MWh] next to the OPF's per-unit
    powers, ended ``optimal_inaccurate`` in Clarabel): the planner's price decision is
    the relative deviation y = (C − C^ref)/C^ref ∈ [C^min/C^ref − 1, C^max/C^ref − 1]
    (order 1), so that D = D⁰ + E y with E = ε ∘ √(D⁰ D⁰ᵀ) [MW] (:func:`demand_slopes`
    · C^ref) and U = Δt C^ref (Σ_t D_t − ½ yᵀ (−sym E) y) [EUR]; all aggregators'
    variables are (K, T) matrices.

    Returns
    -------
    welfare_eur, opf, demand_mw
        W without the users' time and distance costs [EUR], the OPF solution and the
        planner's demand per station (K, T) [MW].
    """
    d0 = np.asarray(d0_mw, dtype=float)
    k_n, t = d0.shape
    dt = dso.model.dt_h
    e_blk = sp.block_diag([demand_slopes(eps, d, c_ref) * c_ref for d in d0], format="csr")
    roots = []
    for k in range(k_n):
        e = e_blk[k * t : (k + 1) * t, k * t : (k + 1) * t].toarray()
        w, v = np.linalg.eigh(-(e + e.T) / 2.0)
        roots.append(v * np.sqrt(np.maximum(w, 0.0))[None, :])
    root = sp.block_diag(roots, format="csr")

    def col(name: str) -> FloatArray:
        return np.array([[getattr(s, name)] for s in specs], dtype=float)

    y = cp.Variable((k_n, t))
    rc, rd, eb, es = (cp.Variable((k_n, t), nonneg=True) for _ in range(4))
    soc = cp.Variable((k_n, t + 1))
    dem = d0 + cp.reshape(e_blk @ cp.vec(y, order="C"), (k_n, t), order="C")
    utility = c_ref * (cp.sum(dem) - 0.5 * cp.sum_squares(root.T @ cp.vec(y, order="C")))
    cost = dt * (
        -utility
        + cp.sum(rt_buy @ eb.T)
        - cp.sum(rt_sell @ es.T)
        + cp.sum(cp.multiply(col("wear_eur_per_mwh"), rc + rd))
        + cp.sum(cp.multiply(col("wear_quad_eur_per_mw2h"), cp.square(rc) + cp.square(rd)))
    )
    r_mw, s_mwh = col("storage_kw") / 1e3, col("storage_kwh") / 1e3
    cons = [
        y >= col("price_min_eur_per_mwh") / c_ref - 1.0,
        y <= col("price_max_eur_per_mwh") / c_ref - 1.0,
        dem >= 0,
        dem + rc - rd + es - eb >= 0,  # contract purchase E^c ≥ 0
        eb <= np.array([[s.m_mw] for s in specs]),
        es <= rd,
        rc <= r_mw,
        rd <= r_mw,
        soc[:, 1:]
        == soc[:, :-1]
        + dt * (cp.multiply(col("eta_ch"), rc) - cp.multiply(1 / col("eta_dis"), rd)),
        soc >= 0,
        soc <= s_mwh,
        soc[:, 0:1] == 0.5 * s_mwh,
        soc[:, t : t + 1] >= soc[:, 0:1],
    ]
    sol = dso.solve_joint(dem + rc - rd, cost, cons)
    return -float(sol.opf.objective_eur), sol, np.asarray(dem.value, dtype=float)
