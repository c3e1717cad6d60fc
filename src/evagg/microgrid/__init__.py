"""Microgrid voltage coordination with PV and a reliability-limited EV aggregator (seed 003 §4, §6).

Pipeline: :func:`build_system` (case33bw, Table 9 PV, Table A1 day, EVA with its
reliable power, disturbance) → :func:`solve_convex` (exact SOCP) or :func:`solve_ga`
(the seed's genetic algorithm, baseline) → both scored by :class:`ACEvaluator` (eq. 13
by batched AC power flow) → :func:`economics` (eqs. 21–24). See ``docs/microgrid.md``.
"""

from evagg.microgrid.evaluate import ACEvaluation, ACEvaluator, Dispatch, Reference, soc_path
from evagg.microgrid.system import (
    EVA_SEED_NODES,
    PV_TABLE9,
    MicrogridSystem,
    Weights,
    build_system,
    seed_node_to_bus,
)

__all__ = [
    "EVA_SEED_NODES",
    "PV_TABLE9",
    "ACEvaluation",
    "ACEvaluator",
    "Dispatch",
    "MicrogridSystem",
    "Reference",
    "Weights",
    "build_system",
    "seed_node_to_bus",
    "soc_path",
]
