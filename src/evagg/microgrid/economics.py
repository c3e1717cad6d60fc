"""Economics of the microgrid and of the EV aggregator (seed 003 §6.4, eqs. 21–24).

Per slot ``t`` (energies ``E = P·Δt`` [kWh], prices [$/kWh]):

- purchase cost (eq. 21) ``C_mic = C_maj·E_maj + C_pv·E_pv + C_eva·E_eva``;
- microgrid gain (eq. 22) ``In_mic = C_load·E_load − C_load·E_loss − C_mic
  + β_eva·E'_eva + β_pv·E'_pv`` with ``C_load`` the TOU tariff (eq. 23, Table 12);
- EVA gain (eq. 24) ``In_eva = C_eva·E_eva − β_eva·E'_eva − C_ev·E_ev``.

As the seed's Tables 14–15 imply (they are reproduced from their own columns in the
tests): the EVA is paid its **bid** ``E_eva``, pays the penalty on the part of the bid it
cannot deliver, ``E'_eva = bid − min(bid, reliable power)``, and pays its users for the
V2G energy actually dispatched ``E_ev``; the PV penalty is charged on the PV forecast
error ``E'_pv``; both penalties are income of the microgrid (eq. 22's plus signs, and
Table 14's combined gains). Table 12 leaves 9–10, 14–15 and 17–18 h unassigned: evagg
counts them as normal hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg.errors import InputError

__all__ = ["Prices", "economics", "tou_price"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Prices:
    """Seed 003 Tables 12–13 and §6.4.2 [$/kWh]."""

    peak: float = 0.28
    normal: float = 0.12
    low: float = 0.061
    grid: float = 0.068
    pv: float = 0.032
    pv_penalty: float = 0.140
    eva: float = 0.360
    eva_penalty: float = 0.380
    ev_user: float = 0.293

    def __post_init__(self) -> None:
        for name, val in self.__dict__.items():
            if not (np.isfinite(val) and val >= 0):
                raise InputError(f"prices.{name}", val, "must be finite and >= 0 [$/kWh]")


def tou_price(time: pd.DatetimeIndex, prices: Prices | None = None) -> FloatArray:
    """Table 12 tariff per slot: peak 10–14 h and 18–22 h, low 0–6 h and 22–24 h, else normal."""
    pr = prices or Prices()
    h = np.asarray((time - time.normalize()) / pd.Timedelta(hours=1), dtype=float)
    peak = ((h >= 10) & (h < 14)) | ((h >= 18) & (h < 22))
    low = (h < 6) | (h >= 22)
    return np.where(peak, pr.peak, np.where(low, pr.low, pr.normal))


def economics(
    time: pd.DatetimeIndex,
    dt_h: float,
    load_kw: FloatArray,
    loss_kw: FloatArray,
    grid_kw: FloatArray,
    pv_kw: FloatArray,
    pv_error_kw: FloatArray,
    bid_kw: FloatArray,
    reliable_kw: FloatArray,
    ev_kw: FloatArray,
    prices: Prices | None = None,
) -> dict[str, float]:
    """Day totals of eqs. (21)–(24) [$] (Table 14 and Table 15 columns).

    Parameters (all per slot (T,), [kW]; energies are ``·dt_h``)
    ----------
    load_kw, loss_kw, grid_kw
        Served load, AC losses and substation import.
    pv_kw, pv_error_kw
        PV output bought, PV forecast error (penalised).
    bid_kw, reliable_kw
        The EVA's bid (bought) and its reliable power (what it can deliver).
    ev_kw
        V2G power dispatched (paid to the EV users).
    """
    pr = prices or Prices()
    arrs = {
        "load_kw": load_kw,
        "loss_kw": loss_kw,
        "grid_kw": grid_kw,
        "pv_kw": pv_kw,
        "pv_error_kw": pv_error_kw,
        "bid_kw": bid_kw,
        "reliable_kw": reliable_kw,
        "ev_kw": ev_kw,
    }
    for name, a in arrs.items():
        a = np.asarray(a, dtype=float)
        if a.shape != (len(time),) or not np.all(np.isfinite(a)):
            raise InputError(name, a.shape, f"need {len(time)} finite values [kW]")
    c_load = tou_price(time, pr)
    e = {k: np.asarray(v, dtype=float) * dt_h for k, v in arrs.items()}
    shortfall = np.maximum(e["bid_kw"] - np.minimum(e["bid_kw"], e["reliable_kw"]), 0.0)
    out = {
        "users_revenue": float((c_load * e["load_kw"]).sum()),
        "loss_cost": float((c_load * e["loss_kw"]).sum()),
        "grid_cost": float(pr.grid * e["grid_kw"].sum()),
        "pv_cost": float(pr.pv * e["pv_kw"].sum()),
        "eva_cost": float(pr.eva * e["bid_kw"].sum()),
        "pv_penalty": float(pr.pv_penalty * e["pv_error_kw"].sum()),
        "eva_penalty": float(pr.eva_penalty * shortfall.sum()),
        "pay_ev_users": float(pr.ev_user * e["ev_kw"].sum()),
    }
    out["microgrid_gain"] = (
        out["users_revenue"]
        - out["loss_cost"]
        - out["grid_cost"]
        - out["pv_cost"]
        - out["eva_cost"]
        + out["pv_penalty"]
        + out["eva_penalty"]
    )
    out["eva_gain"] = out["eva_cost"] - out["eva_penalty"] - out["pay_ev_users"]
    return out
