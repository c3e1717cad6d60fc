"""AC power-flow check of an OPF solution with pandapower (the peer tool).

Every bus's net withdrawal from the OPF is applied to a copy of the feeder's pandapower
network (original loads, static generators and storage switched off, one load per bus
carrying the OPF's net withdrawal, shunts and branches unchanged), the external grid's
voltage is set to the OPF's substation voltage, and ``pandapower.runpp`` is run per slot.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from evagg.errors import SolverError

if TYPE_CHECKING:
    from evagg.grid.feeder import Feeder

__all__ = ["ACCheck", "ac_power_flow"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ACCheck:
    """Result of the AC power flows at the OPF's injections.

    Attributes
    ----------
    slots
        Slot positions that were checked.
    v_pu
        AC voltage magnitudes (N, len(slots)) [pu], feeder bus order.
    losses_mw
        AC losses per checked slot [MW] (external-grid import minus net withdrawals).
    """

    slots: tuple[int, ...]
    v_pu: FloatArray
    losses_mw: FloatArray


def ac_power_flow(
    feeder: Feeder,
    p_withdrawal_mw: FloatArray,
    q_withdrawal_mvar: FloatArray,
    v_root_pu: FloatArray,
    slots: list[int] | tuple[int, ...],
) -> ACCheck:
    """Run ``pandapower.runpp`` at given per-bus net withdrawals for the listed slots.

    Parameters
    ----------
    feeder
        The feeder (its ``net`` is copied, not modified).
    p_withdrawal_mw, q_withdrawal_mvar
        Net withdrawal per bus and slot, (N, T) [MW, Mvar] (load minus injections).
    v_root_pu
        Substation voltage per slot (T,) [pu].
    slots
        Slot positions to check.

    Raises
    ------
    SolverError
        If pandapower's Newton–Raphson does not converge at some slot.
    """
    import pandapower as pp

    net = copy.deepcopy(feeder.net)
    for tab in ("load", "sgen", "storage"):
        df = getattr(net, tab, None)
        if df is not None and len(df):
            df["in_service"] = False
    buses = feeder.bus_index.to_numpy()
    start = int(net.load.index.max()) + 1 if len(net.load) else 0
    idx = np.arange(start, start + buses.size)
    for k, b in zip(idx, buses, strict=True):
        pp.create_load(net, bus=int(b), p_mw=0.0, q_mvar=0.0, index=int(k))
    eg = net.ext_grid.index[net.ext_grid["in_service"].astype(bool)][0]
    v_out = np.empty((buses.size, len(slots)))
    loss = np.empty(len(slots))
    for i, t in enumerate(slots):
        net.load.loc[idx, "p_mw"] = p_withdrawal_mw[:, t]
        net.load.loc[idx, "q_mvar"] = q_withdrawal_mvar[:, t]
        net.ext_grid.loc[eg, "vm_pu"] = float(v_root_pu[t])
        try:
            pp.runpp(net, numba=False, init="dc" if i == 0 else "results", tolerance_mva=1e-9)
        except Exception as exc:  # pandapower raises LoadflowNotConverged and others
            raise SolverError("ac_power_flow", "not_converged", f"slot {t}: {exc}") from None
        v_out[:, i] = net.res_bus.loc[buses, "vm_pu"].to_numpy()
        loss[i] = float(net.res_ext_grid.loc[eg, "p_mw"]) - float(p_withdrawal_mw[:, t].sum())
    return ACCheck(slots=tuple(int(t) for t in slots), v_pu=v_out, losses_mw=loss)
