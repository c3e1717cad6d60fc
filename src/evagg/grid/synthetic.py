"""Synthetic radial feeders of any size (for benchmarks and scaling tests)."""

from __future__ import annotations

from typing import Any

import numpy as np

from evagg.errors import InputError

__all__ = ["synthetic_feeder_net"]


def synthetic_feeder_net(
    n_bus: int,
    *,
    total_load_mw: float = 4.0,
    seed: int | np.random.Generator = 0,
) -> Any:
    """A random radial 12.66 kV pandapower feeder with ``n_bus`` buses.

    Each bus ``b ≥ 1`` hangs off a parent drawn uniformly among the previous
    ``max(2, round(√n_bus))`` buses (so the depth grows like √n_bus, as in long rural
    feeders); line impedances are drawn around case33bw's mean per-km values
    (0.38 + j0.26 Ω/km) with lengths scaled by ``√(33 / n_bus)`` so the worst voltage
    stays near case33bw's; loads are uniform in [0.5, 1.5] × the mean with a power
    factor of 0.9. The substation is bus 0 at 1.0 pu, price 1 EUR/MWh in ``poly_cost``.

    Parameters
    ----------
    n_bus
        Number of buses (≥ 2).
    total_load_mw
        Expected total active load [MW].
    seed
        Random seed or generator; same seed, same network.
    """
    import pandapower as pp

    if not isinstance(n_bus, int | np.integer) or n_bus < 2:
        raise InputError("n_bus", n_bus, "must be an integer ≥ 2")
    if not (np.isfinite(total_load_mw) and total_load_mw > 0):
        raise InputError("total_load_mw", total_load_mw, "must be > 0")
    rng = np.random.default_rng(seed)
    net = pp.create_empty_network(name=f"synthetic{n_bus}", sn_mva=10.0)
    pp.create_buses(net, n_bus, vn_kv=12.66, min_vm_pu=0.9, max_vm_pu=1.1)
    width = max(2, round(np.sqrt(n_bus)))
    parents = np.array([rng.integers(max(0, b - width), b) for b in range(1, n_bus)])
    length = np.sqrt(33.0 / n_bus) * rng.uniform(0.5, 1.5, n_bus - 1)
    pp.create_lines_from_parameters(
        net,
        from_buses=parents,
        to_buses=np.arange(1, n_bus),
        length_km=length,
        r_ohm_per_km=0.38 * rng.uniform(0.5, 1.5, n_bus - 1),
        x_ohm_per_km=0.26 * rng.uniform(0.5, 1.5, n_bus - 1),
        c_nf_per_km=0.0,
        max_i_ka=99999.0,
    )
    p = total_load_mw / (n_bus - 1) * rng.uniform(0.5, 1.5, n_bus - 1)
    pp.create_loads(net, buses=np.arange(1, n_bus), p_mw=p, q_mvar=p * np.tan(np.arccos(0.9)))
    eg = pp.create_ext_grid(net, 0, vm_pu=1.0, min_p_mw=-100.0, max_p_mw=100.0)
    pp.create_poly_cost(net, eg, "ext_grid", cp1_eur_per_mw=1.0)
    return net
