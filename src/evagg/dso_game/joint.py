r"""All aggregators' responses to linearised DLMPs in one convex QP (a potential game).

With the DLMPs linearised about the current net loads x̂ (K, T),
λ(x) ≈ λ(x̂) + S (x − x̂), S_t (K, K) per slot the DLMP Jacobian (the OPF couples no
slots), and S_t symmetric (the Hessian of the OPF's value function), the price-taking
aggregators' game is a potential game: its equilibrium maximises

.. math::  Φ(x) = \sum_k π_k(x_k; λ(\hat x)) − \tfrac{Δt}{2} \sum_t (x_t − \hat x_t)^T
           S_t (x_t − \hat x_t),

because ∂Φ/∂x_k = ∂π_k/∂x_k(λ(x̂)) − Δt [S(x − x̂)]_k is aggregator k's marginal profit
at the linearised DLMP λ_k(x) (π_k, eq. (14), is linear in λ_k with slope −Δt x_k).
One solve of Φ is a Newton step of the game in the aggregators' loads: where one
voltage limit binds, S_t is nearly of rank one (every aggregator's load moves the same
voltage), and block Gauss–Seidel contracts only at ≈ S_kk/(c + S_kk) per iteration in the
directions that trade load between aggregators at constant voltage (c the aggregators'
own curvature, ~20 EUR/(MW²·h) against S_kk ~ 3000: 0.99, measured as 7e-4 MW steps
towards plain best responses 0.02 MW away on the 10-aggregator day); Φ takes them in one.

S_t is the symmetric part of the finite-difference Jacobian, projected onto the
positive semidefinite cone (eigenvalues clipped at 0), written as L_t L_tᵀ so that the
term is a sum of squares. At a fixed point (x = x̂) the term and its gradient vanish:
each aggregator's decision satisfies the optimality conditions of its plain best
response at λ(x̂) for the binaries chosen; the game's stop test and certificate check
the plain best responses independently.

Binaries: the joint QP relaxes every aggregator's u and z to [0, 1]. When its optimum is
exclusive for every aggregator (the usual case at non-negative prices, see
:mod:`evagg.dso_game.aggregator`) it is the joint optimum; otherwise, or when an
aggregator's fee periods split (:attr:`BestResponse.split_fee_periods`), :meth:`solve`
returns ``None`` and the game takes the Gauss–Seidel step instead.
"""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np
import numpy.typing as npt

from evagg.dso_game.aggregator import SIMULTANEOUS_TOL_MW, BestResponse, BestResponseModel
from evagg.errors import SolverError
from evagg.optim.core import solve_cvxpy

__all__ = ["JointResponse", "jacobian_factors"]

FloatArray = npt.NDArray[np.float64]


def jacobian_factors(sens: FloatArray) -> FloatArray:
    """L (K, K, T) with L_t L_tᵀ = PSD part of sym(S_t), S = ``sens`` (K, K, T) [EUR/(MW²·h)].

    L_t = V_t diag(√max(w_t, 0)), (w_t, V_t) the eigen-decomposition of (S_t + S_tᵀ)/2.
    """
    s = np.moveaxis(np.asarray(sens, dtype=float), 2, 0)  # (T, K, K)
    w, v = np.linalg.eigh(0.5 * (s + np.swapaxes(s, 1, 2)))
    fac = v * np.sqrt(np.maximum(w, 0.0))[:, None, :]  # (T, K, K): columns scaled
    return np.moveaxis(fac, 0, 2)


class JointResponse:
    """Φ of the module doc over the aggregators' models (built once; data by parameters).

    Parameters
    ----------
    models
        The aggregators' best-response models (K,); their variables and constraints are
        shared, so :meth:`BestResponseModel.set_data` sets this problem's data too.
    dt_h
        Slot length [h].
    solver
        Solver of the joint QP.
    """

    def __init__(self, models: list[BestResponseModel], dt_h: float, solver: str = "CLARABEL"):
        self.models = models
        self.solver = solver
        k, t = len(models), models[0].n_slots
        self.k, self.n_slots, self.dt_h = k, t, float(dt_h)
        # y[i, t] = Σ_j L_t[j, i] (x_j,t − x̂_j,t), fac[j][i, t] = L_t[j, i]; the anchor's
        # part Σ_j L_t[j, i] x̂_j,t is one parameter (a product of two would not be DPP)
        self.fac = [cp.Parameter((k, t), name=f"jacobian_factor_{j}") for j in range(k)]
        self.y_anchor = cp.Parameter((k, t), name="factor_times_anchor")
        ones = np.ones((k, 1))
        y = (
            sum(
                cp.multiply(self.fac[j], ones @ cp.reshape(m.x_net, (1, t), order="C"))
                for j, m in enumerate(models)
            )
            - self.y_anchor
        )
        coupling = (self.dt_h / 2.0) * cp.sum_squares(y)
        self._coupling = coupling
        objective = sum(m._profit - m._fee_reg for m in models) - coupling
        cons = [c for m in models for c in m.problem.constraints]
        self.problem = cp.Problem(cp.Maximize(objective), cons)

    def solve(self, sens: FloatArray, anchor_mw: FloatArray) -> list[BestResponse] | None:
        """Maximise Φ at the models' current data; ``None`` if it cannot stand for the step.

        ``None`` when an aggregator's model hands its day to a split model, when the
        relaxation is not exclusive for some aggregator, or when the solver fails; the
        caller then takes the Gauss–Seidel step.
        """
        if any(m._delegating for m in self.models):
            return None
        t0 = time.perf_counter()
        fac = jacobian_factors(sens)
        for j in range(self.k):
            self.fac[j].value = fac[j]
        self.y_anchor.value = np.einsum("jit,jt->it", fac, np.asarray(anchor_mw, dtype=float))
        zeros, ones = np.zeros(self.n_slots), np.ones(self.n_slots)
        for m in self.models:
            m.set_proximal(zeros, zeros)
            m.u_lo.value, m.u_hi.value, m.z_lo.value, m.z_hi.value = zeros, ones, zeros, ones
        try:
            solve_cvxpy(
                self.problem, name="aggregators_joint_response", kind="socp", solver=self.solver
            )
        except SolverError:
            return None
        if any(m._violation()[0] > SIMULTANEOUS_TOL_MW for m in self.models):
            return None
        secs = (time.perf_counter() - t0) / self.k
        out = []
        for m in self.models:
            val = float(m._profit.value) - float(m._fee_reg.value)
            out.append(m._result(val, val, 1, secs))
        return out
