"""Tests of the seed 002 bidding model: certificates, brute force, CVaR, out-of-sample, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from evagg.bidding import (
    DA_PRICE,
    DEMAND,
    NEG_PRICE,
    POS_PRICE,
    BiddingDecision,
    BiddingInputs,
    build_bidding,
    evaluate_bidding,
    evaluate_fixed_decision,
    follower_shares,
    price_candidates,
    solve,
)
from evagg.bidding.model import follower_structure
from evagg.errors import EvaggError, InfeasibleError, InputError, MisalignedIndexError
from evagg.optim import brute_force_leader, cvar_of_samples
from evagg.scenarios import ScenarioSet

TZ = "Europe/Amsterdam"


def _instance(
    n_t: int = 3,
    n_om: int = 3,
    n_xi: int = 2,
    n_riv: int = 2,
    seed: int = 0,
    k: float = 0.0,
    rival_override: np.ndarray | None = None,
) -> BiddingInputs:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-03-01", periods=n_t, freq="1h", tz=TZ)
    cols = [f"w{i}" for i in range(n_om)]
    da = 40 + 30 * rng.random((n_t, n_om))
    pos = da + 20 * rng.random((n_t, n_om))
    neg = da - 20 * rng.random((n_t, n_om))
    dem = 5 + 3 * rng.random((n_t, n_om))
    market = ScenarioSet.equiprobable(
        {
            DA_PRICE: pd.DataFrame(da, idx, cols),
            POS_PRICE: pd.DataFrame(pos, idx, cols),
            NEG_PRICE: pd.DataFrame(neg, idx, cols),
            DEMAND: pd.DataFrame(dem, idx, cols),
        }
    )
    xc = [f"x{i}" for i in range(n_xi)]
    prices = (
        rival_override
        if rival_override is not None
        else np.round(70 + 40 * rng.random((n_riv, n_t, n_xi)))
    )
    v = np.linspace(1.0, 2.0, n_xi)
    rivals = ScenarioSet(
        {
            f"rival{r + 1}_price_eur_per_mwh": pd.DataFrame(prices[r], idx, xc)
            for r in range(prices.shape[0])
        },
        pd.Series(v / v.sum(), index=xc, name="probability"),
    )
    return BiddingInputs(market, rivals, 0.0, 150.0, switching_cost_eur_per_mwh=k)


def _grid(inp: BiddingInputs, k: float, step: float = 25.0) -> list[np.ndarray]:
    """Candidate prices per hour: every breakpoint of the owners' response (rival ± K)
    plus a uniform grid, within the price bounds."""
    riv = inp.rival_prices
    grids = []
    for t in range(riv.shape[1]):
        base = np.unique(riv[:, t, :])
        cand = np.unique(np.r_[base, base + k, base - k, np.arange(0.0, 150.0 + 1e-9, step)])
        grids.append(cand[(cand >= 0.0) & (cand <= 150.0)])
    return grids


@pytest.mark.parametrize("k", [0.0, 6.0])
def test_milp_matches_brute_force_and_certificate(k: float) -> None:
    inp = _instance(n_t=2, seed=3, k=k)
    beta = 2.0
    res = solve(build_bidding(inp, beta=beta))
    assert res.certificate.max_gap <= 1e-6
    assert res.certificate.holds
    bf = brute_force_leader(_grid(inp, k), lambda x: evaluate_fixed_decision(inp, x, beta))
    # The MILP optimum equals the best fixed-price value found by exhaustive enumeration.
    assert res.solve_info.objective == pytest.approx(bf.best_value, rel=1e-6, abs=1e-4)
    # ...and re-evaluating the MILP's own prices exactly gives its objective back.
    own = evaluate_fixed_decision(inp, res.decision.price_eur_per_mwh.to_numpy(), beta)
    assert own == pytest.approx(res.solve_info.objective, rel=1e-6, abs=1e-4)


def test_price_tie_between_rivals_brute_force() -> None:
    # Two rivals quote the same 80 EUR/MWh in every hour and scenario: a three-way tie when
    # the aggregator matches it. Optimistic bilevel: owners side with the aggregator.
    tie = np.full((2, 2, 2), 80.0)
    inp = _instance(n_t=2, seed=5, rival_override=tie)
    res = solve(build_bidding(inp, beta=1.0))
    assert res.decision.price_eur_per_mwh.to_numpy() == pytest.approx([80.0, 80.0], abs=1e-6)
    assert res.expected_share.to_numpy() == pytest.approx([1.0, 1.0], abs=1e-6)
    bf = brute_force_leader(_grid(inp, 0.0), lambda x: evaluate_fixed_decision(inp, x, 1.0))
    assert res.solve_info.objective == pytest.approx(bf.best_value, rel=1e-6, abs=1e-4)
    assert bf.best_x == pytest.approx([80.0, 80.0])


def test_cvar_term_equals_worst_tail_mean() -> None:
    # The model's own CVaR term zeta - sum(p eta)/(1 - alpha) (not the direct recomputation
    # that solve() reports as res.cvar) against the tail mean computed by hand.
    inp = _instance(n_t=3, n_om=20, seed=1)
    model = build_bidding(inp, beta=5.0)
    res = solve(model)
    prof = np.sort(res.scenario_profit.to_numpy())
    # 20 equiprobable scenarios, alpha = 0.95: the worst 5 % mass is the single worst one.
    assert float(model.cvar.value) == pytest.approx(prof[0], rel=1e-7)
    assert res.cvar == pytest.approx(prof[0], rel=1e-9)
    # 30 equiprobable scenarios: the 5 % tail is 1.5 scenarios, so the atom at the VaR is
    # split: CVaR = (worst + 0.5 * second worst) / 1.5 and zeta = the second worst.
    inp = _instance(n_t=3, n_om=30, seed=1)
    model = build_bidding(inp, beta=5.0)
    res = solve(model)
    prof = np.sort(res.scenario_profit.to_numpy())
    assert float(model.cvar.value) == pytest.approx((prof[0] + 0.5 * prof[1]) / 1.5, rel=1e-7)
    assert float(model.zeta.value) == pytest.approx(prof[1], rel=1e-7)
    assert res.cvar == pytest.approx(cvar_of_samples(prof, np.full(30, 1 / 30), 0.95))


def test_beta_trades_expected_profit_for_cvar_on_one_model() -> None:
    inp = _instance(n_t=4, n_om=12, seed=7)
    model = build_bidding(inp)
    results = [solve(model, beta=b) for b in (0.0, 1.0, 10.0, 100.0)]
    e = [r.expected_profit for r in results]
    c = [r.cvar for r in results]
    # Weighted-sum theory: E[profit] is non-increasing and CVaR non-decreasing in beta.
    assert all(e1 >= e2 - 1e-4 for e1, e2 in itertools.pairwise(e))
    assert all(c1 <= c2 + 1e-4 for c1, c2 in itertools.pairwise(c))
    assert all(r.certificate.holds for r in results)


def test_follower_shares_switching_cost_hand_case() -> None:
    # Aggregator 0 at 85, rival at 80, K = 6: own customers (X0 = 0.5) stay because
    # 85 <= 80 + 6; nobody switches to us. At 73 the rival's customers come (73 + 6 <= 80).
    k = np.array([[0.0, 6.0], [6.0, 0.0]])
    x0 = np.array([0.5, 0.5])
    riv = np.full((1, 2, 1), 80.0)
    x = follower_shares(np.array([85.0, 73.0]), riv, k, x0)
    assert x[0, :, 0] == pytest.approx([0.5, 1.0])


def test_follower_shares_rejects_bad_shares_and_switching_costs() -> None:
    # Initial shares must be a probability vector of S + 1 entries and K an (S+1, S+1)
    # non-negative matrix; otherwise the owners' LP gives meaningless shares (e.g. 0.9 and
    # 1.0 for X^0 = (0.9, 0.9)) or a raw scipy error.
    riv = np.full((1, 2, 1), 80.0)
    k = np.array([[0.0, 6.0], [6.0, 0.0]])
    lam = np.array([85.0, 73.0])
    for bad in ([0.9, 0.9], [1.2, -0.2], [0.5, 0.25, 0.25]):
        with pytest.raises(InputError, match="initial_shares"):
            follower_shares(lam, riv, k, bad)
    for bad_k in (np.zeros((3, 3)), np.array([[0.0, -6.0], [6.0, 0.0]])):
        with pytest.raises(InputError, match="switching_cost"):
            follower_shares(lam, riv, bad_k, [0.5, 0.5])


def test_evaluate_bidding_hand_calculation() -> None:
    idx = pd.date_range("2024-03-02", periods=2, freq="1h", tz=TZ)
    one = ["r"]
    realised = ScenarioSet.equiprobable(
        {
            DA_PRICE: pd.DataFrame([[50.0], [60.0]], idx, one),
            POS_PRICE: pd.DataFrame([[70.0], [90.0]], idx, one),
            NEG_PRICE: pd.DataFrame([[30.0], [40.0]], idx, one),
            DEMAND: pd.DataFrame([[10.0], [8.0]], idx, one),
            "rival1_price_eur_per_mwh": pd.DataFrame([[100.0], [100.0]], idx, one),
        }
    )
    dec = BiddingDecision(
        da_mwh=pd.Series([12.0, 5.0], index=idx),
        price_eur_per_mwh=pd.Series([95.0, 120.0], index=idx),
    )
    prof = evaluate_bidding(dec, realised)
    # Hour 1: we win (95 < 100): E_ch = 10, long 2 MWh sold at 30:
    #   950 - 12*50 + 2*30 = 410.
    # Hour 2: rival wins (120 > 100): E_ch = 0, long 5 MWh: 0 - 5*60 + 5*40 = -100.
    assert float(prof.iloc[0]) == pytest.approx(310.0)
    other_day = realised.time_index + pd.Timedelta(days=1)
    bad = BiddingDecision(
        da_mwh=pd.Series([12.0, 5.0], index=other_day),
        price_eur_per_mwh=pd.Series([95.0, 120.0], index=other_day),
    )
    with pytest.raises(MisalignedIndexError):
        evaluate_bidding(bad, realised)


def test_bad_inputs_raise_clear_errors() -> None:
    inp = _instance()
    mk, rv = inp.market, inp.rivals
    with pytest.raises(InputError, match="sum to"):
        ScenarioSet(dict(mk.data), pd.Series([0.5, 0.3, 0.1], index=mk.scenarios))
    neg = {q: f.copy() for q, f in mk.data.items()}
    neg[DEMAND].iloc[1, 2] = -1.0
    with pytest.raises(InputError, match="negative entry"):
        BiddingInputs(ScenarioSet.equiprobable(neg), rv, 0.0, 150.0)
    with pytest.raises(InputError, match="lower bound exceeds upper bound"):
        BiddingInputs(mk, rv, 200.0, 150.0)
    with pytest.raises(InputError, match="initial_shares"):
        BiddingInputs(mk, rv, 0.0, 150.0, initial_shares=[0.5, 0.2, 0.1])
    crossed = {q: f.copy() for q, f in mk.data.items()}
    crossed[POS_PRICE] = crossed[DA_PRICE] - 1.0
    with pytest.raises(InputError, match="pos_bal >= DA"):
        BiddingInputs(ScenarioSet.equiprobable(crossed), rv, 0.0, 150.0)
    shifted = ScenarioSet(
        {q: f.set_axis(f.index + pd.Timedelta(hours=1)) for q, f in rv.data.items()},
        rv.probabilities,
    )
    with pytest.raises(MisalignedIndexError):
        BiddingInputs(mk, shifted, 0.0, 150.0)
    with pytest.raises(EvaggError):
        build_bidding(inp, beta=-1.0)


@pytest.mark.parametrize(("k", "cap"), [(0.0, None), (6.0, None), (6.0, 60.0)])
def test_enumeration_formulation_matches_kkt(k: float, cap: float | None) -> None:
    # Two exact formulations (KKT big-M of eqs. 23-32 vs price-breakpoint enumeration, with
    # the price intervals when the average-price cap is set) must reach the same optimum on
    # a 5-hour, 3-rival instance too large for brute force.
    inp = _instance(n_t=5, n_om=6, n_xi=3, n_riv=3, seed=11, k=k)
    if cap is not None:
        inp = BiddingInputs(
            inp.market,
            inp.rivals,
            0.0,
            150.0,
            switching_cost_eur_per_mwh=k,
            avg_price_cap_eur_per_mwh=cap,
        )
        free = solve(build_bidding(_instance(n_t=5, n_om=6, n_xi=3, n_riv=3, seed=11, k=k)))
        assert free.decision.price_eur_per_mwh.mean() > cap + 1.0  # the cap binds
    a = solve(build_bidding(inp, beta=2.0, formulation="kkt"))
    b = solve(build_bidding(inp, beta=2.0, formulation="enumeration"))
    assert b.solve_info.objective == pytest.approx(a.solve_info.objective, rel=1e-6, abs=1e-4)
    assert b.certificate.holds
    assert b.binding_bigm.empty


def test_price_candidates_hand_case() -> None:
    # One hour, one rival scenario, rivals at 80 and 90, K = 5, equal initial shares:
    # dist = 5 off the diagonal. Origin 0 (ours): m = min(80+5, 90+5) = 85, breakpoint 85.
    # Origin 1: m = min(80, 90+5) = 80, breakpoint 80 - 5 = 75. Origin 2: m = min(85, 90)
    # = 85, breakpoint 80. Candidates {75, 80, 85} plus the upper bound 150.
    tie = np.array([[[80.0]], [[90.0]]])  # (rival, t, xi)
    inp = _instance(n_t=1, n_xi=1, n_riv=2, k=5.0, rival_override=tie)
    pc = price_candidates(inp)
    assert pc.prices[0] == pytest.approx([75.0, 80.0, 85.0, 150.0])
    third = 1.0 / 3.0
    # At 85 only our own customers stay (tie: 0..1/3); at 80 rival 2's customers tie too.
    assert pc.share_max[0, :, 0] == pytest.approx([1.0, 2 * third, third, 0.0])
    assert pc.share_min[0, :, 0] == pytest.approx([2 * third, third, 0.0, 0.0])
    # With the cap, the intervals between the edges {0, 75, 80, 85, 150} are added, each
    # with the response of its interior (share 1 below 75, 2/3, 1/3, 0 above 85).
    iv = price_candidates(inp, intervals=True)
    is_iv = iv.width[0] > 0
    assert iv.prices[0][is_iv] == pytest.approx([0.0, 75.0, 80.0, 85.0])
    assert iv.width[0][is_iv] == pytest.approx([75.0, 5.0, 5.0, 65.0])
    assert iv.share_min[0, is_iv, 0] == pytest.approx([1.0, 2 * third, third, 0.0])
    assert iv.share_max[0, is_iv, 0] == pytest.approx(iv.share_min[0, is_iv, 0])


def test_rival_recourse_extension() -> None:
    # With one rival scenario, recourse per (omega, xi) is the seed model (same optimum).
    one = _instance(n_t=3, n_om=5, n_xi=1, seed=2)
    a = solve(build_bidding(one, beta=1.0, formulation="enumeration"))
    b = solve(build_bidding(one, beta=1.0, formulation="enumeration", rival_recourse=True))
    assert b.solve_info.objective == pytest.approx(a.solve_info.objective, rel=1e-9)
    # With several, the model has Omega*Xi scenarios; its CVaR is checked in solve() and
    # equals the direct tail mean of the joint scenario profits.
    inp = _instance(n_t=3, n_om=5, n_xi=3, seed=2)
    joint_model = build_bidding(inp, beta=1.0, formulation="kkt", rival_recourse=True)
    r = solve(joint_model)
    assert len(r.scenario_profit) == 15
    assert r.scenario_probability.sum() == pytest.approx(1.0)
    assert float(joint_model.cvar.value) == pytest.approx(
        cvar_of_samples(r.scenario_profit, r.scenario_probability, 0.95), rel=1e-7
    )
    # Balancing the realised share can only cost more than balancing its mean (Jensen on a
    # convex recourse): the seed model's objective is an upper bound.
    seed_model = solve(build_bidding(inp, beta=0.0, formulation="kkt"))
    joint = solve(build_bidding(inp, beta=0.0, formulation="kkt", rival_recourse=True))
    assert joint.solve_info.objective <= seed_model.solve_info.objective + 1e-6


def test_infeasible_model_names_the_constraint_family() -> None:
    # Offered price capped below every rival (the aggregator must serve everyone), no
    # positive balancing (P^max = 0) and demand 1 vs 10 MWh in two scenarios: the DA purchase
    # must cover 10 MWh yet (9) allows selling back at most 1 MWh -> infeasible.
    base = _instance(n_t=1, n_om=2, seed=0)
    data = {q: f.copy() for q, f in base.market.data.items()}
    data[DEMAND].iloc[0, :] = [1.0, 10.0]
    inp = BiddingInputs(ScenarioSet.equiprobable(data), base.rivals, 0.0, 10.0, p_max_mwh=0.0)
    with pytest.raises(InfeasibleError, match="positive balancing limit"):
        solve(build_bidding(inp, beta=1.0))


def test_average_price_cap_against_brute_force() -> None:
    # Both formulations are exact with the cap (enumeration adds the intervals between
    # breakpoints, with a continuous price). Brute-force grid (exact here): with the
    # cap binding, the leader's problem restricted to one interval per hour is an LP whose
    # objective is linear in the prices, so some optimum has every hour but one at a
    # breakpoint (or a bound), and with 2 hours the other one sits at 2 * cap - breakpoint.
    k, cap = 6.0, 72.0
    base = _instance(n_t=2, seed=0, k=k)
    inp = BiddingInputs(
        base.market,
        base.rivals,
        0.0,
        150.0,
        switching_cost_eur_per_mwh=k,
        avg_price_cap_eur_per_mwh=cap,
    )
    res = solve(build_bidding(inp, beta=1.0))
    assert res.formulation == "enumeration"
    kkt = solve(build_bidding(inp, beta=1.0, formulation="kkt"))
    bps = np.unique(np.r_[price_candidates(base).prices.ravel(), 0.0])
    grid = np.unique(np.r_[bps, 2 * cap - bps])
    grid = grid[(grid >= 0.0) & (grid <= 150.0)]

    def value(x: np.ndarray) -> float:
        if x.mean() > cap + 1e-9:
            return float("-inf")
        return evaluate_fixed_decision(inp, x, 1.0)

    bf = brute_force_leader([grid, grid], value)
    assert res.decision.price_eur_per_mwh.mean() <= cap + 1e-6
    # the cap binds: without it the optimal prices average more than 72 EUR/MWh
    free = solve(build_bidding(base, beta=1.0))
    assert free.decision.price_eur_per_mwh.mean() > cap + 1.0
    assert res.solve_info.objective == pytest.approx(bf.best_value, rel=1e-6, abs=1e-4)
    assert kkt.solve_info.objective == pytest.approx(bf.best_value, rel=1e-6, abs=1e-4)
    assert res.certificate.holds


def test_switching_costs_without_triangle_inequality() -> None:
    # K(0, 2) = 30 > K(0, 1) + K(1, 2) = 4: switching through aggregator 1 is cheaper than
    # directly, so the tight bound Z <= X^0 does not apply and the big-M falls back to the
    # vertex bound Z <= 1. KKT and the shortest-path enumeration must still agree.
    base = _instance(n_t=3, n_om=4, seed=1)
    kmat = np.array([[0.0, 2.0, 30.0], [2.0, 0.0, 2.0], [30.0, 2.0, 0.0]])
    inp = BiddingInputs(
        base.market,
        base.rivals,
        0.0,
        150.0,
        switching_cost_eur_per_mwh=kmat,
        initial_shares=[0.2, 0.5, 0.3],
    )
    model = build_bidding(inp, beta=2.0, formulation="kkt")
    a = solve(model)
    b = solve(build_bidding(inp, beta=2.0, formulation="enumeration"))
    assert a.solve_info.objective == pytest.approx(b.solve_info.objective, rel=1e-6, abs=1e-4)
    assert a.certificate.holds and b.certificate.holds
    assert model.kkt is not None
    _, pairs = follower_structure(3)
    assert np.all(model.kkt.bigm.y_upper[:, 3:] == 1.0)
    # Aggregator 2's customers reach us through aggregator 1: Z^{1,0} = 0.5 + 0.3 > X^0_1,
    # which the tight bound Z^{1,0} <= X^0_1 would have cut off.
    z10 = model.kkt.y.value[:, 3 + pairs.index((1, 0))]
    assert z10.max() == pytest.approx(0.8, abs=1e-6)
