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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from evagg._checks import as_finite_array, check_time_index
from evagg.errors import InfeasibleError, InputError, VerificationError
from evagg.grid.acpf import ac_power_flow
from evagg.grid.dlmp import COMPONENTS, decompose_prices
from evagg.grid.feeder import Feeder
from evagg.optim.core import SolveInfo, solve_cvxpy

__all__ = ["DistFlowModel", "DistFlowOptions", "OPFResult", "solve_opf"]

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
        Impose branch apparent-power limits (eq. 8) where the feeder has finite ratings.
    soft_voltage
        Replace hard voltage limits by penalised violations (for studies that need an
        answer on an infeasible band).
    voltage_penalty_eur_per_pu2h
        Penalty per unit of squared-voltage violation per hour [EUR/(pu²·h)].
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
    soft_voltage: bool = False
    voltage_penalty_eur_per_pu2h: float = 1e4
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
        }


class DistFlowModel:
    """Multi-period SOCP DistFlow OPF, built once and re-solved with new parameters.

    Use: create, optionally extend (:meth:`add_injection`, :meth:`add_constraints`,
    :meth:`add_cost`, using the public variables), :meth:`build` (or just
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
    P, Q, ell : (L, T)
        Sending-end branch flows and squared branch currents.
    v : (N, T)
        Squared bus voltages.
    p_ext, q_ext : (T,)
        Substation import. ``p_gen``, ``q_gen`` (G, T): controllable generators;
        ``p_ch``, ``p_dis``, ``e`` (S, T): storage (``e`` in MWh, powers in pu).

    Constraints (after build)
    -------------------------
    p_balance, q_balance : (N, T) equality constraints whose duals, divided by
        ``s_base · Δt``, are the DLMPs [EUR/MWh] (+∂cost/∂load).

    Parameters
    ----------
    feeder
        The radial feeder.
    n_slots
        Number of time slots T.
    dt_h
        Slot length [h] (0.25 for 15 min).
    options
        :class:`DistFlowOptions`.
    time_index
        Optional slot labels (tz-aware DatetimeIndex or any index of length T).
    """

    def __init__(
        self,
        feeder: Feeder,
        n_slots: int = 1,
        dt_h: float = 1.0,
        options: DistFlowOptions | None = None,
        time_index: pd.Index | None = None,
    ) -> None:
        if not isinstance(n_slots, int | np.integer) or n_slots < 1:
            raise InputError("n_slots", n_slots, "must be a positive integer")
        if not (np.isfinite(dt_h) and dt_h > 0):
            raise InputError("dt_h", dt_h, "must be a positive number of hours")
        if time_index is None:
            time_index = pd.RangeIndex(n_slots, name="slot")
        elif isinstance(time_index, pd.DatetimeIndex):
            check_time_index("time_index", time_index)
        if len(time_index) != n_slots:
            raise InputError("time_index", len(time_index), f"length must be n_slots={n_slots}")
        self.feeder = feeder
        self.n_slots = int(n_slots)
        self.dt_h = float(dt_h)
        self.options = options or DistFlowOptions()
        self.time_index = time_index
        n, m, t = feeder.n_bus, feeder.n_branch, self.n_slots
        g, s = len(feeder.gens), len(feeder.storage)

        self.p_load_mw = cp.Parameter((n, t), name="p_load_mw")
        self.q_load_mvar = cp.Parameter((n, t), name="q_load_mvar")
        self.p_inj_mw = cp.Parameter((n, t), name="p_inj_mw")
        self.q_inj_mvar = cp.Parameter((n, t), name="q_inj_mvar")
        self.price_eur_per_mwh = cp.Parameter(t, name="price_eur_per_mwh")
        self.set_loads(
            np.repeat(feeder.p_load_mw[:, None], t, 1), np.repeat(feeder.q_load_mvar[:, None], t, 1)
        )
        self.set_injections(
            np.repeat(feeder.p_fixed_gen_mw[:, None], t, 1),
            np.repeat(feeder.q_fixed_gen_mvar[:, None], t, 1),
        )
        self.price_eur_per_mwh.value = np.zeros(t)

        self.P = cp.Variable((m, t), name="P")
        self.Q = cp.Variable((m, t), name="Q")
        self.ell = cp.Variable((m, t), nonneg=True, name="ell")
        self.v = cp.Variable((n, t), nonneg=True, name="v")
        self.p_ext = cp.Variable(t, name="p_ext")
        self.q_ext = cp.Variable(t, name="q_ext")
        self.p_gen = cp.Variable((g, t), name="p_gen") if g else None
        self.q_gen = cp.Variable((g, t), name="q_gen") if g else None
        self.p_ch = cp.Variable((s, t), nonneg=True, name="p_ch") if s else None
        self.p_dis = cp.Variable((s, t), nonneg=True, name="p_dis") if s else None
        self.e = cp.Variable((s, t), name="e_mwh") if s else None

        self._extra_p: list[cp.Expression] = []
        self._extra_q: list[cp.Expression] = []
        self._extra_cons: list[cp.Constraint] = []
        self._extra_cost: list[cp.Expression] = []
        self.problem: cp.Problem | None = None
        self.build_time_s = 0.0

    # ------------------------------------------------------------- extension hooks
    @property
    def param_entries(self) -> int:
        """Number of scalar parameter entries (4·N·T + T)."""
        return 4 * self.feeder.n_bus * self.n_slots + self.n_slots

    @property
    def has_extensions(self) -> bool:
        """Whether injections, constraints or costs were added to the base model."""
        return bool(self._extra_p or self._extra_q or self._extra_cons or self._extra_cost)

    def bus_selector(self, buses: Sequence[int]) -> sp.csr_matrix:
        """(N, k) 0/1 matrix placing k per-bus quantities at pandapower buses ``buses``.

        ``model.add_injection(model.bus_selector([14, 30]) @ x_mw)`` with ``x_mw`` of
        shape (2, T) injects ``x_mw`` at buses 14 and 30.
        """
        pos = [self.feeder.bus_position(int(b)) for b in buses]
        k = len(pos)
        return sp.csr_matrix((np.ones(k), (pos, np.arange(k))), shape=(self.feeder.n_bus, k))

    def _check_unbuilt(self, what: str) -> None:
        if self.problem is not None:
            raise InputError(what, "after build", "extend the model before build()/solve()")

    def add_injection(self, p_mw: cp.Expression, q_mvar: cp.Expression | None = None) -> None:
        """Add per-bus injections (N, T) [MW, Mvar] (negative = withdrawal) to the balances.

        The expressions may contain the caller's own variables (e.g. an aggregator's
        charging schedule) or parameters. Must be called before :meth:`build`.
        """
        self._check_unbuilt("add_injection")
        shape = (self.feeder.n_bus, self.n_slots)
        for name, expr in (("p_mw", p_mw), ("q_mvar", q_mvar)):
            if expr is not None and tuple(expr.shape) != shape:
                raise InputError(name, tuple(expr.shape), f"injection must have shape {shape}")
        self._extra_p.append(p_mw)
        if q_mvar is not None:
            self._extra_q.append(q_mvar)

    def add_constraints(self, constraints: Sequence[cp.Constraint]) -> None:
        """Add constraints on the caller's or the model's variables (before build)."""
        self._check_unbuilt("add_constraints")
        self._extra_cons.extend(constraints)

    def add_cost(self, expr: cp.Expression) -> None:
        """Add a scalar convex cost [EUR] to the objective (before build)."""
        self._check_unbuilt("add_cost")
        if expr.size != 1:
            raise InputError("expr", tuple(expr.shape), "cost must be scalar")
        self._extra_cost.append(expr)

    # ------------------------------------------------------------------- setters
    def _as_nt(self, field: str, value: Any) -> FloatArray:
        n, t = self.feeder.n_bus, self.n_slots
        if isinstance(value, pd.DataFrame):
            idx = value.index
            if set(idx) != set(self.feeder.bus_index):
                extra = sorted(set(idx) - set(self.feeder.bus_index))[:5]
                missing = sorted(set(self.feeder.bus_index) - set(idx))[:5]
                raise InputError(
                    field,
                    f"index extra {extra}, missing {missing}",
                    "rows must be exactly the feeder's pandapower bus indices",
                )
            if not value.columns.equals(self.time_index):
                if len(value.columns) != t or isinstance(value.columns, pd.DatetimeIndex):
                    raise InputError(
                        field, list(value.columns[:3]), "columns differ from the model's time_index"
                    )
            value = value.loc[self.feeder.bus_index].to_numpy()
        arr = as_finite_array(field, value)
        if arr.ndim == 1 and arr.size == n and t == 1:
            arr = arr[:, None]
        if arr.shape != (n, t):
            raise InputError(field, arr.shape, f"expected shape (n_bus, n_slots) = {(n, t)}")
        return arr

    def set_loads(self, p_mw: Any, q_mvar: Any | None = None) -> None:
        """Set demand per bus and slot [MW, Mvar]: (N, T) array or bus × time DataFrame.

        ``q_mvar=None`` keeps each bus's base power factor (Q scaled with P).
        """
        p = self._as_nt("p_load_mw", p_mw)
        if q_mvar is None:
            base_p, base_q = self.feeder.p_load_mw, self.feeder.q_load_mvar
            ratio = np.divide(base_q, base_p, out=np.zeros_like(base_q), where=base_p != 0)
            q = p * ratio[:, None]
        else:
            q = self._as_nt("q_load_mvar", q_mvar)
        self.p_load_mw.value = p
        self.q_load_mvar.value = q

    def set_injections(self, p_mw: Any, q_mvar: Any | None = None) -> None:
        """Set the fixed injections per bus and slot [MW, Mvar] (default: static gens)."""
        self.p_inj_mw.value = self._as_nt("p_inj_mw", p_mw)
        self.q_inj_mvar.value = (
            np.zeros_like(self.p_inj_mw.value)
            if q_mvar is None
            else self._as_nt("q_inj_mvar", q_mvar)
        )

    def set_price(self, price_eur_per_mwh: Any) -> None:
        """Set the substation energy price per slot [EUR/MWh] (scalar or (T,))."""
        arr = as_finite_array("price_eur_per_mwh", price_eur_per_mwh)
        if arr.ndim == 0:
            arr = np.full(self.n_slots, float(arr))
        if arr.shape != (self.n_slots,):
            raise InputError("price_eur_per_mwh", arr.shape, f"expected ({self.n_slots},)")
        self.price_eur_per_mwh.value = arr

    def scale_loads(self, factor: Any) -> None:
        """Set loads to the feeder's base loads times a per-slot factor (T,) [-]."""
        f = as_finite_array("factor", factor)
        if f.ndim == 0:
            f = np.full(self.n_slots, float(f))
        if f.shape != (self.n_slots,):
            raise InputError("factor", f.shape, f"expected ({self.n_slots},)")
        self.set_loads(self.feeder.p_load_mw[:, None] * f[None, :])

    # --------------------------------------------------------------------- build
    def build(self) -> cp.Problem:
        """Create the CVXPY problem (once); returns it (also as ``self.problem``)."""
        if self.problem is not None:
            return self.problem
        t0 = time.perf_counter()
        fd, o = self.feeder, self.options
        n, t = fd.n_bus, self.n_slots
        sb, dt = fd.s_base_mva, self.dt_h
        r, x = fd.r_pu[:, None], fd.x_pu[:, None]
        z2 = (fd.r_pu**2 + fd.x_pu**2)[:, None]
        a_from, a_to = fd.incidence()
        P, Q, ell, v = self.P, self.Q, self.ell, self.v
        cons: list[cp.Constraint] = []

        root = sp.csr_matrix((np.ones(1), ([0], [0])), shape=(n, 1))
        gen_p: cp.Expression = root @ cp.reshape(self.p_ext, (1, t), order="C")
        gen_q: cp.Expression = root @ cp.reshape(self.q_ext, (1, t), order="C")
        gen_p = gen_p + self.p_inj_mw / sb
        gen_q = gen_q + self.q_inj_mvar / sb
        for e in self._extra_p:
            gen_p = gen_p + e / sb
        for e in self._extra_q:
            gen_q = gen_q + e / sb
        if self.p_gen is not None and self.q_gen is not None:
            cg = sp.csr_matrix(
                (np.ones(len(fd.gens)), (fd.gens["bus"].to_numpy(int), np.arange(len(fd.gens)))),
                shape=(n, len(fd.gens)),
            )
            gen_p = gen_p + cg @ self.p_gen
            gen_q = gen_q + cg @ self.q_gen
        if self.p_ch is not None and self.p_dis is not None:
            cs = sp.csr_matrix(
                (
                    np.ones(len(fd.storage)),
                    (fd.storage["bus"].to_numpy(int), np.arange(len(fd.storage))),
                ),
                shape=(n, len(fd.storage)),
            )
            gen_p = gen_p + cs @ (self.p_dis - self.p_ch)

        # nodal balances: withdrawals − injections == −load (dual = +∂cost/∂load)
        self.p_balance = (
            a_from @ P
            - a_to @ (P - cp.multiply(r, ell))
            + cp.multiply(fd.g_sh_pu[:, None], v)
            - gen_p
            == -self.p_load_mw / sb
        )
        self.q_balance = (
            a_from @ Q
            - a_to @ (Q - cp.multiply(x, ell))
            - cp.multiply(fd.b_sh_pu[:, None], v)
            - gen_q
            == -self.q_load_mvar / sb
        )
        v_from = v[fd.from_bus, :]
        self.voltage_drop = (
            v[1:, :] - v_from + 2 * (cp.multiply(r, P) + cp.multiply(x, Q)) - cp.multiply(z2, ell)
            == 0
        )
        self.cone = cp.SOC(
            cp.vec(v_from + ell, order="F"),
            cp.vstack(
                [
                    cp.vec(2 * P, order="F"),
                    cp.vec(2 * Q, order="F"),
                    cp.vec(v_from - ell, order="F"),
                ]
            ),
            axis=0,
        )
        cons += [self.p_balance, self.q_balance, self.voltage_drop, self.cone]

        # line limits (eq. 8) at both ends
        self.lim_lines = (
            np.flatnonzero(np.isfinite(fd.s_max_pu)) if o.line_limits else np.array([], int)
        )
        self.line_send: cp.Constraint | None = None
        self.line_recv: cp.Constraint | None = None
        if self.lim_lines.size:
            k = self.lim_lines
            smax = np.repeat(fd.s_max_pu[k][:, None], t, 1)
            pk, qk, lk = P[k, :], Q[k, :], ell[k, :]
            self.line_send = cp.SOC(
                smax.flatten(order="F"),
                cp.vstack([cp.vec(pk, order="F"), cp.vec(qk, order="F")]),
                axis=0,
            )
            self.line_recv = cp.SOC(
                smax.flatten(order="F"),
                cp.vstack(
                    [
                        cp.vec(pk - cp.multiply(r[k], lk), order="F"),
                        cp.vec(qk - cp.multiply(x[k], lk), order="F"),
                    ]
                ),
                axis=0,
            )
            cons += [self.line_send, self.line_recv]

        # voltage limits
        vmin = np.full(n - 1, o.v_min_pu) if o.v_min_pu is not None else fd.v_min_pu[1:]
        vmax = np.full(n - 1, o.v_max_pu) if o.v_max_pu is not None else fd.v_max_pu[1:]
        self.v_min_used, self.v_max_used = vmin, vmax
        vmin2 = np.repeat((vmin**2)[:, None], t, 1)
        vmax2 = np.repeat((vmax**2)[:, None], t, 1)
        cost_terms: list[cp.Expression] = []
        if o.soft_voltage:
            self.s_lo = cp.Variable((n - 1, t), nonneg=True, name="v_slack_lo")
            self.s_hi = cp.Variable((n - 1, t), nonneg=True, name="v_slack_hi")
            self.v_lower = v[1:, :] >= vmin2 - self.s_lo
            self.v_upper = v[1:, :] <= vmax2 + self.s_hi
            cost_terms.append(o.voltage_penalty_eur_per_pu2h * dt * cp.sum(self.s_lo + self.s_hi))
        else:
            self.v_lower = v[1:, :] >= vmin2
            self.v_upper = v[1:, :] <= vmax2
        cons += [self.v_lower, self.v_upper]
        if o.v_slack_min_pu is None:
            cons.append(v[0, :] == fd.v_slack_pu**2)
        else:
            assert o.v_slack_max_pu is not None
            cons += [v[0, :] >= o.v_slack_min_pu**2, v[0, :] <= o.v_slack_max_pu**2]

        # external grid (eqs. 9–10, 12)
        if np.isfinite(fd.ext_p_min_mw):
            cons.append(self.p_ext >= fd.ext_p_min_mw / sb)
        if np.isfinite(fd.ext_p_max_mw):
            cons.append(self.p_ext <= fd.ext_p_max_mw / sb)
        if np.isfinite(fd.ext_q_min_mvar):
            cons.append(self.q_ext >= fd.ext_q_min_mvar / sb)
        if np.isfinite(fd.ext_q_max_mvar):
            cons.append(self.q_ext <= fd.ext_q_max_mvar / sb)
        if o.ext_ramp_mw_per_h is not None and t > 1:
            ramp = o.ext_ramp_mw_per_h * dt / sb
            cons.append(cp.abs(cp.diff(self.p_ext)) <= ramp)

        # controllable generators (eqs. 9–12)
        gen_cost: cp.Expression = cp.Constant(0.0)
        if self.p_gen is not None and self.q_gen is not None:
            gd = fd.gens
            col = lambda c: gd[c].to_numpy(float)[:, None] / sb  # noqa: E731
            cons += [self.p_gen >= col("p_min_mw"), self.p_gen <= col("p_max_mw")]
            cons += [self.q_gen >= col("q_min_mvar"), self.q_gen <= col("q_max_mvar")]
            finite = np.flatnonzero(np.isfinite(gd["s_max_mva"].to_numpy(float)))
            if finite.size:
                smax = np.repeat(gd["s_max_mva"].to_numpy(float)[finite][:, None] / sb, t, 1)
                cons.append(
                    cp.SOC(
                        smax.flatten(order="F"),
                        cp.vstack(
                            [
                                cp.vec(self.p_gen[finite, :], order="F"),
                                cp.vec(self.q_gen[finite, :], order="F"),
                            ]
                        ),
                        axis=0,
                    )
                )
            if o.gen_ramp_mw_per_h is not None and t > 1:
                cons.append(cp.abs(cp.diff(self.p_gen, axis=1)) <= o.gen_ramp_mw_per_h * dt / sb)
            gen_cost = cp.sum(gd["cost_eur_per_mwh"].to_numpy(float) @ self.p_gen) * (sb * dt)

        # storage
        if self.p_ch is not None and self.p_dis is not None and self.e is not None:
            st = fd.storage
            c = lambda name: st[name].to_numpy(float)[:, None]  # noqa: E731
            cons += [self.p_ch <= c("p_ch_max_mw") / sb, self.p_dis <= c("p_dis_max_mw") / sb]
            flow = (o.storage_eta_ch * self.p_ch - self.p_dis / o.storage_eta_dis) * (sb * dt)
            e_prev = cp.hstack([c("e0_mwh"), self.e[:, :-1]]) if t > 1 else c("e0_mwh")
            cons += [self.e == e_prev + flow, self.e >= c("e_min_mwh"), self.e <= c("e_max_mwh")]
            if o.storage_cyclic:
                cons.append(self.e[:, -1:] >= c("e0_mwh"))

        purchase = cp.sum(cp.multiply(self.price_eur_per_mwh, self.p_ext)) * (sb * dt)
        self.cost_expr = purchase + gen_cost
        self.loss_expr = cp.sum(cp.multiply(r, ell)) * (sb * dt)
        objective = o.a1 * self.cost_expr + o.a2_eur_per_mwh * self.loss_expr
        for term in cost_terms + self._extra_cost:
            objective = objective + term
        cons += self._extra_cons
        self.problem = cp.Problem(cp.Minimize(objective), cons)
        self.build_time_s = time.perf_counter() - t0
        return self.problem

    # --------------------------------------------------------------------- solve
    def solve(
        self, solver: str | None = None, *, verify: bool = True, **solver_options: Any
    ) -> OPFResult:
        """Solve, compute prices and verify (relaxation gap, AC power flow, decomposition).

        Raises
        ------
        InfeasibleError
            With ``family`` naming the blamed constraint family ("voltage limits",
            "line limits", ...), diagnosed by re-solving relaxed copies.
        VerificationError
            If the relaxation is inexact (unless ``accept_inexact``), the AC power flow
            disagrees beyond tolerance, or the DLMP decomposition leaves a remainder.
        """
        prob = self.build()
        if self.price_eur_per_mwh.value is None:
            raise InputError("price_eur_per_mwh", None, "set a price before solving")
        if self._split():
            return self._result(self._solve_split(solver, **solver_options), verify)
        solver_options.setdefault("ignore_dpp", self.param_entries > DPP_MAX_PARAM_ENTRIES)
        try:
            info = solve_cvxpy(
                prob, name="distflow_opf", kind="socp", solver=solver, **solver_options
            )
        except InfeasibleError as exc:
            family, detail = self._diagnose(solver)
            raise InfeasibleError("distflow_opf", exc.status, family, detail) from None
        return self._result(info, verify)

    def _split(self) -> bool:
        o = self.options
        coupled = (
            self.e is not None
            or o.ext_ramp_mw_per_h is not None
            or (o.gen_ramp_mw_per_h is not None and self.p_gen is not None)
            or self.has_extensions
        )
        if coupled or self.n_slots == 1:
            return False
        return o.split_slots if o.split_slots is not None else self.feeder.n_bus >= SPLIT_MIN_BUSES

    def _solve_split(self, solver: str | None, **solver_options: Any) -> SolveInfo:
        """Solve each slot with one single-slot model (built once) and store the primal
        and dual values in this model's variables and constraints."""
        if getattr(self, "_slot_model", None) is None:
            self._slot_model = DistFlowModel(self.feeder, 1, self.dt_h, self.options)
            self._slot_model.build()
        sub = self._slot_model
        assert sub.problem is not None
        solver_options.setdefault("ignore_dpp", sub.param_entries > DPP_MAX_PARAM_ENTRIES)
        t_n = self.n_slots
        names = ("p_load_mw", "q_load_mvar", "p_inj_mw", "q_inj_mvar")
        data = {k: np.asarray(getattr(self, k).value) for k in names}
        price = np.asarray(self.price_eur_per_mwh.value)
        prim: dict[str, list[FloatArray]] = {}
        duals: dict[str, list[FloatArray]] = {}

        def keep(store: dict[str, list[FloatArray]], key: str, val: Any) -> None:
            store.setdefault(key, []).append(np.asarray(val, dtype=float).reshape(-1))

        tot_obj = tot_solve = tot_comp = 0.0
        status, chosen = "optimal", ""
        for t in range(t_n):
            for k in names:
                getattr(sub, k).value = data[k][:, t : t + 1]
            sub.price_eur_per_mwh.value = price[t : t + 1]
            try:
                info = solve_cvxpy(
                    sub.problem, name="distflow_opf", kind="socp", solver=solver, **solver_options
                )
            except InfeasibleError as exc:
                family, detail = sub._diagnose(solver)
                raise InfeasibleError(
                    "distflow_opf", exc.status, family, f"slot {t}: {detail}"
                ) from None
            tot_obj += info.objective
            tot_solve += info.solve_time_s
            tot_comp += info.compile_time_s
            status, chosen = info.status, info.solver
            for name in self._split_vars():
                keep(prim, name, getattr(sub, name).value)
            for name, con in sub._split_cons().items():
                dv = con.dual_value
                if isinstance(dv, list):
                    for i, part in enumerate(dv):
                        keep(duals, f"{name}.{i}", np.asarray(part).reshape(-1, order="F"))
                else:
                    keep(duals, name, dv)
        for name in self._split_vars():
            var = getattr(self, name)
            var.value = np.column_stack(prim[name]).reshape(var.shape)
        for name, con in self._split_cons().items():
            if len(con.dual_variables) > 1:  # SOC: t (n·T,), X (k, n·T), column-major in t
                n_t = con.dual_variables[0].shape[0] // t_n
                t_part = np.concatenate(duals[f"{name}.0"])
                x_blocks = [d.reshape((-1, n_t), order="F") for d in duals[f"{name}.1"]]
                con.dual_variables[0].value = t_part
                con.dual_variables[1].value = np.hstack(x_blocks)
            else:
                con.dual_variables[0].value = np.column_stack(duals[name])
        return SolveInfo(
            status=status,
            objective=tot_obj,
            solver=chosen,
            solve_time_s=tot_solve,
            compile_time_s=tot_comp,
        )

    def _split_vars(self) -> list[str]:
        names = ["P", "Q", "ell", "v", "p_ext", "q_ext"]
        if self.p_gen is not None:
            names += ["p_gen", "q_gen"]
        if self.options.soft_voltage:
            names += ["s_lo", "s_hi"]
        return names

    def _split_cons(self) -> dict[str, cp.Constraint]:
        cons: dict[str, cp.Constraint] = {
            "p_balance": self.p_balance,
            "q_balance": self.q_balance,
            "cone": self.cone,
            "v_lower": self.v_lower,
            "v_upper": self.v_upper,
        }
        if self.line_send is not None and self.line_recv is not None:
            cons["line_send"] = self.line_send
            cons["line_recv"] = self.line_recv
        return cons

    def _copy_data_to(self, other: DistFlowModel) -> None:
        for name in ("p_load_mw", "q_load_mvar", "p_inj_mw", "q_inj_mvar", "price_eur_per_mwh"):
            getattr(other, name).value = getattr(self, name).value

    def _feasible(self, opts: DistFlowOptions, solver: str | None) -> DistFlowModel | None:
        trial = DistFlowModel(self.feeder, self.n_slots, self.dt_h, opts, self.time_index)
        self._copy_data_to(trial)
        try:
            solve_cvxpy(
                trial.build(),
                name="distflow_diagnosis",
                kind="socp",
                solver=solver,
                ignore_dpp=True,
            )
        except InfeasibleError:
            return None
        return trial

    def _diagnose(self, solver: str | None) -> tuple[str | None, str]:
        o = self.options
        if self.has_extensions and self._feasible(o, solver) is not None:
            return (
                "model extensions",
                "the base network with the same data is feasible; the added injections/"
                "constraints make it infeasible",
            )
        soft = self._feasible(replace(o, soft_voltage=True), solver)
        if soft is not None and not o.soft_voltage:
            v = np.sqrt(np.maximum(np.asarray(soft.v.value), 0))
            lo = np.maximum(self.v_min_used[:, None] - v[1:], 0)
            hi = np.maximum(v[1:] - self.v_max_used[:, None], 0)
            worst = lo if lo.max() >= hi.max() else hi
            j, t = (int(i) for i in np.unravel_index(int(np.argmax(worst)), worst.shape))
            bus = int(self.feeder.bus_index[j + 1])
            side = "below v_min" if worst is lo else "above v_max"
            slack = (
                f"substation voltage pinned at {self.feeder.v_slack_pu} pu"
                if o.v_slack_min_pu is None
                else f"substation range [{o.v_slack_min_pu}, {o.v_slack_max_pu}] pu"
            )
            return (
                "voltage limits",
                f"with softened voltage limits the least violation is {worst.max():.4f} pu "
                f"{side} at bus {bus} (slot {t}) with the {slack}; widen the band, let the "
                "substation voltage vary, or use soft_voltage=True",
            )
        if o.line_limits and self._feasible(replace(o, line_limits=False), solver) is not None:
            return "line limits", "feasible without branch apparent-power limits (eq. 8)"
        if o.line_limits and (
            self._feasible(replace(o, line_limits=False, soft_voltage=True), solver) is not None
        ):
            return "voltage and line limits", "feasible only when both are relaxed"
        return (
            "generation/storage/external-grid limits",
            "infeasible even with soft voltage and no line limits",
        )

    # ------------------------------------------------------------------- results
    def _result(self, info: SolveInfo, verify: bool) -> OPFResult:
        t_ver = time.perf_counter()
        fd, o = self.feeder, self.options
        n, m, t = fd.n_bus, fd.n_branch, self.n_slots
        sb, dt = fd.s_base_mva, self.dt_h
        P, Q, ell, v = (np.asarray(a.value) for a in (self.P, self.Q, self.ell, self.v))
        v_from = v[fd.from_bus, :]

        # relaxation gap
        gap = np.abs(P**2 + Q**2 - v_from * ell)
        # relative to the largest v·ℓ of the same slot (scale-free; a per-branch ratio
        # would be dominated by solver noise on branches with near-zero flow), but not to
        # less than (10 % of the feeder's load)²: in a slot with (almost) no load every
        # flow is ~0 and the solver's ~1e-7 pu² noise would otherwise read as a 100 %
        # gap; real inexactness in such a slot still fails the AC check
        load_pu = (
            max(
                float(np.abs(np.asarray(self.p_load_mw.value)).sum(axis=0).max(initial=0.0)),
                float(np.abs(fd.p_load_mw).sum()),
            )
            / sb
        )
        vl_max = np.maximum(
            (v_from * ell).max(axis=0, initial=0.0), max((0.1 * load_pu) ** 2, 1e-12)
        )
        gap_abs = float(gap.max(initial=0.0))
        gap_rel = float((gap / vl_max[None, :]).max(initial=0.0))
        exact = gap_rel <= o.relaxation_tol

        # injections at the solution
        p_ext = np.asarray(self.p_ext.value) * sb
        q_ext = np.asarray(self.q_ext.value) * sb
        p_wd = np.asarray(self.p_load_mw.value) - np.asarray(self.p_inj_mw.value)
        q_wd = np.asarray(self.q_load_mvar.value) - np.asarray(self.q_inj_mvar.value)
        for e in self._extra_p:
            p_wd = p_wd - np.asarray(e.value)
        for e in self._extra_q:
            q_wd = q_wd - np.asarray(e.value)
        p_gen = np.zeros((0, t))
        if self.p_gen is not None and self.q_gen is not None:
            cg = np.zeros((n, len(fd.gens)))
            cg[fd.gens["bus"].to_numpy(int), np.arange(len(fd.gens))] = 1
            p_gen = np.asarray(self.p_gen.value) * sb
            p_wd = p_wd - cg @ p_gen
            q_wd = q_wd - cg @ (np.asarray(self.q_gen.value) * sb)
        p_sto = np.zeros((0, t))
        e_sto = np.zeros((0, t))
        simult = 0.0
        if self.p_ch is not None and self.p_dis is not None and self.e is not None:
            cs = np.zeros((n, len(fd.storage)))
            cs[fd.storage["bus"].to_numpy(int), np.arange(len(fd.storage))] = 1
            pc, pdis = np.asarray(self.p_ch.value) * sb, np.asarray(self.p_dis.value) * sb
            p_sto = pdis - pc
            e_sto = np.asarray(self.e.value)
            p_wd = p_wd - cs @ p_sto
            simult = float(np.minimum(pc, pdis).max(initial=0.0) * dt)
        losses = p_ext - p_wd.sum(axis=0)

        # prices
        scale = 1.0 / (sb * dt)
        lam = np.asarray(self.p_balance.dual_value)
        mu = np.asarray(self.q_balance.dual_value)
        u0 = np.asarray(self.cone.dual_value[0])
        uu = np.asarray(self.cone.dual_value[1])
        u_cone = tuple(a.reshape((m, t), order="F") for a in (u0, uu[0], uu[1], uu[2]))
        zeros_l = np.zeros((m, t))
        w_s = [zeros_l.copy(), zeros_l.copy()]
        w_r = [zeros_l.copy(), zeros_l.copy()]
        if self.line_send is not None and self.line_recv is not None:
            k = self.lim_lines
            for dst, c in ((w_s, self.line_send), (w_r, self.line_recv)):
                ww = np.asarray(c.dual_value[1])
                dst[0][k, :] = ww[0].reshape((k.size, t), order="F")
                dst[1][k, :] = ww[1].reshape((k.size, t), order="F")
        nu_lo = np.zeros((n, t))
        nu_hi = np.zeros((n, t))
        nu_lo[1:] = np.asarray(self.v_lower.dual_value)
        nu_hi[1:] = np.asarray(self.v_upper.dual_value)
        act, rea = decompose_prices(
            fd,
            lam=lam,
            mu=mu,
            u_cone=u_cone,  # type: ignore[arg-type]
            nu_lo=nu_lo,
            nu_hi=nu_hi,
            w_send=(w_s[0], w_s[1]),
            w_recv=(w_r[0], w_r[1]),
        )
        cols = self.time_index
        bidx = fd.bus_index

        def frame(a: FloatArray, index: pd.Index = bidx) -> pd.DataFrame:
            df = pd.DataFrame(a, index=index, columns=cols)
            return df.sort_index() if index is bidx else df

        v_pu = np.sqrt(np.maximum(v, 0.0))
        viol = 0.0
        if o.soft_voltage:
            viol = float(
                max(
                    np.max(self.v_min_used[:, None] - v_pu[1:], initial=0.0),
                    np.max(v_pu[1:] - self.v_max_used[:, None], initial=0.0),
                    0.0,
                )
            )

        # AC check
        if o.ac_slots == "all":
            slots = list(range(t))
        else:
            slots = sorted({int(np.argmax(losses)), int(np.argmin(v_pu.min(axis=0)))})
        ac = ac_power_flow(fd, p_wd, q_wd, v_pu[0], slots)
        dv = float(np.abs(ac.v_pu - v_pu[:, slots]).max())
        dloss_kw = float(np.abs(ac.losses_mw - losses[slots]).max() * 1e3)
        # both price splits rest on the same KKT conditions: check the reactive one too
        other_p = float(np.abs(act["other"]).max() * scale)
        other_q = float(np.abs(rea["other"]).max() * scale)
        other_max = max(other_p, other_q)

        if verify:
            if not exact and not o.accept_inexact:
                raise VerificationError(
                    "relaxation_gap",
                    gap_rel,
                    o.relaxation_tol,
                    f"SOCP relaxation not exact (abs gap {gap_abs:.3e} pu²); the OPF point "
                    "is not AC feasible. Pass accept_inexact=True to get it anyway",
                )
            if exact:
                if dv > o.ac_v_tol_pu:
                    raise VerificationError(
                        "ac_voltage", dv, o.ac_v_tol_pu, "pandapower runpp vs SOCP voltages [pu]"
                    )
                loss_tol = max(
                    o.ac_loss_tol_kw, o.ac_loss_rtol * 1e3 * float(np.abs(ac.losses_mw).max())
                )
                if dloss_kw > loss_tol:
                    raise VerificationError(
                        "ac_losses", dloss_kw, loss_tol, "pandapower runpp vs SOCP losses [kW]"
                    )
            if not self.has_extensions and other_max > o.price_tol_eur_per_mwh:
                raise VerificationError(
                    "dlmp_decomposition",
                    other_max,
                    o.price_tol_eur_per_mwh,
                    "KKT stationarity not met: price components leave a remainder of "
                    f"{other_p:.3g} EUR/MWh (active) and {other_q:.3g} EUR/Mvarh (reactive)",
                )

        br_labels = pd.Index([f"{kind} {i}" for kind, i in fd.branch_element], name="branch")
        obj = float(info.objective)
        res = OPFResult(
            status=info.status,
            objective_eur=obj,
            cost_eur=float(self.cost_expr.value),
            losses_mw=pd.Series(losses, index=cols, name="losses_mw"),
            p_ext_mw=pd.Series(p_ext, index=cols, name="p_ext_mw"),
            q_ext_mvar=pd.Series(q_ext, index=cols, name="q_ext_mvar"),
            v_pu=frame(v_pu),
            dlmp_eur_per_mwh=frame(lam * scale),
            dlmp_components={k: frame(act[k] * scale) for k in (*COMPONENTS, "other")},
            qlmp_eur_per_mvarh=frame(mu * scale),
            qlmp_components={k: frame(rea[k] * scale) for k in (*COMPONENTS, "other")},
            p_branch_mw=frame(P * sb, br_labels),
            q_branch_mvar=frame(Q * sb, br_labels),
            p_gen_mw=frame(p_gen, pd.Index(fd.gens["sgen"].to_numpy(int), name="sgen")),
            p_storage_mw=frame(
                p_sto, pd.Index(fd.storage["storage"].to_numpy(int), name="storage")
            ),
            e_storage_mwh=frame(
                e_sto, pd.Index(fd.storage["storage"].to_numpy(int), name="storage")
            ),
            relaxation_gap_abs=gap_abs,
            relaxation_gap_rel=gap_rel,
            exact=exact,
            ac_max_dv_pu=dv,
            ac_loss_diff_kw=dloss_kw,
            ac_slots=tuple(slots),
            voltage_violation_pu=viol,
            storage_simultaneous_mwh=simult,
            solve_info=info,
            verify_time_s=time.perf_counter() - t_ver,
            dt_h=dt,
            extra={"build_time_s": self.build_time_s, "ac_losses_mw": ac.losses_mw},
        )
        return res


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
    return model.solve(solver)
