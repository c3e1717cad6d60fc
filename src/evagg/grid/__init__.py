"""Radial distribution grid: feeder model, SOCP DistFlow OPF, DLMPs, AC verification.

Public API::

    from evagg.grid import Feeder, DistFlowModel, DistFlowOptions, solve_opf

    feeder = Feeder.from_pandapower()          # case33bw by default
    res = solve_opf(feeder, price_eur_per_mwh=50.0)
    res.dlmp_eur_per_mwh, res.dlmp_components, res.v_pu, res.relaxation_gap_rel

See ``docs/grid.md`` for the equations and the DLMP decomposition.
"""

from evagg.grid.acpf import ACCheck, ac_power_flow
from evagg.grid.distflow import DistFlowModel, DistFlowOptions, OPFResult, solve_opf
from evagg.grid.dlmp import COMPONENTS, decompose_prices
from evagg.grid.feeder import Feeder, TopologyError, load_network
from evagg.grid.synthetic import synthetic_feeder_net

__all__ = [
    "COMPONENTS",
    "ACCheck",
    "DistFlowModel",
    "DistFlowOptions",
    "Feeder",
    "OPFResult",
    "TopologyError",
    "ac_power_flow",
    "decompose_prices",
    "load_network",
    "solve_opf",
    "synthetic_feeder_net",
]
