"""Post-processing and verification of a solved grid model (separate steps).

* :func:`relaxation_gap` — max |P² + Q² − v ℓ| (absolute and relative);
* :func:`operating_point` — net withdrawals, losses, storage and generator outputs;
* :func:`nodal_prices` — duals → DLMPs and their decomposition (:mod:`evagg.grid.dlmp`);
* :func:`verify_ac` — AC power flow at the OPF's injections and the tolerance checks
  (raises :class:`evagg.VerificationError`); skipped entirely with ``verify=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from evagg.errors import VerificationError
from evagg.grid.acpf import ac_power_flow
from evagg.grid.dlmp import decompose_prices

if TYPE_CHECKING:
    from evagg.grid.formulation import GridModel

__all__ = [
    "ACVerification",
    "OperatingPoint",
    "check_decomposition",
    "nodal_prices",
    "operating_point",
    "relaxation_gap",
    "verify_ac",
]

FloatArray = npt.NDArray[np.float64]


def _val(m: GridModel, name: str) -> FloatArray:
    return np.asarray(m.var[name].value, dtype=float)


def relaxation_gap(m: GridModel) -> tuple[float, float]:
    """``(abs, rel)``: max |P² + Q² − w ℓ| [pu²] (w = v_i/τ²) and the same relative to
    its slot.

    Relative to the largest v ℓ of the same slot (scale-free; a per-branch ratio would
    be dominated by solver noise on branches with near-zero flow), but not to less than
    (10 % of the feeder's largest total load)²: in a slot with (almost) no load every
    flow is ~0 and ~1e-7 pu² of solver noise would otherwise read as a 100 % gap; real
    inexactness in such a slot still fails the AC check.
    """
    fd = m.feeder
    P, Q, ell, v = (_val(m, k) for k in ("P", "Q", "ell", "v"))
    v_from = v[fd.from_bus, :] / fd.tap_ratio[:, None] ** 2
    gap = np.abs(P**2 + Q**2 - v_from * ell)
    load = np.abs(np.asarray(m.param["p_load_mw"].value)).sum(axis=0).max(initial=0.0)
    load_pu = max(float(load), float(np.abs(fd.p_load_mw).sum())) / fd.s_base_mva
    floor = max((0.1 * load_pu) ** 2, 1e-12)
    vl_max = np.maximum((v_from * ell).max(axis=0, initial=0.0), floor)
    return float(gap.max(initial=0.0)), float((gap / vl_max[None, :]).max(initial=0.0))


@dataclass(frozen=True)
class OperatingPoint:
    """Physical quantities at the solution [MW, Mvar, MWh, pu], feeder bus order."""

    p_withdrawal_mw: FloatArray
    q_withdrawal_mvar: FloatArray
    p_ext_mw: FloatArray
    q_ext_mvar: FloatArray
    losses_mw: FloatArray
    v_pu: FloatArray
    p_gen_mw: FloatArray
    p_storage_mw: FloatArray
    e_storage_mwh: FloatArray
    storage_simultaneous_mwh: float


def operating_point(m: GridModel) -> OperatingPoint:
    """Net withdrawal per bus (load − every injection except the substation's), losses
    (= import − Σ withdrawals, series and shunt), voltages and device outputs."""
    fd, t, sb = m.feeder, m.n_slots, m.feeder.s_base_mva
    p_inj = sum((np.asarray(e.value) for e in m.injections_p), np.zeros((fd.n_bus, t)))
    q_inj = sum((np.asarray(e.value) for e in m.injections_q), np.zeros((fd.n_bus, t)))
    p_wd = np.asarray(m.param["p_load_mw"].value) - sb * p_inj
    q_wd = np.asarray(m.param["q_load_mvar"].value) - sb * q_inj
    p_ext, q_ext = _val(m, "p_ext") * sb, _val(m, "q_ext") * sb
    p_gen = _val(m, "p_gen") * sb if "p_gen" in m.var else np.zeros((0, t))
    p_sto, e_sto, simult = np.zeros((0, t)), np.zeros((0, t)), 0.0
    if "e" in m.var:
        pc, pdis = _val(m, "p_ch") * sb, _val(m, "p_dis") * sb
        p_sto, e_sto = pdis - pc, _val(m, "e")
        simult = float(np.minimum(pc, pdis).max(initial=0.0) * m.dt_h)
    return OperatingPoint(
        p_withdrawal_mw=p_wd,
        q_withdrawal_mvar=q_wd,
        p_ext_mw=p_ext,
        q_ext_mvar=q_ext,
        losses_mw=p_ext - p_wd.sum(axis=0),
        v_pu=np.sqrt(np.maximum(_val(m, "v"), 0.0)),
        p_gen_mw=p_gen,
        p_storage_mw=p_sto,
        e_storage_mwh=e_sto,
        storage_simultaneous_mwh=simult,
    )


def _dual(m: GridModel, name: str, part: int | None = None) -> FloatArray:
    d = m.con[name].dual_value
    return np.asarray(d if part is None else d[part], dtype=float)


def nodal_prices(m: GridModel) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Active and reactive nodal prices and their components [EUR/MWh, EUR/Mvarh].

    Dicts ``{"price", "energy", "loss", "voltage", "congestion", "other"}`` of (N, T)
    arrays; price = λ / (s_base Δt) with λ the dual of ``p_balance`` (+∂objective/∂load).
    The tangent cut of the convex–concave procedure, when present, enters the loss
    component (docs/grid.md §4).
    """
    fd, n, nl, t = m.feeder, m.feeder.n_bus, m.feeder.n_branch, m.n_slots
    lam, mu = _dual(m, "p_balance"), _dual(m, "q_balance")
    uu = _dual(m, "cone", 1)
    u_cone = (
        _dual(m, "cone", 0).reshape((nl, t), order="F"),
        *(uu[i].reshape((nl, t), order="F") for i in range(3)),
    )
    lim_f, lim_t = _limit_multipliers(m)
    nu_lo, nu_hi = np.zeros((n, t)), np.zeros((n, t))
    nu_lo[1:], nu_hi[1:] = _dual(m, "v_lower"), _dual(m, "v_upper")
    tangent = None
    if m.tangent_active:
        a_coef = [np.asarray(m.param[c].value, dtype=float) for c in ("a_p", "a_q", "a_v")]
        tangent = (_dual(m, "cone_tangent"), *a_coef)
    act, rea = decompose_prices(
        fd,
        lam=lam,
        mu=mu,
        u_cone=u_cone,
        nu_lo=nu_lo,
        nu_hi=nu_hi,
        lim_from=lim_f,
        lim_to=lim_t,
        tangent=tangent,  # type: ignore[arg-type]
    )
    scale = 1.0 / (fd.s_base_mva * m.dt_h)
    act = {key: val * scale for key, val in act.items()} | {"price": lam * scale}
    rea = {key: val * scale for key, val in rea.items()} | {"price": mu * scale}
    return act, rea


def _limit_multipliers(
    m: GridModel,
) -> tuple[tuple[FloatArray, FloatArray, FloatArray], tuple[FloatArray, FloatArray, FloatArray]]:
    """``(a_P, a_Q, a_v)`` per branch and slot at the sending and receiving end: the
    rating cones' Lagrangian terms −a_P P_e − a_Q Q_e − a_v v_e (zeros where absent).

    Apparent ‖(P_e, Q_e)‖ ≤ S̄, dual (w0, w1, w2): (w1, w2, 0). Current
    ‖(2P_e, 2Q_e, v_e − Ī²)‖ ≤ v_e + Ī², dual (w0, w1, w2, w3): (2w1, 2w2, w0 + w3).
    """
    nl, t = m.feeder.n_branch, m.n_slots
    ends = [[np.zeros((nl, t)) for _ in range(3)] for _ in range(2)]
    for name, k, end in (
        ("line_send", m.lim_lines, 0),
        ("line_recv", m.lim_lines, 1),
        ("current_send", m.lim_current, 0),
        ("current_recv", m.lim_current, 1),
    ):
        if name not in m.con:
            continue
        w0 = _dual(m, name, 0).reshape((k.size, t), order="F")
        ww = [row.reshape((k.size, t), order="F") for row in _dual(m, name, 1)]
        current = name.startswith("current")
        terms = (2 * ww[0], 2 * ww[1], w0 + ww[2]) if current else (ww[0], ww[1], 0 * w0)
        for i, term in enumerate(terms):
            ends[end][i][k, :] += term
    f, to = ends
    return (f[0], f[1], f[2]), (to[0], to[1], to[2])


def check_decomposition(
    act: dict[str, FloatArray], rea: dict[str, FloatArray], tol_eur_per_mwh: float
) -> None:
    """Raise if the price components leave a remainder (KKT stationarity not met)."""
    other_p = float(np.abs(act["other"]).max())
    other_q = float(np.abs(rea["other"]).max())
    if max(other_p, other_q) > tol_eur_per_mwh:
        raise VerificationError(
            "dlmp_decomposition",
            max(other_p, other_q),
            tol_eur_per_mwh,
            "KKT stationarity not met: price components leave a remainder of "
            f"{other_p:.3g} EUR/MWh (active) and {other_q:.3g} EUR/Mvarh (reactive)",
        )


@dataclass(frozen=True)
class ACVerification:
    """AC power flow at the OPF's injections compared with the OPF."""

    slots: tuple[int, ...]
    max_dv_pu: float
    loss_diff_kw: float
    ac_losses_mw: FloatArray


def verify_ac(m: GridModel, op: OperatingPoint, *, enforce: bool) -> ACVerification:
    """Run the AC power flow at ``op`` (all slots, or the extremes) and, if ``enforce``,
    raise ``VerificationError`` ("ac_voltage", "ac_losses") beyond the tolerances."""
    o = m.options
    if o.ac_slots == "all":
        slots = list(range(m.n_slots))
    else:
        slots = sorted({int(np.argmax(op.losses_mw)), int(np.argmin(op.v_pu.min(axis=0)))})
    ac = ac_power_flow(
        m.feeder, op.p_withdrawal_mw, op.q_withdrawal_mvar, op.v_pu[0], slots, o.ac_engine
    )
    dv = float(np.abs(ac.v_pu - op.v_pu[:, slots]).max())
    dloss_kw = float(np.abs(ac.losses_mw - op.losses_mw[slots]).max() * 1e3)
    if enforce:
        if dv > o.ac_v_tol_pu:
            raise VerificationError(
                "ac_voltage", dv, o.ac_v_tol_pu, "AC power flow vs SOCP voltages [pu]"
            )
        loss_tol = max(o.ac_loss_tol_kw, o.ac_loss_rtol * 1e3 * float(np.abs(ac.losses_mw).max()))
        if dloss_kw > loss_tol:
            raise VerificationError(
                "ac_losses", dloss_kw, loss_tol, "AC power flow vs SOCP losses [kW]"
            )
    return ACVerification(tuple(slots), dv, dloss_kw, ac.losses_mw)
