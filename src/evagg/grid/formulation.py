"""DistFlow formulation: a model container and vectorised builders, one family each.

Every grid problem (OPF, hosting capacity, voltage optimisation, the DSO side of the
game) is a :class:`GridModel` plus a short list of builder calls, as in PowerModels.jl
(``form/bf.jl`` builders, ``prob/opf_bf.jl`` a list of calls). A builder

* ``variables_<name>(m)`` creates decision variables in ``m.var`` and registers the
  injections they make at buses (``m.add_injection_pu``);
* ``constraint_<family>(m)`` adds one constraint family, named once, to ``m.con``;
* ``objective_<name>(m)`` adds a named term [EUR] to ``m.cost``.

Per-unit on ``feeder.s_base_mva``; buses in feeder order (position 0 = substation),
branch ``l`` feeds bus ``l + 1`` from ``from_bus[l]``. The equations are in
``docs/grid.md`` §2 (seed 000 §3, eqs. 8–13; relaxation of Farivar & Low, IEEE TPWRS 2013).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from evagg._checks import (
    DA_PRICE_LIMITS_EUR_PER_MWH,
    as_finite_array,
    check_price_limits,
    check_time_index,
)
from evagg.errors import InputError
from evagg.grid.feeder import Feeder

if TYPE_CHECKING:
    from evagg.grid.distflow import DistFlowOptions

__all__ = [
    "LIMIT_FAMILIES",
    "OPTIONAL_NAMES",
    "GridModel",
    "branch_end_flows",
    "constraint_branch_limits",
    "constraint_current_relaxation",
    "constraint_current_tangent",
    "constraint_generators",
    "constraint_power_balance",
    "constraint_storage",
    "constraint_substation",
    "constraint_voltage_drop",
    "constraint_voltage_limits",
    "objective_energy_cost",
    "variables_branch_flow",
    "variables_generators",
    "variables_storage",
    "variables_substation",
    "voltage_sending",
]

FloatArray = npt.NDArray[np.float64]

LIMIT_FAMILIES = ("line_send", "line_recv", "current_send", "current_recv")
"""Branch-limit families: apparent power / current at the sending and receiving end."""

OPTIONAL_NAMES = frozenset(
    {"p_gen", "q_gen", "p_ch", "p_dis", "e", "s_lo", "s_hi", *LIMIT_FAMILIES}
)
"""Variables/constraints that exist only for some feeders or options (``None`` if absent)."""


def _soc(t: cp.Expression | FloatArray, *parts: cp.Expression) -> cp.Constraint:
    """Column-wise cones ``‖(parts_1[l,t], …)‖ ≤ t[l,t]``, flattened column-major."""
    x = cp.vstack([cp.vec(p, order="F") for p in parts])
    tt = t.flatten(order="F") if isinstance(t, np.ndarray) else cp.vec(t, order="F")
    return cp.SOC(tt, x, axis=0)


def _selector(n: int, rows: npt.ArrayLike) -> sp.csr_matrix:
    """(n, k) 0/1 matrix placing k per-element quantities at bus positions ``rows``."""
    r = np.asarray(rows, dtype=int)
    return sp.csr_matrix((np.ones(r.size), (r, np.arange(r.size))), shape=(n, r.size))


class GridModel:
    """Data (``cp.Parameter``), variables, named constraint families and cost terms.

    Parameters
    ----------
    feeder
        Radial feeder.
    n_slots, dt_h
        Number of slots T and slot length [h].
    options
        :class:`evagg.grid.DistFlowOptions` (limits, weights, tolerances).
    time_index
        Labels of the slots (default ``RangeIndex``; a DatetimeIndex must be tz-aware).

    Attributes
    ----------
    param
        ``p_load_mw, q_load_mvar, p_inj_mw, q_inj_mvar`` (N, T) [MW, Mvar] and
        ``price_eur_per_mwh`` (T,): the data a re-solve changes without rebuilding.
    var, con, cost
        Variables, constraint families and objective terms [EUR] by name.
    injections_p, injections_q
        Per-bus injections (N, T) [pu] entering the balances, besides the substation.
    """

    def __init__(
        self,
        feeder: Feeder,
        n_slots: int,
        dt_h: float,
        options: DistFlowOptions,
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
        self.feeder, self.n_slots, self.dt_h = feeder, int(n_slots), float(dt_h)
        self.options, self.time_index = options, time_index
        n, t = feeder.n_bus, self.n_slots
        self.param: dict[str, cp.Parameter] = {
            k: cp.Parameter((n, t), name=k)
            for k in ("p_load_mw", "q_load_mvar", "p_inj_mw", "q_inj_mvar")
        }
        self.param["price_eur_per_mwh"] = cp.Parameter(t, name="price_eur_per_mwh")
        self.var: dict[str, cp.Variable] = {}
        self.con: dict[str, cp.Constraint] = {}
        self.cost: dict[str, cp.Expression] = {}
        self.injections_p: list[cp.Expression] = []
        self.injections_q: list[cp.Expression] = []
        self.extra_cons: list[cp.Constraint] = []
        self.extra_cost: list[cp.Expression] = []
        self.n_extra_injections = 0
        self.problem: cp.Problem | None = None
        self.tangent_active = False
        self.cost_expr: cp.Expression = cp.Constant(0.0)
        self.loss_expr: cp.Expression = cp.Constant(0.0)
        self.lim_lines: npt.NDArray[np.int64] = np.array([], dtype=np.int64)
        self.lim_current: npt.NDArray[np.int64] = np.array([], dtype=np.int64)
        self.v_min_used = feeder.v_min_pu[1:]
        self.v_max_used = feeder.v_max_pu[1:]
        self.set_loads(
            np.repeat(feeder.p_load_mw[:, None], t, 1), np.repeat(feeder.q_load_mvar[:, None], t, 1)
        )
        self.set_injections(
            np.repeat(feeder.p_fixed_gen_mw[:, None], t, 1),
            np.repeat(feeder.q_fixed_gen_mvar[:, None], t, 1),
        )
        self.param["price_eur_per_mwh"].value = np.zeros(t)

    def __getattr__(self, name: str) -> Any:
        # model.P, model.p_balance, model.p_load_mw, ...: the dict entries as attributes
        if name.startswith("__") or name in ("var", "con", "param"):
            raise AttributeError(name)
        for store in ("var", "con", "param"):
            d = self.__dict__.get(store, {})
            if name in d:
                return d[name]
        if name in OPTIONAL_NAMES:
            return None
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    # ---------------------------------------------------------------- extensions
    @property
    def has_extensions(self) -> bool:
        """Whether injections, constraints or costs were added by a caller."""
        return bool(self.n_extra_injections or self.extra_cons or self.extra_cost)

    def bus_selector(self, buses: Sequence[int]) -> sp.csr_matrix:
        """(N, k) 0/1 matrix placing k per-bus quantities at pandapower buses ``buses``.

        ``model.add_injection(model.bus_selector([14, 30]) @ x_mw)`` with ``x_mw`` of
        shape (2, T) injects ``x_mw`` at buses 14 and 30.
        """
        return _selector(self.feeder.n_bus, [self.feeder.bus_position(int(b)) for b in buses])

    def _check_unbuilt(self, what: str) -> None:
        if self.problem is not None:
            raise InputError(what, "after build", "extend the model before build()/solve()")

    def add_injection_pu(self, p: cp.Expression, q: cp.Expression | None = None) -> None:
        """Register per-bus injections (N, T) [pu] for the balances (used by builders)."""
        self.injections_p.append(p)
        if q is not None:
            self.injections_q.append(q)

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
        sb = self.feeder.s_base_mva
        self.add_injection_pu(p_mw / sb, None if q_mvar is None else q_mvar / sb)
        self.n_extra_injections += 1

    def add_constraints(self, constraints: Sequence[cp.Constraint]) -> None:
        """Add constraints on the caller's or the model's variables (before build)."""
        self._check_unbuilt("add_constraints")
        self.extra_cons.extend(constraints)

    def add_cost(self, expr: cp.Expression) -> None:
        """Add a scalar convex cost [EUR] to the objective (before build)."""
        self._check_unbuilt("add_cost")
        if expr.size != 1:
            raise InputError("expr", tuple(expr.shape), "cost must be scalar")
        self.extra_cost.append(expr)

    def make_problem(self, *, skip: Sequence[str] = ()) -> cp.Problem:
        """The CVXPY problem of every family and cost term (except those in ``skip``)."""
        cons = [c for k, c in self.con.items() if k not in skip] + self.extra_cons
        terms = [c for k, c in self.cost.items() if k not in skip] + self.extra_cost
        objective = sum(terms[1:], terms[0])
        return cp.Problem(cp.Minimize(objective), cons)

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
            if not value.columns.equals(self.time_index) and (
                len(value.columns) != t or isinstance(value.columns, pd.DatetimeIndex)
            ):
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
        self.param["p_load_mw"].value = p
        self.param["q_load_mvar"].value = q

    def set_injections(self, p_mw: Any, q_mvar: Any | None = None) -> None:
        """Set the fixed injections per bus and slot [MW, Mvar] (default: static gens)."""
        p = self._as_nt("p_inj_mw", p_mw)
        self.param["p_inj_mw"].value = p
        self.param["q_inj_mvar"].value = (
            np.zeros_like(p) if q_mvar is None else self._as_nt("q_inj_mvar", q_mvar)
        )

    def set_price(
        self,
        price_eur_per_mwh: Any,
        *,
        price_limits: tuple[float, float] = DA_PRICE_LIMITS_EUR_PER_MWH,
    ) -> None:
        """Set the substation energy price per slot [EUR/MWh] (scalar or (T,)).

        Prices outside ``price_limits`` (default the EU harmonised day-ahead limits
        −500 / +4000 EUR/MWh) are rejected as typos or unit errors; pass wider limits
        for another market.
        """
        arr = check_price_limits("price_eur_per_mwh", price_eur_per_mwh, price_limits)
        if arr.ndim == 0:
            arr = np.full(self.n_slots, float(arr))
        if arr.shape != (self.n_slots,):
            raise InputError("price_eur_per_mwh", arr.shape, f"expected ({self.n_slots},)")
        self.param["price_eur_per_mwh"].value = arr

    def scale_loads(self, factor: Any) -> None:
        """Set loads to the feeder's base loads times a per-slot factor (T,) [-]."""
        f = as_finite_array("factor", factor)
        if f.ndim == 0:
            f = np.full(self.n_slots, float(f))
        if f.shape != (self.n_slots,):
            raise InputError("factor", f.shape, f"expected ({self.n_slots},)")
        self.set_loads(self.feeder.p_load_mw[:, None] * f[None, :])


# ---------------------------------------------------------------------- variables
def variables_branch_flow(m: GridModel) -> None:
    """Sending-end flows ``P, Q`` (L, T), squared currents ``ell ≥ 0`` (L, T) and squared
    voltages ``v ≥ 0`` (N, T) [pu]; ``m.loss_expr`` = Σ_t Δt Σ_l r_l ℓ_l s_base [MWh]."""
    n, nl, t = m.feeder.n_bus, m.feeder.n_branch, m.n_slots
    m.var["P"] = cp.Variable((nl, t), name="P")
    m.var["Q"] = cp.Variable((nl, t), name="Q")
    m.var["ell"] = cp.Variable((nl, t), nonneg=True, name="ell")
    m.var["v"] = cp.Variable((n, t), nonneg=True, name="v")
    sbdt = m.feeder.s_base_mva * m.dt_h
    m.loss_expr = cp.sum(cp.multiply(m.feeder.r_pu[:, None], m.var["ell"])) * sbdt


def variables_substation(m: GridModel) -> None:
    """External-grid import ``p_ext, q_ext`` (T,) [pu] (enters the root's balance in
    :func:`constraint_power_balance`) and the fixed injections ``p_inj_mw, q_inj_mvar``."""
    t, sb = m.n_slots, m.feeder.s_base_mva
    m.var["p_ext"] = cp.Variable(t, name="p_ext")
    m.var["q_ext"] = cp.Variable(t, name="q_ext")
    m.add_injection_pu(m.param["p_inj_mw"] / sb, m.param["q_inj_mvar"] / sb)


def variables_generators(m: GridModel) -> None:
    """Controllable static generators ``p_gen, q_gen`` (G, T) [pu] (none if G = 0)."""
    g = len(m.feeder.gens)
    if not g:
        return
    m.var["p_gen"] = cp.Variable((g, m.n_slots), name="p_gen")
    m.var["q_gen"] = cp.Variable((g, m.n_slots), name="q_gen")
    cg = _selector(m.feeder.n_bus, m.feeder.gens["bus"].to_numpy(int))
    m.add_injection_pu(cg @ m.var["p_gen"], cg @ m.var["q_gen"])


def variables_storage(m: GridModel) -> None:
    """Controllable storage: charge/discharge ``p_ch, p_dis ≥ 0`` [pu], energy ``e``
    [MWh] (S, T) (none if S = 0)."""
    s = len(m.feeder.storage)
    if not s:
        return
    m.var["p_ch"] = cp.Variable((s, m.n_slots), nonneg=True, name="p_ch")
    m.var["p_dis"] = cp.Variable((s, m.n_slots), nonneg=True, name="p_dis")
    m.var["e"] = cp.Variable((s, m.n_slots), name="e_mwh")
    cs = _selector(m.feeder.n_bus, m.feeder.storage["bus"].to_numpy(int))
    m.add_injection_pu(cs @ (m.var["p_dis"] - m.var["p_ch"]))


# -------------------------------------------------------------------- constraints
def constraint_power_balance(m: GridModel) -> None:
    """``p_balance``/``q_balance``: withdrawals − injections = −load per bus (N, T);
    duals λ, μ = +∂objective/∂load."""
    fd, sb = m.feeder, m.feeder.s_base_mva
    a_from, a_to = fd.incidence()
    P, Q, ell, v = (m.var[k] for k in ("P", "Q", "ell", "v"))
    r, x = fd.r_pu[:, None], fd.x_pu[:, None]
    root = _selector(fd.n_bus, [0])
    t = m.n_slots
    gen_p = sum(m.injections_p, root @ cp.reshape(m.var["p_ext"], (1, t), order="C"))
    gen_q = sum(m.injections_q, root @ cp.reshape(m.var["q_ext"], (1, t), order="C"))
    m.con["p_balance"] = (
        a_from @ P - a_to @ (P - cp.multiply(r, ell)) + cp.multiply(fd.g_sh_pu[:, None], v) - gen_p
        == -m.param["p_load_mw"] / sb
    )
    m.con["q_balance"] = (
        a_from @ Q - a_to @ (Q - cp.multiply(x, ell)) - cp.multiply(fd.b_sh_pu[:, None], v) - gen_q
        == -m.param["q_load_mvar"] / sb
    )


def voltage_sending(m: GridModel) -> cp.Expression:
    """Squared voltage behind each branch's ideal transformer, v_i / τ² (L, T) [pu]
    (just v_i on a feeder without off-nominal ratios)."""
    v_from = m.var["v"][m.feeder.from_bus, :]
    tau = m.feeder.tap_ratio
    return v_from if np.all(tau == 1.0) else cp.multiply((1.0 / tau**2)[:, None], v_from)


def constraint_voltage_drop(m: GridModel) -> None:
    """``voltage_drop``: v_j = v_i/τ² − 2(r P + x Q) + (r² + x²) ℓ per branch (L, T)."""
    fd = m.feeder
    P, Q, ell, v = (m.var[k] for k in ("P", "Q", "ell", "v"))
    r, x = fd.r_pu[:, None], fd.x_pu[:, None]
    z2 = (fd.r_pu**2 + fd.x_pu**2)[:, None]
    m.con["voltage_drop"] = (
        v[1:, :]
        - voltage_sending(m)
        + 2 * (cp.multiply(r, P) + cp.multiply(x, Q))
        - cp.multiply(z2, ell)
        == 0
    )


def constraint_current_relaxation(m: GridModel) -> None:
    """``cone``: P² + Q² ≤ w ℓ as ‖(2P, 2Q, w − ℓ)‖ ≤ w + ℓ, w = v_i/τ² (L·T cones)."""
    P, Q, ell = (m.var[k] for k in ("P", "Q", "ell"))
    v_from = voltage_sending(m)
    m.con["cone"] = _soc(v_from + ell, 2 * P, 2 * Q, v_from - ell)


def constraint_current_tangent(m: GridModel) -> None:
    """``cone_tangent``: ℓ ≤ ∇g(z_k)·z + s, the reverse of the relaxed cone made convex.

    g(P, Q, w) = (P² + Q²)/w (w = v_i/τ²) is convex and homogeneous of degree 1, so its tangent at
    the linearisation point z_k = (P_k, Q_k, v_k) is (2P_k/v_k) P + (2Q_k/v_k) Q −
    ((P_k² + Q_k²)/v_k²) v (no constant). Together with ``cone`` (ℓ ≥ g) it forces
    ℓ = g up to the slack ``s_tangent ≥ 0`` [pu], penalised by ``tau`` [EUR/pu] in the
    cost term ``tangent_penalty`` (penalty convex–concave procedure, Lipp & Boyd 2016;
    for DistFlow: Wei, Wang, Li, Mei & Low, IEEE TSG 2017). Coefficients are the
    parameters ``a_p, a_q, a_v`` (L, T) and ``tau``, updated by the solver loop.
    """
    nl, t = m.feeder.n_branch, m.n_slots
    P, Q, ell = (m.var[k] for k in ("P", "Q", "ell"))
    for k in ("a_p", "a_q", "a_v"):
        m.param[k] = cp.Parameter((nl, t), name=k)
    m.param["tau"] = cp.Parameter(nonneg=True, name="tau")
    m.var["s_tangent"] = cp.Variable((nl, t), nonneg=True, name="s_tangent")
    tangent = (
        cp.multiply(m.param["a_p"], P)
        + cp.multiply(m.param["a_q"], Q)
        + cp.multiply(m.param["a_v"], voltage_sending(m))
    )
    m.con["cone_tangent"] = ell - tangent - m.var["s_tangent"] <= 0
    m.cost["tangent_penalty"] = m.param["tau"] * cp.sum(m.var["s_tangent"])


def branch_end_flows(
    m: GridModel, k: npt.NDArray[np.int64]
) -> tuple[tuple[cp.Expression, cp.Expression, cp.Expression], ...]:
    """``((P_f, Q_f, v_i), (P_t, Q_t, v_j))`` of branches ``k``: the power entering at the
    sending end and leaving at the receiving end [pu], each branch's own end shunts
    included (the flows pandapower's OPF limits), with the end buses' squared voltages.

    P_f = P + g_f v_i, Q_f = Q − b_f v_i; P_t = P − rℓ − g_t v_j, Q_t = Q − xℓ + b_t v_j.
    """
    fd = m.feeder
    P, Q, ell = (m.var[n][k, :] for n in ("P", "Q", "ell"))
    v_i, v_j = m.var["v"][fd.from_bus[k], :], m.var["v"][fd.to_bus[k], :]

    def c(a: FloatArray) -> FloatArray:
        return a[k][:, None]

    send = (
        P + cp.multiply(c(fd.g_from_pu), v_i),
        Q - cp.multiply(c(fd.b_from_pu), v_i),
        v_i,
    )
    recv = (
        P - cp.multiply(c(fd.r_pu), ell) - cp.multiply(c(fd.g_to_pu), v_j),
        Q - cp.multiply(c(fd.x_pu), ell) + cp.multiply(c(fd.b_to_pu), v_j),
        v_j,
    )
    return send, recv


def constraint_branch_limits(m: GridModel) -> None:
    """Branch ratings at both ends (seed eq. 8, as pandapower's OPF states them), where
    finite and ``options.line_limits``; with end flows ``(P_e, Q_e)`` from
    :func:`branch_end_flows`:

    * ``current_send``/``current_recv`` (``options.branch_rating == "current"``,
      default; pandapower ``runopp``'s ``OPF_FLOW_LIM = 2``, "MVA at 1 pu voltage"):
      |I_e|² = (P_e² + Q_e²)/v_e ≤ Ī², i.e. ‖(2P_e, 2Q_e, v_e − Ī²)‖ ≤ v_e + Ī², with
      Ī = S̄ in per unit;
    * ``line_send``/``line_recv`` (``branch_rating == "apparent"``): ‖(P_e, Q_e)‖ ≤ S̄.

    ``m.lim_lines`` holds the apparent-limited branches, ``m.lim_current`` the
    current-limited ones.
    """
    fd, o = m.feeder, m.options
    finite = np.isfinite(fd.s_max_pu) & bool(o.line_limits)
    current = finite & (o.branch_rating == "current")
    m.lim_lines = np.flatnonzero(finite & ~current)
    m.lim_current = np.flatnonzero(current)
    if m.lim_lines.size:
        k = m.lim_lines
        smax = np.repeat(fd.s_max_pu[k][:, None], m.n_slots, 1)
        send, recv = branch_end_flows(m, k)
        m.con["line_send"] = _soc(smax, send[0], send[1])
        m.con["line_recv"] = _soc(smax, recv[0], recv[1])
    if m.lim_current.size:
        k = m.lim_current
        i2 = np.repeat((fd.s_max_pu[k] ** 2)[:, None], m.n_slots, 1)
        send, recv = branch_end_flows(m, k)
        for name, (p, q, v_e) in (("current_send", send), ("current_recv", recv)):
            m.con[name] = _soc(v_e + i2, 2 * p, 2 * q, v_e - i2)


def constraint_voltage_limits(m: GridModel) -> None:
    """``v_lower``/``v_upper``: V̲² ≤ v ≤ V̄² at non-root buses; with
    ``options.soft_voltage`` the violations ``s_lo, s_hi ≥ 0`` cost
    Δt (w₁ s + w₂ s²) each (term ``voltage_penalty``), w₁ =
    ``voltage_penalty_eur_per_pu2h``, w₂ = ``voltage_penalty_quad_eur_per_pu4h``: the
    linear part is an exact penalty (its price jumps by w₁ ∂v/∂p as the limit is
    crossed); the quadratic part alone prices a violation by 2 w₂ s, continuous in the
    loads (a Moreau–Yosida smoothing of the hard limit)."""
    fd, o, v = m.feeder, m.options, m.var["v"]
    vmin = np.full(fd.n_bus - 1, o.v_min_pu) if o.v_min_pu is not None else fd.v_min_pu[1:]
    vmax = np.full(fd.n_bus - 1, o.v_max_pu) if o.v_max_pu is not None else fd.v_max_pu[1:]
    m.v_min_used, m.v_max_used = vmin, vmax
    lo = np.repeat((vmin**2)[:, None], m.n_slots, 1)
    hi = np.repeat((vmax**2)[:, None], m.n_slots, 1)
    if o.soft_voltage:
        s_lo = m.var["s_lo"] = cp.Variable(lo.shape, nonneg=True, name="v_slack_lo")
        s_hi = m.var["s_hi"] = cp.Variable(lo.shape, nonneg=True, name="v_slack_hi")
        m.con["v_lower"] = v[1:, :] >= lo - s_lo
        m.con["v_upper"] = v[1:, :] <= hi + s_hi
        pen = o.voltage_penalty_eur_per_pu2h * cp.sum(s_lo + s_hi)
        if o.voltage_penalty_quad_eur_per_pu4h > 0:
            pen = pen + o.voltage_penalty_quad_eur_per_pu4h * (
                cp.sum_squares(s_lo) + cp.sum_squares(s_hi)
            )
        m.cost["voltage_penalty"] = m.dt_h * pen
    else:
        m.con["v_lower"] = v[1:, :] >= lo
        m.con["v_upper"] = v[1:, :] <= hi


def constraint_substation(m: GridModel) -> None:
    """Substation voltage (``v_root``: pinned or in [V̲₀², V̄₀²]) and external-grid
    limits and ramp (``ext_limits``, eqs. 9–10, 12)."""
    fd, o, t = m.feeder, m.options, m.n_slots
    sb, v0 = fd.s_base_mva, m.var["v"][0, :]
    if o.v_slack_min_pu is None or o.v_slack_max_pu is None:
        m.con["v_root"] = v0 == fd.v_slack_pu**2
    else:
        m.con["v_root"] = cp.hstack([o.v_slack_min_pu**2 - v0, v0 - o.v_slack_max_pu**2]) <= 0
    rows: list[cp.Expression] = []
    for var, lo, hi in (
        (m.var["p_ext"], fd.ext_p_min_mw, fd.ext_p_max_mw),
        (m.var["q_ext"], fd.ext_q_min_mvar, fd.ext_q_max_mvar),
    ):
        rows += [lo / sb - var] if np.isfinite(lo) else []
        rows += [var - hi / sb] if np.isfinite(hi) else []
    if o.ext_ramp_mw_per_h is not None and t > 1:
        rows.append(cp.abs(cp.diff(m.var["p_ext"])) - o.ext_ramp_mw_per_h * m.dt_h / sb)
    if rows:
        m.con["ext_limits"] = cp.hstack(rows) <= 0


def constraint_generators(m: GridModel) -> None:
    """``gen_limits``: P̲ ≤ p ≤ P̄, Q̲ ≤ q ≤ Q̄, ramp (eqs. 9–12); ``gen_apparent``:
    ‖(p, q)‖ ≤ S̄ where finite."""
    if "p_gen" not in m.var:
        return
    gd, sb, t = m.feeder.gens, m.feeder.s_base_mva, m.n_slots
    p, q = m.var["p_gen"], m.var["q_gen"]

    def col(c: str) -> FloatArray:
        return gd[c].to_numpy(float)[:, None] / sb

    rows = [col("p_min_mw") - p, p - col("p_max_mw"), col("q_min_mvar") - q, q - col("q_max_mvar")]
    if m.options.gen_ramp_mw_per_h is not None and t > 1:
        rows.append(cp.abs(cp.diff(p, axis=1)) - m.options.gen_ramp_mw_per_h * m.dt_h / sb)
    m.con["gen_limits"] = cp.hstack(rows) <= 0
    smax = gd["s_max_mva"].to_numpy(float) / sb
    fin = np.flatnonzero(np.isfinite(smax))
    if fin.size:
        m.con["gen_apparent"] = _soc(np.repeat(smax[fin][:, None], t, 1), p[fin, :], q[fin, :])


def constraint_storage(m: GridModel) -> None:
    """``storage``: e_t = e_{t−1} + Δt(η_ch p^ch − p^dis/η_dis), e̲ ≤ e ≤ ē, power limits,
    optionally e_T ≥ e_0."""
    if "e" not in m.var:
        return
    st, o, sb, dt = m.feeder.storage, m.options, m.feeder.s_base_mva, m.dt_h
    pc, pd_, e = m.var["p_ch"], m.var["p_dis"], m.var["e"]

    def c(name: str) -> FloatArray:
        return st[name].to_numpy(float)[:, None]

    flow = (o.storage_eta_ch * pc - pd_ / o.storage_eta_dis) * (sb * dt)
    e_prev = cp.hstack([c("e0_mwh"), e[:, :-1]]) if m.n_slots > 1 else c("e0_mwh")
    rows = [pc - c("p_ch_max_mw") / sb, pd_ - c("p_dis_max_mw") / sb]
    rows += [c("e_min_mwh") - e, e - c("e_max_mwh")]
    cons = [e == e_prev + flow, cp.hstack(rows) <= 0]
    if o.storage_cyclic:
        cons.append(e[:, -1:] >= c("e0_mwh"))
    m.con["storage_energy"], m.con["storage_limits"] = cons[0], cons[1]
    if o.storage_cyclic:
        m.con["storage_cyclic"] = cons[2]


# ---------------------------------------------------------------------- objective
def objective_energy_cost(m: GridModel) -> None:
    """Terms ``cost`` = a1 · Σ_t Δt (price_t p_ext,t + Σ_g c_g p_g,t) and ``losses`` =
    a2 · Σ_t Δt Σ_l r_l ℓ_l [EUR] (seed 000 §3); ``m.cost_expr`` is the unweighted cost."""
    fd, o = m.feeder, m.options
    sbdt = fd.s_base_mva * m.dt_h
    cost = cp.sum(cp.multiply(m.param["price_eur_per_mwh"], m.var["p_ext"])) * sbdt
    if "p_gen" in m.var:
        cost = cost + cp.sum(fd.gens["cost_eur_per_mwh"].to_numpy(float) @ m.var["p_gen"]) * sbdt
    m.cost_expr = cost
    m.cost["cost"] = o.a1 * cost
    if o.a2_eur_per_mwh:
        m.cost["losses"] = o.a2_eur_per_mwh * m.loss_expr
