"""CVaR helper and uniform solver-status handling."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from evagg import InfeasibleError, InputError
from evagg.optim import cvar_constraints, cvar_of_samples, solve_cvxpy


def test_cvar_of_samples_hand_calculation() -> None:
    # Profits 10, 20, 30, 40 each with p = 0.25; alpha = 0.7 -> worst 30 % mass =
    # 0.25 at 10 and 0.05 at 20 -> (0.25*10 + 0.05*20) / 0.3 = 11.666...
    v = [30.0, 10.0, 40.0, 20.0]
    assert cvar_of_samples(v, [0.25] * 4, 0.7) == pytest.approx(3.5 / 0.3)
    # alpha = 0 -> the expectation.
    assert cvar_of_samples(v, [0.25] * 4, 0.0) == pytest.approx(25.0)


def test_cvar_constraints_match_direct_computation() -> None:
    rng = np.random.default_rng(7)
    profits = rng.normal(100.0, 30.0, size=40)
    p = rng.dirichlet(np.ones(40))
    expr, cons, zeta, _ = cvar_constraints(cp.Constant(profits), p, alpha=0.95)
    prob = cp.Problem(cp.Maximize(expr), cons)
    solve_cvxpy(prob, name="cvar", kind="lp")
    assert prob.value == pytest.approx(cvar_of_samples(profits, p, 0.95), rel=1e-7)
    # zeta is the value-at-risk: at most 5 % of the mass lies strictly below it.
    assert p[profits < zeta.value - 1e-9].sum() <= 0.05 + 1e-9


def test_cvar_rejects_bad_inputs() -> None:
    with pytest.raises(InputError, match="probabilities"):
        cvar_constraints(cp.Constant(np.ones(3)), [0.5, 0.5, 0.5])
    with pytest.raises(InputError, match="alpha"):
        cvar_of_samples([1.0, 2.0], [0.5, 0.5], 1.0)
    with pytest.raises(InputError, match="shape"):
        cvar_of_samples([1.0, 2.0, 3.0], [0.5, 0.5], 0.5)


def test_infeasible_model_raises_named_error() -> None:
    x = cp.Variable()
    prob = cp.Problem(cp.Minimize(x), [x >= 1, x <= 0])
    with pytest.raises(InfeasibleError, match="toy"):
        solve_cvxpy(prob, name="toy", kind="lp")


def test_unknown_solver_is_an_input_error() -> None:
    x = cp.Variable()
    with pytest.raises(InputError, match="solver"):
        solve_cvxpy(cp.Problem(cp.Minimize(x), [x >= 0]), name="t", kind="lp", solver="NOPE")
