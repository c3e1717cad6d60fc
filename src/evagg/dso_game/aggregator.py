r"""An EV aggregator's best response to the DSO's DLMPs (seed 000 §4, eqs. 14–21).

Per slot t (length Δt [h]) powers in MW, prices in EUR/MWh. Decision: the service-fee
coefficient ``e_h`` per fee period h (an hour on 15-min slots; seed §5.3's e_k "in t
period"), contract purchase ``E^c_t`` at the DLMP λ_t, real-time purchase ``E^b_t`` and
sale ``E^s_t``, storage charge ``r^c_t`` / discharge ``r^d_t``, stored energy ``s_t``,
binaries ``z_t`` (real-time state) and ``u_t`` (storage state). The charging price is
DLMP + service fee (§4 end), the fee discounted by the users' points (§5.3):
``C_t = λ_t + φ̄_t e_{h(t)}``, φ̄_t the demand-weighted discount of the station's users.

.. math::

    \max\ Δt \sum_t ( C_t D_t(C) + C^s_t E^s_t - λ_t E^c_t - C^b_t E^b_t
        - c^{deg} (r^c_t + r^d_t) - c^q ((r^c_t)^2 + (r^d_t)^2) )                 (14)

    C^{min} \le C_t \le C^{max},\ e^{lo}_h \le e_h \le e^{hi}_h              (15)

    \sum_t w_t C_t \le C^{av},\ w_t = D^0_t / \sum_s D^0_s                  (16)

    D_t(C) + r^c_t - r^d_t + E^s_t = E^c_t + E^b_t                          (17)

    E^c_t \ge 0,\ 0 \le E^b_t \le M z_t                                    (18)

    0 \le E^s_t \le r^d_t,\ E^s_t \le \bar R (1 - z_t)                       (19)

    s_t = s_{t-1} + Δt (η^c r^c_t - r^d_t / η^d),\ 0 \le s_t \le \bar S     (20)

    0 \le r^c_t \le \bar R u_t,\ 0 \le r^d_t \le \bar R (1 - u_t)         (21)

with s_0 = S̄/2, s_T ≥ s_0, and the price-guided elastic EV demand (own/cross elasticity
matrix ε, reference price C^ref, demand D⁰ of the users who chose this station)

.. math::  D_t(C) = D^0_t + \sum_s ε_{ts} \sqrt{D^0_t D^0_s}\,(C_s - C^{ref}) / C^{ref}

(own terms as usual; cross terms on the geometric mean of the two slots' demands, see
:func:`demand_slopes`), and D_t ≥ 0 kept as a constraint.

What evagg changed: efficiencies η and a cyclic end state in (20) (the seed has
neither); (19)'s product r^d(1−z) is written exactly as two linear bounds; M = the sum of
the maximum charging powers (piles + storage), as the seed says; (15) also bounds the
fee coefficient by §5.3's [e_min, e_max], which yields where the DLMP alone would push
the charging price out of [C^min, C^max] (:meth:`BestResponseModel.fee_bounds`); a fee
period whose DLMPs span more than C^max − C^min gets a fee per slot
(:attr:`BestResponse.split_fee_periods`), so (15) always holds; (16)
is a cap (the seed's remark in §5.3), not an equality, on the demand-weighted average (a
slot without demand has no price anyone pays); the reference demand is floored at 1 W
per slot (:data:`D0_FLOOR_MW`) so that every period's fee is the optimum's and is
continuous in the users' choices; a storage wear cost
c^deg (r^c + r^d) + c^q (r^c² + r^d²) (the quadratic part makes the best response
unique; without it the game cycles between tied storage schedules).

Exact method. Revenue C·D(C) is quadratic in e and concave because sym(ε) ⪯ 0
(checked). The best response is a convex MIQP, solved exactly by best-first branch and
bound over u and z with convex QP relaxations (Clarabel), pruned at a relative gap of
1e-7. With C^s ≤ C^b (checked) buying and selling at once never pays, and with positive
prices the root relaxation is already exclusive, so one QP usually suffices; with
negative DLMPs the relaxation burns energy in the store and B&B branches. The final
point is re-solved with the binaries fixed, so it is feasible for the MIQP.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import numpy.typing as npt

from evagg._checks import as_finite_array
from evagg.errors import InputError, SolverError
from evagg.optim.core import solve_cvxpy

__all__ = [
    "AggregatorSpec",
    "BestResponse",
    "BestResponseModel",
    "check_elasticity",
    "elasticity_matrix",
    "evaluate_profit",
]

FloatArray = npt.NDArray[np.float64]

SIMULTANEOUS_TOL_MW = 1e-6
"""Charge and discharge (or buy and sell) both above this are 'simultaneous' [MW]."""


D0_FLOOR_MW = 1e-6
"""Reference demand is floored at this (1 W) in every slot [MW]. The fee of an hour whose
users almost surely go elsewhere is then the limit of the optimal fee as its demand
vanishes, continuous in the users' choice probabilities. (Demand below 1 W used to count
as none, and such an hour posted the demand-weighted mean fee: whenever the logit tail
of a user crossed 1 W the hour's fee jumped by 140-160 EUR/MWh, between that mean and
the optimum at 1 W (e^max, set by the cross elasticities), and the users on the margin
cycled with it; the hourly 40-user day of the tests did not converge. Zero demand
itself made the QP ill-conditioned.) At most 1 W × 24 h of the floor enters a day's
demand and profit."""


FEE_REG_EUR_PER_EUR2_MWH2 = 1e-5
r"""Weight κ of the posted-fee regulariser [EUR/(EUR/MWh)²] per fee period:
−Σ_h κ_h (e_h − ē_h)², κ_h = κ · D^floor/(D̄⁰_h + D^floor), ē_h the top of the period's
effective fee band, D̄⁰_h its mean reference demand [MW]. In a period with demand the
weight is ≤ 1e-5 κ and changes (14) by < 1e-5 EUR. In a period without demand the profit
does not depend on the fee (revenue curvature ~1e-9 EUR/(EUR/MWh)²) and the QP returned
whatever the interior-point solver stopped at (140-400 EUR/MWh between iterations at
nearly the same data), which the users, who do pay it, answered: the hourly 40-user day
cycled. The regulariser makes that fee determined and continuous in the demand. Its
target is the top of the band because that is the optimum's limit as the demand
vanishes when cross elasticities are positive (raising an empty hour's fee moves demand
to paying hours; measured: the fee at 1-20 W of demand was e^max). A target in the
middle of the band drew users into empty hours at a cut price and the day oscillated
(users' residual 0.1-0.25 for 30 iterations)."""


CAP_YIELD_TOL_EUR_PER_MWH = 1e-9
"""An effective average cap (fee bound) further than this beyond C^av ([e_min, e_max])
counts as a yield in :attr:`BestResponse.avg_cap_yielded` (``fee_yield_periods``)
[EUR/MWh]."""


MIQP_ROOT_SLOTS = 6
"""A root relaxation with more non-exclusive slots than this goes to SCIP at once
(:meth:`BestResponseModel._solve_miqp`): the own search's tree grows as 2^slots where
nearly equal patterns abound (2022-04-23: 16 slots, 2701 nodes)."""

MIQP_TIME_LIMIT_S = 600.0
"""Time limit of one SCIP solve of a best response (:meth:`BestResponseModel._solve_miqp`)
[s]; measured 10 s on the hardest tree seen (2022-04-23)."""


QP_RETRY_SETTINGS: tuple[dict[str, Any], ...] = (
    {"equilibrate_enable": False},
    {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7, "tol_feas": 1e-7},
)
"""Clarabel settings tried, in turn, after an 'optimal_inaccurate' QP relaxation or a
Clarabel failure ('solver_error': seen with equilibration on a split model at a
5.2e3 EUR/MWh DLMP; solved without it)."""


@dataclass(frozen=True)
class AggregatorSpec:
    """One aggregator: bus, piles, storage, price bounds (seed 000 §4).

    Attributes
    ----------
    bus
        pandapower bus index of its station.
    n_piles, pile_kw
        Charging piles and their power [kW].
    storage_kwh, storage_kw
        Storage energy and power rating [kWh, kW] (0 = none).
    eta_ch, eta_dis
        Storage efficiencies [-].
    price_min_eur_per_mwh, price_max_eur_per_mwh
        C^min, C^max of eq. (15) [EUR/MWh].
    price_avg_cap_eur_per_mwh
        C^av of eq. (16) [EUR/MWh].
    fee_min_eur_per_mwh, fee_max_eur_per_mwh
        Bounds of the service-fee coefficient e_k (§5.3) [EUR/MWh].
    wear_eur_per_mwh
        Storage wear cost per MWh charged or discharged [EUR/MWh].
    wear_quad_eur_per_mw2h
        Quadratic wear cost c_q Δt (r_c² + r_d²) [EUR/(MW²·h)]: degradation growing with
        power; it also makes the storage's best response unique (a linear cost leaves
        ties between equally priced slots, and the game then never settles).
    """

    bus: int
    n_piles: int = 20
    pile_kw: float = 22.0
    storage_kwh: float = 500.0
    storage_kw: float = 250.0
    eta_ch: float = 0.95
    eta_dis: float = 0.95
    price_min_eur_per_mwh: float = 0.0
    price_max_eur_per_mwh: float = 600.0
    price_avg_cap_eur_per_mwh: float = 350.0
    fee_min_eur_per_mwh: float = 50.0
    fee_max_eur_per_mwh: float = 400.0
    wear_eur_per_mwh: float = 5.0
    wear_quad_eur_per_mw2h: float = 20.0

    def __post_init__(self) -> None:
        for name in ("storage_kwh", "storage_kw", "wear_eur_per_mwh", "wear_quad_eur_per_mw2h"):
            val = getattr(self, name)
            if not (np.isfinite(val) and val >= 0):
                raise InputError(name, val, "must be finite and ≥ 0")
        if not (isinstance(self.n_piles, int | np.integer) and self.n_piles >= 1):
            raise InputError("n_piles", self.n_piles, "must be a positive integer")
        if not (np.isfinite(self.pile_kw) and self.pile_kw > 0):
            raise InputError("pile_kw", self.pile_kw, "must be > 0")
        for name in ("eta_ch", "eta_dis"):
            if not 0 < getattr(self, name) <= 1:
                raise InputError(name, getattr(self, name), "efficiency must lie in (0, 1]")
        lo, hi = self.price_min_eur_per_mwh, self.price_max_eur_per_mwh
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
            raise InputError(
                "price_min_eur_per_mwh/price_max_eur_per_mwh", (lo, hi), "C_min must be ≤ C_max"
            )
        avg = self.price_avg_cap_eur_per_mwh
        if not lo <= avg <= hi:
            raise InputError(
                "price_avg_cap_eur_per_mwh",
                avg,
                f"average price must lie in [C_min, C_max] = [{lo}, {hi}]",
            )
        flo, fhi = self.fee_min_eur_per_mwh, self.fee_max_eur_per_mwh
        if not (np.isfinite(flo) and np.isfinite(fhi)) or flo > fhi or flo < 0:
            raise InputError(
                "fee_min_eur_per_mwh/fee_max_eur_per_mwh", (flo, fhi), "need 0 ≤ fee_min ≤ fee_max"
            )

    @property
    def m_mw(self) -> float:
        """Big M of eq. (18): sum of the maximum charging powers (piles + storage) [MW]."""
        return (self.n_piles * self.pile_kw + self.storage_kw) / 1e3


def elasticity_matrix(n_slots: int, own: float = -0.3, cross: float = 0.05) -> FloatArray:
    """Own/cross-period elasticity matrix ε (T, T) [-]: ``own`` on the diagonal, ``cross``
    spread evenly over the other slots (raising every price by x % changes demand by
    (own + cross) · x %)."""
    e = np.full((n_slots, n_slots), cross / max(n_slots - 1, 1))
    np.fill_diagonal(e, own)
    return e


def check_elasticity(
    elasticity: npt.ArrayLike, spec: AggregatorSpec, c_ref_eur_per_mwh: float
) -> FloatArray:
    """Validate ε: square, finite, sym(ε) ⪯ 0 (concave revenue), demand ≥ 0 on the price box.

    Demand with uniform reference demand: factor 1 + Σ_s ε_ts (C_s − C^ref)/C^ref, linear
    in C, so its minimum over [C_min, C_max]^T is
    1 + Σ_s min(ε_ts (C^min − C^ref), ε_ts (C^max − C^ref))/C^ref, which must be ≥ 0.
    """
    e = as_finite_array("elasticity", elasticity)
    if e.ndim != 2 or e.shape[0] != e.shape[1]:
        raise InputError("elasticity", e.shape, "must be a square (T, T) matrix")
    top = float(np.linalg.eigvalsh((e + e.T) / 2.0).max())
    if top > 1e-12:
        raise InputError(
            "elasticity",
            top,
            "largest eigenvalue of sym(ε) must be ≤ 0 (own elasticities negative and "
            "dominating the cross terms), else the revenue is not concave",
        )
    lo = spec.price_min_eur_per_mwh - c_ref_eur_per_mwh
    hi = spec.price_max_eur_per_mwh - c_ref_eur_per_mwh
    worst = 1.0 + np.minimum(e * lo, e * hi).sum(axis=1) / c_ref_eur_per_mwh
    if np.any(worst < -1e-12):
        t = int(np.argmin(worst))
        raise InputError(
            f"elasticity[{t}]",
            float(worst[t]),
            "demand factor becomes negative for a price in [C_min, C_max]; reduce the elasticities",
        )
    return e


@dataclass(frozen=True)
class BestResponse:
    """Optimal decision of one aggregator (powers in MW per slot, prices in EUR/MWh).

    Attributes
    ----------
    profit_eur
        Objective (14) of the decision [EUR], always without the proximal term.
    bound_eur
        Branch-and-bound upper bound on the problem that was solved [EUR]: on (14) for a
        plain solve; for a proximal solve (:meth:`BestResponseModel.set_proximal` with
        some ρ > 0, ``regularised``) on the regularised objective (14) − proximal term,
        so it is **not** a bound on the plain best response's profit (that can be
        higher: the certificate re-solves without the term). Always finite.
    proximal_eur
        The proximal term (Δt/2) Σ_t ρ_t (x_t − x̂_t)² at the decision [EUR] (0 plain).
    fee_regulariser_eur
        The posted-fee regulariser at the decision (:data:`FEE_REG_EUR_PER_EUR2_MWH2`;
        part of every solve, < 1e-4 EUR) [EUR].
    regularised
        Whether the solve carried a proximal term (some ρ_t > 0).
    split_fee_periods
        Fee periods whose DLMPs span more than C^max − C^min (at the users' discount φ̄),
        where no single fee keeps every slot's price in [C^min, C^max]: the fee was
        posted per slot in them (0 normally; :meth:`BestResponseModel.set_data`).
    fee_yield_periods
        Fee variables (periods, or slots of a split period) whose §5.3 bounds
        [e_min, e_max] yielded because the DLMP alone left no price in [C^min, C^max]
        with them (:meth:`BestResponseModel.fee_bounds`; 0 normally).
    avg_cap_yielded
        Whether the effective average cap (:meth:`BestResponseModel.average_cap`) lay
        above C^av: the DLMPs alone put the cheapest allowed prices above the cap of (16).
    """

    price_eur_per_mwh: FloatArray
    fee_coef_eur_per_mwh: FloatArray
    demand_mw: FloatArray
    contract_mw: FloatArray
    rt_buy_mw: FloatArray
    rt_sell_mw: FloatArray
    charge_mw: FloatArray
    discharge_mw: FloatArray
    soc_mwh: FloatArray
    profit_eur: float
    bound_eur: float
    nodes: int
    solve_time_s: float
    extra: dict[str, float] = field(default_factory=dict)
    proximal_eur: float = 0.0
    regularised: bool = False
    fee_regulariser_eur: float = 0.0
    split_fee_periods: int = 0
    avg_cap_yielded: bool = False
    fee_yield_periods: int = 0

    @property
    def net_load_mw(self) -> FloatArray:
        """Withdrawal at the bus: demand + charge − discharge [MW]."""
        return self.demand_mw + self.charge_mw - self.discharge_mw

    @property
    def objective_eur(self) -> float:
        """Objective of the solved problem: (14) − proximal term − fee regulariser [EUR]."""
        return self.profit_eur - self.proximal_eur - self.fee_regulariser_eur

    @property
    def gap_rel(self) -> float:
        """Branch-and-bound gap of the solved problem (bound − objective)/max(1, |objective|)
        [-]: of (14) for a plain solve, of the regularised objective for a proximal one
        (see ``bound_eur``); ≥ 0 up to solver tolerance, never NaN."""
        obj = self.objective_eur
        return (self.bound_eur - obj) / max(1.0, abs(obj))


def evaluate_profit(
    spec: AggregatorSpec,
    dt_h: float,
    dlmp: FloatArray,
    rt_buy_price: FloatArray,
    rt_sell_price: FloatArray,
    price: FloatArray,
    demand: FloatArray,
    contract: FloatArray,
    rt_buy: FloatArray,
    rt_sell: FloatArray,
    charge: FloatArray,
    discharge: FloatArray,
) -> float:
    """Objective (14) of a given decision [EUR]."""
    return float(
        dt_h
        * np.sum(
            price * demand
            + rt_sell_price * rt_sell
            - dlmp * contract
            - rt_buy_price * rt_buy
            - spec.wear_eur_per_mwh * (charge + discharge)
            - spec.wear_quad_eur_per_mw2h * (charge**2 + discharge**2)
        )
    )


def demand_slopes(eps: FloatArray, d0_mw: FloatArray, c_ref_eur_per_mwh: float) -> FloatArray:
    """∂D_t/∂C_s = ε_ts √(D⁰_t D⁰_s) / C^ref [MW per EUR/MWh] (T, T).

    For own terms this is the usual D⁰_t ε_tt / C^ref; cross terms are referenced to the
    geometric mean of the two slots' demands (evagg's convention), so that
    sym(slopes) = diag(√D⁰) sym(ε) diag(√D⁰) / C^ref ⪯ 0 whenever sym(ε) ⪯ 0: the
    revenue is concave for every demand profile, and a slot without demand stays at 0.
    """
    r = np.sqrt(np.maximum(d0_mw, 0.0))
    return eps * np.outer(r, r) / c_ref_eur_per_mwh


class BestResponseModel:
    """The aggregator's MIQP, built once with ``cp.Parameter`` data, solved by B&B.

    Parameters
    ----------
    spec
        The aggregator.
    elasticity
        ε (T, T) [-] (validated by :func:`check_elasticity`).
    c_ref_eur_per_mwh
        Reference price at which D⁰ is observed [EUR/MWh].
    dt_h
        Slot length [h].
    solver
        Solver of the QP relaxations.
    slots_per_block
        Slots per fee period (1: a fee coefficient e_{k,t} per slot, seed §5.3's "e_k in
        t period"; 4 would give hourly fees on 15-min slots).
    """

    def __init__(
        self,
        spec: AggregatorSpec,
        elasticity: npt.ArrayLike,
        c_ref_eur_per_mwh: float,
        dt_h: float,
        solver: str = "CLARABEL",
        slots_per_block: int = 1,
        _fee_per_slot: bool = False,
    ) -> None:
        self.spec = spec
        self.solver = solver
        self.c_ref = float(c_ref_eur_per_mwh)
        if not (np.isfinite(self.c_ref) and self.c_ref > 0):
            raise InputError("c_ref_eur_per_mwh", c_ref_eur_per_mwh, "must be > 0")
        self.eps = check_elasticity(elasticity, spec, self.c_ref)
        self.dt_h = float(dt_h)
        t = self.eps.shape[0]
        self.n_slots = t
        if not (isinstance(slots_per_block, int | np.integer) and slots_per_block >= 1):
            raise InputError("slots_per_block", slots_per_block, "must be a positive integer")
        self.slots_per_block = int(slots_per_block)
        # posted fee periods; the fee variable is one per period, or (the split model of
        # :meth:`_split_model`) one per slot, tied within every period that is not split
        self.period = np.arange(t) // int(slots_per_block)
        self.fee_per_slot = bool(_fee_per_slot)
        self.block = np.arange(t) if self.fee_per_slot else self.period
        self.group = self.block.copy()
        self.split = np.zeros(int(self.period[-1]) + 1 if t else 0, dtype=bool)
        self._split_delegate: BestResponseModel | None = None
        self._miqp: tuple[cp.Problem, cp.Variable, cp.Variable] | None = None
        n_h = int(self.block[-1]) + 1 if t else 0
        self.b_mat = np.zeros((t, n_h))
        self.b_mat[np.arange(t), self.block] = 1.0
        r_mw, s_mwh = spec.storage_kw / 1e3, spec.storage_kwh / 1e3
        # parameters (set by set_data): C = λ + G e with G = diag(φ̄) B; D = q + (aG) e
        self.dlmp = cp.Parameter(t, name="dlmp")
        self.c_buy = cp.Parameter(t, name="rt_buy_price")
        self.c_sell = cp.Parameter(t, name="rt_sell_price")
        self.g_mat = cp.Parameter((t, n_h), name="price_per_fee")
        self.q = cp.Parameter(t, name="demand_at_dlmp")
        self.ag = cp.Parameter((t, n_h), name="demand_per_fee")
        self.rev0 = cp.Parameter(name="revenue_const")
        self.lin = cp.Parameter(n_h, name="revenue_linear")
        self.sqrt_h = cp.Parameter((n_h, n_h), name="revenue_sqrt")
        self.avg0 = cp.Parameter(name="average_at_dlmp")  # Σ w_t λ_t
        self.w_fee = cp.Parameter(n_h, name="average_per_fee")  # Gᵀ w
        self.avg_cap = cp.Parameter(name="average_cap")
        self.fee_lo = cp.Parameter(n_h, name="fee_lower")
        self.fee_hi = cp.Parameter(n_h, name="fee_upper")
        self.u_lo, self.u_hi = cp.Parameter(t), cp.Parameter(t)
        self.z_lo, self.z_hi = cp.Parameter(t), cp.Parameter(t)
        # variables
        self.fee = cp.Variable(n_h, name="fee_coef")
        self.c = self.dlmp + self.g_mat @ self.fee
        self.e_c = cp.Variable(t, nonneg=True, name="contract")
        self.e_b = cp.Variable(t, nonneg=True, name="rt_buy")
        self.e_s = cp.Variable(t, nonneg=True, name="rt_sell")
        self.r_c = cp.Variable(t, nonneg=True, name="charge")
        self.r_d = cp.Variable(t, nonneg=True, name="discharge")
        self.soc = cp.Variable(t + 1, name="soc")
        self.u = cp.Variable(t, name="u")
        self.z = cp.Variable(t, name="z")
        self.demand = self.q + self.ag @ self.fee
        # proximal term (set_proximal): −(Δt/2) Σ_t ρ_t (x_t − x̂_t)², written as
        # ‖√ρ ∘ x − √ρ ∘ x̂‖² on a net-load variable so that the problem stays DPP
        self.x_net = cp.Variable(t, name="net_load")
        self.sqrt_rho = cp.Parameter(t, nonneg=True, name="sqrt_rho", value=np.zeros(t))
        self.anchor = cp.Parameter(t, name="sqrt_rho_anchor", value=np.zeros(t))
        self.rho_eur_per_mw2h = np.zeros(t)
        self.anchor_mw = np.zeros(t)
        dt = self.dt_h
        self._prox = (dt / 2) * cp.sum_squares(cp.multiply(self.sqrt_rho, self.x_net) - self.anchor)
        # posted-fee regulariser (FEE_REG_EUR_PER_EUR2_MWH2): Σ_h κ_h (e_h − ē_h)²
        self.sqrt_kappa = cp.Parameter(n_h, nonneg=True, name="sqrt_kappa", value=np.zeros(n_h))
        self.kappa_mid = cp.Parameter(n_h, name="sqrt_kappa_mid", value=np.zeros(n_h))
        self._fee_reg = cp.sum_squares(cp.multiply(self.sqrt_kappa, self.fee) - self.kappa_mid)
        revenue = dt * (self.rev0 + self.lin @ self.fee - cp.sum_squares(self.sqrt_h.T @ self.fee))
        profit = revenue + dt * (
            self.c_sell @ self.e_s
            - self.dlmp @ self.e_c
            - self.c_buy @ self.e_b
            - spec.wear_eur_per_mwh * cp.sum(self.r_c + self.r_d)
            - spec.wear_quad_eur_per_mw2h * (cp.sum_squares(self.r_c) + cp.sum_squares(self.r_d))
        )
        cons = {
            "price bounds (15)": [
                self.c >= spec.price_min_eur_per_mwh,
                self.c <= spec.price_max_eur_per_mwh,
                self.fee >= self.fee_lo,
                self.fee <= self.fee_hi,
            ],
            "average price (16)": [self.avg0 + self.w_fee @ self.fee <= self.avg_cap],
            "elastic demand ≥ 0": [self.demand >= 0],
            "power balance (17)": [
                self.demand + self.r_c - self.r_d + self.e_s == self.e_c + self.e_b
            ],
            "net load": [self.x_net == self.demand + self.r_c - self.r_d],
            "real-time exclusivity (18)-(19)": [
                self.e_b <= spec.m_mw * self.z,
                self.e_s <= self.r_d,
                self.e_s <= r_mw * (1 - self.z),
                self.z >= self.z_lo,
                self.z <= self.z_hi,
            ],
            "storage (20)-(21)": [
                self.soc[1:]
                == self.soc[:-1] + dt * (spec.eta_ch * self.r_c - self.r_d / spec.eta_dis),
                self.soc >= 0,
                self.soc <= s_mwh,
                self.soc[0] == 0.5 * s_mwh,
                self.soc[t] >= self.soc[0],
                self.r_c <= r_mw * self.u,
                self.r_d <= r_mw * (1 - self.u),
                self.u >= self.u_lo,
                self.u <= self.u_hi,
            ],
        }
        if self.fee_per_slot:
            # one fee per posted period: fee_t = fee_{t+1} unless the period is split
            self.tie = cp.Parameter(max(t - 1, 0), nonneg=True, name="fee_tie")
            cons["one fee per period"] = [cp.multiply(self.tie, cp.diff(self.fee)) == 0]
        self.families = cons
        self._objective = cp.Maximize(profit - self._prox - self._fee_reg)
        self.problem = cp.Problem(self._objective, [c for v in cons.values() for c in v])
        self._profit = profit

    # ------------------------------------------------------------------ data
    def set_data(
        self,
        dlmp: npt.ArrayLike,
        d0_mw: npt.ArrayLike,
        discount: npt.ArrayLike,
        rt_buy_price: npt.ArrayLike,
        rt_sell_price: npt.ArrayLike,
    ) -> None:
        """Set DLMPs, reference demand D⁰, users' mean discount φ̄ and real-time prices."""
        t = self.n_slots
        arrs = {}
        for name, val in (
            ("dlmp", dlmp),
            ("d0_mw", d0_mw),
            ("discount", discount),
            ("rt_buy_price", rt_buy_price),
            ("rt_sell_price", rt_sell_price),
        ):
            a = as_finite_array(name, val)
            if a.shape != (t,):
                raise InputError(name, a.shape, f"expected ({t},)")
            arrs[name] = a
        if np.any(arrs["d0_mw"] < 0):
            raise InputError("d0_mw", float(arrs["d0_mw"].min()), "demand must be ≥ 0")
        bad = arrs["rt_sell_price"] > arrs["rt_buy_price"]
        if np.any(bad):
            k = int(np.argmax(bad))
            raise InputError(
                f"rt_sell_price[{k}]",
                float(arrs["rt_sell_price"][k]),
                "must be ≤ the real-time buy price",
            )
        lam, phi = arrs["dlmp"], arrs["discount"]
        self.split = self._split_periods(lam, phi)
        if self._delegating:
            fine = self._split_model()
            fine.set_data(dlmp, d0_mw, discount, rt_buy_price, rt_sell_price)
            return
        if self.fee_per_slot:
            self.tie.value = (np.diff(self.period) == 0) & ~self.split[self.period[:-1]]
            lone = np.arange(self.n_slots) + self.period[-1] + 1
            raw = np.where(self.split[self.period], lone, self.period)
            self.group = np.unique(raw, return_inverse=True)[1].reshape(-1)
        d0 = np.maximum(arrs["d0_mw"], D0_FLOOR_MW)
        a = demand_slopes(self.eps, d0, self.c_ref)
        g = phi[:, None] * self.b_mat
        q = d0 + a @ (lam - self.c_ref)
        w, v = np.linalg.eigh(-g.T @ ((a + a.T) / 2.0) @ g)
        self.sqrt_h.value = v * np.sqrt(np.maximum(w, 0.0))[None, :]
        self.g_mat.value = g
        self.q.value = q
        self.ag.value = a @ g
        self.rev0.value = float(lam @ q)
        self.lin.value = g.T @ (a.T @ lam + q)
        self.slopes, self.d0_mw, self.discount = a, d0, phi
        self.w_avg = d0 / d0.sum() if d0.sum() > 0 else np.full(t, 1.0 / t)
        self.avg0.value = float(self.w_avg @ lam)
        self.w_fee.value = g.T @ self.w_avg
        self.dlmp.value = lam
        self.fee_lo.value, self.fee_hi.value = self.fee_bounds(lam, phi)
        d_h = (self.b_mat.T @ d0) / self.b_mat.sum(axis=0)
        kappa = FEE_REG_EUR_PER_EUR2_MWH2 * D0_FLOOR_MW / (d_h + D0_FLOOR_MW)
        mid = np.asarray(self.fee_hi.value, dtype=float)
        self.sqrt_kappa.value = np.sqrt(kappa)
        self.kappa_mid.value = np.sqrt(kappa) * mid
        self.avg_cap.value = self.average_cap(lam, phi)
        self.c_buy.value, self.c_sell.value = arrs["rt_buy_price"], arrs["rt_sell_price"]

    def set_proximal(self, rho_eur_per_mw2h: npt.ArrayLike, anchor_mw: npt.ArrayLike) -> None:
        """Regularise the next solves: maximise (14) − (Δt/2) Σ_t ρ_t (x_t − x̂_t)².

        x_t = D_t(C) + r^c_t − r^d_t is the net load [MW], x̂ the anchor (the game's
        current iterate) [MW], ρ_t ≥ 0 [EUR/(MW²·h)]; ρ = 0 is the plain best response.
        The term is convex, so every node of the branch and bound stays a convex QP.
        A solution with x = x̂ satisfies the optimality conditions of the unregularised
        problem (the term and its gradient vanish there); ``profit_eur`` of the result is
        (14) without the term, and the certificate re-solves without it. ``bound_eur``
        and ``gap_rel`` of the result are those of the regularised problem (a bound on
        (14) − term, not on the plain optimum of (14)), ``proximal_eur`` the term at the
        decision. ρ = 0 (with any anchor) makes the next solve the plain one exactly.
        """
        t = self.n_slots
        rho = as_finite_array("rho_eur_per_mw2h", rho_eur_per_mw2h)
        x_hat = as_finite_array("anchor_mw", anchor_mw)
        if rho.shape != (t,) or x_hat.shape != (t,):
            raise InputError("rho_eur_per_mw2h/anchor_mw", (rho.shape, x_hat.shape), f"({t},)")
        if np.any(rho < 0):
            raise InputError("rho_eur_per_mw2h", float(rho.min()), "must be ≥ 0")
        self.rho_eur_per_mw2h, self.anchor_mw = rho.copy(), x_hat.copy()
        self.sqrt_rho.value = np.sqrt(rho)
        self.anchor.value = np.sqrt(rho) * x_hat
        if self._split_delegate is not None:
            self._split_delegate.set_proximal(rho, x_hat)

    @property
    def _delegating(self) -> bool:
        """Whether the current data split a fee period (solved by :meth:`_split_model`)."""
        return bool(self.split.any()) and not self.fee_per_slot

    def _fee_limits(
        self, dlmp: FloatArray, discount: FloatArray, index: npt.NDArray[np.int_]
    ) -> tuple[FloatArray, FloatArray]:
        """Per group of slots (``index`` (T,) → group): min_t U_t and max_t L_t [EUR/MWh],
        U_t = (C^max − λ_t)/φ̄_t and L_t = (C^min − λ_t)/φ̄_t the largest and smallest fee
        keeping slot t's price in [C^min, C^max] (±∞ where φ̄_t = 0)."""
        s = self.spec
        with np.errstate(divide="ignore", invalid="ignore"):
            top = np.where(discount > 0, (s.price_max_eur_per_mwh - dlmp) / discount, np.inf)
            bot = np.where(discount > 0, (s.price_min_eur_per_mwh - dlmp) / discount, -np.inf)
        n = int(index.max()) + 1
        hi, lo = np.full(n, np.inf), np.full(n, -np.inf)
        np.minimum.at(hi, index, top)
        np.maximum.at(lo, index, bot)
        return hi, lo

    def _split_periods(self, dlmp: FloatArray, discount: FloatArray) -> npt.NDArray[np.bool_]:
        """Fee periods no single fee can serve (n_periods,): max_{t∈h} L_t > min_{t∈h} U_t
        (:meth:`_fee_limits`); a period whose DLMPs span more than C^max − C^min
        (at φ̄ = 1) has no fee left that keeps all its slots' prices in the band."""
        if self.slots_per_block == 1:
            return np.zeros(self.split.size, dtype=bool)
        hi, lo = self._fee_limits(dlmp, discount, self.period)
        return np.asarray(lo > hi + 1e-9)

    def _split_model(self) -> BestResponseModel:
        """The same aggregator with a fee variable per slot, tied within unsplit periods
        (built once, on the first day with a split period)."""
        if self._split_delegate is None:
            self._split_delegate = BestResponseModel(
                self.spec,
                self.eps,
                self.c_ref,
                self.dt_h,
                self.solver,
                self.slots_per_block,
                _fee_per_slot=True,
            )
            self._split_delegate.set_proximal(self.rho_eur_per_mw2h, self.anchor_mw)
        return self._split_delegate

    def fee_bounds(self, dlmp: FloatArray, discount: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Effective fee bounds per fee variable (n_h,) [EUR/MWh]: the price bounds (15) rule.

        e^lo_g = min(e_min, min_{t∈g} (C^max − λ_t)/φ̄_t),
        e^hi_g = max(e_max, max_{t∈g} (C^min − λ_t)/φ̄_t) over the slots g sharing the fee:
        the fee bounds of §5.3 hold unless the DLMP alone already leaves no charging
        price in [C^min, C^max] with them (a congested or spiking slot with λ_t above
        C^max − φ̄ e_min, or a negative one below C^min − φ̄ e_max); then the fee yields
        (a discount below e_min, or a surcharge above e_max) and the retail price stays
        within (15), the bound the users are promised.
        """
        s = self.spec
        lo, hi = self._fee_limits(dlmp, discount, self.group)
        var_group = self._var_group()
        return (
            np.minimum(s.fee_min_eur_per_mwh, lo[var_group]),
            np.maximum(s.fee_max_eur_per_mwh, hi[var_group]),
        )

    def _var_group(self) -> npt.NDArray[np.int_]:
        """Group of each fee variable (n_h,) (a variable's slots share one group)."""
        var_group = np.zeros(self.b_mat.shape[1], dtype=int)
        var_group[self.block] = self.group
        return var_group

    def average_cap(self, dlmp: FloatArray, discount: FloatArray) -> float:
        """Effective C^av of (16) [EUR/MWh]: max(C^av, Σ_t w_t C^lo_t), C^lo_t = λ_t +
        φ̄_t ê_{g(t)} the lowest price (15) and the fee bounds allow, with ê_g =
        max(e^lo_g, max_{t∈g} (C^min − λ_t)/φ̄_t) the lowest fee of the slots g sharing
        it (:meth:`fee_bounds`, :meth:`_fee_limits`).

        The cap holds unless the DLMPs alone already put the cheapest allowed prices
        above it (a congested day); then it yields to them, as the fee bounds do. The
        fee is shared within a group: one slot's C^min raises every price of its group
        (2022-08-14: one quarter-hour at λ = −119 EUR/MWh in an hour otherwise near
        −30 EUR/MWh, on a day averaging 400 EUR/MWh; C^lo_t = max(C^min, λ_t + φ̄_t
        e^lo) per slot understated the lowest average by 0.2 EUR/MWh and the best
        response was infeasible).
        """
        var_group = self._var_group()
        low = np.maximum(
            np.asarray(self.fee_bounds(dlmp, discount)[0]),
            self._fee_limits(dlmp, discount, self.group)[1][var_group],
        )
        return float(
            max(
                self.spec.price_avg_cap_eur_per_mwh,
                self.w_avg @ (dlmp + discount * low[self.block]),
            )
        )

    # ----------------------------------------------------------------- solve
    def _relax(self, bounds: tuple[FloatArray, FloatArray, FloatArray, FloatArray]) -> float | None:
        """Solve one QP relaxation; ``None`` if infeasible.

        Clarabel sometimes stops at 'optimal_inaccurate' on slots with little demand (the
        fee's curvature there is ~1e-6 of the others), or fails at DLMP spikes; the QP is
        then re-solved with the settings of :data:`QP_RETRY_SETTINGS` in turn (the
        certificate re-checks every best response independently).
        """
        self.u_lo.value, self.u_hi.value, self.z_lo.value, self.z_hi.value = bounds
        last: SolverError | None = None
        for opts in ({}, *QP_RETRY_SETTINGS) if self.solver == "CLARABEL" else ({},):
            try:
                info = solve_cvxpy(
                    self.problem,
                    name="aggregator_best_response",
                    kind="socp",
                    solver=self.solver,
                    **opts,
                )
            except SolverError as exc:
                if exc.status in ("infeasible", "infeasible_inaccurate"):
                    return None
                if exc.status not in ("optimal_inaccurate", "solver_error"):
                    raise
                last = exc
                continue
            return float(info.objective)
        assert last is not None
        raise last

    def _n_violated(self) -> int:
        """Slots of the last relaxation with charge and discharge, or buy and sell, both
        above ``SIMULTANEOUS_TOL_MW``."""
        n = 0
        for a, b in ((self.r_c, self.r_d), (self.e_b, self.e_s)):
            both = np.minimum(np.asarray(a.value), np.asarray(b.value))
            n += int(np.count_nonzero(both > SIMULTANEOUS_TOL_MW))
        return n

    def _violation(self) -> tuple[float, int, str]:
        rc, rd = np.asarray(self.r_c.value), np.asarray(self.r_d.value)
        eb, es = np.asarray(self.e_b.value), np.asarray(self.e_s.value)
        vs, vz = np.minimum(rc, rd), np.minimum(eb, es)
        ks, kz = int(np.argmax(vs)), int(np.argmax(vz))
        if vs[ks] >= vz[kz]:
            return float(vs[ks]), ks, "u"
        return float(vz[kz]), kz, "z"

    def solve(self, gap_tol: float = 1e-7, max_nodes: int = 100) -> BestResponse:
        """Exact best response by best-first branch and bound over u and z.

        Each node's QP relaxation is solved once, when the node is created. If the root
        relaxation's optimum is already exclusive (no slot with charge and discharge, or
        buy and sell, both above ``SIMULTANEOUS_TOL_MW``), it is feasible for the MIQP
        and its value equals the relaxation bound, so it is the MIQP optimum: one QP is
        all it costs (the usual case at non-negative prices, where burning energy in
        the store or buying and selling at once only loses money). Otherwise branch and
        bound runs and the incumbent is re-solved with its binaries fixed. A root with
        more than :data:`MIQP_ROOT_SLOTS` non-exclusive slots, or a tree that needs more
        than ``max_nodes`` nodes, goes to SCIP (:meth:`_solve_miqp`).

        Raises
        ------
        InfeasibleError
            Via the solver, naming the model, if even the relaxation is infeasible.
        SolverError
            If SCIP does not reach an optimal status either (time limit
            :data:`MIQP_TIME_LIMIT_S`).
        """
        if self._delegating:
            return self._split_model().solve(gap_tol, max_nodes)
        t0 = time.perf_counter()
        t = self.n_slots
        zeros, ones = np.zeros(t), np.ones(t)
        root = (zeros, ones, zeros, ones)
        val = self._relax(root)
        if val is None:
            raise SolverError("aggregator_best_response", "infeasible", self._diagnose())
        viol, k, which = self._violation()
        if viol <= SIMULTANEOUS_TOL_MW:
            return self._result(val, val, 1, time.perf_counter() - t0)
        if self._n_violated() > MIQP_ROOT_SLOTS:
            return self._solve_miqp(gap_tol, 1, t0)
        heap: list[tuple[float, int, tuple[FloatArray, ...], int, str]] = [
            (-val, 0, root, k, which)
        ]
        best_val, best_bounds, nodes, counter = -np.inf, root, 1, 1
        bound = -np.inf
        while heap:
            neg, _, b, k, which = heapq.heappop(heap)
            if -neg <= best_val + gap_tol * max(1.0, abs(best_val)):
                bound = -neg  # the largest open bound (best first)
                break
            for fix in (0.0, 1.0):
                nb = [a.copy() for a in b]
                i0 = 0 if which == "u" else 2
                nb[i0][k] = fix
                nb[i0 + 1][k] = fix
                nodes += 1
                if nodes > max_nodes:
                    return self._solve_miqp(gap_tol, nodes, t0)
                v = self._relax(tuple(nb))  # type: ignore[arg-type]
                if v is None or v <= best_val:
                    continue
                viol, kk, wh = self._violation()
                if viol <= SIMULTANEOUS_TOL_MW:
                    best_val, best_bounds = v, self._integral_bounds(tuple(nb))  # type: ignore[arg-type]
                else:
                    heapq.heappush(heap, (-v, counter, tuple(nb), kk, wh))
                    counter += 1
        if not np.isfinite(best_val):
            raise SolverError("aggregator_best_response", "no integer solution", "")
        bound = max(bound, best_val)
        final = self._relax(best_bounds)
        if final is None:
            raise SolverError("aggregator_best_response", "fixed binaries infeasible", "")
        return self._result(final, max(bound, final), nodes, time.perf_counter() - t0)

    def _solve_miqp(self, gap_tol: float, nodes: int, t0: float) -> BestResponse:
        """The MIQP (14)–(21) with u and z binary, by SCIP's branch and cut; then the QP at
        SCIP's binaries by Clarabel (the decision), bounded by SCIP's dual bound.

        For the trees the best-first search cannot close in its node limit: hours of
        deeply negative DLMPs, where the relaxation burns energy in the store in every
        slot (2022-04-23, −222 EUR/MWh for 5 hours: 16 slots, 2701 nodes, 290 s by the
        own search against 10 s by SCIP). ``gap_tol`` is SCIP's relative gap limit; the
        result's ``bound_eur`` is SCIP's dual bound, so ``gap_rel`` states what is proved.
        """
        t = self.n_slots
        if self._miqp is None:
            ub, zb = cp.Variable(t, boolean=True), cp.Variable(t, boolean=True)
            cons = [*self.problem.constraints, self.u == ub, self.z == zb]
            self._miqp = (cp.Problem(self.problem.objective, cons), ub, zb)
        prob, ub, zb = self._miqp
        self.u_lo.value, self.u_hi.value = np.zeros(t), np.ones(t)
        self.z_lo.value, self.z_hi.value = np.zeros(t), np.ones(t)
        name = "aggregator_best_response_miqp"
        try:
            solve_cvxpy(
                prob,
                name=name,
                kind="milp",
                solver="SCIP",
                scip_params={"limits/gap": gap_tol, "limits/time": MIQP_TIME_LIMIT_S},
            )
        except SolverError as exc:
            # CVXPY reports SCIP's 'gaplimit' (the gap closed to gap_tol) as inaccurate
            stats = prob.solver_stats.extra_stats if prob.solver_stats else None
            why = stats["model"].getStatus() if stats is not None else exc.status
            if why != "gaplimit":
                raise SolverError(
                    name, str(why), f"SCIP, time limit {MIQP_TIME_LIMIT_S:.0f} s"
                ) from None
        scip = (prob.solver_stats.extra_stats or {})["model"]
        abs_gap = abs(scip.getPrimalbound() - scip.getDualbound())
        u = np.round(np.asarray(ub.value, dtype=float))
        z = np.round(np.asarray(zb.value, dtype=float))
        final = self._relax((u, u.copy(), z, z.copy()))
        if final is None:
            raise SolverError(name, "fixed binaries infeasible", "")
        bound = max(final, float(prob.value) + abs_gap)
        return self._result(final, bound, nodes + int(scip.getNNodes()), time.perf_counter() - t0)

    def _integral_bounds(
        self, b: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Binaries implied by an exclusive relaxed point (fixed for the final re-solve)."""
        u = (np.asarray(self.r_c.value) > SIMULTANEOUS_TOL_MW).astype(float)
        u = np.where(b[0] == b[1], b[0], u)
        z = (np.asarray(self.e_b.value) > SIMULTANEOUS_TOL_MW).astype(float)
        z = np.where(b[2] == b[3], b[2], z)
        return u, u.copy(), z, z.copy()

    def _diagnose(self) -> str:
        """Name the constraint family that makes the relaxation infeasible.

        First the price band (15) slot by slot (a DLMP outside [C^min, C^max] that no fee
        can move: φ̄_t = 0); then the cap (16); else the families whose removal alone
        restores feasibility (one relaxation per family: an error path only).
        """
        s = self.spec
        lam = np.asarray(self.dlmp.value)
        f_lo, f_hi = (np.asarray(p.value)[self.block] for p in (self.fee_lo, self.fee_hi))
        lo = np.maximum(s.price_min_eur_per_mwh, lam + self.discount * f_lo)
        hi = np.minimum(s.price_max_eur_per_mwh, lam + self.discount * f_hi)
        if np.any(lo > hi + 1e-9):
            k = int(np.argmax(lo - hi))
            return (
                f"constraint family 'price bounds (15)': at slot {k} the DLMP {lam[k]:.2f} plus "
                "the service-fee bounds leaves no price in [C_min, C_max]"
            )
        if float(self.w_avg @ lo) > float(np.asarray(self.avg_cap.value)) + 1e-9:
            return "constraint family 'average price (16)': the lowest prices exceed C_av"
        culprits = []
        for name in self.families:
            rest = [c for k, v in self.families.items() if k != name for c in v]
            try:
                solve_cvxpy(
                    cp.Problem(self._objective, rest),
                    name="aggregator_best_response_diagnosis",
                    kind="socp",
                    solver=self.solver,
                )
            except SolverError:
                continue
            culprits.append(name)
        if culprits:
            names = ", ".join(f"'{c}'" for c in culprits)
            return (
                f"constraint families {names} conflict (dropping any one of them alone "
                "makes it feasible)"
            )
        return "constraint family not diagnosed (no single family's removal makes it feasible)"

    def _result(self, val: float, bound: float, nodes: int, secs: float) -> BestResponse:
        def arr(x: cp.Variable) -> FloatArray:
            return np.asarray(x.value, dtype=float).copy()

        lam, d0 = np.asarray(self.dlmp.value), self.d0_mw
        fee_h = arr(self.fee)
        fee = fee_h[self.block]
        c = lam + self.discount * fee
        regularised = bool(np.any(self.rho_eur_per_mw2h > 0))
        prox = float(self._prox.value) if regularised else 0.0
        fee_reg = float(self._fee_reg.value)
        if not (np.isfinite(val) and np.isfinite(bound) and np.isfinite(prox)):
            raise SolverError(
                "aggregator_best_response",
                "non-finite objective",
                f"objective {val}, bound {bound}, proximal term {prox}",
            )
        tol = CAP_YIELD_TOL_EUR_PER_MWH
        cap_yield = float(np.asarray(self.avg_cap.value)) > (
            self.spec.price_avg_cap_eur_per_mwh + tol
        )
        return BestResponse(
            price_eur_per_mwh=c,
            fee_coef_eur_per_mwh=fee,
            demand_mw=np.maximum(d0 + self.slopes @ (c - self.c_ref), 0.0),
            contract_mw=arr(self.e_c),
            rt_buy_mw=arr(self.e_b),
            rt_sell_mw=arr(self.e_s),
            charge_mw=arr(self.r_c),
            discharge_mw=arr(self.r_d),
            soc_mwh=arr(self.soc),
            profit_eur=val + prox + fee_reg,
            bound_eur=bound,
            nodes=nodes,
            solve_time_s=secs,
            proximal_eur=prox,
            fee_regulariser_eur=fee_reg,
            regularised=regularised,
            split_fee_periods=int(self.split.sum()),
            avg_cap_yielded=bool(cap_yield),
            fee_yield_periods=int(
                np.sum(
                    (np.asarray(self.fee_lo.value) < self.spec.fee_min_eur_per_mwh - tol)
                    | (np.asarray(self.fee_hi.value) > self.spec.fee_max_eur_per_mwh + tol)
                )
            ),
        )

    def profit_of(self, br: BestResponse) -> float:
        """Objective (14) of ``br`` at the model's current data (for certificates) [EUR]."""
        if self._delegating:
            return self._split_model().profit_of(br)
        d = self.d0_mw + self.slopes @ (br.price_eur_per_mwh - self.c_ref)
        return evaluate_profit(
            self.spec,
            self.dt_h,
            np.asarray(self.dlmp.value),
            np.asarray(self.c_buy.value),
            np.asarray(self.c_sell.value),
            br.price_eur_per_mwh,
            d,
            br.contract_mw,
            br.rt_buy_mw,
            br.rt_sell_mw,
            br.charge_mw,
            br.discharge_mw,
        )

    def feasible(self, br: BestResponse, tol: float = 1e-5) -> bool:
        """Whether ``br`` satisfies (15)–(21) at the current data (within ``tol``)."""
        if self._delegating:
            return self._split_model().feasible(br, tol)
        d = self.d0_mw + self.slopes @ (br.price_eur_per_mwh - self.c_ref)
        s, dt = self.spec, self.dt_h
        fee = br.fee_coef_eur_per_mwh
        soc = 0.5 * s.storage_kwh / 1e3 + dt * np.cumsum(
            s.eta_ch * br.charge_mw - br.discharge_mw / s.eta_dis
        )
        checks = [
            np.all(br.price_eur_per_mwh >= s.price_min_eur_per_mwh - tol),
            np.all(br.price_eur_per_mwh <= s.price_max_eur_per_mwh + tol),
            np.all(fee >= np.asarray(self.fee_lo.value)[self.block] - tol)
            and np.all(fee <= np.asarray(self.fee_hi.value)[self.block] + tol),
            np.allclose(
                fee, (np.bincount(self.group, fee) / np.bincount(self.group))[self.group], atol=tol
            ),
            np.allclose(
                br.price_eur_per_mwh, np.asarray(self.dlmp.value) + self.discount * fee, atol=tol
            ),
            np.all(d >= -tol),
            self.w_avg @ br.price_eur_per_mwh <= float(np.asarray(self.avg_cap.value)) + tol,
            np.allclose(
                d + br.charge_mw - br.discharge_mw + br.rt_sell_mw,
                br.contract_mw + br.rt_buy_mw,
                atol=tol,
            ),
            np.all(np.minimum(br.charge_mw, br.discharge_mw) <= SIMULTANEOUS_TOL_MW),
            np.all(np.minimum(br.rt_buy_mw, br.rt_sell_mw) <= SIMULTANEOUS_TOL_MW),
            np.all(br.rt_sell_mw <= br.discharge_mw + tol),
            np.all(soc >= -tol) and np.all(soc <= s.storage_kwh / 1e3 + tol),
            soc[-1] >= 0.5 * s.storage_kwh / 1e3 - tol,
        ]
        return bool(all(checks))
