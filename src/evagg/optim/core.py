"""Solver registry, uniform status handling and the CVaR helper."""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import cvxpy as cp
import numpy as np
import numpy.typing as npt

from evagg._checks import as_finite_array, check_in_range, check_probabilities
from evagg.errors import InfeasibleError, InputError, SolverError

ProblemKind = Literal["lp", "milp", "socp"]

DEFAULT_SOLVERS: dict[str, str] = {"lp": "HIGHS", "milp": "HIGHS", "socp": "CLARABEL"}
"""Open-source default per problem class; any solver CVXPY knows may be passed instead."""


@dataclass(frozen=True)
class SolveInfo:
    """What the solver said: status, objective, solver name and wall times [s]."""

    status: str
    objective: float
    solver: str
    solve_time_s: float
    compile_time_s: float


_FD_LOCK = threading.Lock()
_FD_STATE: dict[str, int] = {"depth": 0, "saved": -1}


def _flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (a solver's ``printf`` output)."""
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no libc symbol table (Windows)
        pass


@contextmanager
def solver_output_to_stderr() -> Iterator[None]:
    """Send everything written to file descriptor 1 to descriptor 2 while active.

    Solvers print from C/C++/Rust straight to file descriptor 1 (HiGHS prints its
    copyright banner even with ``verbose=False``), bypassing ``sys.stdout``. Every evagg
    solve runs inside this context, so a solver never writes to standard output and
    ``--json`` output stays parseable. Re-entrant and thread-safe (a depth count: the
    first entry redirects, the last exit restores). Python's own ``sys.stdout`` is not
    touched.
    """
    with _FD_LOCK:
        if _FD_STATE["depth"] == 0:
            try:
                sys.stdout.flush()
                _flush_c_stdio()
                _FD_STATE["saved"] = os.dup(1)
                os.dup2(2, 1)
            except (OSError, ValueError):  # no real descriptors (embedded interpreter)
                _FD_STATE["saved"] = -1
        _FD_STATE["depth"] += 1
    try:
        yield
    finally:
        with _FD_LOCK:
            _FD_STATE["depth"] -= 1
            if _FD_STATE["depth"] == 0 and _FD_STATE["saved"] >= 0:
                _flush_c_stdio()
                os.dup2(_FD_STATE["saved"], 1)
                os.close(_FD_STATE["saved"])
                _FD_STATE["saved"] = -1


@functools.cache
def _installed_solvers() -> frozenset[str]:
    """CVXPY's installed solvers, looked up once per process (``cp.installed_solvers``
    imports every solver module: ~16 ms per call, paid on every small re-solve)."""
    return frozenset(cp.installed_solvers())


def pick_solver(kind: ProblemKind, solver: str | None = None) -> str:
    """Return ``solver`` if installed, else the default for ``kind``; raise if unavailable."""
    name = (solver or DEFAULT_SOLVERS[kind]).upper()
    if name not in _installed_solvers():
        raise InputError("solver", name, f"not installed; CVXPY has {sorted(_installed_solvers())}")
    return name


def solve_cvxpy(
    problem: cp.Problem,
    *,
    name: str,
    kind: ProblemKind,
    solver: str | None = None,
    **solver_options: Any,
) -> SolveInfo:
    """Solve ``problem`` and raise a named evagg error unless it is optimal.

    Parameters
    ----------
    problem
        A CVXPY problem.
    name
        Human-readable model name used in error messages.
    kind
        ``"lp"``, ``"milp"`` or ``"socp"``; selects the default solver.
    solver
        Optional CVXPY solver name overriding the default.
    **solver_options
        Passed to :meth:`cvxpy.Problem.solve`.

    Raises
    ------
    InfeasibleError
        If the solver proves infeasibility or unboundedness.
    SolverError
        For any other non-optimal status (including ``optimal_inaccurate``).
    """
    chosen = pick_solver(kind, solver)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(), solver_output_to_stderr():
            # CVXPY warns "Solution may be inaccurate"; the status check below raises instead.
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            problem.solve(solver=chosen, **solver_options)
    except cp.error.SolverError as exc:
        raise SolverError(name, "solver_error", str(exc)) from None
    wall = time.perf_counter() - t0
    status = str(problem.status)
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE, cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
        raise InfeasibleError(name, status)
    if status != cp.OPTIMAL:
        raise SolverError(name, status)
    stats = problem.solver_stats
    solve_t = float(stats.solve_time) if stats and stats.solve_time is not None else wall
    comp = problem.compilation_time if problem.compilation_time is not None else 0.0
    return SolveInfo(
        status=status,
        objective=float(problem.value),
        solver=chosen,
        solve_time_s=solve_t,
        compile_time_s=float(comp),
    )


def cvar_constraints(
    profit: cp.Expression,
    probabilities: npt.ArrayLike,
    alpha: float = 0.95,
) -> tuple[cp.Expression, list[cp.Constraint], cp.Variable, cp.Variable]:
    """Rockafellar–Uryasev CVaR of profit (a reward: higher is better).

    .. math::

        \\mathrm{CVaR}_\\alpha = \\max_{\\zeta,\\eta}\\; \\zeta
            - \\frac{1}{1-\\alpha}\\sum_\\omega p_\\omega \\eta_\\omega,
        \\quad \\eta_\\omega \\ge \\zeta - \\pi_\\omega,\\; \\eta_\\omega \\ge 0

    (seed 002 eqs. 4–5, with α the confidence level). At the optimum it equals the
    expected profit over the worst (1 − α) probability mass.

    Parameters
    ----------
    profit
        CVXPY expression of shape (S,), profit per scenario [EUR].
    probabilities
        Scenario probabilities (S,), summing to 1.
    alpha
        Confidence level in [0, 1).

    Returns
    -------
    (cvar_expr, constraints, zeta, eta)
        The expression to add (times β) to a maximisation objective, its constraints and
        the auxiliary variables ζ [EUR] (value-at-risk at the optimum) and η [EUR].
    """
    p = check_probabilities("probabilities", probabilities)
    a = check_in_range("alpha", alpha, 0.0, 1.0)
    if a >= 1.0:
        raise InputError("alpha", alpha, "must be < 1")
    zeta = cp.Variable(name="cvar_zeta")
    eta = cp.Variable(p.size, nonneg=True, name="cvar_eta")
    expr = zeta - (p @ eta) / (1.0 - a)
    return expr, [eta >= zeta - profit], zeta, eta


def cvar_of_samples(values: npt.ArrayLike, probabilities: npt.ArrayLike, alpha: float) -> float:
    """CVaR of a discrete profit distribution computed directly (no optimisation).

    Mean of the worst ``1 − alpha`` probability mass of ``values``, splitting the atom
    at the value-at-risk. Used to check :func:`cvar_constraints` results.
    """
    v = as_finite_array("values", values, ndim=1)
    p = check_probabilities("probabilities", probabilities)
    if v.shape != p.shape:
        raise InputError("values", v.shape, f"shape differs from probabilities {p.shape}")
    tail = 1.0 - check_in_range("alpha", alpha, 0.0, 1.0)
    if tail <= 0:
        raise InputError("alpha", alpha, "must be < 1")
    order = np.argsort(v, kind="stable")
    vs, ps = v[order], p[order]
    cum = np.cumsum(ps)
    prev = np.concatenate([[0.0], cum[:-1]])
    take = np.clip(np.minimum(cum, tail) - prev, 0.0, None)
    return float(take @ vs / tail)
