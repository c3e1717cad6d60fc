"""AC power-flow check of an OPF solution: batched (power-grid-model) or per slot
(pandapower, the peer tool).

``engine="pgm"`` (default): the feeder's per-unit model (series impedances, bus
shunts, the OPF's net withdrawal per bus as constant-power loads, the substation as a
stiff source at the OPF's voltage) is one power-grid-model input, and all slots are one
batch calculation (Newton–Raphson in C++, Alliander's power-grid-model). Cross-checked
against ``pandapower.runpp`` in ``tests/test_grid_batch_ac.py``.

``engine="pandapower"``: every bus's net withdrawal is applied to a copy of the
feeder's pandapower network (original loads, static generators and storage switched
off, one load per bus carrying the withdrawal, shunts and branches unchanged), the
external grid's voltage is set to the OPF's substation voltage, and ``runpp`` is run
per slot.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from evagg.errors import InputError, SolverError

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
    engine: str = "pgm",
) -> ACCheck:
    """AC power flow at given per-bus net withdrawals for the listed slots.

    ``engine`` is ``"pgm"`` (one power-grid-model batch) or ``"pandapower"`` (``runpp``
    per slot); the other parameters and the result are the same for both.

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
        If the Newton–Raphson does not converge at some slot.
    """
    if engine == "pgm":
        return _ac_pgm(feeder, p_withdrawal_mw, q_withdrawal_mvar, v_root_pu, slots)
    if engine != "pandapower":
        raise InputError("engine", engine, "must be 'pgm' or 'pandapower'")
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
    eg = feeder.ext_grid_index
    v_out = np.empty((buses.size, len(slots)))
    loss = np.empty(len(slots))
    for i, t in enumerate(slots):
        net.load.loc[idx, "p_mw"] = p_withdrawal_mw[:, t]
        net.load.loc[idx, "q_mvar"] = q_withdrawal_mvar[:, t]
        net.ext_grid.loc[eg, "vm_pu"] = float(v_root_pu[t])
        _runpp(pp, net, t, warm=i > 0)
        v_out[:, i] = net.res_bus.loc[buses, "vm_pu"].to_numpy()
        loss[i] = float(net.res_ext_grid.loc[eg, "p_mw"]) - float(p_withdrawal_mw[:, t].sum())
    return ACCheck(slots=tuple(int(t) for t in slots), v_pu=v_out, losses_mw=loss)


def _runpp(pp: Any, net: Any, slot: int, *, warm: bool) -> None:
    """``runpp`` from the previous slot's result, else (first slot, or a warm start that
    does not converge: seen with a changed ext_grid voltage behind a 150° transformer)
    from a DC power flow."""
    for init in ("results", "dc") if warm else ("dc",):
        try:
            pp.runpp(net, numba=False, init=init, tolerance_mva=1e-9)
            return
        except Exception as exc:  # pandapower raises LoadflowNotConverged and others
            error = exc
    raise SolverError("ac_power_flow", "not_converged", f"slot {slot}: {error}") from None


PGM_U_RATED_V = 1e4
"""Common nominal voltage of the power-grid-model copy [V]: the feeder is already per
unit (transformer ratios folded in), so one voltage level represents it exactly."""


def _pgm_input(feeder: Feeder) -> dict[str, Any]:
    from power_grid_model import ComponentType, initialize_array

    n, nl, sb = feeder.n_bus, feeder.n_branch, feeder.s_base_mva * 1e6
    z_base, y_base = PGM_U_RATED_V**2 / sb, sb / PGM_U_RATED_V**2
    node = initialize_array("input", ComponentType.node, n)
    node["id"], node["u_rated"] = np.arange(n), PGM_U_RATED_V
    br = initialize_array("input", ComponentType.generic_branch, nl)
    br["id"] = n + np.arange(nl)
    br["from_node"], br["to_node"] = feeder.from_bus, feeder.to_bus
    br["from_status"], br["to_status"] = 1, 1
    br["r1"], br["x1"] = feeder.r_pu * z_base, feeder.x_pu * z_base
    br["g1"], br["b1"], br["theta"], br["sn"] = 0.0, 0.0, 0.0, sb
    br["k"] = feeder.tap_ratio  # off-nominal ratio at the from side (end shunts are bus shunts)
    sh = initialize_array("input", ComponentType.shunt, n)
    sh["id"], sh["node"], sh["status"] = n + nl + np.arange(n), np.arange(n), 1
    sh["g1"], sh["b1"] = feeder.g_sh_pu * y_base, feeder.b_sh_pu * y_base
    sh["g0"], sh["b0"] = 0.0, 0.0
    ld = initialize_array("input", ComponentType.sym_load, n)
    ld["id"], ld["node"], ld["status"], ld["type"] = 2 * n + nl + np.arange(n), np.arange(n), 1, 0
    ld["p_specified"], ld["q_specified"] = 0.0, 0.0
    src = initialize_array("input", ComponentType.source, 1)
    src["id"], src["node"], src["status"], src["u_ref"] = 3 * n + nl, 0, 1, 1.0
    src["sk"] = 1e20  # a stiff substation at the OPF's voltage, as in pandapower's ext_grid
    return {
        ComponentType.node: node,
        ComponentType.generic_branch: br,
        ComponentType.shunt: sh,
        ComponentType.sym_load: ld,
        ComponentType.source: src,
    }


def _ac_pgm(
    feeder: Feeder,
    p_wd_mw: FloatArray,
    q_wd_mvar: FloatArray,
    v_root_pu: FloatArray,
    slots: list[int] | tuple[int, ...],
) -> ACCheck:
    from power_grid_model import (
        CalculationMethod,
        ComponentType,
        PowerGridModel,
        initialize_array,
    )
    from power_grid_model.errors import PowerGridError

    inp = _pgm_input(feeder)
    n, k = feeder.n_bus, len(slots)
    sl = list(slots)
    upd_ld = initialize_array("update", ComponentType.sym_load, (k, n))
    upd_ld["id"] = inp[ComponentType.sym_load]["id"][None, :]
    upd_ld["p_specified"] = p_wd_mw[:, sl].T * 1e6
    upd_ld["q_specified"] = q_wd_mvar[:, sl].T * 1e6
    upd_src = initialize_array("update", ComponentType.source, (k, 1))
    upd_src["id"] = inp[ComponentType.source]["id"][0]
    upd_src["u_ref"] = np.asarray(v_root_pu, dtype=float)[sl][:, None]
    try:
        model = PowerGridModel(inp, system_frequency=50.0)
        out = model.calculate_power_flow(
            update_data={ComponentType.sym_load: upd_ld, ComponentType.source: upd_src},
            calculation_method=CalculationMethod.newton_raphson,
            error_tolerance=1e-10,
            max_iterations=30,
            output_component_types={ComponentType.node: ["u_pu"], ComponentType.source: ["p"]},
        )
    except PowerGridError as exc:
        raise SolverError("ac_power_flow", "not_converged", f"power-grid-model: {exc}") from None
    v_out = np.asarray(out[ComponentType.node]["u_pu"], dtype=float).T
    p_src = np.asarray(out[ComponentType.source]["p"], dtype=float)[:, 0] / 1e6
    loss = p_src - p_wd_mw[:, sl].sum(axis=0)
    return ACCheck(slots=tuple(int(t) for t in slots), v_pu=v_out, losses_mw=loss)
