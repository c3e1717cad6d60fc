"""One AC evaluation of seed 003 eq. (13) for any dispatch (batched power flow).

Every solver's dispatch (convex, GA, none) is scored here, by the same AC power flow:
power-grid-model (Newton–Raphson, symmetric) on the feeder with one constant-power load
per bus carrying the net withdrawal ``load − PV − EVA`` of each slot, all slots and all
candidates in one batch.

Terms over the day (slots t, non-substation buses i, branches l):

- voltage deviation ``ΔU = Σ_t Σ_i |V_{i,t} − 1|`` [pu];
- losses ``P_loss = Σ_t Σ_l (P_from + P_to)·Δt`` [kWh];
- tie-line fluctuation ``ΔP_line = Σ_{t≥1} |P_{0,t} − P_{0,t−1}|`` [kW] (substation import);

eq. (13) ``F = ε₁ ΔU/ΔU_ref + ε₂ P_loss/P_loss_ref + ε₃ ΔP_line/ΔP_ref`` with each term
normalised by its value for the *reference dispatch* (no EVA, PV at unity power factor)
of the same disturbed day, so ``F_ref = 1`` (the seed adds the raw terms in different
units; evagg's normalisation is stated in ``docs/microgrid.md``). Constraint violations
(voltage band, SOC band) are measured, not penalised here; the GA adds penalties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evagg.errors import InputError, SolverError
from evagg.grid.feeder import Feeder
from evagg.microgrid.system import MicrogridSystem, Weights

__all__ = ["ACEvaluation", "ACEvaluator", "Dispatch", "Reference", "soc_path"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Dispatch:
    """Decisions of one or more candidates (leading axis B).

    Attributes
    ----------
    p_ev_kw
        EVA V2G power (B, T) [kW] (≥ 0: discharge into the grid).
    q_ev_kvar
        EVA reactive power (B, T) [kvar] (injection positive).
    q_pv_kvar
        PV reactive power (B, n_pv, T) [kvar] (injection positive).
    """

    p_ev_kw: FloatArray
    q_ev_kvar: FloatArray
    q_pv_kvar: FloatArray

    @classmethod
    def zeros(cls, system: MicrogridSystem, n: int = 1) -> Dispatch:
        """The reference dispatch: no EVA, PV at unity power factor."""
        t, k = system.n_slots, system.pv_bus.size
        return cls(np.zeros((n, t)), np.zeros((n, t)), np.zeros((n, k, t)))

    def single(self, i: int) -> Dispatch:
        """Candidate ``i`` as a batch of one."""
        return Dispatch(
            self.p_ev_kw[i : i + 1], self.q_ev_kvar[i : i + 1], self.q_pv_kvar[i : i + 1]
        )


@dataclass(frozen=True)
class Reference:
    """Normalisers of eq. (13): the terms of the reference dispatch."""

    dev_pu: float
    loss_kwh: float
    tie_kw: float

    def __post_init__(self) -> None:
        for name in ("dev_pu", "loss_kwh", "tie_kw"):
            val = getattr(self, name)
            if not (np.isfinite(val) and val > 0):
                raise InputError(f"reference.{name}", val, "normaliser must be finite and > 0")


@dataclass(frozen=True)
class ACEvaluation:
    """AC power-flow results and eq. (13) terms per candidate (leading axis B).

    ``v_pu`` (B, N, T), ``p0_kw`` (B, T) substation import, ``loss_kw`` (B, T),
    ``dev_pu``, ``loss_kwh``, ``tie_kw``, ``v_violation_pu`` (Σ of band excess),
    ``soc_violation`` (Σ of SOC band excess) per candidate (B,).
    """

    v_pu: FloatArray
    p0_kw: FloatArray
    loss_kw: FloatArray
    dev_pu: FloatArray
    loss_kwh: FloatArray
    tie_kw: FloatArray
    v_violation_pu: FloatArray
    soc_violation: FloatArray

    def objective(self, ref: Reference, weights: Weights) -> FloatArray:
        """Eq. (13), normalised: ``ε₁ΔU/ΔU_ref + ε₂P_loss/P_loss_ref + ε₃ΔP/ΔP_ref``."""
        return np.asarray(
            weights.voltage * self.dev_pu / ref.dev_pu
            + weights.losses * self.loss_kwh / ref.loss_kwh
            + weights.tie_line * self.tie_kw / ref.tie_kw
        )

    def reference(self, i: int = 0) -> Reference:
        """This evaluation's candidate ``i`` as the normaliser (terms ≤ 0 fall back to 1)."""

        def pos(x: float) -> float:
            return float(x) if x > 0 else 1.0

        return Reference(pos(self.dev_pu[i]), pos(self.loss_kwh[i]), pos(self.tie_kw[i]))


def soc_path(system: MicrogridSystem, p_ev_kw: FloatArray) -> FloatArray:
    """EVA stored energy after each slot (B, T) [kWh]: ``E_{t+1} = E_t − P_t Δt / η`` (eq. 18)."""
    return system.eva_e0_kwh - np.cumsum(p_ev_kw, axis=-1) * system.dt_h / system.eta_dis


class ACEvaluator:
    """Batched AC power flow of a feeder (power-grid-model) and the eq. (13) terms.

    Parameters
    ----------
    system
        The microgrid day (its feeder, loads, PV, EVA location).
    """

    def __init__(self, system: MicrogridSystem) -> None:
        self.system = system
        self._model, self._load_ids = _pgm_model(system.feeder)

    def flows(self, w_p_kw: FloatArray, w_q_kvar: FloatArray) -> tuple:
        """AC flows for net withdrawals (S, N) [kW, kvar] per scenario: (V (S,N), P0, loss)."""
        from power_grid_model import ComponentType, DatasetType, initialize_array

        fd = self.system.feeder
        n_sc = w_p_kw.shape[0]
        upd = initialize_array(DatasetType.update, ComponentType.sym_load, (n_sc, fd.n_bus - 1))
        upd["id"] = self._load_ids[None, :]
        upd["p_specified"] = 1e3 * w_p_kw[:, 1:]
        upd["q_specified"] = 1e3 * w_q_kvar[:, 1:]
        try:
            out = self._model.calculate_power_flow(
                update_data={ComponentType.sym_load: upd},
                error_tolerance=1e-10,
                max_iterations=30,
                output_component_types={
                    ComponentType.node: ["u_pu"],
                    ComponentType.line: ["p_from", "p_to"],
                    ComponentType.source: ["p"],
                },
            )
        except Exception as exc:  # power-grid-model raises its own error types
            raise SolverError("ac_evaluation", "not_converged", str(exc)[:300]) from None
        v = out[ComponentType.node]["u_pu"]
        lines = out[ComponentType.line]
        loss = 1e-3 * (lines["p_from"] + lines["p_to"]).sum(axis=1)
        p0 = 1e-3 * out[ComponentType.source]["p"][:, 0] + w_p_kw[:, 0]
        return v, p0, loss

    def withdrawals(self, d: Dispatch) -> tuple[FloatArray, FloatArray]:
        """Net withdrawal per candidate, slot and bus (B, T, N) [kW, kvar]."""
        s = self.system
        n_b = d.p_ev_kw.shape[0]
        wp = np.broadcast_to(s.load_p_kw.T, (n_b, s.n_slots, s.feeder.n_bus)).copy()
        wq = np.broadcast_to(s.load_q_kvar.T, (n_b, s.n_slots, s.feeder.n_bus)).copy()
        # one PV unit per bus at most is not assumed: add through a (n_pv, N) incidence
        inc = np.zeros((s.pv_bus.size, s.feeder.n_bus))
        inc[np.arange(s.pv_bus.size), s.pv_bus] = 1.0
        wp -= (s.pv_p_kw.T @ inc)[None]
        wq -= np.einsum("bkt,kn->btn", d.q_pv_kvar, inc)
        if s.eva_bus is not None:
            wp[:, :, s.eva_bus] -= d.p_ev_kw
            wq[:, :, s.eva_bus] -= d.q_ev_kvar
        return wp, wq

    def evaluate(self, d: Dispatch) -> ACEvaluation:
        """Run the AC power flows of every candidate and slot; return the eq. (13) terms."""
        s = self.system
        _check_dispatch(s, d)
        wp, wq = self.withdrawals(d)
        n_b, t_n, n = wp.shape
        v, p0, loss = self.flows(wp.reshape(n_b * t_n, n), wq.reshape(n_b * t_n, n))
        v = v.reshape(n_b, t_n, n).transpose(0, 2, 1)
        p0 = p0.reshape(n_b, t_n)
        loss = loss.reshape(n_b, t_n)
        vv = v[:, 1:, :]
        viol = np.maximum(s.v_min_pu - vv, 0).sum(axis=(1, 2)) + np.maximum(vv - s.v_max_pu, 0).sum(
            axis=(1, 2)
        )
        e = soc_path(s, d.p_ev_kw)
        emax = max(s.eva_e_max_kwh, 1e-9)
        soc_v = (
            np.maximum(s.soc_min * emax - e, 0).sum(axis=1)
            + np.maximum(e - s.soc_max * emax, 0).sum(axis=1)
        ) / emax
        return ACEvaluation(
            v_pu=v,
            p0_kw=p0,
            loss_kw=loss,
            dev_pu=np.abs(vv - 1.0).sum(axis=(1, 2)),
            loss_kwh=loss.sum(axis=1) * s.dt_h,
            tie_kw=np.abs(np.diff(p0, axis=1)).sum(axis=1),
            v_violation_pu=viol,
            soc_violation=soc_v,
        )


def _check_dispatch(s: MicrogridSystem, d: Dispatch) -> None:
    t, k = s.n_slots, s.pv_bus.size
    b = d.p_ev_kw.shape[0] if d.p_ev_kw.ndim == 2 else -1
    shapes = {"p_ev_kw": (b, t), "q_ev_kvar": (b, t), "q_pv_kvar": (b, k, t)}
    for name, shape in shapes.items():
        arr = getattr(d, name)
        if arr.shape != shape or not np.all(np.isfinite(arr)):
            raise InputError(f"dispatch.{name}", arr.shape, f"need finite values of shape {shape}")


def _pgm_model(feeder: Feeder) -> tuple[Any, npt.NDArray[np.int64]]:
    """power-grid-model input of a radial feeder: nodes, lines (R, X in Ω), source, loads."""
    from power_grid_model import (
        ComponentType,
        DatasetType,
        LoadGenType,
        PowerGridModel,
        initialize_array,
    )

    n, m = feeder.n_bus, feeder.n_branch
    if np.any(feeder.g_sh_pu != 0) or np.any(feeder.b_sh_pu != 0):
        raise InputError("feeder", feeder.name, "shunts are not modelled by the AC evaluation")
    if np.any(feeder.tap_ratio != 1.0):
        raise InputError(
            "feeder",
            feeder.name,
            "off-nominal transformer taps are not modelled by the AC "
            "evaluation (set the taps to neutral or use evagg.grid's OPF)",
        )
    node = initialize_array(DatasetType.input, ComponentType.node, n)
    node["id"] = np.arange(n)
    node["u_rated"] = 1e3 * feeder.vn_kv
    z_base = feeder.vn_kv[feeder.to_bus] ** 2 / feeder.s_base_mva  # Ω
    line = initialize_array(DatasetType.input, ComponentType.line, m)
    line["id"] = n + np.arange(m)
    line["from_node"] = feeder.from_bus
    line["to_node"] = feeder.to_bus
    line["from_status"] = 1
    line["to_status"] = 1
    line["r1"] = feeder.r_pu * z_base
    line["x1"] = feeder.x_pu * z_base
    line["c1"] = 0.0
    line["tan1"] = 0.0
    src = initialize_array(DatasetType.input, ComponentType.source, 1)
    src["id"] = n + m
    src["node"] = 0
    src["status"] = 1
    src["u_ref"] = feeder.v_slack_pu
    src["sk"] = 1e15  # stiff substation (the OPF pins its voltage too)
    load = initialize_array(DatasetType.input, ComponentType.sym_load, n - 1)
    ids = n + m + 1 + np.arange(n - 1)
    load["id"] = ids
    load["node"] = np.arange(1, n)
    load["status"] = 1
    load["type"] = LoadGenType.const_power
    load["p_specified"] = 0.0
    load["q_specified"] = 0.0
    model = PowerGridModel(
        {
            ComponentType.node: node,
            ComponentType.line: line,
            ComponentType.source: src,
            ComponentType.sym_load: load,
        }
    )
    return model, ids
