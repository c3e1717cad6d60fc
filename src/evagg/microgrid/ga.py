"""Genetic-algorithm baseline (seed 003 §6.1: population 40, crossover 0.8, mutation 0.1).

The seed optimised eq. (13) with a GA in MATLAB. evagg keeps it as the baseline, with
pymoo: real-coded GA, tournament selection, SBX crossover (probability 0.8), polynomial
mutation (probability 0.1 per individual), seeded; the initial population is random
plus the reference dispatch (no EVA, PV at unity power factor). Genes per slot, all in [−1, 1] or
[0, 1] and mapped so that the box and apparent-power limits hold by construction:

- ``P_ev = g·min(bid, reliable power)`` (g ∈ [0, 1]);
- ``Q_ev = g'·√(S_ev² − P_ev²)``, ``Q_pv = g''·√(S_pv² − P_mppt²)`` (g', g'' ∈ [−1, 1]);

fitness = eq. (13) from the same batched AC evaluation as every solver (one
power-grid-model batch per generation: population × slots power flows) plus penalties
``10·(Σ voltage-band excess [pu] + Σ SOC-band excess [share of E_max])``.

Termination: a fixed generation count, or (``stall=True``) the stopping rule of the tool
the seed ran its GA in (MATLAB R2020a ``ga``, seed §6.1): stop once the best fitness has
improved by at most ``FUNCTION_TOL`` = 1e-6 for ``STALL_GENERATIONS`` = 50 consecutive
generations (MATLAB's ``MaxStallGenerations``/``FunctionTolerance`` defaults), at most
``n_gen`` generations (``None``: MATLAB's ``MaxGenerations`` = 100 × n_var). evagg writes
it with pymoo's ``RobustTermination(SingleObjectiveSpaceTermination(1e-6), period=50)``,
which measures the improvement against the last generation that improved by more than
the tolerance; MATLAB averages relative changes over the window with geometric weights.
The fitness is O(1) near the optimum here, so absolute and relative tolerance agree to
within its scale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evagg.errors import InputError
from evagg.microgrid.evaluate import ACEvaluator, Dispatch, Reference
from evagg.microgrid.system import MicrogridSystem

__all__ = ["GAResult", "decode", "solve_ga"]

FloatArray = npt.NDArray[np.float64]

PENALTY = 10.0
"""Penalty weight per pu of voltage-band excess and per unit of SOC-band excess."""

STALL_GENERATIONS = 50
"""Generations without an improvement above ``FUNCTION_TOL`` that stop the GA with
``stall=True`` (MATLAB R2020a ``ga`` default ``MaxStallGenerations``)."""

FUNCTION_TOL = 1e-6
"""Improvement of the best fitness that counts as progress (MATLAB ``FunctionTolerance``)."""

MAX_GENERATIONS_PER_VAR = 100
"""Generation cap per gene for ``n_gen=None`` (MATLAB ``MaxGenerations`` = 100 × n_var)."""


@dataclass(frozen=True)
class GAResult:
    """Best individual, its fitness, the convergence curve and the time.

    ``curve`` holds the best penalised fitness after each generation;
    ``evaluations`` the number of individuals evaluated (each = T AC power flows);
    ``stopped_by`` ``"stall"`` (the seed's MATLAB rule) or ``"generations"`` (the cap).
    """

    dispatch: Dispatch
    fitness: float
    curve: FloatArray
    evaluations: int
    time_s: float
    stopped_by: str = "generations"


def decode(system: MicrogridSystem, x: FloatArray) -> Dispatch:
    """Map genes (B, n_var) to a dispatch (limits hold by construction)."""
    s = system
    t, k = s.n_slots, s.pv_bus.size
    x = np.atleast_2d(x)
    g_p, g_q, g_pv = x[:, :t], x[:, t : 2 * t], x[:, 2 * t :].reshape(-1, k, t)
    p_ev = g_p * s.eva_cap_kw[None, :]
    q_ev = g_q * np.sqrt(np.maximum(s.eva_s_kva**2 - p_ev**2, 0.0))
    q_pv = g_pv * s.pv_q_max_kvar[None, :, :]
    return Dispatch(p_ev, q_ev, q_pv)


def _bounds(s: MicrogridSystem) -> tuple[FloatArray, FloatArray]:
    t, k = s.n_slots, s.pv_bus.size
    lo = np.concatenate([np.zeros(t), -np.ones(t), -np.ones(k * t)])
    hi = np.ones(lo.size)
    if s.eva_bus is None:
        lo[: 2 * t], hi[: 2 * t] = 0.0, 0.0
    return lo, hi


def solve_ga(
    system: MicrogridSystem,
    ref: Reference,
    evaluator: ACEvaluator | None = None,
    n_gen: int | None = 50,
    stall: bool = False,
    pop_size: int = 40,
    crossover_prob: float = 0.8,
    mutation_prob: float = 0.1,
    seed: int = 0,
    progress: Any | None = None,
) -> GAResult:
    """Run the GA baseline on eq. (13) + penalties; every fitness is an AC evaluation.

    Parameters
    ----------
    system, ref
        The microgrid day and the eq. (13) normalisers.
    evaluator
        AC evaluator of ``system`` (built if not given).
    n_gen
        Generations (the most with ``stall``); ``None``: 100 × n_var (MATLAB's cap).
    stall
        Also stop by the seed's MATLAB rule: 50 generations improving the best fitness
        by at most 1e-6 (module notes).
    pop_size, crossover_prob, mutation_prob
        GA settings (seed: 40, 0.8, 0.1).
    seed
        Random seed (same seed, same result).
    progress
        Optional callback ``(generation, max_generations)``.
    """
    from pymoo.algorithms.soo.nonconvex.ga import GA
    from pymoo.core.callback import Callback
    from pymoo.core.problem import Problem
    from pymoo.core.termination import TerminateIfAny
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.optimize import minimize
    from pymoo.termination.ftol import SingleObjectiveSpaceTermination
    from pymoo.termination.max_gen import MaximumGenerationTermination
    from pymoo.termination.robust import RobustTermination

    if (n_gen is not None and n_gen < 1) or pop_size < 2:
        raise InputError("n_gen/pop_size", (n_gen, pop_size), "need >= 1 generation, >= 2")
    for name, val in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
        if not 0 <= val <= 1:
            raise InputError(name, val, "probability must lie in [0, 1]")
    t0 = time.perf_counter()
    ev = evaluator or ACEvaluator(system)
    lo, hi = _bounds(system)
    w = system.weights
    max_gen = MAX_GENERATIONS_PER_VAR * lo.size if n_gen is None else n_gen
    termination: Any = MaximumGenerationTermination(max_gen)
    if stall:
        rule = SingleObjectiveSpaceTermination(FUNCTION_TOL, only_feas=False)
        termination = TerminateIfAny(RobustTermination(rule, STALL_GENERATIONS), termination)

    class _Problem(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=lo.size, n_obj=1, xl=lo, xu=hi)

        def _evaluate(self, x: FloatArray, out: dict[str, Any], *a: Any, **k: Any) -> None:
            r = ev.evaluate(decode(system, x))
            pen = PENALTY * (r.v_violation_pu + r.soc_violation)
            out["F"] = (r.objective(ref, w) + pen)[:, None]

    class _Curve(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best: list[float] = []

        def notify(self, algorithm: Any) -> None:
            self.best.append(float(algorithm.opt.get("F").min()))
            if progress is not None:
                progress(len(self.best), max_gen)

    rng = np.random.default_rng(seed)
    x0 = lo + (hi - lo) * rng.random((pop_size, lo.size))
    x0[0] = np.clip(0.0, lo, hi)  # the reference dispatch (no EVA, unity power factor)
    algo = GA(
        pop_size=pop_size,
        sampling=x0,
        crossover=SBX(prob=crossover_prob, eta=15),
        mutation=PM(prob=mutation_prob, eta=20),
        eliminate_duplicates=False,
    )
    curve = _Curve()
    res = minimize(_Problem(), algo, termination, seed=seed, verbose=False, callback=curve)
    x_best = np.asarray(res.X, dtype=float)
    return GAResult(
        dispatch=decode(system, x_best),
        fitness=float(np.atleast_1d(res.F)[0]),
        curve=np.asarray(curve.best),
        evaluations=int(res.algorithm.evaluator.n_eval),
        time_s=time.perf_counter() - t0,
        stopped_by="stall" if stall and len(curve.best) < max_gen else "generations",
    )
