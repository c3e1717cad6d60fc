"""Reusable optimisation machinery: solver selection, status handling, CVaR, bilevel tools.

The bilevel tools (:mod:`evagg.optim.bilevel`) turn LP followers into KKT constraints with
data-derived big-M bounds and certify equilibria.

Layer 4 of evagg: decision problems (layer 5) build CVXPY models and call
:func:`solve_cvxpy` so that every model reports failures the same way.
"""

from evagg.optim.bilevel import (
    BigMBounds,
    BruteForceResult,
    EquilibriumCertificate,
    KKTReformulation,
    LowerLevelLP,
    brute_force_leader,
    derive_bigm,
    kkt_reformulate,
    solve_followers,
)
from evagg.optim.core import (
    DEFAULT_SOLVERS,
    SolveInfo,
    cvar_constraints,
    cvar_of_samples,
    pick_solver,
    solve_cvxpy,
    solver_output_to_stderr,
)

__all__ = [
    "DEFAULT_SOLVERS",
    "BigMBounds",
    "BruteForceResult",
    "EquilibriumCertificate",
    "KKTReformulation",
    "LowerLevelLP",
    "SolveInfo",
    "brute_force_leader",
    "cvar_constraints",
    "cvar_of_samples",
    "derive_bigm",
    "kkt_reformulate",
    "pick_solver",
    "solve_cvxpy",
    "solve_followers",
    "solver_output_to_stderr",
]
