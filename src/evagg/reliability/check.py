"""Monte Carlo cross-check of a slot's reliability (DESIGN.md: reliability figures are
checked against simulation of the same fleet)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from evagg.reliability.compound import monte_carlo_fleet
from evagg.reliability.model import SlotModel, reliability_table

__all__ = ["MonteCarloCheck", "monte_carlo_agreement"]


@dataclass(frozen=True)
class MonteCarloCheck:
    """Exact vs simulated reliability of one bid.

    Attributes
    ----------
    slot, bid_kwh
        Slot and bid [kWh].
    exact, monte_carlo
        Poisson-binomial reliability P(S ≥ C) and its Monte Carlo estimate [-].
    tolerance
        ``k_sigma`` binomial standard errors of the estimate (floor: variance 1e-4).
    n_samples
        Simulated fleets.
    """

    slot: str
    bid_kwh: float
    exact: float
    monte_carlo: float
    tolerance: float
    n_samples: int

    @property
    def error(self) -> float:
        """|exact − Monte Carlo| [-]."""
        return abs(self.exact - self.monte_carlo)

    @property
    def passed(self) -> bool:
        """The two agree within :attr:`tolerance`."""
        return self.error <= self.tolerance


def monte_carlo_agreement(
    model: SlotModel,
    slot: Any,
    bid_kwh: float,
    n_samples: int = 20_000,
    seed: int = 0,
    k_sigma: float = 4.0,
) -> MonteCarloCheck:
    r"""Compare the exact reliability of ``bid_kwh`` in ``slot`` with a simulation.

    Each simulated fleet draws every vehicle's presence ``B_i ~ Bernoulli(p_i)`` and offers
    ``S = Σ_i B_i v_i`` (:func:`evagg.reliability.monte_carlo_fleet`); the estimate is the
    share of fleets with ``S ≥ C``. Tolerance: ``k_sigma · sqrt(r(1 − r)/N)`` with ``r``
    the exact reliability (variance floored at 1e-4 so that r = 1 is still testable).
    """
    k = model.pos(slot)
    exact = float(
        reliability_table(model, [slot], [bid_kwh], methods=("exact",))["reliability"].iloc[0]
    )
    sample = monte_carlo_fleet(
        model.p.to_numpy()[k], model.v_kwh.to_numpy()[k], n_samples, seed=seed
    )
    r_mc = float(np.mean(sample >= bid_kwh - 1e-9))
    tol = k_sigma * float(np.sqrt(max(exact * (1 - exact), 1e-4) / n_samples))
    return MonteCarloCheck(str(slot), float(bid_kwh), exact, r_mc, tol, n_samples)
