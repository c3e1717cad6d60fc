"""Uncertainty engine: scenario sets, generation (seed 002 §2.2, §5.1) and reduction.

Quantity names (units in the name): ``da_price_eur_per_mwh``,
``pos_bal_price_eur_per_mwh``, ``neg_bal_price_eur_per_mwh``, ``ev_demand_mwh``,
``rival{k}_price_eur_per_mwh``.
"""

from evagg.scenarios.balancing import (
    NEG_BAL_PRICE,
    POS_BAL_PRICE,
    BalancingPremiumModel,
    balancing_price_scenarios,
)
from evagg.scenarios.demand import EV_DEMAND, ev_demand_scenarios
from evagg.scenarios.long import scenario_set_from_long
from evagg.scenarios.market import market_scenarios
from evagg.scenarios.prices import (
    DA_PRICE,
    PriceModel,
    day_ahead_price_scenarios,
    fit_price_model,
    refilter_price_model,
)
from evagg.scenarios.reduction import (
    ReductionResult,
    fast_forward_reduction,
    pairwise_distances,
    reduction_features,
)
from evagg.scenarios.rivals import rival_level_probabilities, rival_price_scenarios
from evagg.scenarios.scenario_set import ScenarioSet
from evagg.scenarios.scores import ScenarioScore, crps, score_scenarios, weighted_quantiles

__all__ = [
    "DA_PRICE",
    "EV_DEMAND",
    "NEG_BAL_PRICE",
    "POS_BAL_PRICE",
    "BalancingPremiumModel",
    "PriceModel",
    "ReductionResult",
    "ScenarioScore",
    "ScenarioSet",
    "balancing_price_scenarios",
    "crps",
    "day_ahead_price_scenarios",
    "ev_demand_scenarios",
    "fast_forward_reduction",
    "fit_price_model",
    "market_scenarios",
    "pairwise_distances",
    "reduction_features",
    "refilter_price_model",
    "rival_level_probabilities",
    "rival_price_scenarios",
    "scenario_set_from_long",
    "score_scenarios",
    "weighted_quantiles",
]
