"""Stochastic bi-level DA + balancing bidding of an EV aggregator against rivals (seed 002).

Upper level (the aggregator, index 0), scenarios ω of (DA price λ^DA, positive / negative
balancing price λ^{+B} / λ^{−B}, regional EV demand E^D) with probabilities p_ω:

.. math::

    \\max\\; \\sum_\\omega p_\\omega \\pi_\\omega + \\beta\\,\\Big[\\zeta - \\tfrac{1}{1-\\alpha}
        \\sum_\\omega p_\\omega \\eta_\\omega\\Big]                          \\qquad (2), (22)

    \\pi_\\omega = \\sum_t \\big[R_{t\\omega} - \\lambda^{DA}_{t\\omega} E^{DA}_t
        - \\lambda^{+B}_{t\\omega} E^{+B}_{t\\omega}
        + \\lambda^{-B}_{t\\omega} E^{-B}_{t\\omega}\\big]

    E^{ch}_{t\\omega} = E^{DA}_t + E^{+B}_{t\\omega} - E^{-B}_{t\\omega}     \\qquad (3)

    \\eta_\\omega \\ge \\zeta - \\pi_\\omega,\\ \\eta_\\omega \\ge 0            \\qquad (4), (5)

    E^{ch}_{t\\omega} = E^D_{t\\omega} \\sum_\\xi v_\\xi X_{0,t\\xi}               \\qquad (6)

    E^{+B}_{t\\omega} \\le P^{max},\\ E^{-B}_{t\\omega} \\le E^{ch}_{t\\omega}  \\qquad (8), (9)

    \\underline\\lambda \\le \\lambda^{ch}_t \\le \\overline\\lambda,\\quad
        \\tfrac1T \\sum_t \\lambda^{ch}_t \\le \\lambda^{avg}\\ \\text{(optional)}

with E^DA_t and λ^ch_t here-and-now (one value per hour for all ω: non-anticipativity (7)).

Lower level per hour t and rival scenario ξ (EV owners choosing among the aggregator and
its S rivals, shares X_a, switching flows Z^{a,a'} with switching cost K^{a,a'}):

.. math::

    \\min_{X,Z \\ge 0}\\; \\lambda^{ch}_t X_0 + \\sum_{a\\ge1} \\lambda_{a,t,\\xi} X_a
        + \\sum_{a \\ne a'} K^{a,a'} Z^{a,a'}                                   \\qquad (10)

    X_a = X^0_a + \\sum_{a'} Z^{a',a} - \\sum_{a'} Z^{a,a'} \\quad (\\varepsilon_a)  \\qquad (11)

replaced by its KKT conditions with big-M complementarity (eqs. 16–19, 23–32) through
:func:`evagg.optim.bilevel.kkt_reformulate`, and the revenue linearised by strong duality
(eqs. 20–21): ``λ^ch_t X_0 = Σ_a X^0_a ε_a − Σ_{a≥1} λ_a X_a − Σ K Z``, so
``R_{tω} = E^D_{tω} Σ_ξ v_ξ (λ^ch_t X_{0,tξ})`` is linear.

What evagg changed, and why
---------------------------
* (10) is divided by Ê_t > 0 (12): same minimiser, duals in EUR/MWh, and K is a price
  premium in EUR/MWh; (21)'s factor E^D/Ê then becomes E^D.
* (13) Σ X = 1 is dropped: it is implied by (11) because Σ X^0 = 1, and keeping it makes the
  dual direction (ε + c·1, φ − c) a lineality, i.e. no finite big-M (the paper's φ ≡ 0).
* Big-M values are derived from the data (:func:`evagg.optim.bilevel.derive_bigm`): the
  follower's feasible set is a network-flow polytope with total supply Σ X^0 = 1, so at any
  vertex (no cycle carries flow) X_a ≤ 1 and Z^{a,a'} ≤ 1, and Z^{a,a'} ≤ X^0_a when K
  satisfies the triangle inequality (``_share_bounds``); dual bounds come from LPs over
  the optimal-dual region with λ^ch in [λ_min, λ_max].
* The bilevel model is optimistic: on a price tie the EV owners' choice that suits the
  aggregator is taken (the MILP picks it; the brute-force verifier does the same).
* P^max defaults to the largest scenario demand (no shortfall can be infeasible); (9) is
  kept as printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg._checks import (
    as_finite_array,
    check_bounds,
    check_in_range,
    check_nonnegative,
    check_probabilities,
    check_same_index,
)
from evagg.errors import InfeasibleError, InputError, VerificationError
from evagg.optim.bilevel import (
    EquilibriumCertificate,
    KKTReformulation,
    LowerLevelLP,
    kkt_reformulate,
    solve_followers,
)
from evagg.optim.core import SolveInfo, cvar_constraints, cvar_of_samples, solve_cvxpy
from evagg.scenarios import ScenarioSet

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
    "price_candidates",
    "rival_quantities",
    "solve",
    "switching_distances",
]

DA_PRICE = "da_price_eur_per_mwh"
POS_PRICE = "pos_bal_price_eur_per_mwh"
NEG_PRICE = "neg_bal_price_eur_per_mwh"
DEMAND = "ev_demand_mwh"
MARKET_QUANTITIES = (DA_PRICE, POS_PRICE, NEG_PRICE, DEMAND)
FArray = npt.NDArray[np.float64]


def rival_quantities(rivals: ScenarioSet) -> list[str]:
    """Names ``rival{k}_price_eur_per_mwh`` (k = 1, 2, ...) present in ``rivals``, in order."""
    names = []
    k = 1
    while f"rival{k}_price_eur_per_mwh" in rivals.data:
        names.append(f"rival{k}_price_eur_per_mwh")
        k += 1
    if not names or len(names) != len(rivals.quantities):
        raise InputError(
            "rivals.quantities",
            rivals.quantities,
            "expected rival1_price_eur_per_mwh, rival2_price_eur_per_mwh, ... (k from 1)",
        )
    return names


@dataclass(frozen=True)
class BiddingInputs:
    """Data of the bidding problem (no files are read here).

    Parameters
    ----------
    market
        ScenarioSet (ω) with ``da_price_eur_per_mwh``, ``pos_bal_price_eur_per_mwh``,
        ``neg_bal_price_eur_per_mwh`` [EUR/MWh] and ``ev_demand_mwh`` [MWh per step] of the
        whole region (all aggregators).
    rivals
        ScenarioSet (ξ) with ``rival{k}_price_eur_per_mwh`` [EUR/MWh], same time index.
    price_min_eur_per_mwh, price_max_eur_per_mwh
        Bounds of the offered price λ^ch [EUR/MWh].
    switching_cost_eur_per_mwh
        K: scalar (same for every pair) or (S+1, S+1) matrix [EUR/MWh]; diagonal ignored.
    initial_shares
        X^0 (S+1,), aggregator first; default equal shares.
    avg_price_cap_eur_per_mwh
        Optional cap on the mean offered price [EUR/MWh].
    p_max_mwh
        P^max of eq. (8) [MWh per step]; default the largest scenario demand.
    alpha
        CVaR confidence level (seed: 0.95).
    """

    market: ScenarioSet
    rivals: ScenarioSet
    price_min_eur_per_mwh: float
    price_max_eur_per_mwh: float
    switching_cost_eur_per_mwh: float | npt.ArrayLike = 0.0
    initial_shares: npt.ArrayLike | None = None
    avg_price_cap_eur_per_mwh: float | None = None
    p_max_mwh: float | None = None
    alpha: float = 0.95
    # derived (filled in __post_init__)
    k_matrix: FArray = field(init=False, repr=False)
    x0: FArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        missing = [q for q in MARKET_QUANTITIES if q not in self.market.data]
        if missing:
            raise InputError("market.quantities", self.market.quantities, f"missing {missing}")
        names = rival_quantities(self.rivals)
        check_same_index(
            ["market.time_index", "rivals.time_index"],
            [self.market.time_index, self.rivals.time_index],
        )
        check_probabilities("market.probabilities", self.market.p)
        check_probabilities("rivals.probabilities", self.rivals.p)
        check_nonnegative(f"market[{DEMAND!r}]", self.market.array(DEMAND))
        lo = float(as_finite_array("price_min_eur_per_mwh", self.price_min_eur_per_mwh))
        hi = float(as_finite_array("price_max_eur_per_mwh", self.price_max_eur_per_mwh))
        check_bounds("price_min_eur_per_mwh", lo, "price_max_eur_per_mwh", hi)
        pos, da, neg = (self.market.array(q) for q in (POS_PRICE, DA_PRICE, NEG_PRICE))
        if np.any(pos < da - 1e-9) or np.any(neg > da + 1e-9):
            raise InputError(
                "market balancing prices",
                (float((da - pos).max()), float((neg - da).max())),
                "need pos_bal >= DA >= neg_bal in every hour and scenario (else the model "
                "rewards buying and selling the same energy)",
            )
        n_agg = len(names) + 1
        k = as_finite_array("switching_cost_eur_per_mwh", self.switching_cost_eur_per_mwh)
        if k.ndim == 0:
            k = np.full((n_agg, n_agg), float(k))
        if k.shape != (n_agg, n_agg):
            raise InputError(
                "switching_cost_eur_per_mwh", k.shape, f"must be scalar or ({n_agg}, {n_agg})"
            )
        k = k.copy()
        np.fill_diagonal(k, 0.0)
        check_nonnegative("switching_cost_eur_per_mwh", k)
        x0 = (
            np.full(n_agg, 1.0 / n_agg)
            if self.initial_shares is None
            else check_probabilities("initial_shares", self.initial_shares, atol=1e-9)
        )
        if x0.size != n_agg:
            raise InputError("initial_shares", x0.tolist(), f"need {n_agg} shares (us + rivals)")
        check_in_range("alpha", self.alpha, 0.0, 0.999999)
        if self.avg_price_cap_eur_per_mwh is not None:
            cap = float(
                as_finite_array("avg_price_cap_eur_per_mwh", self.avg_price_cap_eur_per_mwh)
            )
            if cap < lo:
                raise InputError(
                    "avg_price_cap_eur_per_mwh", cap, f"below price_min_eur_per_mwh={lo}"
                )
        if self.p_max_mwh is not None:
            check_nonnegative("p_max_mwh", self.p_max_mwh)
        object.__setattr__(self, "k_matrix", k)
        object.__setattr__(self, "x0", x0)

    @property
    def time_index(self) -> pd.DatetimeIndex:
        """Hours of the delivery day."""
        return self.market.time_index

    @property
    def n_aggregators(self) -> int:
        """S + 1 (the aggregator and its rivals)."""
        return int(self.x0.size)

    @property
    def rival_prices(self) -> FArray:
        """Rival prices as an array (Ξ, T, S) [EUR/MWh]."""
        return np.stack([self.rivals.array(q) for q in rival_quantities(self.rivals)], axis=2)

    @property
    def p_max(self) -> float:
        """P^max of eq. (8) [MWh per step]."""
        if self.p_max_mwh is not None:
            return float(self.p_max_mwh)
        return float(self.market.array(DEMAND).max())


def follower_structure(n_agg: int) -> tuple[FArray, list[tuple[int, int]]]:
    """Equality matrix G (A, A²) of eq. (11) and the ordered pairs (a, a') of the Z columns.

    Columns: X_0..X_{A-1}, then Z^{a,a'} for a ≠ a' in row-major order. Row a reads
    ``X_a + Σ_{a'} Z^{a,a'} − Σ_{a'} Z^{a',a} = X^0_a``.
    """
    pairs = [(a, b) for a in range(n_agg) for b in range(n_agg) if a != b]
    g = np.zeros((n_agg, n_agg + len(pairs)))
    g[:, :n_agg] = np.eye(n_agg)
    for j, (a, b) in enumerate(pairs):
        g[a, n_agg + j] += 1.0
        g[b, n_agg + j] -= 1.0
    return g, pairs


def _share_bounds(k: FArray, x0: FArray, pairs: list[tuple[int, int]]) -> FArray:
    """Upper bounds Ȳ on (X, Z) that some optimal owners' response always satisfies.

    The owners' feasible set is a network-flow polytope with supplies X^0 summing to 1, so
    X_a ≤ 1 and, at any vertex, Z^{a,a'} ≤ 1. If K satisfies the triangle inequality
    (K^{b,a'} ≤ K^{b,a} + K^{a,a'}), any flow passing through a can be sent directly at no
    extra cost, so an optimal response exists in which Z^{a,a'} carries only a's own
    customers: Z^{a,a'} ≤ X^0_a (a much tighter big-M).
    """
    n_agg = x0.size
    triangle = bool(np.all(k[:, None, :] <= k[:, :, None] + k[None, :, :] + 1e-12))
    z = np.array([x0[a] if triangle else 1.0 for a, _ in pairs])
    return np.concatenate([np.ones(n_agg), z])


@dataclass(frozen=True)
class PriceCandidates:
    """Breakpoints of the EV owners' response and the share range at each (evagg addition).

    Attributes
    ----------
    prices
        Candidate offered prices (T, C) [EUR/MWh] (rows padded by repeating λ_max).
    share_min, share_max
        Range of the aggregator's share X_0 over the owners' optimal responses at each
        candidate, (T, C, Ξ).
    width
        (T, C) [EUR/MWh]: 0 for a breakpoint candidate; for an interval candidate (only
        with ``intervals=True``) the length of the interval [prices, prices + width]
        between two neighbouring breakpoints, over which the response is the one at the
        interval's interior (share_min = share_max).
    """

    prices: FArray
    share_min: FArray
    share_max: FArray
    width: FArray


def switching_distances(k: FArray) -> FArray:
    """Shortest-path switching cost between aggregators (Floyd–Warshall on K) [EUR/MWh]."""
    dist = np.array(k, dtype=float, copy=True)
    np.fill_diagonal(dist, 0.0)
    for m in range(dist.shape[0]):
        dist = np.minimum(dist, dist[:, m : m + 1] + dist[m : m + 1, :])
    return dist


def price_candidates(
    inputs: BiddingInputs, tol: float = 1e-9, *, intervals: bool = False
) -> PriceCandidates:
    """Prices at which the owners' response (10)–(15) can change, with the share range.

    The owners' problem is an uncapacitated min-cost flow: the customers of aggregator a go
    to an aggregator b minimising ``λ_b + dist(a, b)`` (dist: shortest switching path). So
    customers of a choose the aggregator (index 0) iff ``λ^ch + dist(a, 0) ≤ m_a`` with
    ``m_a = min_{b≥1} λ_b + dist(a, b)``, and the response changes only at the breakpoints
    ``m_a − dist(a, 0)``. Between breakpoints the share is constant and the revenue
    λ^ch·E^D·X_0 increases with λ^ch, and at the right end of an interval the optimal
    responses include the interval's; hence, without an average-price cap, an optimal
    offered price exists among {breakpoints in [λ_min, λ_max]} ∪ {λ_max}. At a candidate,
    X_0 ranges over ``[Σ_a X^0_a 1(strictly cheapest), Σ_a X^0_a 1(among cheapest)]``
    (optimistic bilevel: the leader picks within it).

    With ``intervals=True`` the closed intervals between neighbouring edges
    {λ_min, breakpoints, λ_max} are added as candidates of positive ``width``: inside one,
    the response is unique and constant, so the price is a continuous variable there and
    the revenue λ^ch·X_0 stays linear (X_0 a constant of the interval). At an interval's
    ends the interior response is one of the owners' optimal responses, so every
    (price, response) pair the interval candidate allows is bilevel feasible; together
    with the breakpoints this covers every price in [λ_min, λ_max] with every optimal
    response: exact with the average-price cap, where optimal prices may lie between
    breakpoints.
    """
    rival = inputs.rival_prices  # (Ξ, T, S)
    n_t = rival.shape[1]
    dist = switching_distances(inputs.k_matrix)
    # m[ξ, t, a] = min_b>=1 rival_b + dist(a, b)
    m = np.min(rival[:, :, None, :] + dist[None, None, :, 1:], axis=3)
    bp = m - dist[None, None, :, 0]  # (Ξ, T, A)
    lo, hi = inputs.price_min_eur_per_mwh, inputs.price_max_eur_per_mwh
    rows, widths = [], []
    for t in range(n_t):
        c = bp[:, t, :].ravel()
        c = np.unique(np.round(c[(c >= lo) & (c <= hi)], 9))
        points = np.unique(np.r_[c, hi])
        start, width = points, np.zeros(points.size)
        if intervals:
            edges = np.unique(np.r_[lo, points])
            start = np.r_[points, edges[:-1]]
            width = np.r_[width, np.diff(edges)]
        rows.append(start)
        widths.append(width)
    n_c = max(r.size for r in rows)
    prices = np.array([np.r_[r, np.full(n_c - r.size, hi)] for r in rows])  # (T, C)
    width = np.array([np.r_[w, np.zeros(n_c - w.size)] for w in widths])  # (T, C)
    smin, smax = _share_range(prices + width / 2, m, dist, inputs.x0, tol)
    return PriceCandidates(prices=prices, share_min=smin, share_max=smax, width=width)


def _share_range(
    prices: FArray, m: FArray, dist: FArray, x0: FArray, tol: float
) -> tuple[FArray, FArray]:
    """Least and largest optimal share X_0 of the owners at offered ``prices`` (T, C), given
    ``m`` (Ξ, T, A) of :func:`price_candidates`; both (T, C, Ξ)."""
    scale = tol * np.maximum(1.0, np.abs(m))
    lhs = prices[None, :, :, None] + dist[None, None, None, :, 0]  # (1, T, C, A)
    mm = m[:, :, None, :]  # (Ξ, T, 1, A)
    ss = scale[:, :, None, :]
    smax = ((lhs <= mm + ss) * x0).sum(axis=3)  # (Ξ, T, C)
    smin = ((lhs < mm - ss) * x0).sum(axis=3)
    return smin.transpose(1, 2, 0), smax.transpose(1, 2, 0)


def _enumeration(enum: PriceCandidates, v: FArray) -> tuple[Any, ...]:
    """Offered price, shares, revenue per MWh of demand and constraints of the enumeration
    formulation: one binary per (hour, candidate); at a breakpoint the share X_0 (per ξ)
    lies in the owners' range, on an interval candidate the price is continuous,
    ``price = start·δ + w`` with ``0 ≤ w ≤ width·δ``, and the share is the interval's
    constant, so the revenue ``Σ_c start_c x_c + s_c w_c`` is linear."""
    n_t, n_c = enum.prices.shape
    n_xi = enum.share_min.shape[2]
    delta = cp.Variable(n_t * n_c, boolean=True, name="price_choice")
    x = cp.Variable((n_t * n_c, n_xi), nonneg=True, name="share_by_candidate")
    cand = enum.prices.ravel()
    xmin = enum.share_min.reshape(n_t * n_c, n_xi)
    xmax = enum.share_max.reshape(n_t * n_c, n_xi)
    d_col = cp.reshape(delta, (n_t * n_c, 1), order="C") @ np.ones((1, n_xi))
    pick = np.kron(np.eye(n_t), np.ones((1, n_c)))  # (T, T*C): sum over candidates
    s_c = x @ v  # expected share per (t, c)
    cons = [pick @ delta == 1, x >= cp.multiply(xmin, d_col), x <= cp.multiply(xmax, d_col)]
    price: Any = pick @ cp.multiply(cand, delta)
    rev_t: Any = pick @ cp.multiply(cand, s_c)
    rev_c: Any = cp.multiply(np.repeat(cand[:, None], n_xi, axis=1), x)  # (T*C, Ξ)
    width = enum.width.ravel()
    if width.any():
        w = cp.Variable(n_t * n_c, nonneg=True, name="price_within_interval")
        cons.append(w <= cp.multiply(width, delta))
        price = price + pick @ w
        # on an interval x = s·δ with s = share_min = share_max; s·w is its extra revenue
        w_col = cp.reshape(w, (n_t * n_c, 1), order="C") @ np.ones((1, n_xi))
        extra = cp.multiply(np.where(width[:, None] > 0, xmin, 0.0), w_col)  # (T*C, Ξ)
        rev_c = rev_c + extra
        rev_t = rev_t + pick @ (extra @ v)
    return price, pick @ s_c, pick @ x, rev_t, pick @ rev_c, cons


_SKIPPED_HEURISTICS = ("rins", "rens", "root_reduced_cost", "zi_round", "shifting")

FORMULATIONS = ("auto", "kkt", "enumeration")


def choose_formulation(inputs: BiddingInputs, formulation: str = "auto") -> str:
    """The exact formulation to build: ``"auto"`` is ``"enumeration"`` (exact for every
    input: with an average-price cap it adds the price intervals between breakpoints,
    :func:`price_candidates`); ``"kkt"`` and ``"enumeration"`` are returned as given."""
    if formulation not in FORMULATIONS:
        raise InputError("formulation", formulation, f"must be one of {FORMULATIONS}")
    del inputs  # every input has an exact enumeration formulation
    return "enumeration" if formulation == "auto" else formulation


@dataclass
class BiddingModel:
    """The single-level MILP and handles to its variables (built by :func:`build_bidding`).

    ``beta`` is a :class:`cvxpy.Parameter`; set ``beta.value`` (or pass ``beta`` to
    :func:`solve`) to re-solve the same model for another risk weight.
    """

    inputs: BiddingInputs
    problem: cp.Problem
    beta: cp.Parameter
    price: cp.Expression
    e_da: cp.Variable
    e_pos: cp.Variable
    e_neg: cp.Variable
    e_ch: cp.Expression
    profit: cp.Expression
    cvar: cp.Expression
    zeta: cp.Variable
    share_by_xi: cp.Expression
    scenario_index: pd.Index
    scenario_p: FArray
    kkt: KKTReformulation | None
    enum: PriceCandidates | None
    formulation: str
    rival_recourse: bool
    build_time_s: float


def build_bidding(
    inputs: BiddingInputs,
    beta: float = 0.0,
    formulation: str = "auto",
    *,
    rival_recourse: bool = False,
) -> BiddingModel:
    """Build the single-level MILP of seed 002 (module docstring: eqs. 2–32).

    Parameters
    ----------
    inputs
        Validated :class:`BiddingInputs`.
    beta
        Initial risk weight β ≥ 0 (a ``cp.Parameter``; change it and re-solve).
    formulation
        ``"auto"`` (default): ``"enumeration"``, exact for every input; the choice is
        recorded in ``BiddingModel.formulation`` and ``BiddingResult.formulation``.
        ``"kkt"``: the seed's reformulation (16)–(32) through
        :func:`evagg.optim.bilevel.kkt_reformulate`. ``"enumeration"``: evagg's exact
        alternative (:func:`price_candidates`): the offered price is chosen among the
        breakpoints of the owners' response, one binary per (hour, candidate); no big-M;
        with the average-price cap the intervals between breakpoints are added (a
        continuous price inside one). Both give the same optimum (tests); enumeration is
        10–250× faster (``benchmarks/bench_bidding.py``).
    rival_recourse
        ``False`` (seed eq. 6): the aggregator supplies ``E^D Σ_ξ v_ξ X_0(ξ)``, i.e. the
        rivals' uncertainty enters only through the expected share. ``True`` (evagg
        extension): scenarios are the pairs (ω, ξ) with probability p_ω v_ξ and the
        balancing recourse is per pair, ``E^ch_{tωξ} = E^D_{tω} X_{0,tξ}``, so the risk of
        winning or losing the customers is priced into the DA purchase and the CVaR.

    Returns
    -------
    BiddingModel
    """
    t0 = time.perf_counter()
    check_nonnegative("beta", beta)
    formulation = choose_formulation(inputs, formulation)
    mk = inputs.market
    n_t = len(inputs.time_index)
    n_om = mk.n_scenarios
    n_xi = inputs.rivals.n_scenarios
    n_agg = inputs.n_aggregators
    rival = inputs.rival_prices  # (Ξ, T, S)
    lam_da, lam_pos, lam_neg = (mk.array(q) for q in (DA_PRICE, POS_PRICE, NEG_PRICE))
    demand = mk.array(DEMAND)  # (Ω, T)
    v = inputs.rivals.p

    n_sc = n_om * n_xi if rival_recourse else n_om
    e_da = cp.Variable(n_t, nonneg=True, name="e_da_mwh")
    e_pos = cp.Variable((n_sc, n_t), nonneg=True, name="e_pos_mwh")
    e_neg = cp.Variable((n_sc, n_t), nonneg=True, name="e_neg_mwh")
    beta_p = cp.Parameter(nonneg=True, value=float(beta), name="beta")
    lo, hi = inputs.price_min_eur_per_mwh, inputs.price_max_eur_per_mwh
    kkt: KKTReformulation | None = None
    enum: PriceCandidates | None = None
    lower_cons: list[cp.Constraint] = []
    if formulation == "kkt":
        price: Any = cp.Variable(n_t, name="offered_price_eur_per_mwh")
        # Followers k = t * Ξ + ξ; variables X_0..X_{A-1}, Z^{a,a'}.
        g, pairs = follower_structure(n_agg)
        n_var = g.shape[1]
        n_fol = n_t * n_xi
        c_const = np.zeros((n_fol, n_var))
        c_const[:, 1:n_agg] = rival.transpose(1, 0, 2).reshape(n_fol, n_agg - 1)
        c_const[:, n_agg:] = np.array([inputs.k_matrix[a, b] for a, b in pairs])[None, :]
        rep = np.kron(np.eye(n_t), np.ones((n_xi, 1)))  # (N, T): follower k -> hour t
        e0 = np.zeros((1, n_var))
        e0[0, 0] = 1.0
        cost = cp.reshape(rep @ price, (n_fol, 1), order="C") @ e0 + c_const
        cost_lo, cost_hi = c_const.copy(), c_const.copy()
        cost_lo[:, 0], cost_hi[:, 0] = lo, hi
        lower = LowerLevelLP(
            name="ev_owners",
            cost=cost,
            cost_lo=cost_lo,
            cost_hi=cost_hi,
            y_upper=np.tile(_share_bounds(inputs.k_matrix, inputs.x0, pairs), (n_fol, 1)),
            G=g,
            h=np.tile(inputs.x0, (n_fol, 1)),
        )
        kkt = kkt_reformulate(lower)
        y = kkt.y
        # Strong duality (20)-(21): lambda^ch X_0 = dual objective - other cost terms.
        other = cp.sum(cp.multiply(c_const[:, 1:], y[:, 1:]), axis=1)
        rev_unit = kkt.dual_objective - other  # (N,) EUR per MWh of regional demand
        rev_xi = cp.reshape(rev_unit, (n_t, n_xi), order="C")  # (T, Xi)
        rev_t = rev_xi @ v  # (T,)
        share_xi = cp.reshape(y[:, 0], (n_t, n_xi), order="C")  # X_0 per (t, xi)
        share_t = share_xi @ v  # (T,) expected X_0
        lower_cons = [price >= lo, price <= hi, *kkt.constraints]
    elif formulation == "enumeration":
        enum = price_candidates(inputs, intervals=inputs.avg_price_cap_eur_per_mwh is not None)
        price, share_t, share_xi, rev_t, rev_xi, lower_cons = _enumeration(enum, v)
    else:
        raise InputError("formulation", formulation, "must be 'auto', 'kkt' or 'enumeration'")
    if rival_recourse:
        # Scenario (omega, xi), omega-major: the owners' choice is realised before the
        # balancing recourse, so the aggregator balances the actual share, not its mean.
        sel = np.tile(np.eye(n_xi), (n_om, 1))  # (Omega*Xi, Xi)
        dem_r = np.repeat(demand, n_xi, axis=0)
        share_rows: Any = sel @ share_xi.T
        revenue: Any = cp.sum(cp.multiply(dem_r, sel @ rev_xi.T), axis=1)
        lam_da, lam_pos, lam_neg = (np.repeat(a, n_xi, axis=0) for a in (lam_da, lam_pos, lam_neg))
        probs = np.kron(mk.p, v).astype(float)
        labels = pd.Index(
            [f"{w}|{xi}" for w in mk.scenarios for xi in inputs.rivals.scenarios], name="scenario"
        )
    else:
        dem_r = demand
        share_rows = np.ones((n_om, 1)) @ cp.reshape(share_t, (1, n_t), order="C")
        revenue = demand @ rev_t
        probs = mk.p
        labels = pd.Index(mk.scenarios, name="scenario")
    ones_sc = np.ones((n_sc, 1))
    e_ch = cp.multiply(dem_r, share_rows)  # (6)
    profit = (
        revenue
        - lam_da @ e_da
        - cp.sum(cp.multiply(lam_pos, e_pos), axis=1)
        + cp.sum(cp.multiply(lam_neg, e_neg), axis=1)
    )
    cvar, cvar_cons, zeta, _eta = cvar_constraints(profit, probs, inputs.alpha)
    cons: list[cp.Constraint] = [
        e_ch == ones_sc @ cp.reshape(e_da, (1, n_t), order="C") + e_pos - e_neg,  # (3)
        e_pos <= inputs.p_max,  # (8)
        e_neg <= e_ch,  # (9)
        *cvar_cons,
        *lower_cons,
    ]
    if inputs.avg_price_cap_eur_per_mwh is not None:
        cons.append(cp.sum(price) / n_t <= float(inputs.avg_price_cap_eur_per_mwh))
    objective = cp.Maximize(probs @ profit + beta_p * cvar)
    problem = cp.Problem(objective, cons)
    return BiddingModel(
        inputs=inputs,
        problem=problem,
        beta=beta_p,
        price=price,
        e_da=e_da,
        e_pos=e_pos,
        e_neg=e_neg,
        e_ch=e_ch,
        profit=profit,
        cvar=cvar,
        zeta=zeta,
        share_by_xi=share_xi,
        scenario_index=labels,
        scenario_p=np.asarray(probs, dtype=np.float64),
        kkt=kkt,
        enum=enum,
        formulation=formulation,
        rival_recourse=rival_recourse,
        build_time_s=time.perf_counter() - t0,
    )


@dataclass(frozen=True)
class BiddingDecision:
    """Here-and-now decision: DA purchase [MWh] and offered price [EUR/MWh] per hour."""

    da_mwh: pd.Series
    price_eur_per_mwh: pd.Series

    def __post_init__(self) -> None:
        check_same_index(
            ["da_mwh.index", "price_eur_per_mwh.index"],
            [self.da_mwh.index, self.price_eur_per_mwh.index],
        )
        check_nonnegative("da_mwh", self.da_mwh.to_numpy())
        as_finite_array("price_eur_per_mwh", self.price_eur_per_mwh.to_numpy())


@dataclass(frozen=True)
class BiddingResult:
    """Solution of the bidding MILP at one β, verified.

    Attributes
    ----------
    beta, alpha
        Risk weight and CVaR confidence level.
    decision
        :class:`BiddingDecision` (here-and-now).
    expected_profit
        Σ p_ω π_ω [EUR].
    cvar
        CVaR_α of scenario profit from the model [EUR]; checked against
        :func:`evagg.optim.cvar_of_samples`.
    scenario_profit
        π_ω per market scenario [EUR].
    e_pos_mwh, e_neg_mwh, e_ch_mwh
        Balancing energies and the supplied demand, time × scenario [MWh].
    shares
        X_a per (time, rival scenario ξ), columns ``aggregator`` and ``rival{k}``.
    expected_share
        Σ_ξ v_ξ X_{0,tξ} per hour (the aggregator's expected share).
    rival_probability
        v_ξ of the rival scenarios.
    certificate
        :class:`EquilibriumCertificate` of the EV owners' problems.
    binding_bigm
        Big-M constraints active at the solution.
    solve_info
        Solver status and times; ``build_time_s`` is the model build time.
    formulation
        The exact formulation that ran (``"kkt"`` or ``"enumeration"``).
    rival_recourse
        Whether the balancing recourse is per rival outcome (evagg extension).
    """

    beta: float
    alpha: float
    decision: BiddingDecision
    expected_profit: float
    cvar: float
    scenario_profit: pd.Series
    scenario_probability: pd.Series
    e_pos_mwh: pd.DataFrame
    e_neg_mwh: pd.DataFrame
    e_ch_mwh: pd.DataFrame
    shares: pd.DataFrame
    expected_share: pd.Series
    rival_probability: pd.Series
    certificate: EquilibriumCertificate
    binding_bigm: pd.DataFrame
    solve_info: SolveInfo
    build_time_s: float
    formulation: str = "kkt"
    rival_recourse: bool = False

    @property
    def expected_shares(self) -> pd.DataFrame:
        """Σ_ξ v_ξ X_a per hour for every aggregator (time × aggregator)."""
        xi = self.shares.index.get_level_values("rival_scenario")
        w = self.rival_probability.reindex(xi).to_numpy()
        return self.shares.mul(w, axis=0).groupby(level="time").sum()

    @property
    def expected_energy_mwh(self) -> dict[str, float]:
        """Σ_t Σ_ω p_ω E for DA, +B and −B (seed Table 1) [MWh]."""
        p = self.scenario_probability.to_numpy()
        return {
            "da_mwh": float(self.decision.da_mwh.sum()),
            "pos_bal_mwh": float(self.e_pos_mwh.to_numpy().sum(axis=0) @ p),
            "neg_bal_mwh": float(self.e_neg_mwh.to_numpy().sum(axis=0) @ p),
        }

    def summary(self) -> dict[str, Any]:
        """Flat record for tables / JSON."""
        return {
            "beta": self.beta,
            "status": self.solve_info.status,
            "formulation": self.formulation,
            "expected_profit_eur": self.expected_profit,
            "cvar_eur": self.cvar,
            **{f"expected_{k}": v for k, v in self.expected_energy_mwh.items()},
            "max_certificate_gap": self.certificate.max_gap,
            "n_binding_bigm": len(self.binding_bigm),
            "build_time_s": self.build_time_s,
            "solve_time_s": self.solve_info.solve_time_s,
        }


def solve(
    model: BiddingModel,
    beta: float | None = None,
    *,
    solver: str | None = None,
    mip_rel_gap: float = 1e-6,
    time_limit_s: float | None = None,
    certificate_tol: float = 1e-6,
    warm_start: bool = True,
    **solver_options: Any,
) -> BiddingResult:
    """Solve the bidding MILP (HiGHS by default), verify it and return a result.

    Re-solving the same model for another β (a ``cp.Parameter``: CVXPY re-uses the
    compiled problem) starts HiGHS from the previous solution when ``warm_start`` (it is
    feasible for every β, only the objective changes), so a β sweep costs little more
    than its first solve.

    Verification on every solve: the equilibrium certificate (each EV-owner LP re-solved
    exactly with the prices fixed, relative gap ≤ ``certificate_tol`` else
    :class:`~evagg.errors.VerificationError`), the model's CVaR against the direct CVaR of
    the scenario profits, and the report of binding big-M constraints.

    Raises
    ------
    InfeasibleError
        Naming the family to blame (``"average price cap"``, ``"positive balancing limit (8)"``)
        when it can be diagnosed.
    VerificationError
        If a certificate or the CVaR check fails.
    """
    if beta is not None:
        model.beta.value = float(check_nonnegative("beta", beta))
    inp = model.inputs
    opts: dict[str, Any] = dict(solver_options)
    chosen = (solver or "HIGHS").upper()
    if chosen == "HIGHS":
        opts.setdefault("mip_rel_gap", mip_rel_gap)
        opts.setdefault("mip_feasibility_tolerance", 1e-9)
        opts.setdefault("primal_feasibility_tolerance", 1e-9)
        opts.setdefault("dual_feasibility_tolerance", 1e-9)
        if time_limit_s is not None:
            opts.setdefault("time_limit", float(time_limit_s))
        if model.formulation == "enumeration":
            # The LP relaxation of the enumeration MILP is tight; HiGHS's sub-MIP and
            # rounding heuristics took most of the time on the recourse models (CPU of a
            # 42-scenario β = 1 model 3.7 s -> 1.1 s, 2024-03-12; same optima, measured in
            # docs/bidding.md "Speed").
            for h in _SKIPPED_HEURISTICS:
                opts.setdefault(f"mip_heuristic_run_{h}", False)
    if warm_start:
        opts.setdefault("warm_start", True)
    try:
        info = solve_cvxpy(model.problem, name="bidding", kind="milp", solver=chosen, **opts)
    except InfeasibleError as exc:
        raise InfeasibleError("bidding", exc.status, _blame(inp)) from None
    price_v = np.asarray(model.price.value, dtype=float)
    share_xi = np.asarray(model.share_by_xi.value, dtype=float)  # (T, Xi)
    if model.kkt is not None:
        cert = model.kkt.certificate(certificate_tol)
        binding = model.kkt.binding_bigm()
        y = np.asarray(model.kkt.y.value, dtype=float)
    else:
        cert, y = _response_certificate(inp, price_v, share_xi, certificate_tol)
        binding = pd.DataFrame(columns=["family", "follower", "index", "value", "bound"])
    idx = inp.time_index
    om = model.scenario_index
    profit = np.asarray(model.profit.value, dtype=float)
    p = model.scenario_p
    cvar_model = float(np.asarray(model.cvar.value, dtype=float))
    cvar_direct = cvar_of_samples(profit, p, inp.alpha)
    beta_v = float(np.asarray(model.beta.value, dtype=float))
    scale = max(1.0, abs(cvar_direct))
    # With beta > 0 the model's CVaR is the optimum of the inner max; with beta = 0 zeta
    # is free, so only the direct value is meaningful.
    if beta_v > 0 and abs(cvar_model - cvar_direct) > 1e-5 * scale:
        raise VerificationError(
            "bidding: CVaR term vs direct CVaR of scenario profits",
            abs(cvar_model - cvar_direct) / scale,
            1e-5,
            f"model {cvar_model:.6f}, direct {cvar_direct:.6f}",
        )
    n_t, n_xi, n_agg = len(idx), inp.rivals.n_scenarios, inp.n_aggregators
    cols = ["aggregator"] + [f"rival{k}" for k in range(1, n_agg)]
    mi = pd.MultiIndex.from_product([idx, inp.rivals.scenarios], names=["time", "rival_scenario"])
    shares = pd.DataFrame(y[:, :n_agg], index=mi, columns=cols)
    exp_share = pd.Series(
        share_xi.reshape(n_t, n_xi) @ inp.rivals.p, index=idx, name="expected_share"
    )
    decision = BiddingDecision(
        da_mwh=pd.Series(
            np.maximum(np.asarray(model.e_da.value, dtype=float), 0.0), index=idx, name="da_mwh"
        ),
        price_eur_per_mwh=pd.Series(price_v, index=idx, name="price_eur_per_mwh"),
    )

    def frame(arr: Any) -> pd.DataFrame:
        return pd.DataFrame(np.asarray(arr, dtype=float).T, index=idx, columns=om)

    return BiddingResult(
        beta=beta_v,
        alpha=inp.alpha,
        decision=decision,
        expected_profit=float(p @ profit),
        cvar=cvar_direct,
        scenario_profit=pd.Series(profit, index=om, name="profit_eur"),
        scenario_probability=pd.Series(p, index=om, name="probability"),
        e_pos_mwh=frame(model.e_pos.value),
        e_neg_mwh=frame(model.e_neg.value),
        e_ch_mwh=frame(model.e_ch.value),
        shares=shares,
        expected_share=exp_share,
        rival_probability=inp.rivals.probabilities,
        certificate=cert,
        binding_bigm=binding,
        solve_info=info,
        build_time_s=model.build_time_s,
        formulation=model.formulation,
        rival_recourse=model.rival_recourse,
    )


def _response_certificate(
    inp: BiddingInputs, price: FArray, share_xi: FArray, tol: float
) -> tuple[EquilibriumCertificate, FArray]:
    """Certificate for the enumeration formulation: owners' cost with X_0 fixed at the
    model's value vs their free optimum (exact LPs), relative gap per (t, ξ)."""
    n_t, n_xi = share_xi.shape
    n_agg = inp.n_aggregators
    g, pairs = follower_structure(n_agg)
    n_fol = n_t * n_xi
    c = np.zeros((n_fol, g.shape[1]))
    c[:, 0] = np.repeat(price, n_xi)
    c[:, 1:n_agg] = inp.rival_prices.transpose(1, 0, 2).reshape(n_fol, n_agg - 1)
    c[:, n_agg:] = np.array([inp.k_matrix[a, b] for a, b in pairs])[None, :]
    h = np.tile(inp.x0, (n_fol, 1))
    free = LowerLevelLP("ev_owners", c, c, c, np.ones_like(c), G=g, h=h)
    _, opt = solve_followers(free, c)
    e0 = np.zeros((1, g.shape[1]))
    e0[0, 0] = 1.0
    x = np.clip(share_xi.reshape(n_fol, 1), 0.0, 1.0)
    fixed = LowerLevelLP(
        "ev_owners_fixed_share",
        c,
        c,
        c,
        np.ones_like(c),
        G=np.vstack([g, e0]),
        h=np.hstack([h, x]),
    )
    y, val = solve_followers(fixed, c)
    gaps = np.abs(val - opt) / np.maximum(1.0, np.abs(opt))
    cert = EquilibriumCertificate(
        gaps=gaps,
        optimal_values=opt,
        milp_values=val,
        primal_residual=float(np.abs(share_xi.reshape(-1) - x.ravel()).max()),
        tolerance=tol,
    )
    if not cert.holds:
        k = int(np.argmax(gaps))
        raise VerificationError(
            "bidding (enumeration): equilibrium certificate",
            cert.max_gap,
            tol,
            f"owners at (hour {k // n_xi}, rival scenario {k % n_xi}): cost {val[k]:.9g} with "
            f"the model's share vs optimum {opt[k]:.9g}",
        )
    return cert, y


def _blame(inp: BiddingInputs) -> str | None:
    """Cheap diagnosis of infeasibility: which optional family makes the model infeasible."""
    if inp.avg_price_cap_eur_per_mwh is not None and (
        inp.avg_price_cap_eur_per_mwh < inp.price_min_eur_per_mwh
    ):
        return "average price cap"
    demand = inp.market.array(DEMAND)
    if inp.p_max_mwh is not None and float(demand.max()) > inp.p_max_mwh:
        return "positive balancing limit (8) with the DA purchase (7) fixed across scenarios"
    return None
