"""Scoring of bidding decisions: exact follower responses, fixed-price leader value, out of sample.

These functions solve the EV owners' problem (seed 002 eq. 10–15) exactly for given offered
prices instead of through KKT conditions, so they serve as independent checks of the MILP
(brute force) and as the out-of-sample evaluator.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from evagg._checks import (
    as_finite_array,
    build_checked,
    check_nonnegative,
    check_probabilities,
    check_same_index,
)
from evagg.bidding.model import (
    DA_PRICE,
    DEMAND,
    MARKET_QUANTITIES,
    NEG_PRICE,
    POS_PRICE,
    BiddingDecision,
    BiddingInputs,
    follower_structure,
    rival_quantities,
)
from evagg.errors import InputError, SolverError
from evagg.optim.bilevel import LowerLevelLP, solve_followers
from evagg.optim.core import cvar_constraints, solver_output_to_stderr
from evagg.scenarios import ScenarioSet

__all__ = [
    "evaluate_bidding",
    "evaluate_fixed_decision",
    "expected_value_inputs",
    "follower_shares",
]

FArray = npt.NDArray[np.float64]


def follower_shares(
    price_eur_per_mwh: npt.ArrayLike,
    rival_prices: npt.ArrayLike,
    switching_cost: npt.ArrayLike,
    initial_shares: npt.ArrayLike,
    *,
    favour_aggregator: bool = True,
) -> FArray:
    """EV owners' shares X_a solved exactly for every (rival scenario, hour).

    Solves eq. (10)–(11) (divided by Ê_t) as one block LP; among tied optima the owners'
    choice that maximises the aggregator's share is taken when ``favour_aggregator``
    (the optimistic bilevel convention of the MILP), else the minimum (pessimistic).

    Parameters
    ----------
    price_eur_per_mwh
        Offered price λ^ch_t (T,) [EUR/MWh].
    rival_prices
        (Ξ, T, S) [EUR/MWh].
    switching_cost
        K (S+1, S+1) [EUR/MWh].
    initial_shares
        X^0 (S+1,).

    Returns
    -------
    numpy.ndarray
        Shares (Ξ, T, S+1), aggregator first.
    """
    lam = as_finite_array("price_eur_per_mwh", price_eur_per_mwh, ndim=1)
    riv = as_finite_array("rival_prices", rival_prices, ndim=3)
    k = as_finite_array("switching_cost", switching_cost, ndim=2)
    x0 = check_probabilities("initial_shares", initial_shares)
    n_xi, n_t, n_s = riv.shape
    if lam.size != n_t:
        raise InputError("price_eur_per_mwh", lam.size, f"need {n_t} hours")
    n_agg = n_s + 1
    if x0.size != n_agg:
        raise InputError("initial_shares", x0.tolist(), f"need {n_agg} shares (us + rivals)")
    if k.shape != (n_agg, n_agg):
        raise InputError("switching_cost", k.shape, f"must be ({n_agg}, {n_agg})")
    check_nonnegative("switching_cost", k - np.diag(np.diag(k)))
    g, pairs = follower_structure(n_agg)
    n_var = g.shape[1]
    n_fol = n_xi * n_t
    c = np.zeros((n_fol, n_var))
    c[:, 0] = np.tile(lam, n_xi)
    c[:, 1:n_agg] = riv.reshape(n_fol, n_s)
    c[:, n_agg:] = np.array([k[a, b] for a, b in pairs])[None, :]
    a_eq = sp.kron(sp.identity(n_fol), sp.csr_matrix(g), format="csr")
    b_eq = np.tile(x0, n_fol)
    opts = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
    res = linprog(c.ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs", options=opts)
    if res.status != 0:
        raise SolverError("follower_shares", f"linprog status {res.status}", res.message)
    y = res.x.reshape(n_fol, n_var)
    v = np.einsum("kj,kj->k", c, y)
    # Lexicographic tie-break: extreme aggregator share within the optimal face.
    sel = np.zeros((n_fol, n_var))
    sel[:, 0] = -1.0 if favour_aggregator else 1.0
    a_ub = sp.block_diag([c[i : i + 1] for i in range(n_fol)], format="csr")
    b_ub = v + 1e-9 * np.maximum(1.0, np.abs(v))
    res2 = linprog(
        sel.ravel(),
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=(0, None),
        method="highs",
        options=opts,
    )
    if res2.status != 0:
        raise SolverError(
            "follower_shares tie-break", f"linprog status {res2.status}", res2.message
        )
    y2 = res2.x.reshape(n_xi, n_t, n_var)
    return np.clip(y2[:, :, :n_agg], 0.0, 1.0)


def evaluate_fixed_decision(
    inputs: BiddingInputs,
    price_eur_per_mwh: npt.ArrayLike,
    beta: float,
    da_mwh: npt.ArrayLike | None = None,
    *,
    market_limits: bool = True,
) -> float:
    """Leader objective E[π] + β·CVaR with the offered prices (and optionally DA) fixed.

    The EV owners' problems are solved exactly (optimal value v*), then one LP chooses
    their optimal responses (optimistic: the aggregator's preferred point of the optimal
    face ``cᵀy ≤ v*``), the DA purchase (unless fixed) and the balancing recourse.
    Used by the brute-force verifier and for the value of the stochastic solution.
    ``market_limits=False`` drops limits (8)–(9) from the recourse (imbalance settled
    without limits, as out of sample), so that a deterministic decision that violates (9)
    in some scenario still gets a finite value.

    Returns
    -------
    float
        The objective [EUR], or ``-inf`` if the fixed decision is infeasible.
    """
    lam = as_finite_array("price_eur_per_mwh", price_eur_per_mwh, ndim=1)
    mk = inputs.market
    n_t = len(inputs.time_index)
    n_om = mk.n_scenarios
    n_agg = inputs.n_aggregators
    rival = inputs.rival_prices  # (Ξ, T, S)
    n_xi = rival.shape[0]
    g, pairs = follower_structure(n_agg)
    n_var = g.shape[1]
    n_fol = n_t * n_xi
    c = np.zeros((n_fol, n_var))
    c[:, 0] = np.repeat(lam, n_xi)
    c[:, 1:n_agg] = rival.transpose(1, 0, 2).reshape(n_fol, n_agg - 1)
    c[:, n_agg:] = np.array([inputs.k_matrix[a, b] for a, b in pairs])[None, :]
    lower = LowerLevelLP(
        name="ev_owners_fixed",
        cost=c,
        cost_lo=c,
        cost_hi=c,
        y_upper=np.ones_like(c),
        G=g,
        h=np.tile(inputs.x0, (n_fol, 1)),
    )
    _, opt = solve_followers(lower, c)
    y = cp.Variable((n_fol, n_var), nonneg=True)
    cons: list[cp.Constraint] = [
        y @ g.T == np.tile(inputs.x0, (n_fol, 1)),
        cp.sum(cp.multiply(c, y), axis=1) <= opt + 1e-9 * np.maximum(1.0, np.abs(opt)),
    ]
    v = inputs.rivals.p
    share_t = cp.reshape(y[:, 0], (n_t, n_xi), order="C") @ v
    demand = mk.array(DEMAND)
    lam_da, lam_pos, lam_neg = (mk.array(q) for q in (DA_PRICE, POS_PRICE, NEG_PRICE))
    e_pos = cp.Variable((n_om, n_t), nonneg=True)
    e_neg = cp.Variable((n_om, n_t), nonneg=True)
    if da_mwh is None:
        e_da: cp.Expression = cp.Variable(n_t, nonneg=True)
    else:
        e_da = cp.Constant(check_nonnegative("da_mwh", da_mwh))
    ones = np.ones((n_om, 1))
    e_ch = cp.multiply(demand, ones @ cp.reshape(share_t, (1, n_t), order="C"))
    profit = (
        demand @ cp.multiply(lam, share_t)
        - lam_da @ e_da
        - cp.sum(cp.multiply(lam_pos, e_pos), axis=1)
        + cp.sum(cp.multiply(lam_neg, e_neg), axis=1)
    )
    cvar, cvar_cons, _, _ = cvar_constraints(profit, mk.p, inputs.alpha)
    cons += [e_ch == ones @ cp.reshape(e_da, (1, n_t), order="C") + e_pos - e_neg, *cvar_cons]
    if market_limits:
        cons += [e_pos <= inputs.p_max, e_neg <= e_ch]
    prob = cp.Problem(cp.Maximize(mk.p @ profit + float(beta) * cvar), cons)
    with solver_output_to_stderr():
        prob.solve(solver="HIGHS")
    if prob.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        return float("-inf")
    if prob.status != cp.OPTIMAL:
        raise SolverError("evaluate_fixed_decision", str(prob.status))
    return float(prob.value)


def expected_value_inputs(inputs: BiddingInputs) -> BiddingInputs:
    """The deterministic (expected-value) problem: one market and one rival scenario.

    Each quantity is replaced by its probability-weighted mean per hour (the classical
    EV problem of stochastic programming), everything else unchanged.
    """
    idx = inputs.time_index
    label = pd.Index(["expected"], name="scenario")
    market = ScenarioSet(
        {
            q: pd.DataFrame({"expected": inputs.market.expected(q)}, index=idx)
            for q in MARKET_QUANTITIES
        },
        pd.Series([1.0], index=label, name="probability"),
    )
    rivals = ScenarioSet(
        {
            q: pd.DataFrame({"expected": inputs.rivals.expected(q)}, index=idx)
            for q in rival_quantities(inputs.rivals)
        },
        pd.Series([1.0], index=label, name="probability"),
    )
    return build_checked(
        BiddingInputs,
        inputs,
        market=market,
        rivals=rivals,
        switching_cost_eur_per_mwh=inputs.k_matrix,
        initial_shares=inputs.x0,
        p_max_mwh=inputs.p_max,
    )


def evaluate_bidding(
    decision: BiddingDecision,
    realised: ScenarioSet,
    *,
    switching_cost_eur_per_mwh: float | npt.ArrayLike = 0.0,
    initial_shares: npt.ArrayLike | None = None,
    favour_aggregator: bool = True,
) -> pd.Series:
    """Out-of-sample profit of a fixed decision against realised outcomes [EUR].

    For each realised scenario r (e.g. the actual day, or fresh draws): the EV owners
    respond exactly to the offered and realised rival prices (:func:`follower_shares`),
    the aggregator supplies ``E^ch_t = E^D_t X_0,t`` and the imbalance against its DA
    purchase is settled at the balancing prices:

    .. math::

        \\pi_r = \\sum_t \\lambda^{ch}_t E^{ch}_t - \\lambda^{DA}_t E^{DA}_t
            - \\lambda^{+B}_t [E^{ch}_t - E^{DA}_t]^+ + \\lambda^{-B}_t [E^{DA}_t - E^{ch}_t]^+

    evagg change: limits (8)–(9) are not applied out of sample (a real settlement settles
    any imbalance).

    Parameters
    ----------
    decision
        DA purchase and offered prices, on the same time index as ``realised``.
    realised
        ScenarioSet holding the four market quantities and ``rival{k}_price_eur_per_mwh``.
    switching_cost_eur_per_mwh, initial_shares
        As in :class:`BiddingInputs`.
    favour_aggregator
        Tie-break of the EV owners (optimistic by default, like the MILP).

    Returns
    -------
    pandas.Series
        Profit per realised scenario [EUR].
    """
    check_same_index(
        ["decision.da_mwh.index", "realised.time_index"],
        [decision.da_mwh.index, realised.time_index],
    )
    missing = [q for q in MARKET_QUANTITIES if q not in realised.data]
    if missing:
        raise InputError("realised.quantities", realised.quantities, f"missing {missing}")
    rnames = [q for q in realised.quantities if q.startswith("rival")]
    riv_set = ScenarioSet({q: realised[q] for q in rnames}, realised.probabilities)
    names = rival_quantities(riv_set)
    n_agg = len(names) + 1
    k = as_finite_array("switching_cost_eur_per_mwh", switching_cost_eur_per_mwh)
    if k.ndim == 0:
        k = np.full((n_agg, n_agg), float(k))
        np.fill_diagonal(k, 0.0)
    x0 = np.full(n_agg, 1.0 / n_agg) if initial_shares is None else np.asarray(initial_shares)
    rival = np.stack([realised.array(q) for q in names], axis=2)  # (R, T, S)
    lam = decision.price_eur_per_mwh.to_numpy(dtype=float)
    da = decision.da_mwh.to_numpy(dtype=float)
    x = follower_shares(lam, rival, k, x0, favour_aggregator=favour_aggregator)[:, :, 0]
    demand = check_nonnegative(f"realised[{DEMAND!r}]", realised.array(DEMAND))
    e_ch = demand * x
    short = np.maximum(e_ch - da[None, :], 0.0)
    long_ = np.maximum(da[None, :] - e_ch, 0.0)
    profit = (
        (e_ch * lam[None, :]).sum(1)
        - realised.array(DA_PRICE) @ da
        - (realised.array(POS_PRICE) * short).sum(1)
        + (realised.array(NEG_PRICE) * long_).sum(1)
    )
    return pd.Series(profit, index=realised.scenarios, name="profit_eur")
