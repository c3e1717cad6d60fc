"""Bidding strategies as pure functions of what is known before the market day.

Every strategy maps :class:`~evagg.bidding.BiddingInputs` (scenarios and forecasts built
from data strictly before the day) to a :class:`~evagg.bidding.BiddingDecision` (DA
purchase and offered price per hour); none reads data. The perfect-foresight bound is the
one exception by design: it is given the realised outcome. Scored out of sample by
:func:`evagg.bidding.evaluate_bidding`; compared over a year by
:mod:`evagg.studies.bidding_backtest`.

Strategy names (``parse_strategy``):

* ``seed_b<β>`` — seed 002's model, eq. (6) (expected share over rival scenarios), CVaR
  weight β (``seed_b0`` risk neutral);
* ``recourse_b<β>`` — evagg's extension balancing the realised rival outcome
  (``rival_recourse=True``);
* ``expected_value`` — the deterministic problem on the expected market and rival prices
  (β = 0);
* ``simple_rule`` — no optimisation: offer the cheapest expected rival price minus a margin
  and buy day-ahead the demand expected at that price (:func:`simple_rule_bid`);
* ``perfect_foresight`` — the model solved on the realised outcome (upper bound).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evagg.bidding.evaluate import expected_value_inputs, follower_shares
from evagg.bidding.model import (
    DEMAND,
    BiddingDecision,
    BiddingInputs,
    BiddingResult,
    build_bidding,
    rival_quantities,
    solve,
)
from evagg.errors import InputError

__all__ = [
    "DEFAULT_STRATEGIES",
    "StrategyOutcome",
    "StrategySpec",
    "expected_value_bid",
    "parse_strategy",
    "perfect_foresight_bid",
    "run_strategy",
    "simple_rule_bid",
    "stochastic_bid",
]

DEFAULT_STRATEGIES = (
    "seed_b0",
    "seed_b1",
    "recourse_b0",
    "recourse_b1",
    "expected_value",
    "simple_rule",
    "perfect_foresight",
)
_MODEL = re.compile(r"^(seed|recourse)_b(\d+(?:\.\d+)?)$")
_FIXED = ("expected_value", "simple_rule", "perfect_foresight")


@dataclass(frozen=True)
class StrategySpec:
    """A parsed strategy name: ``kind`` in {seed, recourse, expected_value, simple_rule,
    perfect_foresight} and the CVaR weight β (model strategies only)."""

    name: str
    kind: str
    beta: float = 0.0


def parse_strategy(name: str) -> StrategySpec:
    """Parse ``seed_b<β>``, ``recourse_b<β>``, ``expected_value``, ``simple_rule`` or
    ``perfect_foresight``; anything else raises :class:`InputError` naming the value."""
    if name in _FIXED:
        return StrategySpec(name, name)
    m = _MODEL.match(name)
    if m is None:
        raise InputError(
            "strategies",
            name,
            "expected seed_b<beta>, recourse_b<beta>, expected_value, simple_rule or "
            "perfect_foresight (e.g. seed_b0, recourse_b1)",
        )
    return StrategySpec(name, m.group(1), float(m.group(2)))


@dataclass(frozen=True)
class StrategyOutcome:
    """A strategy's decision and how it was obtained.

    Attributes
    ----------
    decision
        DA purchase [MWh] and offered price [EUR/MWh] per hour.
    method
        ``"enumeration"`` / ``"kkt"`` (the MILP formulation that ran) or ``"rule"``.
    in_sample_profit_eur
        The model's expected profit on its own scenarios [EUR] (NaN for the rule).
    certificate_gap
        Largest relative gap of the equilibrium certificate (NaN for the rule).
    solve_time_s
        Wall time of build + solve + verification [s].
    """

    decision: BiddingDecision
    method: str
    in_sample_profit_eur: float
    certificate_gap: float
    solve_time_s: float


def _from_result(res: BiddingResult, t0: float) -> StrategyOutcome:
    return StrategyOutcome(
        decision=res.decision,
        method=res.formulation,
        in_sample_profit_eur=res.expected_profit,
        certificate_gap=res.certificate.max_gap,
        solve_time_s=time.perf_counter() - t0,
    )


def stochastic_bid(
    inputs: BiddingInputs, beta: float, *, rival_recourse: bool = False
) -> BiddingResult:
    """Seed 002's stochastic bilevel bid (eqs. 2–32) at CVaR weight β, verified.

    ``rival_recourse=True`` is evagg's extension (balancing per rival outcome). The exact
    formulation is chosen automatically (:func:`evagg.bidding.model.choose_formulation`).
    """
    return solve(build_bidding(inputs, formulation="auto", rival_recourse=rival_recourse), beta)


def expected_value_bid(inputs: BiddingInputs) -> BiddingResult:
    """The deterministic bid: the model on the expected market and rival prices (β = 0)."""
    return solve(build_bidding(expected_value_inputs(inputs), formulation="auto"), beta=0.0)


def simple_rule_bid(inputs: BiddingInputs, margin_eur_per_mwh: float = 5.0) -> BiddingDecision:
    r"""What an aggregator might do without evagg: undercut the rivals, buy what it expects.

    With :math:`\bar\lambda_{s,t} = \sum_\xi v_\xi \lambda_{s,t\xi}` the expected rival
    prices and :math:`\hat E_t = \sum_\omega p_\omega E^D_{t\omega}` the expected regional
    demand:

    .. math::

        \lambda^{ch}_t = \mathrm{clip}\big(\min_s \bar\lambda_{s,t} - m,\;
            \underline\lambda, \overline\lambda\big), \qquad
        E^{DA}_t = \hat E_t\, \hat X_{0,t}

    where :math:`\hat X_{0,t}` is the owners' response (eqs. 10–15, ties to the rivals)
    if every rival quoted its expected price: with K = 0 and m > 0 the whole region,
    with a switching cost K > m only the aggregator's own customers X^0_0. Balancing
    settles the rest. Not in seed 002 (evagg's baseline).

    Parameters
    ----------
    inputs
        Forecast inputs of the day (only expectations are used).
    margin_eur_per_mwh
        m ≥ 0 [EUR/MWh].
    """
    if not np.isfinite(margin_eur_per_mwh) or margin_eur_per_mwh < 0:
        raise InputError("margin_eur_per_mwh", margin_eur_per_mwh, "must be a finite number >= 0")
    idx = inputs.time_index
    rival_exp = np.column_stack(
        [inputs.rivals.expected(q).to_numpy() for q in rival_quantities(inputs.rivals)]
    )  # (T, S)
    price = np.clip(
        rival_exp.min(axis=1) - margin_eur_per_mwh,
        inputs.price_min_eur_per_mwh,
        inputs.price_max_eur_per_mwh,
    )
    share = follower_shares(
        price, rival_exp[None, :, :], inputs.k_matrix, inputs.x0, favour_aggregator=False
    )[0, :, 0]
    da = inputs.market.expected(DEMAND).to_numpy() * share
    return BiddingDecision(
        da_mwh=pd.Series(da, index=idx, name="da_mwh"),
        price_eur_per_mwh=pd.Series(price, index=idx, name="price_eur_per_mwh"),
    )


def perfect_foresight_bid(realised: BiddingInputs) -> BiddingResult:
    """The model solved knowing the outcome: one market and one rival scenario, β = 0.

    An upper bound for any decision scored on that outcome with the optimistic tie-break
    (the bilevel model's convention).
    """
    if realised.market.n_scenarios != 1 or realised.rivals.n_scenarios != 1:
        raise InputError(
            "realised",
            (realised.market.n_scenarios, realised.rivals.n_scenarios),
            "perfect foresight needs exactly one market and one rival scenario",
        )
    return solve(build_bidding(realised, formulation="auto"), beta=0.0)


def run_strategy(
    spec: StrategySpec, inputs: BiddingInputs, *, margin_eur_per_mwh: float = 5.0
) -> StrategyOutcome:
    """The decision of a non-clairvoyant strategy from the day's forecast ``inputs``."""
    t0 = time.perf_counter()
    if spec.kind in ("seed", "recourse"):
        res = stochastic_bid(inputs, spec.beta, rival_recourse=spec.kind == "recourse")
        return _from_result(res, t0)
    if spec.kind == "expected_value":
        return _from_result(expected_value_bid(inputs), t0)
    if spec.kind == "simple_rule":
        dec = simple_rule_bid(inputs, margin_eur_per_mwh)
        return StrategyOutcome(dec, "rule", float("nan"), float("nan"), time.perf_counter() - t0)
    raise InputError("strategy", spec.name, "perfect foresight needs the realised outcome")
