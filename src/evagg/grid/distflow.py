"""Multi-period SOCP branch-flow (DistFlow) OPF with DLMPs and AC verification.

Model (per slot t, branch l: i → j, all in pu on ``s_base``; seed 000 §3, eqs. 8–13,
relaxed as in Farivar & Low, IEEE TPWRS 2013):

.. math::

    \\sum_{l:i\\to j} P_{jk} - \\sum_{l: i\\to j}(P_{l} - r_l \\ell_l) + g^{sh}_j v_j
        - p^{gen}_j = -p^{load}_j \\qquad \\text{(active balance, dual } λ_j)

    v_j = v_i - 2(r_l P_l + x_l Q_l) + (r_l^2 + x_l^2)\\,\\ell_l

    P_l^2 + Q_l^2 \\le v_i \\ell_l \\quad\\text{(relaxed from equality; SOC)}

    P_l^2 + Q_l^2 \\le \\bar S_l^2,\\ (P_l - r_l\\ell_l)^2 + (Q_l - x_l \\ell_l)^2 \\le \\bar S_l^2
        \\quad\\text{(eq. 8, both ends)}

    \\underline V_j^2 \\le v_j \\le \\bar V_j^2,\\quad
    \\underline V_0^2 \\le v_0 \\le \\bar V_0^2 \\text{ (substation)}

generators (external grid and controllable static generators): P, Q, apparent-power and
ramp limits (eqs. 9–12); storage with charge/discharge efficiencies and energy limits.
Objective: ``a1 · Σ_t Δt (price_t · P_ext,t + Σ_g c_g P_g,t) + a2 · Σ_t Δt · losses_t``
(+ voltage-violation penalty in soft mode, + any cost an extension adds).

What evagg changed w.r.t. the seed: the seed's eq. (13) (total generation equals load
plus losses) is implied by the nodal balances and not added; the loss term uses the
series losses ``Σ r ℓ``; storage is modelled without a charge/discharge binary (convex;
simultaneous charge and discharge is never optimal with positive prices and is reported
by ``OPFResult.storage_simultaneous_mwh``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg.errors import InfeasibleError, InputError, SolverError, VerificationError
from evagg.grid.dlmp import COMPONENTS
from evagg.grid.feeder import Feeder
from evagg.grid.formulation import (
    LIMIT_FAMILIES,
    GridModel,
    constraint_branch_limits,
    constraint_current_relaxation,
    constraint_current_tangent,
    constraint_generators,
    constraint_power_balance,
    constraint_storage,
    constraint_substation,
    constraint_voltage_drop,
    constraint_voltage_limits,
    objective_energy_cost,
    variables_branch_flow,
    variables_generators,
    variables_storage,
    variables_substation,
)
from evagg.grid.solution import (
    ACVerification,
    check_decomposition,
    nodal_prices,
    operating_point,
    relaxation_gap,
    verify_ac,
)
from evagg.optim.core import SolveInfo, solve_cvxpy

__all__ = [
    "OPF_CONSTRAINTS",
    "OPF_VARIABLES",
    "DistFlowModel",
    "DistFlowOptions",
    "OPFResult",
    "diagnose",
    "restore_exactness",
    "solve_opf",
    "solve_relaxation",
]

FloatArray = npt.NDArray[np.float64]

SPLIT_MIN_BUSES = 300
"""Smallest feeder for which an uncoupled multi-period OPF is solved slot by slot by
default (below it one joint solve is faster; see ``benchmarks/bench_grid.py``)."""

DPP_MAX_PARAM_ENTRIES = 2000
"""Above this many parameter entries (4·N·T + T) the model is solved with
``ignore_dpp=True``: CVXPY's DPP compilation grows with parameters × variables (33 buses ×
96 slots: 6.4 s once, versus 0.04 s per plain canonicalisation; 1000 × 96 does not fit in
memory), whereas small models (single period, game iterations) re-solve about 4× faster
from the DPP cache."""


@dataclass(frozen=True)
class DistFlowOptions:
    """Settings of the DistFlow OPF and of its verification.

    Attributes
    ----------
    v_min_pu, v_max_pu
        Voltage band of every non-substation bus [pu]; ``None`` uses the feeder's
        ``min_vm_pu`` / ``max_vm_pu`` per bus.
    v_slack_min_pu, v_slack_max_pu
        Substation voltage range [pu]; both ``None`` pins it at the external grid's
        ``vm_pu``.
    a1
        Weight of the purchase/generation cost (seed 000 §3 a₁) [-].
    a2_eur_per_mwh
        Weight of the losses (seed 000 §3 a₂) [EUR/MWh]; 0 by default because losses are
        already paid through the purchase.
    line_limits
        Impose branch ratings (eq. 8) where the feeder has finite ones, at both ends of
        each branch, its own shunts included (as pandapower's OPF).
    branch_rating
        How ratings are imposed at each end of every branch: ``"current"`` (default;
        |I| ≤ Ī, as pandapower's ``runopp``, whose default ``OPF_FLOW_LIM = 2`` limits
        the current magnitude, and as its power flow rates line loading) or
        ``"apparent"`` (|S| ≤ S̄, the rating at nominal voltage).
    soft_voltage
        Replace hard voltage limits by penalised violations (for studies that need an
        answer on an infeasible band).
    voltage_penalty_eur_per_pu2h
        Penalty per unit of squared-voltage violation per hour [EUR/(pu²·h)].
    voltage_penalty_quad_eur_per_pu4h
        Quadratic penalty w₂ s² on the squared-voltage violation s [EUR/(pu⁴·h)]; with
        the linear penalty at 0 the voltage part of the DLMPs is continuous in the
        loads (for iterations such as :mod:`evagg.dso_game`'s). 0 by default.
    storage_eta_ch, storage_eta_dis
        Storage charge/discharge efficiencies [-].
    storage_cyclic
        Require the final stored energy to be at least the initial one.
    ext_ramp_mw_per_h, gen_ramp_mw_per_h
        Ramp limits (eq. 12) of the external grid and of controllable generators
        [MW/h]; ``None`` = none.
    relaxation_tol
        Relative relaxation gap (max |P²+Q²−vℓ| over the slot's largest vℓ, or over
        (0.1 · the feeder's largest total load)² if that is larger) above which
        the result is flagged inexact [-]. 1e-4 sits well above Clarabel's noise (1e-8
        to 1e-6 on exact cases) and below gaps that move AC voltages measurably; the AC
        check against pandapower remains the binding test.
    accept_inexact
        If False (default) an inexact relaxation raises ``VerificationError``; if True
        the result is returned with ``exact=False`` and the AC differences reported,
        without the AC tolerance check (the AC check would fail by construction).
    ac_v_tol_pu, ac_loss_tol_kw, ac_loss_rtol
        AC check tolerances: max |ΔV| [pu], and |Δlosses| ≤ max(abs [kW], rel · AC
        losses).
    ac_slots
        ``"all"`` checks every slot with ``runpp``; ``"extremes"`` only the slots with the
        largest losses and the lowest voltage (for many re-solves, e.g. game iterations).
    price_tol_eur_per_mwh
        Tolerance on the unexplained DLMP remainder ("other" component) of a model
        without extensions [EUR/MWh].
    remedy
        What to do when the relaxation is not exact (typically at negative prices, where
        burning power in the lines lowers the cost): ``"pccp"`` (default) runs the
        penalty convex–concave procedure from the relaxation's neighbourhood until the
        branch-flow equations hold, returning an AC-feasible local optimum whose gap to
        the relaxation's lower bound is reported (docs/grid.md §4); ``"none"`` raises
        ``VerificationError("relaxation_gap")`` (or returns the inexact point with
        ``accept_inexact``).
    ac_engine
        AC power flow of the check: ``"pgm"`` (one power-grid-model batch over all
        slots, default) or ``"pandapower"`` (``runpp`` per slot); they agree to 1e-9 pu
        (``tests/test_grid_batch_ac.py``).
    pccp_max_iter, pccp_tau_growth
        Iteration limit of the procedure and the factor by which its penalty grows per
        iteration [-].
    split_slots
        Solve slot by slot when nothing couples the slots (no controllable storage, no
        ramp limits, no extensions); the problem is then separable and the solution the
        same, but time grows linearly with the number of slots (one large KKT system
        slows down more than linearly). ``None``: automatic, for feeders of at least
        ``SPLIT_MIN_BUSES`` buses.
    """

    v_min_pu: float | None = None
    v_max_pu: float | None = None
    v_slack_min_pu: float | None = None
    v_slack_max_pu: float | None = None
    a1: float = 1.0
    a2_eur_per_mwh: float = 0.0
    line_limits: bool = True
    branch_rating: Literal["current", "apparent"] = "current"
    soft_voltage: bool = False
    voltage_penalty_eur_per_pu2h: float = 1e4
    voltage_penalty_quad_eur_per_pu4h: float = 0.0
    storage_eta_ch: float = 0.95
    storage_eta_dis: float = 0.95
    storage_cyclic: bool = True
    ext_ramp_mw_per_h: float | None = None
    gen_ramp_mw_per_h: float | None = None
    relaxation_tol: float = 1e-4
    accept_inexact: bool = False
    ac_v_tol_pu: float = 1e-4
    ac_loss_tol_kw: float = 0.1
    ac_loss_rtol: float = 1e-3
    ac_slots: Literal["all", "extremes"] = "all"
    price_tol_eur_per_mwh: float = 1e-3
    split_slots: bool | None = None
    remedy: Literal["pccp", "none"] = "pccp"
    ac_engine: Literal["pgm", "pandapower"] = "pgm"
    pccp_max_iter: int = 30
    pccp_tau_growth: float = 4.0

    def __post_init__(self) -> None:
        for name in ("v_min_pu", "v_max_pu", "v_slack_min_pu", "v_slack_max_pu"):
            val = getattr(self, name)
            if val is not None and not (0.5 <= float(val) <= 1.5):
                raise InputError(name, val, "must lie in [0.5, 1.5] pu")
        for lo, hi in (("v_min_pu", "v_max_pu"), ("v_slack_min_pu", "v_slack_max_pu")):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise InputError(f"{lo}/{hi}", (a, b), "lower bound exceeds upper bound")
        if (self.v_slack_min_pu is None) != (self.v_slack_max_pu is None):
            raise InputError(
                "v_slack_min_pu/v_slack_max_pu",
                (self.v_slack_min_pu, self.v_slack_max_pu),
                "give both or neither",
            )
        for name in ("storage_eta_ch", "storage_eta_dis"):
            val = getattr(self, name)
            if not (0 < val <= 1):
                raise InputError(name, val, "efficiency must lie in (0, 1]")
        for name in (
            "a1",
            "a2_eur_per_mwh",
            "voltage_penalty_eur_per_pu2h",
            "voltage_penalty_quad_eur_per_pu4h",
            "relaxation_tol",
            "ac_v_tol_pu",
            "ac_loss_tol_kw",
            "ac_loss_rtol",
            "price_tol_eur_per_mwh",
        ):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise InputError(name, getattr(self, name), "must be finite and ≥ 0")
        for name in ("ext_ramp_mw_per_h", "gen_ramp_mw_per_h"):
            val = getattr(self, name)
            if val is not None and not (np.isfinite(val) and val >= 0):
                raise InputError(name, val, "ramp limit must be finite and ≥ 0 [MW/h] or None")
        if self.ac_engine not in ("pgm", "pandapower"):
            raise InputError("ac_engine", self.ac_engine, "must be 'pgm' or 'pandapower'")
        if self.remedy not in ("pccp", "none"):
            raise InputError("remedy", self.remedy, "must be 'pccp' or 'none'")
        if not (isinstance(self.pccp_max_iter, int) and self.pccp_max_iter >= 1):
            raise InputError("pccp_max_iter", self.pccp_max_iter, "must be an integer ≥ 1")
        if not (np.isfinite(self.pccp_tau_growth) and self.pccp_tau_growth > 1):
            raise InputError("pccp_tau_growth", self.pccp_tau_growth, "must be > 1")
        if self.branch_rating not in ("current", "apparent"):
            raise InputError("branch_rating", self.branch_rating, "must be 'current' or 'apparent'")
        if self.ac_slots not in ("all", "extremes"):
            raise InputError("ac_slots", self.ac_slots, "must be 'all' or 'extremes'")


@dataclass(frozen=True)
class OPFResult:
    """Solution of the DistFlow OPF, its prices and its verification.

    Bus tables are indexed by pandapower bus index (sorted rows) and slot label (columns).

    Attributes
    ----------
    status
        Solver status (``"optimal"``).
    objective_eur
        Optimal objective [EUR] over the horizon.
    cost_eur
        Purchase plus generation cost (without a1/a2 weights, penalties) [EUR].
    losses_mw
        Active losses per slot (series + shunt) [MW].
    p_ext_mw, q_ext_mvar
        Substation import per slot [MW, Mvar].
    v_pu
        Voltage magnitudes √v [pu].
    dlmp_eur_per_mwh
        Active DLMP = ∂objective/∂load [EUR/MWh].
    dlmp_components
        ``energy``, ``loss``, ``voltage``, ``congestion``, ``other`` [EUR/MWh]; they sum
        to ``dlmp_eur_per_mwh``.
    qlmp_eur_per_mvarh
        Reactive price = ∂objective/∂reactive load [EUR/Mvarh].
    qlmp_components
        Same split for the reactive price.
    p_branch_mw, q_branch_mvar
        Sending-end branch flows, rows labelled ``"line 3"`` / ``"trafo 0"``.
    p_gen_mw, p_storage_mw, e_storage_mwh
        Controllable generators' output; storage net discharge and stored energy (rows:
        pandapower sgen / storage indices).
    relaxation_gap_abs, relaxation_gap_rel
        max |P² + Q² − v ℓ| [pu²], and the same divided by the largest v ℓ of its slot
        (at least (0.1 · largest total load)² [pu²], so that near-empty slots do not turn
        solver noise into a large relative gap).
    exact
        Whether the relative gap is within ``relaxation_tol``.
    ac_max_dv_pu, ac_loss_diff_kw
        Max |V_OPF − V_AC| over the checked slots [pu]; max |losses_OPF − losses_AC| [kW].
    ac_slots
        Slots checked with ``runpp``.
    voltage_violation_pu
        Largest violation of the voltage band (soft mode; 0 in hard mode) [pu].
    storage_simultaneous_mwh
        Largest Δt·min(charge, discharge) (0 means no simultaneous use) [MWh].
    solve_info
        Solver status and times.
    verify_time_s
        Time spent on the AC check and the other verifications [s].
    remedy, pccp_iterations
        ``"none"`` if the relaxation was exact, ``"pccp"`` if the convex–concave
        procedure restored exactness (and how many convex solves it took).
    lower_bound_eur, optimality_gap_rel
        With ``remedy="pccp"``: the relaxation's objective (a lower bound on the AC OPF's
        optimum) [EUR] and (objective − bound)/|objective| [-]; ``None`` / 0 otherwise
        (an exact relaxation is globally optimal).
    verified
        False if solved with ``verify=False`` (no AC power flow was run; the AC fields
        are then NaN).
    """

    status: str
    objective_eur: float
    cost_eur: float
    losses_mw: pd.Series
    p_ext_mw: pd.Series
    q_ext_mvar: pd.Series
    v_pu: pd.DataFrame
    dlmp_eur_per_mwh: pd.DataFrame
    dlmp_components: dict[str, pd.DataFrame]
    qlmp_eur_per_mvarh: pd.DataFrame
    qlmp_components: dict[str, pd.DataFrame]
    p_branch_mw: pd.DataFrame
    q_branch_mvar: pd.DataFrame
    p_gen_mw: pd.DataFrame
    p_storage_mw: pd.DataFrame
    e_storage_mwh: pd.DataFrame
    relaxation_gap_abs: float
    relaxation_gap_rel: float
    exact: bool
    ac_max_dv_pu: float
    ac_loss_diff_kw: float
    ac_slots: tuple[int, ...]
    voltage_violation_pu: float
    storage_simultaneous_mwh: float
    solve_info: SolveInfo
    verify_time_s: float
    dt_h: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)
    remedy: str = "none"
    pccp_iterations: int = 0
    lower_bound_eur: float | None = None
    optimality_gap_rel: float = 0.0
    verified: bool = True

    def summary(self) -> dict[str, Any]:
        """JSON-ready dictionary (single- or multi-period; keys as in the CLI)."""

        def table(df: pd.DataFrame) -> Any:
            if df.shape[1] == 1:
                return {str(k): float(v) for k, v in df.iloc[:, 0].items()}
            return {str(k): [float(x) for x in row] for k, row in df.iterrows()}

        total_h = self.dt_h * len(self.losses_mw)
        return {
            "status": self.status,
            "objective_eur": self.objective_eur,
            "cost_eur": self.cost_eur,
            "cost_eur_per_h": self.cost_eur / total_h,
            "losses_kw": [1e3 * float(x) for x in self.losses_mw]
            if len(self.losses_mw) > 1
            else 1e3 * float(self.losses_mw.iloc[0]),
            "relaxation_gap": {
                "abs_pu2": self.relaxation_gap_abs,
                "rel": self.relaxation_gap_rel,
                "exact": self.exact,
            },
            "ac_check": {
                "max_dv_pu": self.ac_max_dv_pu,
                "loss_diff_kw": self.ac_loss_diff_kw,
                "slots": list(self.ac_slots),
            },
            "voltage_violation_pu": self.voltage_violation_pu,
            "v_pu": table(self.v_pu),
            "dlmp_eur_per_mwh": table(self.dlmp_eur_per_mwh),
            "dlmp_components_eur_per_mwh": {k: table(v) for k, v in self.dlmp_components.items()},
            "qlmp_eur_per_mvarh": table(self.qlmp_eur_per_mvarh),
            "solve_time_s": self.solve_info.solve_time_s,
            "remedy": self.remedy,
            "pccp_iterations": self.pccp_iterations,
            "lower_bound_eur": self.lower_bound_eur,
            "optimality_gap_rel": self.optimality_gap_rel,
        }


class DistFlowModel(GridModel):
    """Multi-period SOCP DistFlow OPF, built once and re-solved with new parameters.

    The OPF problem is the list of builder calls in :data:`OPF_VARIABLES` (run when the
    model is created, so that extensions can use ``m.v``, ``m.P``, …) and
    :data:`OPF_CONSTRAINTS` (run by :meth:`build`); see :mod:`evagg.grid.formulation`.

    Use: create, optionally extend (:meth:`add_injection`, :meth:`add_constraints`,
    :meth:`add_cost`, using the model's variables), :meth:`build` (or just
    :meth:`solve`, which builds on first use), then change data with
    :meth:`set_loads`, :meth:`set_price`, :meth:`set_injections` and :meth:`solve`
    again: the CVXPY problem is not rebuilt.

    Parameters (``cp.Parameter``, set via the setters)
    ---------------------------------------------------
    p_load_mw, q_load_mvar : (N, T)
        Demand per bus (feeder bus order) and slot [MW, Mvar].
    p_inj_mw, q_inj_mvar : (N, T)
        Fixed injections (non-controllable static generation by default) [MW, Mvar].
    price_eur_per_mwh : (T,)
        Energy price at the substation [EUR/MWh].

    Variables (pu on ``feeder.s_base_mva``; multiply by it for MW)
    ---------------------------------------------------------------
    P, Q, ell : (L, T); v : (N, T); p_ext, q_ext : (T,); p_gen, q_gen : (G, T) or None;
    p_ch, p_dis, e : (S, T) or None.
    """

    def __init__(
        self,
        feeder: Feeder,
        n_slots: int,
        dt_h: float = 1.0,
        options: DistFlowOptions | None = None,
        time_index: pd.Index | None = None,
    ) -> None:
        super().__init__(feeder, n_slots, dt_h, options or DistFlowOptions(), time_index)
        for builder in OPF_VARIABLES:
            builder(self)
        self.problem_pccp: cp.Problem | None = None
        self.build_time_s = 0.0
        self._slot_model: DistFlowModel | None = None

    @property
    def param_entries(self) -> int:
        """Number of scalar parameter entries (4·N·T + T)."""
        return 4 * self.feeder.n_bus * self.n_slots + self.n_slots

    def build(self) -> cp.Problem:
        """Create the CVXPY problem (once); returns it (also as ``self.problem``)."""
        if self.problem is None:
            t0 = time.perf_counter()
            for builder in OPF_CONSTRAINTS:
                builder(self)
            self.problem = self.make_problem()
            self.build_time_s = time.perf_counter() - t0
        return self.problem

    def solve(
        self, solver: str | None = None, *, verify: bool = True, **solver_options: Any
    ) -> OPFResult:
        """Solve, restore exactness if needed, compute prices and verify.

        Steps: solve the relaxation (slot by slot when separable and large); if its gap
        exceeds ``relaxation_tol`` and ``options.remedy == "pccp"``, run the penalty
        convex–concave procedure (:func:`restore_exactness`); post-process (operating
        point, gap, DLMPs); verify (``verify=False`` skips the AC power flow and every
        tolerance check).

        Raises
        ------
        InfeasibleError
            With ``family`` naming the blamed constraint family ("voltage limits",
            "line limits", ...), diagnosed by re-solving relaxed copies.
        VerificationError
            If the point is not exact (after the remedy, unless ``accept_inexact``), the
            AC power flow disagrees beyond tolerance, or the DLMP decomposition leaves a
            remainder.
        """
        self.build()
        t0 = time.perf_counter()
        info = solve_relaxation(self, solver, **solver_options)
        remedy, iters, bound = "none", 0, None
        if relaxation_gap(self)[1] > self.options.relaxation_tol and self.options.remedy == "pccp":
            bound = info.objective
            info, iters = restore_exactness(self, solver, **solver_options)
            remedy = "pccp"
        total_s = time.perf_counter() - t0
        info = replace(info, solve_time_s=max(info.solve_time_s, 0.0))
        return _result(self, info, verify, remedy, iters, bound, total_s)


OPF_VARIABLES = (
    variables_branch_flow,
    variables_substation,
    variables_generators,
    variables_storage,
)
"""Variable builders of the OPF (run at model creation)."""

OPF_CONSTRAINTS = (
    constraint_power_balance,
    constraint_voltage_drop,
    constraint_current_relaxation,
    constraint_branch_limits,
    constraint_voltage_limits,
    constraint_substation,
    constraint_generators,
    constraint_storage,
    objective_energy_cost,
)
"""Constraint and objective builders of the OPF (run by ``build``)."""


def _solve(m: DistFlowModel, prob: cp.Problem, solver: str | None, **opts: Any) -> SolveInfo:
    opts.setdefault("ignore_dpp", m.param_entries > DPP_MAX_PARAM_ENTRIES)
    return solve_cvxpy(prob, name="distflow_opf", kind="socp", solver=solver, **opts)


def solve_relaxation(m: DistFlowModel, solver: str | None = None, **opts: Any) -> SolveInfo:
    """Solve the SOCP relaxation (slot by slot if separable and large); on infeasibility
    raise ``InfeasibleError`` naming the constraint family (:func:`diagnose`)."""
    assert m.problem is not None
    if m.price_eur_per_mwh.value is None:
        raise InputError("price_eur_per_mwh", None, "set a price before solving")
    m.tangent_active = False
    if _splittable(m):
        return _solve_split(m, solver, **opts)
    try:
        return _solve(m, m.problem, solver, **opts)
    except InfeasibleError as exc:
        family, detail = diagnose(m, solver)
        raise InfeasibleError("distflow_opf", exc.status, family, detail) from None


PCCP_OBJ_RTOL = 1e-5
"""Relative objective change below which the convex–concave procedure stops (the
interior-point objective noise of a 33 × 24 model is ~1e-6 relative)."""


def restore_exactness(
    m: DistFlowModel, solver: str | None = None, **opts: Any
) -> tuple[SolveInfo, int]:
    """Penalty convex–concave procedure: an AC-feasible point where the relaxation is not
    exact (Lipp & Boyd, Optim. Eng. 2016; Wei et al., IEEE TSG 2017).

    Iteration k solves the OPF plus the tangent cut ℓ ≤ ∇g(z_k)·z + s of
    g = (P² + Q²)/v at the previous point z_k (:func:`constraint_current_tangent`) with
    the penalty τ_k Σ s, τ_{k+1} = growth · τ_k; together with the relaxed cone ℓ ≥ g the
    branch-flow equality holds when s = 0. Start: the relaxation with every price
    replaced by max(|price|, 1) EUR/MWh (losses then cost, so it is exact: a physical
    point); τ_0 = max|price| · s_base · Δt · mean(r) [EUR/pu], the order of what one unit
    of ℓ earns; τ grows while the gap exceeds relaxation_tol/10, up to 1e4 τ_0. Stops
    at an optimal solve whose relative gap ≤ relaxation_tol/10 and whose objective
    changed by < ``PCCP_OBJ_RTOL`` relative (each such iterate is AC feasible; the
    rule ends the descent, it does not certify it). Returns the last solve's info
    (objective without the
    penalty, which is then < 1e-9 of it) and the number of convex solves.
    """
    o, fd = m.options, m.feeder
    price = np.asarray(m.price_eur_per_mwh.value, dtype=float)
    m.price_eur_per_mwh.value = np.maximum(np.abs(price), 1.0)
    try:
        _solve(m, m.problem, solver, **opts)  # type: ignore[arg-type]
    finally:
        m.price_eur_per_mwh.value = price
    if m.problem_pccp is None:
        constraint_current_tangent(m)
        m.problem_pccp = m.make_problem()
    tau = max(float(np.abs(price).max()), 1.0) * fd.s_base_mva * m.dt_h * float(fd.r_pu.mean())
    last, tau_max = np.inf, tau * 1e4
    for it in range(1, o.pccp_max_iter + 1):
        P, Q, v = (np.asarray(m.var[k].value) for k in ("P", "Q", "v"))
        v_from = np.maximum(v[fd.from_bus, :] / fd.tap_ratio[:, None] ** 2, 1e-6)
        m.param["a_p"].value, m.param["a_q"].value = 2 * P / v_from, 2 * Q / v_from
        m.param["a_v"].value = -(P**2 + Q**2) / v_from**2
        m.param["tau"].value = tau
        info = _solve_iterate(m, m.problem_pccp, it, solver, **opts)
        m.tangent_active = True
        obj = info.objective - float(np.asarray(m.cost["tangent_penalty"].value))
        exact = relaxation_gap(m)[1] <= o.relaxation_tol / 10
        steady = abs(obj - last) <= PCCP_OBJ_RTOL * max(abs(obj), 1.0)
        if exact and steady and info.status == "optimal":
            return replace(info, objective=obj), it
        if not exact:  # raise the penalty only while the equality is still violated
            tau = min(tau * o.pccp_tau_growth, tau_max)
        last = obj
    gap = relaxation_gap(m)[1]
    if gap <= o.relaxation_tol:  # converged in the gap, objective still creeping
        return replace(info, objective=last), o.pccp_max_iter
    raise VerificationError(
        "relaxation_gap",
        gap,
        o.relaxation_tol,
        f"convex-concave procedure did not restore exactness in {o.pccp_max_iter} solves",
    )


def _solve_iterate(
    m: DistFlowModel, prob: cp.Problem, it: int, solver: str | None, **opts: Any
) -> SolveInfo:
    """One convex solve of the procedure; an ``optimal_inaccurate`` iterate is kept (the
    returned point is verified by the gap and the AC power flow, not by the status)."""
    try:
        return _solve(m, prob, solver, **opts)
    except SolverError as exc:
        if exc.status == "optimal_inaccurate" and m.P.value is not None:
            return SolveInfo(exc.status, float(prob.value), str(solver), 0.0, 0.0)
        raise VerificationError(
            "relaxation_gap",
            float("nan"),
            m.options.relaxation_tol,
            f"convex-concave procedure stopped at solve {it} ({exc.status}): the AC "
            "problem may be infeasible (e.g. a ramp only fictitious losses can meet)",
        ) from None


def _splittable(m: DistFlowModel) -> bool:
    o = m.options
    coupled = (
        "e" in m.var
        or o.ext_ramp_mw_per_h is not None
        or (o.gen_ramp_mw_per_h is not None and "p_gen" in m.var)
        or m.has_extensions
    )
    if coupled or m.n_slots == 1:
        return False
    return o.split_slots if o.split_slots is not None else m.feeder.n_bus >= SPLIT_MIN_BUSES


def _split_families(m: GridModel) -> list[str]:
    return [
        k
        for k in ("p_balance", "q_balance", "cone", "v_lower", "v_upper", *LIMIT_FAMILIES)
        if k in m.con
    ]


def _solve_split(m: DistFlowModel, solver: str | None, **opts: Any) -> SolveInfo:
    """Solve each slot with one single-slot model (built once) and store the primal
    and dual values in ``m``'s variables and constraints."""
    if m._slot_model is None:
        m._slot_model = DistFlowModel(m.feeder, 1, m.dt_h, m.options)
        m._slot_model.build()
    sub = m._slot_model
    data = {k: np.asarray(m.param[k].value) for k in _DATA}
    prim: dict[str, list[FloatArray]] = {k: [] for k in sub.var}
    duals: dict[str, list[list[FloatArray]]] = {k: [] for k in _split_families(sub)}
    totals = np.zeros(3)
    for t in range(m.n_slots):
        for k, val in data.items():
            sub.param[k].value = val[..., t : t + 1]
        try:
            info = _solve(sub, sub.problem, solver, **opts)  # type: ignore[arg-type]
        except InfeasibleError as exc:
            family, detail = diagnose(sub, solver)
            raise InfeasibleError(
                "distflow_opf", exc.status, family, f"slot {t}: {detail}"
            ) from None
        totals += (info.objective, info.solve_time_s, info.compile_time_s)
        for k in prim:
            prim[k].append(np.asarray(sub.var[k].value, dtype=float).reshape(-1))
        for k in duals:
            dv = sub.con[k].dual_value
            parts = dv if isinstance(dv, list) else [dv]
            duals[k].append([np.asarray(p, dtype=float) for p in parts])
    for k, vals in prim.items():
        m.var[k].value = np.column_stack(vals).reshape(m.var[k].shape)
    for k, per_slot in duals.items():
        con = m.con[k]
        if len(con.dual_variables) > 1:  # SOC: t (n·T,), X (k, n·T), column-major in t
            con.dual_variables[0].value = np.concatenate([d[0] for d in per_slot])
            con.dual_variables[1].value = np.hstack([d[1] for d in per_slot])
        else:
            con.dual_variables[0].value = np.column_stack([d[0].reshape(-1) for d in per_slot])
    return SolveInfo("optimal", float(totals[0]), info.solver, float(totals[1]), float(totals[2]))


_DATA = ("p_load_mw", "q_load_mvar", "p_inj_mw", "q_inj_mvar", "price_eur_per_mwh")


def _feasible(m: DistFlowModel, opts: DistFlowOptions, solver: str | None) -> DistFlowModel | None:
    trial = DistFlowModel(m.feeder, m.n_slots, m.dt_h, opts, m.time_index)
    for k in _DATA:
        trial.param[k].value = m.param[k].value
    try:
        solve_cvxpy(
            trial.build(), name="distflow_diagnosis", kind="socp", solver=solver, ignore_dpp=True
        )
    except InfeasibleError:
        return None
    return trial


def diagnose(m: DistFlowModel, solver: str | None) -> tuple[str, str]:
    """Name the constraint family that makes ``m`` infeasible, by re-solving relaxed
    copies (base network without extensions; soft voltages; no line limits; both)."""
    o = m.options
    if m.has_extensions and _feasible(m, o, solver) is not None:
        return (
            "model extensions",
            "the base network with the same data is feasible; the added injections/"
            "constraints make it infeasible",
        )
    soft = _feasible(m, replace(o, soft_voltage=True), solver)
    if soft is not None and not o.soft_voltage:
        v = np.sqrt(np.maximum(np.asarray(soft.v.value), 0))
        lo = np.maximum(m.v_min_used[:, None] - v[1:], 0)
        hi = np.maximum(v[1:] - m.v_max_used[:, None], 0)
        worst = lo if lo.max() >= hi.max() else hi
        j, t = (int(i) for i in np.unravel_index(int(np.argmax(worst)), worst.shape))
        side = "below v_min" if worst is lo else "above v_max"
        slack = (
            f"substation voltage pinned at {m.feeder.v_slack_pu} pu"
            if o.v_slack_min_pu is None
            else f"substation range [{o.v_slack_min_pu}, {o.v_slack_max_pu}] pu"
        )
        return (
            "voltage limits",
            f"with softened voltage limits the least violation is {worst.max():.4f} pu "
            f"{side} at bus {int(m.feeder.bus_index[j + 1])} (slot {t}) with the {slack}; "
            "widen the band, let the substation voltage vary, or use soft_voltage=True",
        )
    if o.line_limits and _feasible(m, replace(o, line_limits=False), solver) is not None:
        return "line limits", "feasible without branch ratings (eq. 8)"
    if o.line_limits and _feasible(m, replace(o, line_limits=False, soft_voltage=True), solver):
        return "voltage and line limits", "feasible only when both are relaxed"
    return (
        "generation/storage/external-grid limits",
        "infeasible even with soft voltage and no line limits",
    )


def _check_exact(m: DistFlowModel, gap_abs: float, gap_rel: float, remedy: str) -> None:
    o = m.options
    if gap_rel > o.relaxation_tol and not o.accept_inexact:
        how = "after the convex-concave procedure" if remedy == "pccp" else "(remedy='none')"
        raise VerificationError(
            "relaxation_gap",
            gap_rel,
            o.relaxation_tol,
            f"SOCP relaxation not exact {how} (abs gap {gap_abs:.3e} pu²); the OPF point "
            "is not AC feasible. Pass accept_inexact=True to get it anyway",
        )


def _result(
    m: DistFlowModel,
    info: SolveInfo,
    verify: bool,
    remedy: str,
    iters: int,
    bound: float | None,
    total_s: float,
) -> OPFResult:
    t_ver = time.perf_counter()
    fd, o = m.feeder, m.options
    gap_abs, gap_rel = relaxation_gap(m)
    exact = gap_rel <= o.relaxation_tol
    op = operating_point(m)
    act, rea = nodal_prices(m)
    ac = ACVerification((), float("nan"), float("nan"), np.zeros(0))
    if verify:
        _check_exact(m, gap_abs, gap_rel, remedy)
        ac = verify_ac(m, op, enforce=exact)
        if not m.has_extensions:
            check_decomposition(act, rea, o.price_tol_eur_per_mwh)
    viol = 0.0
    if o.soft_voltage:
        below = np.max(m.v_min_used[:, None] - op.v_pu[1:], initial=0.0)
        viol = float(max(below, np.max(op.v_pu[1:] - m.v_max_used[:, None], initial=0.0), 0.0))
    cols, bidx = m.time_index, fd.bus_index

    def frame(a: FloatArray, index: pd.Index = bidx) -> pd.DataFrame:
        df = pd.DataFrame(a, index=index, columns=cols)
        return df.sort_index() if index is bidx else df

    br = pd.Index([f"{kind} {i}" for kind, i in fd.branch_element], name="branch")
    sto = pd.Index(fd.storage["storage"].to_numpy(int), name="storage")
    sb = fd.s_base_mva
    obj = float(info.objective)
    return OPFResult(
        status=info.status,
        objective_eur=obj,
        cost_eur=float(np.asarray(m.cost_expr.value)),
        losses_mw=pd.Series(op.losses_mw, index=cols, name="losses_mw"),
        p_ext_mw=pd.Series(op.p_ext_mw, index=cols, name="p_ext_mw"),
        q_ext_mvar=pd.Series(op.q_ext_mvar, index=cols, name="q_ext_mvar"),
        v_pu=frame(op.v_pu),
        dlmp_eur_per_mwh=frame(act["price"]),
        dlmp_components={k: frame(act[k]) for k in (*COMPONENTS, "other")},
        qlmp_eur_per_mvarh=frame(rea["price"]),
        qlmp_components={k: frame(rea[k]) for k in (*COMPONENTS, "other")},
        p_branch_mw=frame(np.asarray(m.P.value) * sb, br),
        q_branch_mvar=frame(np.asarray(m.Q.value) * sb, br),
        p_gen_mw=frame(op.p_gen_mw, pd.Index(fd.gens["sgen"].to_numpy(int), name="sgen")),
        p_storage_mw=frame(op.p_storage_mw, sto),
        e_storage_mwh=frame(op.e_storage_mwh, sto),
        relaxation_gap_abs=gap_abs,
        relaxation_gap_rel=gap_rel,
        exact=exact,
        ac_max_dv_pu=ac.max_dv_pu,
        ac_loss_diff_kw=ac.loss_diff_kw,
        ac_slots=ac.slots,
        voltage_violation_pu=viol,
        storage_simultaneous_mwh=op.storage_simultaneous_mwh,
        solve_info=info,
        verify_time_s=time.perf_counter() - t_ver,
        dt_h=m.dt_h,
        extra={
            "build_time_s": m.build_time_s,
            "ac_losses_mw": ac.ac_losses_mw,
            "solve_total_s": total_s,
        },
        remedy=remedy,
        pccp_iterations=iters,
        lower_bound_eur=bound,
        optimality_gap_rel=0.0 if bound is None else (obj - bound) / max(abs(obj), 1e-9),
        verified=verify,
    )


def solve_opf(
    feeder: Feeder | None = None,
    *,
    price_eur_per_mwh: Any = 50.0,
    p_load_mw: Any | None = None,
    q_load_mvar: Any | None = None,
    load_scale: Any | None = None,
    n_slots: int | None = None,
    dt_h: float = 1.0,
    time_index: pd.Index | None = None,
    options: DistFlowOptions | None = None,
    solver: str | None = None,
    verify: bool = True,
) -> OPFResult:
    """Build and solve the DistFlow OPF in one call.

    Parameters
    ----------
    feeder
        Radial feeder (default: ``Feeder.from_pandapower()`` = case33bw).
    price_eur_per_mwh
        Substation energy price, scalar or (T,) [EUR/MWh].
    p_load_mw, q_load_mvar
        Loads (N, T) or bus × time DataFrame [MW, Mvar]; default base loads.
    load_scale
        Alternative to ``p_load_mw``: per-slot factor (T,) on the base loads [-].
    n_slots
        T; inferred from the price, loads or scale if omitted.
    dt_h, time_index, options, solver
        As for :class:`DistFlowModel`.
    verify
        Run the AC power flow and the tolerance checks (default).
    """
    fd = feeder if feeder is not None else Feeder.from_pandapower()
    if n_slots is None:
        for cand in (time_index, load_scale, price_eur_per_mwh):
            if cand is not None and np.ndim(cand) == 1:
                n_slots = len(cand)
                break
        else:
            n_slots = (
                int(np.shape(p_load_mw)[1])
                if p_load_mw is not None and np.ndim(p_load_mw) == 2
                else 1
            )
    model = DistFlowModel(fd, n_slots, dt_h, options, time_index)
    model.set_price(price_eur_per_mwh)
    if load_scale is not None:
        model.scale_loads(load_scale)
    if p_load_mw is not None:
        model.set_loads(p_load_mw, q_load_mvar)
    return model.solve(solver, verify=verify)
