"""Radial distribution grid: feeder model, SOCP DistFlow OPF, DLMPs, AC verification.

Public API::

    from evagg.grid import Feeder, DistFlowModel, DistFlowOptions, solve_opf

    feeder = Feeder.from_pandapower()          # case33bw by default
    res = solve_opf(feeder, price_eur_per_mwh=50.0)
    res.dlmp_eur_per_mwh, res.dlmp_components, res.v_pu, res.relaxation_gap_rel

Layers (docs/grid.md "Writing a new grid problem"): :mod:`evagg.grid.formulation`
(``GridModel`` and the ``variables_*`` / ``constraint_*`` / ``objective_*`` builders),
problems as lists of builder calls (:class:`DistFlowModel` = the OPF), post-processing
and verification in :mod:`evagg.grid.solution`.

See ``docs/grid.md`` for the equations and the DLMP decomposition.
"""

from evagg.grid.acpf import ACCheck, ac_power_flow
from evagg.grid.distflow import (
    OPF_CONSTRAINTS,
    OPF_VARIABLES,
    DistFlowModel,
    DistFlowOptions,
    OPFResult,
    restore_exactness,
    solve_opf,
    solve_relaxation,
)
from evagg.grid.dlmp import COMPONENTS, decompose_prices
from evagg.grid.feeder import Feeder, TopologyError, feeder_from_network, load_network
from evagg.grid.formulation import GridModel
from evagg.grid.hosting import HostingResult, hosting_capacity
from evagg.grid.simbench import SimbenchDay, simbench_day, simbench_net
from evagg.grid.synthetic import synthetic_feeder_net

__all__ = [
    "COMPONENTS",
    "OPF_CONSTRAINTS",
    "OPF_VARIABLES",
    "ACCheck",
    "DistFlowModel",
    "DistFlowOptions",
    "Feeder",
    "GridModel",
    "HostingResult",
    "OPFResult",
    "SimbenchDay",
    "TopologyError",
    "ac_power_flow",
    "decompose_prices",
    "feeder_from_network",
    "hosting_capacity",
    "load_network",
    "restore_exactness",
    "simbench_day",
    "simbench_net",
    "solve_opf",
    "solve_relaxation",
    "synthetic_feeder_net",
]
