"""DSO ↔ EV-aggregator Stackelberg game with DLMPs, storage, elastic users and points (seed 000).

Public API::

    from evagg.dso_game import AggregatorSpec, BestResponseModel, DSOAdapter, GameSetup, play_day

See ``docs/dso_game.md`` for the equations, interpretations and measured results.
"""

from evagg.dso_game.aggregator import (
    AggregatorSpec,
    BestResponse,
    BestResponseModel,
    check_elasticity,
    demand_slopes,
    elasticity_matrix,
    evaluate_profit,
)
from evagg.dso_game.dso import DSOAdapter, DSOSolution
from evagg.dso_game.game import (
    Certificate,
    DayOutcome,
    GameNotConverged,
    GameSetup,
    UserState,
    certify,
    play_day,
    user_costs,
)

__all__ = [
    "AggregatorSpec",
    "BestResponse",
    "BestResponseModel",
    "Certificate",
    "DSOAdapter",
    "DSOSolution",
    "DayOutcome",
    "GameNotConverged",
    "GameSetup",
    "UserState",
    "certify",
    "check_elasticity",
    "demand_slopes",
    "elasticity_matrix",
    "evaluate_profit",
    "play_day",
    "user_costs",
]
