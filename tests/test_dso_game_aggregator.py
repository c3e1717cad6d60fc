"""Aggregator best response (seed 000 eqs. 14–21): exactness, exclusivity, bad inputs."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest

from evagg.dso_game.aggregator import (
    AggregatorSpec,
    BestResponseModel,
    demand_slopes,
    elasticity_matrix,
)
from evagg.errors import EvaggError

DT = 1.0
C_REF = 300.0


def _brute_force(spec, eps, dlmp, d0, phi, buy, sell, fee_bounds=None, ties=()) -> float:
    """Enumerate every (u, z) ∈ {0,1}^{2T}; for each, the concave QP written afresh here
    (fee per slot within ``fee_bounds`` (lo, hi) (T,) if given, else §5.3's; ``ties``:
    pairs of slots sharing one fee)."""
    t = dlmp.size
    a = demand_slopes(eps, d0, C_REF)
    r, s_max, m = spec.storage_kw / 1e3, spec.storage_kwh / 1e3, spec.m_mw
    w = d0 / d0.sum()
    best = -np.inf
    for bits in itertools.product((0.0, 1.0), repeat=2 * t):
        u, z = np.array(bits[:t]), np.array(bits[t:])
        fee = cp.Variable(t)
        c = dlmp + cp.multiply(phi, fee)
        ec, eb, es, rc, rd = (cp.Variable(t, nonneg=True) for _ in range(5))
        soc = cp.Variable(t + 1)
        dem = d0 + a @ (c - C_REF)
        # C·D(C) = c·d0 + cᵀ a (c − C_REF): concave because sym(a) ⪯ 0
        rev = c @ d0 + cp.quad_form(c, (a + a.T) / 2, assume_PSD=False) - C_REF * cp.sum(a.T @ c)
        obj = DT * (
            rev
            + sell @ es
            - dlmp @ ec
            - buy @ eb
            - spec.wear_eur_per_mwh * cp.sum(rc + rd)
            - spec.wear_quad_eur_per_mw2h * (cp.sum_squares(rc) + cp.sum_squares(rd))
        )
        cons = [
            c >= spec.price_min_eur_per_mwh,
            c <= spec.price_max_eur_per_mwh,
            fee >= (spec.fee_min_eur_per_mwh if fee_bounds is None else fee_bounds[0]),
            fee <= (spec.fee_max_eur_per_mwh if fee_bounds is None else fee_bounds[1]),
            *[fee[i] == fee[j] for i, j in ties],
            w @ c <= spec.price_avg_cap_eur_per_mwh,
            dem >= 0,
            dem + rc - rd + es == ec + eb,
            eb <= m * z,
            es <= rd,
            es <= r * (1 - z),
            soc[1:] == soc[:-1] + DT * (spec.eta_ch * rc - rd / spec.eta_dis),
            soc >= 0,
            soc <= s_max,
            soc[0] == 0.5 * s_max,
            soc[t] >= soc[0],
            rc <= r * u,
            rd <= r * (1 - u),
        ]
        prob = cp.Problem(cp.Maximize(obj), cons)
        prob.solve(solver="CLARABEL")
        if prob.status == "optimal":
            best = max(best, prob.value)
    return best


CASES = {
    # positive prices: the root relaxation is already exclusive
    "positive": (np.array([40.0, 120.0, 60.0]), np.array([0.3, 0.1, 0.2]), 200.0, 5.0),
    # negative DLMPs everywhere, a small store without wear cost: the relaxation burns
    # energy in storage (charge and discharge at once); only branching restores exclusivity
    "negative": (np.array([-80.0, -60.0, -90.0]), np.array([0.2, 0.25, 0.1]), 20.0, 0.0),
}


def _spec(case: str) -> AggregatorSpec:
    _, _, e_kwh, wear = CASES[case]
    return AggregatorSpec(
        bus=1,
        storage_kwh=e_kwh,
        storage_kw=100.0,
        price_min_eur_per_mwh=-100.0,
        wear_eur_per_mwh=wear,
    )


@pytest.mark.parametrize("max_nodes", [100, 0])
@pytest.mark.parametrize("case", sorted(CASES))
def test_best_response_equals_brute_force(case: str, max_nodes: int) -> None:
    """Own branch and bound (node limit 100) and SCIP (node limit 0: straight to SCIP
    whenever the root relaxation is not exclusive) against enumeration."""
    dlmp, d0, _, _ = CASES[case]
    spec = _spec(case)
    eps = elasticity_matrix(3, own=-0.4, cross=0.1)
    phi = np.array([1.0, 0.8, 0.9])
    buy, sell = dlmp + 30.0, dlmp - 30.0
    m = BestResponseModel(spec, eps, C_REF, DT, slots_per_block=1)
    m.set_data(dlmp, d0, phi, buy, sell)
    br = m.solve(max_nodes=max_nodes)
    ref = _brute_force(spec, eps, dlmp, d0, phi, buy, sell)
    assert br.profit_eur == pytest.approx(ref, rel=1e-6, abs=1e-6)
    assert br.gap_rel <= 1e-6
    assert m.feasible(br)
    assert m.profit_of(br) == pytest.approx(br.profit_eur, rel=1e-7, abs=1e-6)


def test_storage_never_charges_and_discharges_at_once() -> None:
    dlmp, d0, _, _ = CASES["negative"]
    spec = _spec("negative")
    m = BestResponseModel(spec, elasticity_matrix(3, -0.4, 0.1), C_REF, DT, slots_per_block=1)
    m.set_data(dlmp, d0, np.ones(3), dlmp + 30.0, dlmp - 30.0)
    zeros, ones = np.zeros(3), np.ones(3)
    m._relax((zeros, ones, zeros, ones))  # the relaxation alone would burn energy
    assert np.minimum(m.r_c.value, m.r_d.value).max() > 1e-3
    br = m.solve()
    assert br.nodes > 1
    assert np.minimum(br.charge_mw, br.discharge_mw).max() <= 1e-6
    assert np.minimum(br.rt_buy_mw, br.rt_sell_mw).max() <= 1e-6


def test_big_m_is_the_sum_of_charging_powers() -> None:
    spec = AggregatorSpec(bus=1, n_piles=10, pile_kw=22.0, storage_kw=250.0)
    assert spec.m_mw == pytest.approx((10 * 22.0 + 250.0) / 1e3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"price_min_eur_per_mwh": 500.0, "price_max_eur_per_mwh": 100.0}, "price_min_eur_per_mwh"),
        ({"price_avg_cap_eur_per_mwh": 900.0}, "price_avg_cap_eur_per_mwh"),
        ({"storage_kwh": -1.0}, "storage_kwh"),
        ({"storage_kw": -5.0}, "storage_kw"),
    ],
)
def test_bad_specs_raise_naming_field(kwargs: dict, field: str) -> None:
    with pytest.raises(EvaggError, match=field):
        AggregatorSpec(bus=1, **kwargs)


def test_elasticity_making_demand_negative_is_rejected() -> None:
    spec = AggregatorSpec(bus=1)  # prices 0..600 around C_ref = 300
    # own −2: at C = 600 the demand factor is 1 − 2·(300/300) = −1
    with pytest.raises(EvaggError, match=r"elasticity\[0\]"):
        BestResponseModel(spec, elasticity_matrix(4, own=-2.0, cross=0.0), C_REF, DT)
    # cross terms dominating own ones: revenue not concave
    with pytest.raises(EvaggError, match="elasticity"):
        BestResponseModel(spec, elasticity_matrix(4, own=-0.1, cross=0.5), C_REF, DT)
    with pytest.raises(EvaggError, match="rt_sell_price"):
        m = BestResponseModel(spec, elasticity_matrix(2), C_REF, DT)
        m.set_data([50, 50], [0.1, 0.1], [1, 1], [60, 60], [70, 40])


@pytest.mark.parametrize("case", sorted(CASES))
def test_proximal_best_response_fixed_point_is_the_plain_best_response(case: str) -> None:
    """max π(x) − (Δt/2) Σ ρ (x − x̂)²: anchored at the plain best response's net load it
    returns that decision (the term and its gradient vanish there); anchored elsewhere
    its profit (14), reported without the term, is no better than the plain optimum."""
    dlmp, d0, _, _ = CASES[case]
    m = BestResponseModel(_spec(case), elasticity_matrix(3, -0.4, 0.1), C_REF, DT)
    m.set_data(dlmp, d0, np.array([1.0, 0.8, 0.9]), dlmp + 30.0, dlmp - 30.0)
    plain = m.solve()
    rho = np.full(3, 5e3)  # EUR/(MW²·h): a steep voltage-limited DLMP slope
    m.set_proximal(rho, plain.net_load_mw)
    fixed = m.solve()
    assert fixed.profit_eur == pytest.approx(plain.profit_eur, rel=1e-6, abs=1e-6)
    assert np.abs(fixed.net_load_mw - plain.net_load_mw).max() <= 1e-5
    m.set_proximal(rho, plain.net_load_mw + 0.05)
    pulled = m.solve()
    assert pulled.profit_eur <= plain.profit_eur + 1e-6
    assert m.profit_of(pulled) == pytest.approx(pulled.profit_eur, rel=1e-7, abs=1e-6)
    # moved towards the anchor, not onto it
    assert 0 < (pulled.net_load_mw - plain.net_load_mw).mean() < 0.05
    with pytest.raises(EvaggError, match="rho_eur_per_mw2h"):
        m.set_proximal(-rho, plain.net_load_mw)


def test_a_fee_period_spanning_more_than_the_price_band_is_split() -> None:
    """Fee periods of 2 slots; the first one's DLMPs span 690 EUR/MWh > C_max − C_min =
    600, so no single fee keeps both prices in [C_min, C_max]: that period's fee is
    posted per slot (slot 1 gets a discount down to 600 − 740 = −140 EUR/MWh), the
    second period keeps one fee, and the best response equals brute force over all
    2⁸ binary patterns of that structure (bounds written out by hand)."""
    spec = AggregatorSpec(bus=1, storage_kwh=100.0, storage_kw=100.0)
    eps = elasticity_matrix(4, own=-0.4, cross=0.1)
    m = BestResponseModel(spec, eps, C_REF, DT, slots_per_block=2)
    dlmp = np.array([50.0, 740.0, 60.0, 65.0])
    d0, phi = np.array([0.3, 0.1, 0.2, 0.25]), np.ones(4)
    m.set_data(dlmp, d0, phi, dlmp + 30.0, dlmp - 30.0)
    br = m.solve()
    assert br.split_fee_periods == 1
    assert br.fee_yield_periods == 1  # slot 1's fee below e_min (its λ alone is > C_max − e_min)
    assert m.feasible(br)
    p = br.price_eur_per_mwh
    assert p.min() >= spec.price_min_eur_per_mwh - 1e-6
    assert p.max() <= spec.price_max_eur_per_mwh + 1e-6
    fee = br.fee_coef_eur_per_mwh
    assert fee[2] == pytest.approx(fee[3], abs=1e-9) and fee[1] <= -140.0 + 1e-6
    lo, hi = np.array([50.0, -140.0, 50.0, 50.0]), np.full(4, 400.0)
    ref = _brute_force(spec, eps, dlmp, d0, phi, dlmp + 30.0, dlmp - 30.0, (lo, hi), [(2, 3)])
    assert br.profit_eur == pytest.approx(ref, rel=1e-6, abs=1e-6)
    # the same model on ordinary DLMPs: one fee per period again
    flat = np.array([50.0, 60.0, 40.0, 65.0])
    m.set_data(flat, d0, phi, flat + 30.0, flat - 30.0)
    ordinary = m.solve()
    assert ordinary.split_fee_periods == 0 and not ordinary.avg_cap_yielded
    assert ordinary.fee_yield_periods == 0
    f = ordinary.fee_coef_eur_per_mwh
    assert f[0] == f[1] and f[2] == f[3]
    assert m.feasible(ordinary) and not m.feasible(br)


def test_average_cap_yield_is_recorded() -> None:
    """DLMPs alone above C_av (a congested day): the cap (16) yields, and says so."""
    spec = AggregatorSpec(bus=1)  # C_av 350, C_max 600
    m = BestResponseModel(spec, elasticity_matrix(4), C_REF, DT)
    dlmp = np.full(4, 400.0)
    m.set_data(dlmp, np.full(4, 0.1), np.ones(4), dlmp + 30.0, dlmp - 30.0)
    assert m.average_cap(dlmp, np.ones(4)) > spec.price_avg_cap_eur_per_mwh
    br = m.solve()
    assert br.avg_cap_yielded and br.split_fee_periods == 0
    assert m.feasible(br)


@pytest.mark.parametrize("case", sorted(CASES))
def test_zero_proximal_weight_is_exactly_the_plain_best_response(case: str) -> None:
    """ρ = 0 with any anchor (also right after a ρ > 0 solve) is the plain problem, bit
    for bit."""
    dlmp, d0, _, _ = CASES[case]
    m = BestResponseModel(_spec(case), elasticity_matrix(3, -0.4, 0.1), C_REF, DT)
    m.set_data(dlmp, d0, np.array([1.0, 0.8, 0.9]), dlmp + 30.0, dlmp - 30.0)
    # a Problem's first solve goes through CVXPY's uncached compile and may differ from
    # the later ones in the last bit (measured: 3e-14 EUR); compare later solves only
    m.solve()
    plain = m.solve()
    m.set_proximal(np.full(3, 5e3), plain.net_load_mw + 0.05)
    assert m.solve().regularised
    m.set_proximal(np.zeros(3), np.array([7.0, -3.0, 1e3]))
    zero = m.solve()
    assert not zero.regularised and zero.proximal_eur == 0.0
    assert zero.profit_eur == plain.profit_eur
    assert zero.bound_eur == plain.bound_eur
    for name in (
        "price_eur_per_mwh",
        "fee_coef_eur_per_mwh",
        "demand_mw",
        "contract_mw",
        "rt_buy_mw",
        "rt_sell_mw",
        "charge_mw",
        "discharge_mw",
        "soc_mwh",
    ):
        assert np.array_equal(getattr(zero, name), getattr(plain, name)), name


@pytest.mark.parametrize("case", sorted(CASES))
def test_proximal_bound_and_gap_are_the_regularised_problems(case: str) -> None:
    """bound_eur bounds (14) − proximal term (the solved problem), not (14): the gap is
    the regularised B&B gap, finite and ≥ 0; profit_eur stays (14) of the decision."""
    dlmp, d0, _, _ = CASES[case]
    m = BestResponseModel(_spec(case), elasticity_matrix(3, -0.4, 0.1), C_REF, DT)
    m.set_data(dlmp, d0, np.array([1.0, 0.8, 0.9]), dlmp + 30.0, dlmp - 30.0)
    plain = m.solve()
    rho = np.full(3, 5e3)
    anchor = plain.net_load_mw + 0.05
    m.set_proximal(rho, anchor)
    br = m.solve()
    term = 0.5 * DT * float(rho @ (br.net_load_mw - anchor) ** 2)
    assert br.regularised and br.proximal_eur == pytest.approx(term, rel=1e-6, abs=1e-9)
    assert br.proximal_eur > 1e-3  # the anchor is off the plain optimum: the term bites
    assert br.objective_eur == pytest.approx(br.profit_eur - term, rel=1e-7, abs=1e-6)
    assert np.isfinite(br.bound_eur) and np.isfinite(br.gap_rel)
    assert br.gap_rel >= -1e-9 and br.gap_rel <= 1e-6
    # a bound on the regularised optimum: below the plain optimum of (14) by about the
    # term (the old bound + term would sit above the plain optimum's bound)
    assert br.bound_eur <= plain.bound_eur + 1e-6
    assert br.bound_eur == pytest.approx(br.objective_eur, rel=1e-6, abs=1e-6)
    assert plain.gap_rel >= -1e-9 and not plain.regularised


def test_study_config_needs_a_voltage_penalty() -> None:
    """Soft voltage limits with both penalties 0 are no limit at all: rejected by name."""
    from evagg.studies.dso_game import Config

    with pytest.raises(EvaggError, match="voltage_penalty_quad_eur_per_pu4h") as info:
        Config(voltage_penalty_eur_per_pu2h=0.0, voltage_penalty_quad_eur_per_pu4h=0.0)
    assert "voltage_penalty_eur_per_pu2h" in str(info.value)
    assert Config(voltage_penalty_eur_per_pu2h=1e4, voltage_penalty_quad_eur_per_pu4h=0.0)
    assert Config().voltage_penalty_quad_eur_per_pu4h > 0


def test_fee_of_an_hour_without_demand_is_determined_and_continuous() -> None:
    """An hour whose reference demand falls from 5 W to 0.5 W (a user's logit tail) keeps
    its posted fee: before the demand floor and the posted-fee regulariser it jumped by
    140-160 EUR/MWh (from e^max to a posted mean) and the hourly 40-user game cycled.
    Hand reasoning for the value: with positive cross elasticities raising an empty
    hour's fee moves demand to paying hours, so the fee of an empty hour sits at the top
    of its band, e^max = 400 EUR/MWh here."""
    spec = AggregatorSpec(bus=1)
    m = BestResponseModel(spec, elasticity_matrix(4, -0.3, 0.05), C_REF, DT)
    dlmp = np.array([50.0, 60.0, 55.0, 45.0])
    fees = []
    for tail_mw in (5e-6, 1e-6, 5e-7, 0.0):
        m.set_data(dlmp, np.array([0.2, 0.15, tail_mw, 0.1]), np.ones(4), dlmp + 30, dlmp - 30)
        br = m.solve()
        assert m.feasible(br)
        fees.append(br.fee_coef_eur_per_mwh[2])
    assert np.ptp(fees) <= 1.0
    assert fees[-1] == pytest.approx(spec.fee_max_eur_per_mwh, abs=1.0)
    # the regulariser's weight in hours with demand is negligible: (14) moves < 1e-4 EUR
    assert 0.0 <= br.fee_regulariser_eur < 1e-4


def test_an_infeasible_best_response_names_the_conflicting_families() -> None:
    """Demand forced below zero at every admissible price (the demand-at-DLMP parameter
    set to −0.05 MW by hand): the direct checks of (15) and (16) pass, and dropping one
    family at a time names the two that conflict."""
    m = BestResponseModel(AggregatorSpec(bus=1), elasticity_matrix(4), C_REF, DT)
    dlmp = np.array([50.0, 60.0, 70.0, 80.0])
    m.set_data(dlmp, np.full(4, 0.1), np.ones(4), dlmp + 30.0, dlmp - 30.0)
    m.q.value = np.full(4, -0.05)
    with pytest.raises(EvaggError, match="infeasible") as info:
        m.solve()
    assert "'price bounds (15)'" in str(info.value)
    assert "'elastic demand ≥ 0'" in str(info.value)


def test_average_cap_yield_counts_a_fee_raised_by_one_slot_of_its_hour() -> None:
    """2022-08-14: a congested day (cheapest prices above C_av) with one quarter-hour at
    λ = −119 EUR/MWh in an hour near −30. C_min = 0 lifts the hour's one fee to 119, so
    every slot of that hour costs λ_t + 119; the cap must yield to that average, not to
    the per-slot max(C_min, λ_t + e_min) (which left the best response infeasible)."""
    spec = AggregatorSpec(bus=1, price_min_eur_per_mwh=0.0)  # C_av 350, e_min 50
    t = 16
    m = BestResponseModel(spec, elasticity_matrix(t), C_REF, DT, slots_per_block=4)
    dlmp = np.concatenate([[-30.0, -119.0, -31.0, -33.0], np.linspace(500.0, 540.0, 12)])
    d0 = np.full(t, 0.1)
    m.set_data(dlmp, d0, np.ones(t), dlmp + 30.0, dlmp - 30.0)
    # hand calculation: hour 1's fee ≥ max(50, 0 + 119) = 119, the others' ≥ 50; uniform
    # weights w = 1/16 (equal D⁰): 443.9 EUR/MWh (the per-slot rule gave 431.0)
    lowest = (np.sum(dlmp[:4] + 119.0) + np.sum(dlmp[4:] + 50.0)) / t
    per_slot = (np.sum(np.maximum(0.0, dlmp[:4] + 50.0)) + np.sum(dlmp[4:] + 50.0)) / t
    assert lowest > per_slot > spec.price_avg_cap_eur_per_mwh
    assert m.average_cap(dlmp, np.ones(t)) == pytest.approx(lowest)
    br = m.solve()
    assert br.avg_cap_yielded and m.feasible(br)
    assert br.price_eur_per_mwh.min() >= -1e-6
