"""V2G capacity reliability of an EV fleet (seed 003 §2–3, §5).

How much V2G energy can an aggregator promise for each slot of tomorrow and still
deliver it with probability ≥ 0.95? Pipeline: :func:`build_slot_model` (presence
probabilities, eqs. 5–8) → :func:`reliability_curves` / :func:`reliability_table`
(compound Poisson (a) or exact (b)) → :func:`bid_curve`; validated by Monte Carlo and
out of sample by :func:`calibrate`. See ``docs/reliability.md``.
"""

from evagg.reliability.allocation import SEED_MIXES, allocation_reliability, user_mix_curves
from evagg.reliability.check import MonteCarloCheck, monte_carlo_agreement
from evagg.reliability.classify import classify_users, compare_classifications, user_features
from evagg.reliability.compound import (
    LatticeDistribution,
    compound_poisson_fft,
    compound_poisson_panjer,
    discretize,
    monte_carlo_compound_poisson,
    monte_carlo_fleet,
)
from evagg.reliability.curves import CalibrationResult, bid_curve, calibrate, reliability_curves
from evagg.reliability.exact import poisson_binomial_batch, poisson_binomial_sum
from evagg.reliability.model import (
    METHODS,
    GaussianMixtureFit,
    SlotModel,
    build_slot_model,
    daily_charged_kwh,
    delivered_kwh,
    fit_gaussian_mixture,
    presence_by_day,
    reliability_table,
    slot_distribution,
    v2g_energy,
)

__all__ = [
    "METHODS",
    "SEED_MIXES",
    "CalibrationResult",
    "GaussianMixtureFit",
    "LatticeDistribution",
    "MonteCarloCheck",
    "SlotModel",
    "allocation_reliability",
    "bid_curve",
    "build_slot_model",
    "calibrate",
    "classify_users",
    "compare_classifications",
    "compound_poisson_fft",
    "compound_poisson_panjer",
    "daily_charged_kwh",
    "delivered_kwh",
    "discretize",
    "fit_gaussian_mixture",
    "monte_carlo_agreement",
    "monte_carlo_compound_poisson",
    "monte_carlo_fleet",
    "poisson_binomial_batch",
    "poisson_binomial_sum",
    "presence_by_day",
    "reliability_curves",
    "reliability_table",
    "slot_distribution",
    "user_features",
    "user_mix_curves",
    "v2g_energy",
]
