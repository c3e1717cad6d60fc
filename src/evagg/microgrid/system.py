"""The seed-003 microgrid: IEEE 33-bus with eight PV units, one day, an EV aggregator.

Seed 003 §4 and §6 as evagg reads them (``docs/microgrid.md``):

- network: Baran–Wu 33-bus (pandapower ``case33bw``); the seed numbers nodes 1..33 from
  the substation, pandapower 0..32, so **pandapower bus = seed node − 1** (Table 9's PV
  at seed nodes 4, 7, 16, 24 → buses 3, 6, 15, 23, rated 800 kVA / 650 kW; nodes 6, 11,
  21, 29 → buses 5, 10, 20, 28, 600 kVA / 450 kW; the EVA at seed node 14, 16, 23 or 30
  → bus 13, 15, 22 or 29);
- day: Table A1's 96 quarter-hours. Its load (4.1–6.6 MW) exceeds case33bw's 3.715 MW,
  so each bus's base load is scaled by ``s(t) = P_load(t)/max_t P_load`` (DESIGN.md: the
  peak slot equals the base case); the PV profile is scaled by the same constant
  ``3.715 MW / max P_load`` so that the microgrid's purchase keeps Table A1's shape,
  and shared among the units in proportion to their rated active power (Table 9);
- EV aggregator: V2G power per slot limited to its **reliable power** (largest bid with
  reliability ≥ 0.95); a bid above it delivers only the reliable power (seed §6.2);
- disturbance (seed Tables 10–11): the shortage equals the EVA's bid at the scenario's
  reliability — PV short (``"pv"``, limited to the PV output, shared over the units) or
  extra load (``"load"``, shared over the buses like the base load).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg.errors import InputError
from evagg.grid.feeder import Feeder

__all__ = [
    "EVA_SEED_NODES",
    "PV_TABLE9",
    "MicrogridSystem",
    "Weights",
    "build_system",
    "seed_node_to_bus",
]

FloatArray = npt.NDArray[np.float64]

PV_TABLE9 = pd.DataFrame(
    {
        "seed_node": [4, 7, 16, 24, 6, 11, 21, 29],
        "s_kva": [800.0] * 4 + [600.0] * 4,
        "p_kw": [650.0] * 4 + [450.0] * 4,
    }
)
"""Seed 003 Table 9: PV units (seed node numbering), rated apparent power and active power."""

EVA_SEED_NODES = (14, 16, 23, 30)
"""Seed 003 §6.2–6.3: EVA locations studied (seed node numbering)."""

N_SEED_NODES = 33


def seed_node_to_bus(node: int, field_name: str = "eva_node") -> int:
    """pandapower bus index of a seed-003 node (nodes 1..33 → buses 0..32)."""
    if not isinstance(node, int | np.integer) or not 1 <= int(node) <= N_SEED_NODES:
        raise InputError(field_name, node, "no such node: seed nodes are 1..33")
    return int(node) - 1


@dataclass(frozen=True)
class Weights:
    """Weights ε₁, ε₂, ε₃ of eq. (13) (voltage deviation, losses, tie-line fluctuation)."""

    voltage: float = 0.3
    losses: float = 0.2
    tie_line: float = 0.5

    def __post_init__(self) -> None:
        for name in ("voltage", "losses", "tie_line"):
            val = getattr(self, name)
            if not (np.isfinite(val) and val >= 0):
                raise InputError(f"weights.{name}", val, "must be finite and >= 0")
        total = self.voltage + self.losses + self.tie_line
        if abs(total - 1.0) > 1e-9:
            raise InputError(
                "weights", (self.voltage, self.losses, self.tie_line), "must sum to 1 (eq. 13)"
            )


@dataclass(frozen=True)
class MicrogridSystem:
    """All inputs of one microgrid day (feeder bus order, kW/kvar, 15-min slots).

    Attributes
    ----------
    feeder
        The radial feeder (case33bw).
    time
        Slot start times (T,).
    load_p_kw, load_q_kvar
        Demand per bus and slot (N, T) [kW, kvar], disturbance included.
    pv_bus
        Feeder positions of the PV units (n_pv,).
    pv_p_kw
        PV active power at MPPT per unit and slot (n_pv, T) [kW], disturbance included.
    pv_s_kva, pv_p_rated_kw
        Inverter rating and rated active power per unit [kVA, kW].
    eva_bus
        Feeder position of the EVA (``None``: no EVA).
    eva_cap_kw
        Upper bound of the EVA's V2G power per slot (T,) [kW]: min(bid, reliable power).
    eva_s_kva
        EVA inverter apparent-power limit [kVA].
    eva_e_max_kwh, eva_e0_kwh
        EVA storage capacity and initial energy [kWh]; SOC kept in [soc_min, soc_max].
    bid_kw, reliable_kw, shortage_kw
        The EVA's bid as called (the shortage, 0 without EVA), its reliable power and
        the disturbance per slot (T,) [kW].
    v_min_pu, v_max_pu
        Voltage band (seed §6.2: 0.95–1.02 pu).
    weights
        Eq. (13) weights.
    label
        Scenario label.
    """

    feeder: Feeder
    time: pd.DatetimeIndex
    load_p_kw: FloatArray
    load_q_kvar: FloatArray
    pv_bus: npt.NDArray[np.int64]
    pv_p_kw: FloatArray
    pv_s_kva: FloatArray
    pv_p_rated_kw: FloatArray
    eva_bus: int | None
    eva_cap_kw: FloatArray
    eva_s_kva: float
    eva_e_max_kwh: float
    eva_e0_kwh: float
    bid_kw: FloatArray
    reliable_kw: FloatArray
    shortage_kw: FloatArray
    v_min_pu: float = 0.95
    v_max_pu: float = 1.02
    soc_min: float = 0.2
    soc_max: float = 0.8
    eta_dis: float = 0.95
    dt_h: float = 0.25
    weights: Weights = field(default_factory=Weights)
    label: str = ""

    @property
    def n_slots(self) -> int:
        """Number of slots T."""
        return int(self.time.size)

    @property
    def pv_q_max_kvar(self) -> FloatArray:
        """Reactive capability of each PV inverter per slot ``√(S² − P²)`` (n_pv, T) [kvar]."""
        return np.sqrt(np.maximum(self.pv_s_kva[:, None] ** 2 - self.pv_p_kw**2, 0.0))


def _scaled_day(day: pd.DataFrame, feeder: Feeder, load_scale: str) -> tuple:
    need = {"load_p_kw", "pv_p_kw"}
    if not need <= set(day.columns):
        raise InputError("day", sorted(day.columns), f"needs columns {sorted(need)}")
    p_tot = day["load_p_kw"].to_numpy(float)
    if np.any(~np.isfinite(p_tot)) or np.any(p_tot <= 0):
        raise InputError("day.load_p_kw", float(np.nanmin(p_tot)), "must be finite and > 0")
    pv_tot = day["pv_p_kw"].to_numpy(float)
    if np.any(~np.isfinite(pv_tot)) or np.any(pv_tot < 0):
        raise InputError("day.pv_p_kw", float(np.nanmin(pv_tot)), "must be finite and >= 0")
    base_kw = 1e3 * feeder.p_load_mw
    if load_scale == "peak":
        const = base_kw.sum() / p_tot.max()
    elif load_scale == "none":
        const = 1.0
    else:
        raise InputError("load_scale", load_scale, "must be 'peak' or 'none'")
    factor = p_tot * const / base_kw.sum()  # = P_load(t)/max P_load for 'peak'
    load_p = base_kw[:, None] * factor[None, :]
    load_q = 1e3 * feeder.q_load_mvar[:, None] * factor[None, :]
    return load_p, load_q, pv_tot * const, const


def build_system(
    day: pd.DataFrame,
    feeder: Feeder | None = None,
    eva_node: int | None = 30,
    bid_kw: Any = 0.0,
    reliable_kw: Any = 0.0,
    disturbance: str = "pv",
    eva_e_max_kwh: float = 0.0,
    eva_s_kva: float | None = None,
    eva_soc0: float = 0.8,
    pv: pd.DataFrame | None = None,
    load_scale: str = "peak",
    weights: Weights | None = None,
    window: tuple[str, str] | None = None,
    label: str = "",
) -> MicrogridSystem:
    """Build one microgrid day (seed 003 §6) with a disturbance and an EVA.

    Parameters
    ----------
    day
        96 slots with ``load_p_kw`` and ``pv_p_kw`` (``evagg.data.load_microgrid_day``).
    feeder
        Radial feeder (default: case33bw).
    eva_node
        EVA location, seed node numbering (1 = substation, not allowed); ``None``: no EVA.
    bid_kw
        The EVA's bid per slot [kW] (scalar or (T,)); the disturbance equals it.
    reliable_kw
        Its reliable power (bid at reliability 0.95) per slot [kW].
    disturbance
        ``"pv"`` (PV forecast too high by the bid), ``"load"`` (load above forecast by
        the bid) or ``"none"``.
    eva_e_max_kwh
        Battery capacity of the EVA's fleet [kWh] (SOC 20–80 %).
    eva_s_kva
        EVA apparent-power limit [kVA] (default: 1.1 × the largest reliable power).
    eva_soc0
        Initial SOC (default 0.8: fully charged for the day, seed §3.3).
    pv
        PV units (default Table 9): ``seed_node``, ``s_kva``, ``p_kw``.
    load_scale
        ``"peak"`` (default, DESIGN.md) or ``"none"`` (Table A1 as printed).
    weights
        Eq. (13) weights (default 0.3/0.2/0.5).
    window
        Disturbance window ``("HH:MM", "HH:MM")`` (default: the whole day).
    label
        Scenario label.
    """
    feeder = feeder or Feeder.from_pandapower()
    t_n = len(day)
    time = pd.DatetimeIndex(day.index)
    load_p, load_q, pv_total, _ = _scaled_day(day, feeder, load_scale)
    pv = PV_TABLE9 if pv is None else pv
    _check_pv(pv)
    pv_bus = np.array(
        [feeder.bus_position(seed_node_to_bus(int(n), "pv.seed_node")) for n in pv["seed_node"]]
    )
    share = pv["p_kw"].to_numpy(float) / pv["p_kw"].sum()
    pv_p = share[:, None] * pv_total[None, :]
    rated = pv["p_kw"].to_numpy(float)
    if np.any(pv_p > rated[:, None] + 1e-9):
        raise InputError("day.pv_p_kw", float(pv_total.max()), "PV output above its rating")
    bid = _per_slot("bid_kw", bid_kw, t_n)
    rel = _per_slot("reliable_kw", reliable_kw, t_n)
    mask = _window_mask(time, window)
    shortage = np.where(mask, bid, 0.0)
    if disturbance == "pv":
        cut = np.minimum(shortage, pv_p.sum(axis=0))
        shortage = cut
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(pv_p.sum(axis=0) > 0, cut / pv_p.sum(axis=0), 0.0)
        pv_p = pv_p * (1.0 - frac)[None, :]
    elif disturbance == "load":
        w = load_p / load_p.sum(axis=0, keepdims=True)
        ratio = np.divide(load_q, load_p, out=np.zeros_like(load_q), where=load_p > 0)
        load_p = load_p + w * shortage[None, :]
        load_q = load_q + w * shortage[None, :] * ratio
    elif disturbance == "none":
        shortage = np.zeros(t_n)
    else:
        raise InputError("disturbance", disturbance, "must be 'pv', 'load' or 'none'")
    eva_bus = _eva_position(feeder, eva_node)
    if not 0.2 <= eva_soc0 <= 0.8:
        raise InputError("eva_soc0", eva_soc0, "initial SOC must lie in [0.2, 0.8]")
    if not (np.isfinite(eva_e_max_kwh) and eva_e_max_kwh >= 0):
        raise InputError("eva_e_max_kwh", eva_e_max_kwh, "must be finite and >= 0")
    # the EVA is called for the shortage (seed Tables 10–11: shortage = bid); it delivers
    # at most its reliable power (seed §6.2)
    called = shortage if disturbance != "none" else bid
    cap = np.minimum(called, rel) if eva_bus is not None else np.zeros(t_n)
    s_kva = float(1.1 * rel.max()) if eva_s_kva is None else float(eva_s_kva)
    if not (np.isfinite(s_kva) and s_kva >= 0):
        raise InputError("eva_s_kva", eva_s_kva, "must be finite and >= 0")
    if np.any(cap > s_kva + 1e-9):
        raise InputError("eva_s_kva", s_kva, f"below the EVA's power {cap.max():.1f} kW")
    return MicrogridSystem(
        feeder=feeder,
        time=time,
        load_p_kw=load_p,
        load_q_kvar=load_q,
        pv_bus=pv_bus,
        pv_p_kw=pv_p,
        pv_s_kva=pv["s_kva"].to_numpy(float),
        pv_p_rated_kw=rated,
        eva_bus=eva_bus,
        eva_cap_kw=cap,
        eva_s_kva=s_kva,
        eva_e_max_kwh=float(eva_e_max_kwh),
        eva_e0_kwh=float(eva_soc0 * eva_e_max_kwh),
        bid_kw=called if eva_bus is not None else np.zeros(t_n),
        reliable_kw=rel,
        shortage_kw=shortage,
        weights=weights or Weights(),
        label=label,
    )


def _check_pv(pv: pd.DataFrame) -> None:
    for col in ("seed_node", "s_kva", "p_kw"):
        if col not in pv.columns:
            raise InputError("pv", sorted(pv.columns), f"missing column {col!r}")
    s, p = pv["s_kva"].to_numpy(float), pv["p_kw"].to_numpy(float)
    if np.any(~np.isfinite(p)) or np.any(p <= 0):
        raise InputError("pv.p_kw", p.tolist(), "rated active power must be > 0")
    bad = np.flatnonzero(~(s >= p))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            "pv.s_kva", float(s[i]), f"inverter capacity below its active power {p[i]} kW"
        )


def _eva_position(feeder: Feeder, node: int | None) -> int | None:
    if node is None:
        return None
    bus = seed_node_to_bus(node, "eva_node")
    if bus == int(feeder.bus_index[0]):
        raise InputError("eva_node", node, "the EVA cannot sit on the substation (slack) node")
    try:
        return feeder.bus_position(bus)
    except Exception:
        raise InputError("eva_node", node, "not a bus of the feeder") from None


def _per_slot(name: str, value: Any, t_n: int) -> FloatArray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(t_n, float(arr))
    if arr.shape != (t_n,) or np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise InputError(name, value, f"need {t_n} finite values >= 0 [kW]")
    return arr


def _window_mask(time: pd.DatetimeIndex, window: tuple[str, str] | None) -> npt.NDArray[np.bool_]:
    if window is None:
        return np.ones(time.size, bool)
    try:
        lo, hi = (pd.Timedelta(f"{w}:00") for w in window)
    except (ValueError, TypeError):
        raise InputError("window", window, "need ('HH:MM', 'HH:MM')") from None
    tod = time - time.normalize()
    return np.asarray((tod >= lo) & (tod < hi))
