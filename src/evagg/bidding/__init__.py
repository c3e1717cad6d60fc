"""Stochastic bi-level DA + balancing bidding of an EV aggregator against rivals (seed 002).

``build_bidding(inputs) -> BiddingModel``, ``solve(model, beta) -> BiddingResult`` (with an
equilibrium certificate), ``evaluate_bidding(decision, realised) -> profit`` out of sample.
"""

from evagg.bidding.evaluate import (
    evaluate_bidding,
    evaluate_fixed_decision,
    expected_value_inputs,
    follower_shares,
)
from evagg.bidding.model import (
    DA_PRICE,
    DEMAND,
    NEG_PRICE,
    POS_PRICE,
    BiddingDecision,
    BiddingInputs,
    BiddingModel,
    BiddingResult,
    PriceCandidates,
    build_bidding,
    price_candidates,
    rival_quantities,
    solve,
    switching_distances,
)

__all__ = [
    "DA_PRICE",
    "DEMAND",
    "NEG_PRICE",
    "POS_PRICE",
    "BiddingDecision",
    "BiddingInputs",
    "BiddingModel",
    "BiddingResult",
    "PriceCandidates",
    "build_bidding",
    "evaluate_bidding",
    "evaluate_fixed_decision",
    "expected_value_inputs",
    "follower_shares",
    "price_candidates",
    "rival_quantities",
    "solve",
    "switching_distances",
]
