"""Single-level reformulation of LP followers: KKT by big-M, strong duality, certificates.

A bilevel model with a leader (upper level) and a batch of ``N`` independent followers, each
solving the same-shaped linear programme

.. math::

    \\min_{y_k \\ge 0}\\; c_k(x)^\\top y_k \\quad \\text{s.t.}\\quad
    A y_k \\ge b_k \\;(\\mu_k \\ge 0), \\qquad G y_k = h_k \\;(\\nu_k\\ \\text{free}),

whose cost vector ``c_k(x)`` is affine in the leader's variables ``x``, becomes a single
MILP by replacing each follower with its optimality conditions:

* primal feasibility  ``A y_k ≥ b_k``, ``G y_k = h_k``, ``y_k ≥ 0``;
* dual feasibility    ``Aᵀ μ_k + Gᵀ ν_k ≤ c_k(x)``, ``μ_k ≥ 0``;
* complementarity by big-M with binaries ``u`` (per variable) and ``w`` (per inequality)::

      y_kj ≤ Ȳ_kj u_kj,            c_kj − (Aᵀμ_k + Gᵀν_k)_j ≤ D̄_kj (1 − u_kj)
      μ_ki ≤ M̄_ki (1 − w_ki),      (A y_k − b_k)_i ≤ P̄_ki w_ki

* strong duality ``c_k(x)ᵀ y_k = b_kᵀ μ_k + h_kᵀ ν_k``: the right-hand side is linear, so a
  leader revenue of the form price × quantity (a term of ``c_k(x)ᵀ y_k``) is written as the
  dual objective minus the follower's other (constant-coefficient) cost terms
  (seed 002 eqs. 20–21; the same identity serves any pricing model).

Big-M values are derived from the data, never guessed (Pineda & Morales, IEEE TPWRS 2019):

1. ``Ȳ`` (primal bound) is supplied by the caller. Sufficient: it holds at every vertex of
   the follower's feasible set (an optimal vertex exists for every ``x``); e.g. shares ≤ 1.
   A tighter box is allowed if, for every admissible ``x`` and every optimal response, the
   box holds an optimal response that is the same for the leader (e.g. seed 002: a
   switching flow routed through a third aggregator can be sent directly at no extra cost
   when K satisfies the triangle inequality, with the same shares). The box restricts the
   followers' responses, so an invalid Ȳ cuts off the leader's optimum while every
   certificate still holds: only the brute-force check can reveal it.
2. ``L_k = min { c_loᵀ y : A y ≥ b_k, G y = h_k, 0 ≤ y ≤ Ȳ_k }`` is a lower bound of the
   follower's optimal value for every admissible ``x`` (``c_lo ≤ c(x)``, and by 1. an
   optimal response lies in the box).
3. Every optimal dual, for every admissible ``x``, lies in
   ``R_k = { μ ≥ 0, ν : Aᵀμ + Gᵀν ≤ c_hi, b_kᵀμ + h_kᵀν ≥ L_k }`` (dual feasibility is
   monotone in ``c``; strong duality gives the objective). The box ``[μ_lo, μ_hi]``,
   ``[ν_lo, ν_hi]`` is computed exactly by LP over ``R_k`` (one LP per dual component and
   direction, all followers at once since the LP is separable). If a direction of ``R_k`` is
   unbounded, the lower level has a redundant constraint or a free dual direction
   (a lineality): the caller must drop or normalise it — evagg raises instead of using a
   huge M.
4. ``D̄_kj = c_hi,kj − min_{R_k} (Aᵀμ + Gᵀν)_j`` (one LP per column, all followers at
   once); ``P̄_ki = max_{0≤y≤Ȳ} (A y)_i − b_ki`` by interval arithmetic; ``M̄ = μ_hi``.

All bounds get a relative safety margin of 1e-6 against LP round-off.

The follower batch is solved exactly (scipy HiGHS, a different code path from the MILP) to
give an equilibrium certificate, and every big-M constraint that is active at the solution is
reported, since an active big-M is where a too-small bound would hide the leader's optimum.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from evagg._checks import as_finite_array
from evagg.errors import InputError, SolverError, VerificationError

__all__ = [
    "BigMBounds",
    "BruteForceResult",
    "EquilibriumCertificate",
    "KKTReformulation",
    "LowerLevelLP",
    "brute_force_leader",
    "derive_bigm",
    "kkt_reformulate",
    "solve_followers",
]

_MARGIN = 1e-6
FArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LowerLevelLP:
    """A batch of ``N`` follower LPs with shared matrices and per-follower data.

    ``min c_kᵀ y_k  s.t.  A y_k ≥ b_k,  G y_k = h_k,  0 ≤ y_k``  for ``k = 0..N-1``.

    Parameters
    ----------
    name
        Name used in messages and reports.
    cost
        Cost matrix (N, n): a CVXPY expression affine in the leader's variables, or a
        constant array. Row ``k`` is follower ``k``'s cost vector.
    cost_lo, cost_hi
        Arrays (N, n) bounding ``cost`` over every admissible leader decision (e.g. the
        leader's price bounds). Equal to the cost where it is constant.
    y_upper
        Array (N, n), ``Ȳ``: an upper bound on ``y`` valid at every vertex of the follower's
        feasible set, or tighter as in point 1 of the module docstring (the caller
        documents the derivation).
    A, b
        Inequality matrix (m, n) and right-hand sides (N, m); ``None`` for none.
    G, h
        Equality matrix (p, n) and right-hand sides (N, p); ``None`` for none.
        Right-hand sides are data (not leader variables) so that strong duality is linear.
    """

    name: str
    cost: Any
    cost_lo: FArray
    cost_hi: FArray
    y_upper: FArray
    A: FArray | None = None
    b: FArray | None = None
    G: FArray | None = None
    h: FArray | None = None

    def __post_init__(self) -> None:
        lo = as_finite_array(f"{self.name}.cost_lo", self.cost_lo, ndim=2)
        hi = as_finite_array(f"{self.name}.cost_hi", self.cost_hi, ndim=2)
        yu = as_finite_array(f"{self.name}.y_upper", self.y_upper, ndim=2)
        if lo.shape != hi.shape or lo.shape != yu.shape:
            raise InputError(
                f"{self.name}.cost_hi",
                hi.shape,
                f"shapes differ: cost_lo {lo.shape}, cost_hi {hi.shape}, y_upper {yu.shape}",
            )
        if np.any(lo > hi):
            k, j = np.argwhere(lo > hi)[0]
            raise InputError(
                f"{self.name}.cost_lo",
                float(lo[k, j]),
                f"exceeds cost_hi {hi[k, j]!r} at follower {k}, variable {j}",
            )
        if np.any(yu < 0):
            raise InputError(f"{self.name}.y_upper", float(yu.min()), "must be >= 0")
        if tuple(np.shape(self.cost)) != lo.shape:
            raise InputError(
                f"{self.name}.cost", np.shape(self.cost), f"must have shape {lo.shape}"
            )
        n_fol, n = lo.shape
        for mat, rhs, label in ((self.A, self.b, "A/b"), (self.G, self.h, "G/h")):
            if (mat is None) != (rhs is None):
                raise InputError(f"{self.name}.{label}", None, "give both matrix and rhs")
            if mat is not None and rhs is not None:
                m = as_finite_array(f"{self.name}.{label[0]}", mat, ndim=2)
                r = as_finite_array(f"{self.name}.{label[2]}", rhs, ndim=2)
                if m.shape[1] != n or r.shape != (n_fol, m.shape[0]):
                    raise InputError(
                        f"{self.name}.{label}",
                        (m.shape, r.shape),
                        f"need matrix (rows, {n}) and rhs ({n_fol}, rows)",
                    )
        object.__setattr__(self, "cost_lo", lo)
        object.__setattr__(self, "cost_hi", hi)
        object.__setattr__(self, "y_upper", yu)

    @property
    def n_followers(self) -> int:
        """Number of followers N."""
        return int(self.cost_lo.shape[0])

    @property
    def n_vars(self) -> int:
        """Primal variables per follower n."""
        return int(self.cost_lo.shape[1])

    def _mats(self) -> tuple[FArray, FArray, FArray, FArray]:
        n_fol, n = self.cost_lo.shape
        A = np.zeros((0, n)) if self.A is None else np.asarray(self.A, dtype=float)
        b = np.zeros((n_fol, 0)) if self.b is None else np.asarray(self.b, dtype=float)
        G = np.zeros((0, n)) if self.G is None else np.asarray(self.G, dtype=float)
        h = np.zeros((n_fol, 0)) if self.h is None else np.asarray(self.h, dtype=float)
        return A, b, G, h


@dataclass(frozen=True)
class BigMBounds:
    """Data-derived big-M values (see the module docstring for the derivation).

    Attributes
    ----------
    y_upper
        Ȳ (N, n): primal bound (caller-supplied, valid at vertices).
    dual_slack
        D̄ (N, n): bound on the reduced cost ``c − Aᵀμ − Gᵀν``.
    mu_upper
        M̄ (N, m): bound on inequality duals.
    primal_slack
        P̄ (N, m): bound on ``A y − b``.
    mu_lo, mu_hi, nu_lo, nu_hi
        Dual boxes from the LPs over ``R_k``.
    value_lo
        L (N,): lower bound of each follower's optimal value.
    """

    y_upper: FArray
    dual_slack: FArray
    mu_upper: FArray
    primal_slack: FArray
    mu_lo: FArray
    mu_hi: FArray
    nu_lo: FArray
    nu_hi: FArray
    value_lo: FArray


def _block(mat: FArray, n_fol: int) -> sp.csr_matrix:
    return sp.kron(sp.identity(n_fol, format="csr"), sp.csr_matrix(mat), format="csr")


def _linprog(
    c: FArray,
    a_ub: sp.spmatrix | None,
    b_ub: FArray | None,
    a_eq: sp.spmatrix | None,
    b_eq: FArray | None,
    bounds: Any,
    what: str,
) -> FArray | None:
    """Solve an LP with scipy HiGHS; ``None`` if unbounded; raise on anything else."""
    res = linprog(
        c,
        A_ub=a_ub if a_ub is not None and a_ub.shape[0] else None,
        b_ub=b_ub if a_ub is not None and a_ub.shape[0] else None,
        A_eq=a_eq if a_eq is not None and a_eq.shape[0] else None,
        b_eq=b_eq if a_eq is not None and a_eq.shape[0] else None,
        bounds=bounds,
        method="highs",
        options={"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9},
    )
    if res.status == 3:
        return None
    if res.status != 0:
        raise SolverError(what, f"linprog status {res.status}", str(res.message))
    return np.asarray(res.x, dtype=float)


def _solve_copies(
    objectives: FArray,
    a_ub: sp.csr_matrix,
    b_ub: FArray,
    bounds: list[Any],
    n_fol: int,
    d: int,
) -> list[FArray | None]:
    """Minimise each objective row (same for every follower) over the product of the R_k.

    Returns per objective the minimiser (N, d), or ``None`` where unbounded.
    """
    q = objectives.shape[0]
    big = sp.kron(sp.identity(q, format="csr"), a_ub, format="csr")
    c = np.concatenate([np.tile(o, n_fol) for o in objectives])
    sol = _linprog(c, big, np.tile(b_ub, q), None, None, bounds * q, "big-M bounds")
    if sol is not None:
        return list(sol.reshape(q, n_fol, d))
    out: list[FArray | None] = []
    for o in objectives:
        one = _linprog(np.tile(o, n_fol), a_ub, b_ub, None, None, bounds, "big-M bound")
        out.append(None if one is None else one.reshape(n_fol, d))
    return out


def derive_bigm(lower: LowerLevelLP) -> BigMBounds:
    """Compute the big-M values of :func:`kkt_reformulate` from the data (module docstring).

    Raises
    ------
    InputError
        If the follower is infeasible within ``y_upper`` or a dual direction is unbounded
        over the optimal duals (redundant constraint / lineality: drop or normalise it).
    """
    A, b, G, h = lower._mats()
    n_fol, n = lower.n_followers, lower.n_vars
    m, p = A.shape[0], G.shape[0]
    yu = lower.y_upper
    # 2. L_k = min c_lo^T y over the follower's feasible set within the vertex box.
    big_a = _block(A, n_fol)
    big_g = _block(G, n_fol)
    y = _linprog(
        lower.cost_lo.ravel(),
        -big_a,
        -b.ravel(),
        big_g,
        h.ravel(),
        np.column_stack([np.zeros(n_fol * n), yu.ravel()]),
        f"{lower.name}: follower value bound",
    )
    if y is None:  # cannot happen with finite box; keep mypy and the reader honest
        raise InputError(f"{lower.name}.y_upper", "inf", "value bound LP unbounded")
    value_lo = np.einsum("kj,kj->k", lower.cost_lo, y.reshape(n_fol, n))
    # 3. Dual box over R_k: variables per follower [mu (m), nu (p)].
    d = m + p
    dual_mat = np.hstack([A.T, G.T])  # (n, d): A^T mu + G^T nu <= c_hi
    obj_row = np.hstack([b, h])  # (N, d): b^T mu + h^T nu >= L
    a_ub = sp.vstack(
        [
            _block(dual_mat, n_fol),
            -sp.block_diag([obj_row[k : k + 1] for k in range(n_fol)], format="csr")
            if d
            else sp.csr_matrix((n_fol, 0)),
        ],
        format="csr",
    )
    b_ub = np.concatenate([lower.cost_hi.ravel(), -value_lo])
    var_bounds = [(0.0, None)] * m + [(None, None)] * p
    bounds = var_bounds * n_fol
    # One objective per (dual component, direction) and per reduced-cost column; all are
    # solved in one block-diagonal LP (the copies are independent, so each block is optimal
    # for its own objective). Only if that LP is unbounded are they re-solved one by one to
    # name the unbounded direction.
    objectives = [np.eye(d)[i] * sgn for i in range(d) for sgn in (1.0, -1.0)]
    labels = [
        ("mu" if i < m else "nu", i if i < m else i - m, "below" if sgn > 0 else "above")
        for i in range(d)
        for sgn in (1.0, -1.0)
    ]
    objectives += [dual_mat[j] for j in range(n)]
    labels += [("reduced cost", j, "below") for j in range(n)]
    sols = _solve_copies(np.array(objectives).reshape(-1, d), a_ub, b_ub, bounds, n_fol, d)
    for q, sol in enumerate(sols):
        if sol is None:
            kind, idx, side = labels[q]
            raise InputError(
                f"{lower.name}.{'A' if kind == 'mu' else 'G'}",
                f"{kind}[{idx}]",
                f"is unbounded {side} over the optimal duals: the lower level has a redundant "
                "constraint or a free dual direction; drop or normalise it instead of using "
                "a huge big-M",
            )
    vals = np.array([np.asarray(x) for x in sols])  # (Q, N, d)
    lo = np.stack([vals[2 * i][:, i] for i in range(d)], axis=1) if d else np.zeros((n_fol, 0))
    hi = np.stack([vals[2 * i + 1][:, i] for i in range(d)], axis=1) if d else lo
    span = np.abs(hi) + np.abs(lo) + 1.0
    lo = lo - _MARGIN * span
    hi = hi + _MARGIN * span
    mu_lo, mu_hi = np.maximum(lo[:, :m], 0.0), hi[:, :m]
    nu_lo, nu_hi = lo[:, m:], hi[:, m:]
    # 4. Reduced-cost bound D_kj = c_hi,kj - min over R_k of (A^T mu + G^T nu)_j (tighter
    #    than interval arithmetic on the box, e.g. 2K instead of K + price range for a
    #    switching variable).
    dual_slack = np.zeros((n_fol, n))
    for j in range(n):
        dual_slack[:, j] = lower.cost_hi[:, j] - vals[2 * d + j] @ dual_mat[j]
    dual_slack = np.maximum(dual_slack, 0.0)
    ay_max = np.maximum(0.0, A[None] * yu[:, None, :]).sum(2)  # (N, m)
    primal_slack = np.maximum(ay_max - b, 0.0)
    grow = 1.0 + _MARGIN
    return BigMBounds(
        y_upper=yu,
        dual_slack=dual_slack * grow + _MARGIN,
        mu_upper=mu_hi * grow + _MARGIN,
        primal_slack=primal_slack * grow + _MARGIN,
        mu_lo=mu_lo,
        mu_hi=mu_hi,
        nu_lo=nu_lo,
        nu_hi=nu_hi,
        value_lo=value_lo,
    )


@dataclass(frozen=True)
class EquilibriumCertificate:
    """Each follower re-solved exactly with the leader's decision fixed.

    Attributes
    ----------
    gaps
        Relative optimality gap per follower,
        ``|c_kᵀ y_k^MILP − v_k*| / max(1, |v_k*|)``.
    optimal_values
        ``v_k*`` from the exact LP re-solve [cost units].
    milp_values
        ``c_kᵀ y_k`` at the MILP solution.
    primal_residual
        Max violation of the follower's constraints by the MILP's ``y``.
    tolerance
        Relative tolerance that was checked.
    duality_gaps
        Strong-duality residual per follower at the MILP solution,
        ``|c_kᵀ y_k − (b_kᵀ μ_k + h_kᵀ ν_k)| / max(1, |v_k*|)``: the dual objective is what
        a leader's revenue term is built from, so it must equal the follower's cost
        (empty when not computed).
    """

    gaps: FArray
    optimal_values: FArray
    milp_values: FArray
    primal_residual: float
    tolerance: float
    duality_gaps: FArray = field(default_factory=lambda: np.zeros(0))

    @property
    def max_gap(self) -> float:
        """Largest relative gap over all followers."""
        return float(self.gaps.max()) if self.gaps.size else 0.0

    @property
    def max_duality_gap(self) -> float:
        """Largest relative strong-duality residual over all followers."""
        return float(self.duality_gaps.max()) if self.duality_gaps.size else 0.0

    @property
    def holds(self) -> bool:
        """Whether every follower is optimal (and strong duality holds) within tolerance."""
        return (
            self.max_gap <= self.tolerance
            and self.primal_residual <= self.tolerance
            and self.max_duality_gap <= self.tolerance
        )


def solve_followers(lower: LowerLevelLP, cost: npt.ArrayLike) -> tuple[FArray, FArray]:
    """Solve every follower LP exactly for a fixed cost matrix (scipy HiGHS).

    The followers are independent, so the block-diagonal LP with the summed objective is
    solved once and each block is optimal for its follower.

    Returns
    -------
    (y, values)
        Optimal ``y`` (N, n) and optimal values (N,).
    """
    c = as_finite_array(f"{lower.name}.cost", cost, ndim=2)
    A, b, G, h = lower._mats()
    n_fol, n = lower.n_followers, lower.n_vars
    sol = _linprog(
        c.ravel(),
        -_block(A, n_fol),
        -b.ravel(),
        _block(G, n_fol),
        h.ravel(),
        (0.0, None),
        f"{lower.name}: follower re-solve",
    )
    if sol is None:
        raise InputError(f"{lower.name}.cost", "unbounded", "a follower LP is unbounded")
    y = sol.reshape(n_fol, n)
    return y, np.einsum("kj,kj->k", c, y)


@dataclass(frozen=True)
class KKTReformulation:
    """CVXPY variables and constraints replacing a batch of follower LPs.

    Attributes
    ----------
    lower
        The follower batch.
    y, mu, nu
        Primal (N, n), inequality dual (N, m) and equality dual (N, p) variables
        (``mu``/``nu`` are ``None`` when there are no such constraints).
    u, w
        Complementarity binaries for ``y`` (N, n) and inequalities (N, m) or ``None``.
    constraints
        All constraints to add to the leader's problem.
    dual_objective
        Expression (N,): ``b_kᵀ μ_k + h_kᵀ ν_k`` (= follower optimal cost, linear).
    bigm
        The derived :class:`BigMBounds`.
    """

    lower: LowerLevelLP
    y: cp.Variable
    mu: cp.Variable | None
    nu: cp.Variable | None
    u: cp.Variable
    w: cp.Variable | None
    constraints: list[cp.Constraint] = field(repr=False)
    dual_objective: cp.Expression = field(repr=False)
    bigm: BigMBounds = field(repr=False)

    def reduced_cost_value(self) -> FArray:
        """``c − Aᵀμ − Gᵀν`` at the current solution (N, n)."""
        A, _, G, _ = self.lower._mats()
        red = np.asarray(_value(self.lower.cost), dtype=float).copy()
        if self.mu is not None:
            red -= np.asarray(self.mu.value) @ A
        if self.nu is not None:
            red -= np.asarray(self.nu.value) @ G
        return red

    def certificate(
        self, tolerance: float = 1e-6, *, raise_on_fail: bool = True
    ) -> EquilibriumCertificate:
        """Re-solve each follower with the leader fixed and compare with the MILP's ``y``.

        Also checks strong duality ``c_kᵀ y_k = b_kᵀ μ_k + h_kᵀ ν_k`` at the MILP's values,
        since revenue terms linearised through :attr:`KKTReformulation.dual_objective`
        are only right if it holds.

        Raises
        ------
        VerificationError
            If any follower's relative gap, constraint violation or strong-duality residual
            exceeds ``tolerance``.
        """
        if self.y.value is None:
            raise InputError(f"{self.lower.name}.y", None, "model has not been solved")
        cost = np.asarray(_value(self.lower.cost), dtype=float)
        _, opt = solve_followers(self.lower, cost)
        y = np.asarray(self.y.value, dtype=float)
        milp = np.einsum("kj,kj->k", cost, y)
        gaps = np.abs(milp - opt) / np.maximum(1.0, np.abs(opt))
        dual = np.broadcast_to(np.asarray(_value(self.dual_objective), dtype=float), milp.shape)
        dgaps = np.abs(milp - dual) / np.maximum(1.0, np.abs(opt))
        A, b, G, h = self.lower._mats()
        resid = [float(np.max(-y, initial=0.0))]
        if A.shape[0]:
            resid.append(float(np.max(b - y @ A.T, initial=0.0)))
        if G.shape[0]:
            resid.append(float(np.max(np.abs(y @ G.T - h), initial=0.0)))
        cert = EquilibriumCertificate(
            gaps=gaps,
            optimal_values=opt,
            milp_values=milp,
            primal_residual=max(resid),
            tolerance=tolerance,
            duality_gaps=dgaps,
        )
        if raise_on_fail and max(cert.max_gap, cert.primal_residual) > tolerance:
            k = int(np.argmax(gaps))
            raise VerificationError(
                f"{self.lower.name}: equilibrium certificate",
                max(cert.max_gap, cert.primal_residual),
                tolerance,
                f"follower {k}: MILP cost {milp[k]:.9g} vs exact optimum {opt[k]:.9g}, "
                f"constraint residual {cert.primal_residual:.2e}",
            )
        if raise_on_fail and cert.max_duality_gap > tolerance:
            k = int(np.argmax(dgaps))
            raise VerificationError(
                f"{self.lower.name}: strong duality of the follower (revenue linearisation)",
                cert.max_duality_gap,
                tolerance,
                f"follower {k}: cost {milp[k]:.9g} vs dual objective {dual[k]:.9g}",
            )
        return cert

    def binding_bigm(self, rtol: float = 1e-6) -> pd.DataFrame:
        """Big-M constraints active at the solution (value within ``rtol`` of its bound).

        Returns a frame with columns ``family`` (``"y_upper"``, ``"dual_slack"``,
        ``"mu_upper"``, ``"primal_slack"``), ``follower``, ``index``, ``value``, ``bound``.
        A binding ``y_upper`` that is a structural bound (e.g. a share of 1) is expected; a
        binding dual or slack bound means the derived M is attained. The derived bounds are
        provably valid (module docstring) and cut off no optimal follower response; the
        caller-supplied ``y_upper`` is only as good as its derivation, which is why its
        binding entries are reported too.
        """
        rows: list[pd.DataFrame] = []

        def add(family: str, values: FArray, bounds: FArray) -> None:
            # A bound that is only the safety margin (the data force the quantity to 0,
            # e.g. the reduced cost of a free switch) is not a big-M choice: not reported.
            active = (bounds > 10 * _MARGIN) & (values >= bounds * (1 - rtol) - rtol)
            ks, js = np.nonzero(active)
            if ks.size:
                rows.append(
                    pd.DataFrame(
                        {
                            "family": family,
                            "follower": ks,
                            "index": js,
                            "value": values[ks, js],
                            "bound": bounds[ks, js],
                        }
                    )
                )

        bm = self.bigm
        add("y_upper", np.asarray(self.y.value, dtype=float), bm.y_upper)
        add("dual_slack", self.reduced_cost_value(), bm.dual_slack)
        if self.mu is not None:
            A, b, _, _ = self.lower._mats()
            add("mu_upper", np.asarray(self.mu.value, dtype=float), bm.mu_upper)
            add("primal_slack", np.asarray(self.y.value) @ A.T - b, bm.primal_slack)
        if not rows:
            return pd.DataFrame(columns=["family", "follower", "index", "value", "bound"])
        return pd.concat(rows, ignore_index=True)


def _value(expr: Any) -> Any:
    return expr.value if isinstance(expr, cp.Expression) else expr


def kkt_reformulate(lower: LowerLevelLP, bigm: BigMBounds | None = None) -> KKTReformulation:
    """Replace a batch of follower LPs by primal/dual feasibility and big-M complementarity.

    Parameters
    ----------
    lower
        The follower batch (cost affine in the leader's CVXPY variables).
    bigm
        Precomputed bounds; by default derived with :func:`derive_bigm`.

    Returns
    -------
    KKTReformulation
        Variables, constraints (vectorised, no per-element loops) and the linear
        ``dual_objective`` for strong-duality revenue terms.
    """
    bm = derive_bigm(lower) if bigm is None else bigm
    A, b, G, h = lower._mats()
    n_fol, n = lower.n_followers, lower.n_vars
    m, p = A.shape[0], G.shape[0]
    tag = lower.name
    y = cp.Variable((n_fol, n), nonneg=True, name=f"{tag}_y")
    u = cp.Variable((n_fol, n), boolean=True, name=f"{tag}_u")
    mu = cp.Variable((n_fol, m), nonneg=True, name=f"{tag}_mu") if m else None
    nu = cp.Variable((n_fol, p), name=f"{tag}_nu") if p else None
    w = cp.Variable((n_fol, m), boolean=True, name=f"{tag}_w") if m else None
    cons: list[cp.Constraint] = [y <= cp.multiply(bm.y_upper, u)]
    lhs: Any = 0
    dual_obj: Any = 0
    if m and mu is not None and w is not None:
        slack = y @ A.T - b
        cons += [
            slack >= 0,
            mu <= cp.multiply(bm.mu_upper, 1 - w),
            slack <= cp.multiply(bm.primal_slack, w),
        ]
        lhs = lhs + mu @ A
        dual_obj = dual_obj + cp.sum(cp.multiply(b, mu), axis=1)
    if p and nu is not None:
        cons.append(y @ G.T == h)
        lhs = lhs + nu @ G
        dual_obj = dual_obj + cp.sum(cp.multiply(h, nu), axis=1)
    reduced = lower.cost - lhs
    cons += [reduced >= 0, reduced <= cp.multiply(bm.dual_slack, 1 - u)]
    if isinstance(dual_obj, int):
        dual_obj = cp.Constant(np.zeros(n_fol))
    return KKTReformulation(
        lower=lower,
        y=y,
        mu=mu,
        nu=nu,
        u=u,
        w=w,
        constraints=cons,
        dual_objective=dual_obj,
        bigm=bm,
    )


@dataclass(frozen=True)
class BruteForceResult:
    """Outcome of :func:`brute_force_leader`: best grid point, its value, all values."""

    best_x: FArray
    best_value: float
    points: FArray
    values: FArray


def brute_force_leader(
    grids: Sequence[npt.ArrayLike],
    objective: Callable[[FArray], float],
    *,
    max_points: int = 200_000,
) -> BruteForceResult:
    """Enumerate the leader's decision on a grid and keep the best (maximisation).

    ``objective(x)`` must solve the followers exactly for the fixed ``x`` and return the
    leader's objective (``-inf`` when infeasible). Used on small instances to show that the
    MILP reformulation finds the leader's true optimum, which a certificate alone cannot.

    Parameters
    ----------
    grids
        One 1-D array of candidate values per leader coordinate.
    objective
        Leader objective for a fixed decision (higher is better).
    max_points
        Refuse grids larger than this (the enumeration is exponential).
    """
    axes = [as_finite_array(f"grids[{i}]", g, ndim=1) for i, g in enumerate(grids)]
    if not axes or any(a.size == 0 for a in axes):
        raise InputError("grids", [a.size for a in axes], "need non-empty grids")
    total = int(np.prod([a.size for a in axes]))
    if total > max_points:
        raise InputError("grids", total, f"more than max_points={max_points} grid points")
    pts = np.array(list(itertools.product(*axes)), dtype=float)
    vals = np.array([objective(x) for x in pts], dtype=float)
    if not np.any(np.isfinite(vals)):
        raise InputError("objective", "all -inf", "no feasible grid point")
    k = int(np.nanargmax(np.where(np.isfinite(vals), vals, -np.inf)))
    return BruteForceResult(best_x=pts[k], best_value=float(vals[k]), points=pts, values=vals)
