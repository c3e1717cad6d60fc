"""Exact convex (SOCP) voltage coordination: seed 003 eqs. (13)–(18) on the DistFlow core.

Built on :class:`evagg.grid.DistFlowModel` (the OPF's builders) plus this problem's own
variables, constraints and cost through ``add_injection``, ``add_constraints`` and
``add_cost`` — the route ``docs/grid.md`` §9 prescribes for a new grid problem. Solved
with ``solve_cvxpy`` rather than ``DistFlowModel.solve``: its AC check runs pandapower
slot by slot and its exactness restoration assumes a price objective; here the gap is
``evagg.grid.solution.relaxation_gap`` and the AC check the batched power-grid-model
evaluation every solver is scored by. Branch flow with the SOC
relaxation ``P² + Q² ≤ v·ℓ`` (eq. 14), voltage band 0.95–1.02 pu (eq. 15, soft with a
large penalty so that an infeasible band is reported, not hidden), plus (all vectorised):

- PV at MPPT, reactive power within the inverter rating ``|Q_pv| ≤ √(S² − P_mppt²)``
  (eq. 17);
- EVA: ``0 ≤ P_ev ≤ min(bid, reliable power)`` (eq. 18's reliability ≥ 0.95),
  ``‖(P_ev, Q_ev)‖ ≤ S_ev`` and the stored energy
  ``E_t = E_0 − Σ_{τ≤t} P_ev,τ Δt/η ∈ [0.2, 0.8]·E_max``;
- eq. (13) with convex terms: ``ΔU ≈ Σ |v − 1|/2`` (``v = V²``; ``|V − 1| = |v − 1|/(V + 1)``
  differs by < 1.3 % of the term in the band), ``P_loss = Σ r ℓ Δt`` and
  ``ΔP = Σ |P_0,t − P_0,t−1|``, both absolute values by CVXPY's epigraph variables,
  each normalised like the AC evaluation.

Verification: relaxation gap ``max |P² + Q² − v ℓ|`` (relative, as the grid core) and
the AC evaluation of the dispatch (power-grid-model) against the SOCP's voltages.
The voltage term rewards a higher voltage at low-voltage buses, which an inflated ``ℓ``
would fake: if the gap exceeds its tolerance evagg re-solves with the loss weight ×10
(at most three times, recorded in ``loss_boost``) and raises ``VerificationError`` if
it stays inexact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from evagg.errors import VerificationError
from evagg.grid.distflow import DistFlowModel, DistFlowOptions
from evagg.grid.solution import relaxation_gap
from evagg.microgrid.evaluate import ACEvaluator, Dispatch, Reference
from evagg.microgrid.system import MicrogridSystem
from evagg.optim.core import solve_cvxpy

__all__ = ["ConvexResult", "solve_convex"]

FloatArray = npt.NDArray[np.float64]

GAP_TOL = 1e-4
"""Relative relaxation-gap tolerance (as ``DistFlowOptions.relaxation_tol``)."""

AC_V_TOL_PU = 1e-3
"""Tolerance of max |V_SOCP − V_AC| [pu] at an exact relaxation."""


@dataclass(frozen=True)
class ConvexResult:
    """Convex optimum: dispatch, SOCP objective, relaxation gap, timings.

    ``objective_socp`` is eq. (13) as the SOCP measures it (lower bound of the AC value
    up to the ``|v − 1|/2`` proxy); ``gap_rel`` the relative relaxation gap;
    ``ac_max_dv_pu`` max |V_SOCP − V_AC|; ``loss_boost`` the loss-weight factor needed
    for exactness (1 = none); ``time_s`` build + solve [s].
    """

    dispatch: Dispatch
    objective_socp: float
    gap_rel: float
    ac_max_dv_pu: float
    loss_boost: float
    time_s: float
    solve_time_s: float
    v_socp_pu: FloatArray
    v_slack_max_pu: float


def _build(
    s: MicrogridSystem, ref: Reference, boost: float
) -> tuple[DistFlowModel, dict[str, cp.Variable]]:
    fd, t_n = s.feeder, s.n_slots
    opts = DistFlowOptions(
        v_min_pu=s.v_min_pu,
        v_max_pu=s.v_max_pu,
        a1=0.0,
        soft_voltage=True,
        voltage_penalty_eur_per_pu2h=1e3,
        line_limits=True,
    )
    model = DistFlowModel(fd, n_slots=t_n, dt_h=s.dt_h, options=opts)
    model.set_loads(s.load_p_kw / 1e3, s.load_q_kvar / 1e3)
    pv_sel = model.bus_selector([int(b) for b in fd.bus_index[s.pv_bus]])
    model.set_injections(pv_sel @ (s.pv_p_kw / 1e3), np.zeros((fd.n_bus, t_n)))
    model.set_price(0.0)
    k = s.pv_bus.size
    q_pv = cp.Variable((k, t_n), name="q_pv_mvar")
    p_ev = cp.Variable(t_n, nonneg=True, name="p_ev_mw")
    q_ev = cp.Variable(t_n, name="q_ev_mvar")
    cons: list[cp.Constraint] = [cp.abs(q_pv) <= s.pv_q_max_kvar / 1e3]  # eq. 17
    q_inj: cp.Expression = pv_sel @ q_pv
    if s.eva_bus is not None:
        ev_sel = sp.csr_matrix(([1.0], ([s.eva_bus], [0])), shape=(fd.n_bus, 1))
        model.add_injection(
            ev_sel @ cp.reshape(p_ev, (1, t_n), order="C"),
            q_inj + ev_sel @ cp.reshape(q_ev, (1, t_n), order="C"),
        )
        e_kwh = s.eva_e0_kwh - cp.cumsum(p_ev) * (1e3 * s.dt_h / s.eta_dis)
        cons += [
            p_ev <= s.eva_cap_kw / 1e3,  # reliable power (eq. 18)
            cp.SOC(np.full(t_n, s.eva_s_kva / 1e3), cp.vstack([p_ev, q_ev]), axis=0),
            e_kwh >= s.soc_min * s.eva_e_max_kwh,  # SOC band (eq. 18)
            e_kwh <= s.soc_max * s.eva_e_max_kwh,
        ]
    else:
        model.add_injection(cp.Constant(np.zeros((fd.n_bus, t_n))), q_inj)
        cons += [p_ev == 0, q_ev == 0]
    model.add_constraints(cons)
    w = s.weights
    dev = cp.sum(cp.abs(model.v[1:, :] - 1.0)) / 2.0
    loss_kwh = cp.sum(cp.multiply(fd.r_pu[:, None], model.ell)) * (fd.s_base_mva * 1e3 * s.dt_h)
    tie_kw = cp.sum(cp.abs(cp.diff(model.p_ext))) * (fd.s_base_mva * 1e3)
    model.add_cost(
        w.voltage * dev / ref.dev_pu
        + w.losses * boost * loss_kwh / ref.loss_kwh
        + w.tie_line * tie_kw / ref.tie_kw
    )
    return model, {"q_pv": q_pv, "p_ev": p_ev, "q_ev": q_ev}


def solve_convex(
    system: MicrogridSystem,
    ref: Reference,
    evaluator: ACEvaluator | None = None,
    solver: str | None = None,
) -> ConvexResult:
    """Solve the convex eq. (13) problem and verify it (gap, AC power flow).

    Parameters
    ----------
    system
        The microgrid day.
    ref
        Normalisers of eq. (13) (the AC terms of the reference dispatch).
    evaluator
        AC evaluator of ``system`` (built if not given).
    solver
        CVXPY solver (default Clarabel).

    Raises
    ------
    VerificationError
        If the relaxation stays inexact after three loss-weight boosts or the AC voltages
        differ from the SOCP's by more than ``AC_V_TOL_PU``.
    """
    t0 = time.perf_counter()
    ev = evaluator or ACEvaluator(system)
    boost, gap = 1.0, np.inf
    for _ in range(4):
        model, var = _build(system, ref, boost)
        info = solve_cvxpy(
            model.build(), name="microgrid_socp", kind="socp", solver=solver, ignore_dpp=True
        )
        gap = relaxation_gap(model)[1]
        if gap <= GAP_TOL:
            break
        boost *= 10.0
    if gap > GAP_TOL:
        raise VerificationError("microgrid SOCP relaxation gap (rel)", gap, GAP_TOL, "after boosts")
    val = {k: np.asarray(x.value, dtype=float) for k, x in var.items()}
    d = Dispatch(
        p_ev_kw=1e3 * np.maximum(val["p_ev"], 0.0)[None, :],
        q_ev_kvar=1e3 * val["q_ev"][None, :],
        q_pv_kvar=1e3 * val["q_pv"][None, :, :],
    )
    v_socp = np.sqrt(np.maximum(np.asarray(model.v.value, dtype=float), 0.0))
    ac = ev.evaluate(d)
    dv = float(np.abs(ac.v_pu[0] - v_socp).max())
    if dv > AC_V_TOL_PU:
        raise VerificationError("microgrid SOCP vs AC voltages", dv, AC_V_TOL_PU, "pu")
    return ConvexResult(
        dispatch=d,
        objective_socp=float(info.objective),
        gap_rel=gap,
        ac_max_dv_pu=dv,
        loss_boost=boost,
        time_s=time.perf_counter() - t0,
        solve_time_s=info.solve_time_s,
        v_socp_pu=v_socp,
        v_slack_max_pu=float(v_socp[0].max()),
    )
