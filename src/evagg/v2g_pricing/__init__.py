"""V2G contract pricing (seed 001): leader–follower prices, V2G dispatch, real time.

- :mod:`~evagg.v2g_pricing.users`: user-days from a :class:`evagg.fleet.Fleet`,
  validation, follower classes with their grouping error;
- :mod:`~evagg.v2g_pricing.pricing`: stage 1, the pricing game as one MILP by
  :mod:`evagg.optim.bilevel` (derived big-M, strong duality, certificates);
- :mod:`~evagg.v2g_pricing.dispatch`: stage 2 V2G scheduling and the real-time
  strategies (hold, rolling re-optimisation with ``cp.Parameter``, perfect foresight);
- :mod:`~evagg.v2g_pricing.forecast`: the day-ahead price forecast the plan is made on.
"""

from evagg.v2g_pricing.dispatch import Schedule, V2GDispatch, settle_eur
from evagg.v2g_pricing.forecast import DayForecast, point_forecast
from evagg.v2g_pricing.pricing import (
    PricingModel,
    PricingResult,
    Tariff,
    build_pricing,
    follower_response,
    leader_profit_eur,
    solve_pricing,
)
from evagg.v2g_pricing.users import Grouping, group_users, users_from_fleet, validate_users

__all__ = [
    "DayForecast",
    "Grouping",
    "PricingModel",
    "PricingResult",
    "Schedule",
    "Tariff",
    "V2GDispatch",
    "build_pricing",
    "follower_response",
    "group_users",
    "leader_profit_eur",
    "point_forecast",
    "settle_eur",
    "solve_pricing",
    "users_from_fleet",
    "validate_users",
]
