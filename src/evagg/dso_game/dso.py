"""The DSO side of the game: the one adapter between :mod:`evagg.dso_game` and :mod:`evagg.grid`.

Everything the game needs from the grid goes through :class:`DSOAdapter`: build the
multi-period SOCP DistFlow OPF (seed 000 §3, eqs. 8–13) once, re-solve it with new
aggregator net loads (``cp.Parameter`` loads of :class:`evagg.grid.DistFlowModel`),
and return the DLMPs at the aggregators' buses per slot with the verification numbers.
When the grid's builder API changes, only this file changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg.dso_game.aggregator import QP_RETRY_SETTINGS
from evagg.errors import InfeasibleError, InputError, SolverError
from evagg.grid import DistFlowModel, DistFlowOptions, Feeder, OPFResult

__all__ = ["DSOAdapter", "DSOSolution"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DSOSolution:
    """One OPF solve: DLMPs at the aggregator buses (K, T) [EUR/MWh] and the full result."""

    dlmp_eur_per_mwh: FloatArray
    opf: OPFResult

    @property
    def cost_eur(self) -> float:
        """DSO purchase cost at the substation [EUR]."""
        return float(self.opf.cost_eur)

    @property
    def v_min_pu(self) -> float:
        """Lowest voltage over buses and slots [pu]."""
        return float(self.opf.v_pu.to_numpy().min())

    @property
    def losses_mwh(self) -> float:
        """Energy lost over the horizon [MWh]."""
        return float(self.opf.losses_mw.sum() * self.opf.dt_h)

    @property
    def peak_mw(self) -> float:
        """Largest substation import [MW]."""
        return float(self.opf.p_ext_mw.max())


class DSOAdapter:
    """Build the DSO's OPF once; re-solve it with the aggregators' net loads.

    Parameters
    ----------
    feeder
        Radial feeder.
    agg_buses
        pandapower bus index of each aggregator (K,); raises ``InputError`` naming a
        bus the feeder does not have.
    base_p_mw, base_q_mvar
        Other loads per bus and slot (N, T) [MW, Mvar].
    price_eur_per_mwh
        Substation energy price (T,) [EUR/MWh].
    dt_h
        Slot length [h].
    time_index
        Slot labels (T,).
    options
        :class:`evagg.grid.DistFlowOptions`.
    """

    def __init__(
        self,
        feeder: Feeder,
        agg_buses: npt.ArrayLike,
        base_p_mw: FloatArray,
        base_q_mvar: FloatArray,
        price_eur_per_mwh: FloatArray,
        dt_h: float,
        time_index: pd.Index,
        options: DistFlowOptions | None = None,
    ) -> None:
        buses = [int(b) for b in np.atleast_1d(np.asarray(agg_buses))]
        known = set(int(b) for b in feeder.bus_index)
        for b in buses:
            if b not in known:
                raise InputError("aggregators", b, f"not a bus of feeder {feeder.name!r}")
            if feeder.bus_position(b) == 0:
                raise InputError("aggregators", b, "is the substation bus; pick a load bus")
        self.feeder = feeder
        self.buses = buses
        self.pos = np.array([feeder.bus_position(b) for b in buses])
        self.base_p = np.asarray(base_p_mw, dtype=float)
        self.base_q = np.asarray(base_q_mvar, dtype=float)
        self.n_slots = self.base_p.shape[1]
        self.model = DistFlowModel(feeder, self.n_slots, dt_h, options, time_index)
        self.model.set_price(price_eur_per_mwh)
        self.price = np.asarray(price_eur_per_mwh, dtype=float)

    def with_options(self, **changes: Any) -> DSOAdapter:
        """The same DSO (feeder, buses, base loads, prices) with OPF options changed."""
        m = self.model
        opts = replace(m.options, **changes)
        return DSOAdapter(
            self.feeder,
            self.buses,
            self.base_p,
            self.base_q,
            self.price,
            m.dt_h,
            m.time_index,
            opts,
        )

    def loads(self, net_load_mw: FloatArray) -> FloatArray:
        """Bus × slot active load with the aggregators' net loads added [MW]."""
        p = self.base_p.copy()
        np.add.at(p, self.pos, np.asarray(net_load_mw, dtype=float))
        return p

    def solve(self, net_load_mw: npt.ArrayLike, verify: bool = False) -> DSOSolution:
        """Solve with aggregator net loads (K, T) [MW] (unity power factor).

        ``verify=False`` (game iterations) skips the AC power flow; the relaxation gap is
        still computed. ``verify=True`` runs every check of :mod:`evagg.grid` and raises
        ``VerificationError`` on failure.
        """
        x = np.asarray(net_load_mw, dtype=float)
        if x.shape != (len(self.buses), self.n_slots):
            raise InputError("net_load_mw", x.shape, f"expected {(len(self.buses), self.n_slots)}")
        self.model.set_loads(self.loads(x), self.base_q)
        res = self._solve_model(verify)
        dlmp = res.dlmp_eur_per_mwh.to_numpy()[self.pos]
        return DSOSolution(dlmp_eur_per_mwh=dlmp, opf=res)

    def _solve_model(self, verify: bool) -> OPFResult:
        """Solve the OPF; after an 'optimal_inaccurate' Clarabel end, re-solve with the
        settings of :data:`~evagg.dso_game.aggregator.QP_RETRY_SETTINGS` in turn (a
        quadratic voltage penalty on a heavily violated day sometimes stalls Clarabel's
        default equilibration; every grid check still runs on the returned point)."""
        last: SolverError | None = None
        for opts in ({}, *QP_RETRY_SETTINGS):
            try:
                return self.model.solve(verify=verify, **opts)
            except SolverError as exc:
                if exc.status != "optimal_inaccurate" or isinstance(exc, InfeasibleError):
                    raise
                last = exc
        assert last is not None
        raise last

    def solve_joint(
        self,
        withdrawal_mw: cp.Expression,
        cost_eur: cp.Expression,
        constraints: Sequence[cp.Constraint],
    ) -> DSOSolution:
        """Solve the OPF jointly with the caller's variables (the centralised optimum).

        ``withdrawal_mw`` (K, T) is withdrawn at the aggregator buses, ``cost_eur`` is
        added to the DSO's objective and ``constraints`` to its model; a fresh model is
        built (extensions cannot be removed) and fully verified.
        """
        m = DistFlowModel(
            self.feeder, self.n_slots, self.model.dt_h, self.model.options, self.model.time_index
        )
        m.set_price(self.price)
        m.set_loads(self.base_p, self.base_q)
        m.add_injection(-(m.bus_selector(self.buses) @ withdrawal_mw))
        m.add_constraints(constraints)
        m.add_cost(cost_eur)
        res = m.solve(verify=True)
        return DSOSolution(dlmp_eur_per_mwh=res.dlmp_eur_per_mwh.to_numpy()[self.pos], opf=res)
