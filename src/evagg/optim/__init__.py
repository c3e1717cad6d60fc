"""Reusable optimisation machinery: solver selection, status handling, CVaR.

Layer 4 of evagg: decision problems (layer 5) build CVXPY models and call
:func:`solve_cvxpy` so that every model reports failures the same way.
"""

from evagg.optim.core import (
    DEFAULT_SOLVERS,
    SolveInfo,
    cvar_constraints,
    cvar_of_samples,
    pick_solver,
    solve_cvxpy,
)

__all__ = [
    "DEFAULT_SOLVERS",
    "SolveInfo",
    "cvar_constraints",
    "cvar_of_samples",
    "pick_solver",
    "solve_cvxpy",
]
