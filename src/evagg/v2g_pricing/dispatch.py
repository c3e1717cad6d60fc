r"""Stage 2 of seed 001 and the real-time strategies: V2G charge/discharge of the V2G fleet.

Every V2G-contract vehicle ``i`` (not a class: the LP is small) over the day's hours:

.. math::

    \min_{c,d \ge 0}\; \sum_t \frac{\pi_t}{1000}\sum_i (c_{it} - d_{it})
        + \rho \sum_{i,t} d_{it}

    \text{s.t.}\quad c_{it}/P_i + d_{it}/D_i \le a_{it},\qquad
    e_{it} = e^0_i + \sum_{s \le t} (\eta_i c_{is} - d_{is}/\eta_i),\qquad
    \underline e_i \le e_{it} \le B_i,\qquad
    \sum_t (\eta_i c_{it} - d_{it}/\eta_i) \ge \eta_i E_i

with grid-side charge ``c`` and discharge ``d`` [kW = kWh per hour], availability
``a_it ∈ {0, 1}`` (the plug-in window), purchase/sale price :math:`\pi_t` [EUR/MWh],
compensation :math:`\rho` [EUR/kWh discharged] paid to the user, battery floor
:math:`\underline e_i = \min(s_{min} B_i, e^0_i)`. The first constraint is the convex
hull of "charge or discharge" (no binary needed; simultaneous operation would only add
losses). The last constraint is the user's contract: the battery gains at least what
the user bought (``η·E``) by departure, whatever the aggregator did in between.

Seed 001 stage 2 schedules V2G against day-ahead prices; the real-time phase re-optimises
as prices are revealed. Here the day-ahead plan uses a price forecast and the strategies
meet the realised NL prices:

* **hold**: execute the day-ahead plan;
* **rolling**: at each hour ``h`` the price of ``h`` is revealed; the remaining hours'
  forecast is corrected by the revealed error decaying as
  :math:`\hat\pi_t = f_t + \phi^{t-h}(\pi_h - f_h)`; the LP is re-solved with the
  executed hours fixed and hour ``h`` is executed (non-anticipative: nothing after ``h``
  is used);
* **perfect foresight**: the LP on the realised prices.

The LP is built once with ``cp.Parameter`` prices and bounds and re-solved (DPP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg._checks import as_finite_array
from evagg.errors import InputError
from evagg.optim.core import solve_cvxpy

__all__ = ["Schedule", "V2GDispatch", "settle_eur"]

FArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Schedule:
    """Charge and discharge of each V2G vehicle (vehicle × hour) [kWh] and its SOC."""

    charge_kwh: FArray
    discharge_kwh: FArray
    soc_kwh: FArray

    @property
    def net_kwh(self) -> FArray:
        """Net grid energy per hour, all vehicles (T,) [kWh]."""
        return np.asarray((self.charge_kwh - self.discharge_kwh).sum(axis=0))


def settle_eur(schedule: Schedule, price_eur_per_mwh: npt.ArrayLike, compensation: float) -> float:
    """Cost of a schedule at given prices [EUR]: ``Σ π/1000·(c − d) + ρ·Σ d``."""
    pi = np.asarray(price_eur_per_mwh, dtype=float) / 1000.0
    return float(pi @ schedule.net_kwh + compensation * schedule.discharge_kwh.sum())


class V2GDispatch:
    """The stage-2 LP of the V2G vehicles, built once, re-solved with new prices/bounds.

    Parameters
    ----------
    users
        V2G users (validated user table: ``start_h``, ``end_h``, ``energy_kwh``,
        ``p_max_kw``, ``p_dis_kw``, ``battery_kwh``, ``efficiency``, ``e0_kwh``).
    n_hours
        Hours of the day T.
    compensation_eur_per_kwh
        ρ, paid per kWh discharged.
    soc_min_pu
        Discharge floor as a share of the battery (a vehicle arriving below it is not
        discharged below its arrival energy).
    solver
        CVXPY LP solver (HiGHS by default).
    """

    def __init__(
        self,
        users: pd.DataFrame,
        n_hours: int,
        compensation_eur_per_kwh: float,
        soc_min_pu: float = 0.2,
        solver: str | None = None,
    ) -> None:
        if not 0.0 <= soc_min_pu <= 1.0:
            raise InputError("soc_min_pu", soc_min_pu, "must be within [0, 1]")
        if len(users) == 0:
            raise InputError("users", "empty", "no V2G-contract user to dispatch")
        n_u, n_t = len(users), n_hours
        t = np.arange(n_t)[None, :]
        a = users["start_h"].to_numpy(int)[:, None]
        b = users["end_h"].to_numpy(int)[:, None]
        self.avail = ((t >= a) & (t < b)).astype(float)
        p = users["p_max_kw"].to_numpy(float)
        d = users["p_dis_kw"].to_numpy(float)
        eta = users["efficiency"].to_numpy(float)
        batt = users["battery_kwh"].to_numpy(float)
        e0 = users["e0_kwh"].to_numpy(float)
        self.charge_hi = self.avail * p[:, None]
        self.discharge_hi = self.avail * d[:, None]
        self.rho = float(compensation_eur_per_kwh)
        self.solver = solver
        self.n_hours = n_t
        self.price = cp.Parameter(n_t, name="price_eur_per_mwh")
        self.c_lo = cp.Parameter((n_u, n_t), nonneg=True, name="charge_lo")
        self.c_hi = cp.Parameter((n_u, n_t), nonneg=True, name="charge_hi")
        self.d_lo = cp.Parameter((n_u, n_t), nonneg=True, name="discharge_lo")
        self.d_hi = cp.Parameter((n_u, n_t), nonneg=True, name="discharge_hi")
        self.c = cp.Variable((n_u, n_t), nonneg=True, name="charge_kwh")
        self.d = cp.Variable((n_u, n_t), nonneg=True, name="discharge_kwh")
        gain = cp.multiply(eta[:, None], self.c) - cp.multiply(1.0 / eta[:, None], self.d)
        self.soc = cp.Variable((n_u, n_t), name="soc_kwh")
        inv_d = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
        floor = np.minimum(soc_min_pu * batt, e0)
        self.need_kwh = eta * users["energy_kwh"].to_numpy(float)
        self.e0_kwh, self.floor_kwh, self.battery_kwh = e0, floor, batt
        cons = [
            self.soc[:, :1] == e0[:, None] + gain[:, :1],  # "battery balance"
            self.soc[:, 1:] == self.soc[:, :-1] + gain[:, 1:],
            self.c >= self.c_lo,  # "bounds": window, power, executed hours (rolling)
            self.c <= self.c_hi,
            self.d >= self.d_lo,
            self.d <= self.d_hi,
            cp.multiply(1.0 / p[:, None], self.c) + cp.multiply(inv_d[:, None], self.d)
            <= self.avail,  # "exclusive operation" (convex hull)
            self.soc >= floor[:, None],  # "battery floor"
            self.soc <= batt[:, None],  # "battery capacity"
            cp.sum(gain, axis=1) >= self.need_kwh,  # "energy need at departure"
        ]
        cost = self.price @ cp.sum(self.c - self.d, axis=0) / 1000.0 + self.rho * cp.sum(self.d)
        self.problem = cp.Problem(cp.Minimize(cost), cons)
        self._free()

    def _free(self) -> None:
        zeros = np.zeros_like(self.charge_hi)
        self.c_lo.value, self.c_hi.value = zeros, self.charge_hi
        self.d_lo.value, self.d_hi.value = zeros, self.discharge_hi

    def _solve(self, price: FArray) -> Schedule:
        self.price.value = price
        solve_cvxpy(self.problem, name="V2G dispatch", kind="lp", solver=self.solver)
        c = np.maximum(np.asarray(self.c.value, dtype=float), 0.0)
        d = np.maximum(np.asarray(self.d.value, dtype=float), 0.0)
        return Schedule(c, d, np.asarray(self.soc.value, dtype=float))

    def schedule(self, price_eur_per_mwh: npt.ArrayLike) -> Schedule:
        """Cost-minimal schedule at known prices (day-ahead plan, perfect foresight)."""
        price = as_finite_array("price_eur_per_mwh", price_eur_per_mwh, ndim=1)
        if price.size != self.n_hours:
            raise InputError("price_eur_per_mwh", price.size, f"need {self.n_hours} hours")
        self._free()
        return self._solve(price)

    def rolling(
        self,
        view: Callable[[FArray], FArray],
        realised_eur_per_mwh: npt.ArrayLike,
        on_step: Callable[[int], None] | None = None,
    ) -> Schedule:
        """Rolling re-optimisation: at hour ``h`` re-solve with the executed hours fixed and
        prices ``view(realised[:h + 1])`` (realised up to ``h``, updated forecast after),
        then execute hour ``h``. ``view`` never receives a later price, so the strategy is
        non-anticipative by construction. One LP re-solve (same compiled problem) per hour.
        """
        r = as_finite_array("realised_eur_per_mwh", realised_eur_per_mwh, ndim=1)
        if r.size != self.n_hours:
            raise InputError("realised_eur_per_mwh", r.size, f"need {self.n_hours} hours")
        c_lo, c_hi = np.zeros_like(self.charge_hi), self.charge_hi.copy()
        d_lo, d_hi = np.zeros_like(self.discharge_hi), self.discharge_hi.copy()
        for h in range(self.n_hours):
            prices = as_finite_array("view", view(r[: h + 1].copy()), ndim=1)
            self.c_lo.value, self.c_hi.value = c_lo, c_hi
            self.d_lo.value, self.d_hi.value = d_lo, d_hi
            plan = self._solve(prices)
            c_lo[:, h] = c_hi[:, h] = np.clip(plan.charge_kwh[:, h], 0.0, self.charge_hi[:, h])
            d_lo[:, h] = d_hi[:, h] = np.clip(
                plan.discharge_kwh[:, h], 0.0, self.discharge_hi[:, h]
            )
            if on_step is not None:
                on_step(h)
        soc = np.asarray(self.soc.value, dtype=float)
        self._free()
        return Schedule(c_lo, d_lo, soc)
