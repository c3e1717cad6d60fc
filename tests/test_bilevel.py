"""Tests of the generic bilevel tool (evagg.optim.bilevel) on hand-solvable followers."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from evagg.errors import InputError, VerificationError
from evagg.optim import (
    LowerLevelLP,
    brute_force_leader,
    derive_bigm,
    kkt_reformulate,
    solve_cvxpy,
    solve_followers,
)


def _choice_follower(price: cp.Variable, rival: float, extra_sum_row: bool = False) -> LowerLevelLP:
    """One follower buying one unit from the leader (price x) or a rival (fixed price).

    min x y0 + rival y1  s.t.  y0 + y1 = 1, y >= 0.
    """
    cost = cp.reshape(cp.hstack([price, cp.Constant(rival)]), (1, 2), order="C")
    g = np.array([[1.0, 1.0]])
    h = np.array([[1.0]])
    if extra_sum_row:  # the same constraint twice: a lineality in the duals
        g = np.vstack([g, g])
        h = np.array([[1.0, 1.0]])
    return LowerLevelLP(
        name="choice",
        cost=cost,
        cost_lo=np.array([[0.0, rival]]),
        cost_hi=np.array([[100.0, rival]]),
        y_upper=np.ones((1, 2)),  # y <= sum of supply = 1
        G=g,
        h=h,
    )


def test_price_matching_leader_hand_solution() -> None:
    # Hand calculation: the follower buys from the leader iff x <= 40 (tie: optimistic),
    # revenue x*y0 is maximal at x = 40 with revenue 40.
    x = cp.Variable(name="x")
    lower = _choice_follower(x, 40.0)
    kkt = kkt_reformulate(lower)
    revenue = kkt.dual_objective[0] - 40.0 * kkt.y[0, 1]  # strong duality: x*y0 linearised
    prob = cp.Problem(cp.Maximize(revenue), [*kkt.constraints, x >= 0, x <= 100])
    info = solve_cvxpy(prob, name="toy", kind="milp", mip_rel_gap=1e-9)
    assert info.objective == pytest.approx(40.0, abs=1e-6)
    assert float(x.value) == pytest.approx(40.0, abs=1e-6)
    assert float(kkt.y.value[0, 0]) == pytest.approx(1.0, abs=1e-6)
    cert = kkt.certificate()
    assert cert.max_gap <= 1e-6
    # y0 = 1 = its structural bound: reported as a binding big-M.
    binding = kkt.binding_bigm()
    assert ((binding.family == "y_upper") & (binding["index"] == 0)).any()


def test_big_m_derivation_values() -> None:
    # Duals of "min x y0 + 40 y1, y0 + y1 = 1": nu <= min(x, 40) and nu >= L = min(c_lo) = 0,
    # so nu in [0, 40]; reduced cost bound D = c_hi - nu_lo = (100, 40) (hand calculation).
    lower = _choice_follower(cp.Variable(), 40.0)
    bm = derive_bigm(lower)
    assert bm.nu_lo[0, 0] == pytest.approx(0.0, abs=1e-4)
    assert bm.nu_hi[0, 0] == pytest.approx(40.0, rel=1e-5)
    assert bm.dual_slack[0] == pytest.approx([100.0, 40.0], rel=1e-4)
    assert bm.value_lo[0] == pytest.approx(0.0, abs=1e-9)


def test_redundant_constraint_is_refused_not_papered_over() -> None:
    lower = _choice_follower(cp.Variable(), 40.0, extra_sum_row=True)
    with pytest.raises(InputError, match=r"unbounded (below|above) over the optimal duals"):
        derive_bigm(lower)


def test_inequality_follower_against_brute_force() -> None:
    # Follower: min x y0 + 5 y1  s.t.  y0 + y1 >= 2,  -y0 >= -1.5,  y >= 0.
    # Leader maximises x*y0 with x in [0, 10]. Hand: x <= 5 -> y0 = 1.5, revenue 1.5x;
    # x > 5 -> y0 = 0. Optimum x = 5, revenue 7.5.
    x = cp.Variable(name="x")
    a = np.array([[1.0, 1.0], [-1.0, 0.0]])
    b = np.array([[2.0, -1.5]])
    cost = cp.reshape(cp.hstack([x, cp.Constant(5.0)]), (1, 2), order="C")
    lower = LowerLevelLP(
        name="ineq",
        cost=cost,
        cost_lo=np.array([[0.0, 5.0]]),
        cost_hi=np.array([[10.0, 5.0]]),
        y_upper=np.array([[1.5, 2.0]]),  # vertices: y0 <= 1.5 and y1 <= 2
        A=a,
        b=b,
    )
    kkt = kkt_reformulate(lower)
    revenue = kkt.dual_objective[0] - 5.0 * kkt.y[0, 1]
    prob = cp.Problem(cp.Maximize(revenue), [*kkt.constraints, x >= 0, x <= 10])
    info = solve_cvxpy(prob, name="toy", kind="milp", mip_rel_gap=1e-9)
    assert info.objective == pytest.approx(7.5, abs=1e-6)
    kkt.certificate()

    def leader_value(xv: np.ndarray) -> float:
        y, _ = solve_followers(lower, np.array([[xv[0], 5.0]]))
        # Optimistic tie: at x == 5 the follower is indifferent; take the leader's best.
        return float(xv[0] * (1.5 if xv[0] <= 5.0 else y[0, 0]))

    bf = brute_force_leader([np.linspace(0, 10, 41)], leader_value)
    assert bf.best_value == pytest.approx(info.objective, abs=1e-6)
    assert bf.best_x[0] == pytest.approx(5.0)


def test_certificate_detects_non_optimal_follower() -> None:
    x = cp.Variable(name="x")
    lower = _choice_follower(x, 40.0)
    kkt = kkt_reformulate(lower)
    prob = cp.Problem(
        cp.Maximize(kkt.dual_objective[0] - 40 * kkt.y[0, 1]), [*kkt.constraints, x <= 100]
    )
    solve_cvxpy(prob, name="toy", kind="milp")
    # Tamper: the leader raises its price after the fact; the follower would now switch.
    x.value = np.array(60.0)
    with pytest.raises(VerificationError, match="equilibrium certificate"):
        kkt.certificate()
    cert = kkt.certificate(raise_on_fail=False)
    # Exact follower optimum is 40 (rival), MILP's y costs 60: gap 20/40 = 0.5.
    assert cert.max_gap == pytest.approx(0.5)


def test_certificate_checks_the_strong_duality_revenue() -> None:
    # The leader's revenue x*y0 enters the objective as the dual objective minus the other
    # cost terms (strong duality). A dual that is not optimal for the follower makes that
    # revenue wrong while y is still optimal: the certificate must catch it too.
    x = cp.Variable(name="x")
    lower = _choice_follower(x, 40.0)
    kkt = kkt_reformulate(lower)
    prob = cp.Problem(
        cp.Maximize(kkt.dual_objective[0] - 40 * kkt.y[0, 1]),
        [*kkt.constraints, x >= 0, x <= 100],
    )
    solve_cvxpy(prob, name="toy", kind="milp")
    cert = kkt.certificate()
    assert cert.max_duality_gap <= 1e-9  # c^T y = b^T mu + h^T nu at the MILP solution
    assert kkt.nu is not None
    kkt.nu.value = kkt.nu.value - 5.0  # tamper: dual objective 35 instead of 40
    with pytest.raises(VerificationError, match="strong duality"):
        kkt.certificate()
    # relative to max(1, |v*|) = 40 (hand calculation): 5 / 40
    assert kkt.certificate(raise_on_fail=False).max_duality_gap == pytest.approx(0.125)


def test_lower_level_validation() -> None:
    with pytest.raises(InputError, match="cost_lo"):
        LowerLevelLP(
            name="bad",
            cost=np.zeros((1, 2)),
            cost_lo=np.array([[5.0, 0.0]]),
            cost_hi=np.array([[1.0, 0.0]]),
            y_upper=np.ones((1, 2)),
        )
    with pytest.raises(InputError, match="max_points"):
        brute_force_leader([np.arange(1000), np.arange(1000)], lambda v: 0.0, max_points=10)


def test_derived_bounds_contain_exact_duals_for_random_prices() -> None:
    # Owners' problem of seed 002 (3 aggregators, K = 4): for random leader prices within
    # [0, 100] the exact optimal duals (HiGHS marginals) must lie inside the derived box and
    # the reduced costs below D; otherwise the big-M could cut off the true response.
    from scipy.optimize import linprog

    from evagg.bidding.model import follower_structure

    g, _ = follower_structure(3)
    n = g.shape[1]
    k = 4.0
    rival = np.array([[60.0, 70.0], [30.0, 90.0], [55.0, 55.0]])  # three followers
    c_lo = np.zeros((3, n))
    c_lo[:, 1:3] = rival
    c_lo[:, 3:] = k
    c_hi = c_lo.copy()
    c_hi[:, 0] = 100.0
    x0 = np.array([0.5, 0.3, 0.2])
    lower = LowerLevelLP(
        name="owners",
        cost=c_lo,
        cost_lo=c_lo,
        cost_hi=c_hi,
        y_upper=np.ones((3, n)),
        G=g,
        h=np.tile(x0, (3, 1)),
    )
    bm = derive_bigm(lower)
    rng = np.random.default_rng(7)
    for _ in range(30):
        for f in range(3):
            c = c_lo[f].copy()
            c[0] = rng.uniform(0.0, 100.0)
            res = linprog(c, A_eq=g, b_eq=x0, bounds=(0, None), method="highs")
            nu = res.eqlin.marginals
            assert np.all(nu >= bm.nu_lo[f] - 1e-7)
            assert np.all(nu <= bm.nu_hi[f] + 1e-7)
            reduced = c - nu @ g
            assert np.all(reduced <= bm.dual_slack[f] + 1e-7)
    # Switching columns: reduced cost K - nu_a + nu_a' lies in [0, 2K] (hand derivation).
    assert bm.dual_slack[:, 3:] == pytest.approx(2 * k, rel=1e-5)


def test_too_small_primal_bound_is_caught_by_brute_force_not_by_certificate() -> None:
    # Pineda & Morales (2019): a big-M that is too small cuts off the leader's optimum while
    # every follower is still optimal. Here the user-supplied bound y0 <= 0.5 (invalid: the
    # vertex y = (1, 0) exists) forbids "buy all from the leader", so the leader can only sell
    # at the tie x = 40 where the split (0.5, 0.5) is optimal: revenue 20 instead of 40 (hand
    # calculation). The certificate holds, the brute force exposes the loss and the binding
    # report names the bound.
    x = cp.Variable(name="x")
    good = _choice_follower(x, 40.0)
    bad = LowerLevelLP(
        name="choice_bad_bound",
        cost=good.cost,
        cost_lo=good.cost_lo,
        cost_hi=good.cost_hi,
        y_upper=np.array([[0.5, 1.0]]),
        G=good.G,
        h=good.h,
    )
    kkt = kkt_reformulate(bad)
    prob = cp.Problem(
        cp.Maximize(kkt.dual_objective[0] - 40.0 * kkt.y[0, 1]),
        [*kkt.constraints, x >= 0, x <= 100],
    )
    info = solve_cvxpy(prob, name="toy", kind="milp", mip_rel_gap=1e-9)
    assert info.objective == pytest.approx(20.0, abs=1e-6)
    assert kkt.certificate().holds  # the followers are optimal: no alarm from here

    def leader_value(xv: np.ndarray) -> float:
        # Followers solved exactly (no big-M); at the tie x = 40 the optimistic response.
        y, _ = solve_followers(good, np.array([[xv[0], 40.0]]))
        return float(xv[0] * (1.0 if xv[0] == 40.0 else y[0, 0]))

    bf = brute_force_leader([np.linspace(0.0, 100.0, 101)], leader_value)
    assert bf.best_value == pytest.approx(40.0)
    assert info.objective < bf.best_value - 1.0
    binding = kkt.binding_bigm()
    assert ((binding.family == "y_upper") & (binding["index"] == 0)).any()
