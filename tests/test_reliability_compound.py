"""Tests of the compound-Poisson and exact (Poisson-binomial) aggregate distributions.

Reference values:
- compound Poisson with exponential severities: given N = n the sum is Gamma(n, θ), so
  P(S ≥ C) = Σ_n Pois(n; λ)·Gamma_sf(C; n, θ) (closed form, scipy.stats);
- exact model: brute-force enumeration of all 2^n presence patterns;
- Monte Carlo: agreement within 4 standard errors sqrt(R(1 − R)/n_samples).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from evagg.errors import InputError, VerificationError
from evagg.reliability.compound import (
    compound_poisson_fft,
    compound_poisson_panjer,
    discretize,
    monte_carlo_compound_poisson,
    monte_carlo_fleet,
)
from evagg.reliability.exact import poisson_binomial_sum

LAM, THETA = 5.0, 2.0
BIDS = np.array([1.0, 5.0, 10.0, 15.0, 20.0, 30.0])


def _reference() -> np.ndarray:
    n = np.arange(1, 200)
    w = stats.poisson(LAM).pmf(n)
    return np.array([(w * stats.gamma(n, scale=THETA).sf(c)).sum() for c in BIDS])


def _exponential_lattice(h: float) -> tuple[np.ndarray, int]:
    # cell masses of Exp(θ) on [kh, (k+1)h), placed at the cell's conditional mean
    edges = np.arange(0.0, 15 * THETA, h)
    ex = stats.expon(scale=THETA)
    mass = ex.cdf(edges + h) - ex.cdf(edges)
    cm = ex.expect(lambda x: x, lb=0, ub=h, conditional=True)
    return discretize(edges + cm, mass, h)


@pytest.mark.parametrize("div", [100, 1000])
def test_fft_matches_gamma_closed_form(div: int) -> None:
    f, lo = _exponential_lattice(THETA / div)
    dist = compound_poisson_fft(LAM, f, THETA / div, sev_lo=lo)
    np.testing.assert_allclose(dist.sf(BIDS), _reference(), atol=1e-4)
    assert dist.mean() == pytest.approx(LAM * THETA, rel=1e-4)


def test_panjer_matches_gamma_closed_form_and_fft() -> None:
    h = THETA / 100
    f, lo = _exponential_lattice(h)
    f0 = np.concatenate([np.zeros(lo), f])
    pj = compound_poisson_panjer(LAM, f0, h)
    np.testing.assert_allclose(pj.sf(BIDS), _reference(), atol=1e-4)
    ff = compound_poisson_fft(LAM, f, h, sev_lo=lo)
    np.testing.assert_allclose(pj.sf(BIDS), ff.sf(BIDS), atol=1e-10)


def test_too_narrow_window_fails_verification() -> None:
    f, lo = _exponential_lattice(THETA / 100)
    with pytest.raises(VerificationError, match="mean"):
        compound_poisson_fft(LAM, f, THETA / 100, sev_lo=lo, m=256)  # aliasing


def test_truncated_panjer_fails_verification() -> None:
    # λ = 5, mean 10: 40 points of h = 0.2 stop at 8 kWh, below the mean (hand reasoning)
    f, lo = _exponential_lattice(THETA / 10)
    f0 = np.concatenate([np.zeros(lo), f])
    with pytest.raises(VerificationError, match="Panjer"):
        compound_poisson_panjer(LAM, f0, THETA / 10, n_points=40)


def test_panjer_refuses_underflow() -> None:
    with pytest.raises(InputError, match="Panjer"):
        compound_poisson_panjer(5000.0, [0.0, 1.0], 1.0)


def test_exact_matches_brute_force_enumeration() -> None:
    p = np.array([0.3, 0.5, 0.9, 1.0, 0.2, 0.65, 0.0])
    v = np.array([1.0, 2.0, 3.0, 4.0, 2.0, 5.0, 7.0])
    dist = poisson_binomial_sum(p, v, 1.0)
    for c in range(0, 20):
        ref = 0.0
        for bits in itertools.product([0, 1], repeat=p.size):
            b = np.array(bits)
            if (b * v).sum() >= c:
                ref += np.prod(np.where(b == 1, p, 1 - p))
        assert dist.sf_lattice(c) == pytest.approx(ref, abs=1e-12)
    assert dist.mean() == pytest.approx(float((p * v).sum()), abs=1e-12)


def test_vehicles_surely_present_give_a_deterministic_offer() -> None:
    # p = 1 for every vehicle (raw frequencies, always plugged in): S = 10 + 20 = 30 kWh
    # surely, so R(30) = 1, R(30.1) = 0 and the bid at 0.95 is 30 (hand calculation)
    dist = poisson_binomial_sum([1.0, 1.0, 0.0], [10.0, 20.0, 5.0], 0.1)
    np.testing.assert_allclose(dist.sf([0.0, 29.9, 30.0, 30.1]), [1.0, 1.0, 1.0, 0.0])
    assert dist.quantile_bid(0.95) == pytest.approx(30.0)


def test_zero_bid_is_always_met() -> None:
    # λ = 0.01: nobody present with probability e^{−0.01} ≈ 0.99, an atom at 0 that the
    # mid-point rule used to halve (R(0) ≈ 0.505); P(S ≥ 0) = 1 since S ≥ 0
    f, lo = discretize([10.0, 20.0], None, 0.5)
    dist = compound_poisson_fft(0.01, f, 0.5, sev_lo=lo)
    assert dist.sf(0.0) == 1.0
    assert dist.sf(5.0) == pytest.approx(1 - np.exp(-0.01), rel=1e-6)


def test_exact_mean_shift_for_off_lattice_values() -> None:
    p = np.full(40, 0.6)
    v = np.linspace(10.3, 30.7, 40)
    dist = poisson_binomial_sum(p, v, 1.0)
    assert dist.mean() == pytest.approx(float((p * v).sum()), rel=1e-12)


def test_monte_carlo_agrees_with_exact_and_compound() -> None:
    rng = np.random.default_rng(11)
    p = rng.uniform(0.2, 0.95, 60)
    v = rng.uniform(15, 45, 60)
    n = 200_000
    exact = poisson_binomial_sum(p, v, 0.05)
    mc = monte_carlo_fleet(p, v, n, seed=1)
    mu = float((p * v).sum())
    sd = float(np.sqrt((p * (1 - p) * v**2).sum()))
    bids = mu + sd * np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    r = exact.sf(bids)
    se = np.sqrt(r * (1 - r) / n)
    assert np.all(np.abs((mc[:, None] >= bids).mean(axis=0) - r) <= 4 * se + 1e-4)
    lam = float(p.sum())
    f, lo = discretize(v, p, 0.05)
    cp = compound_poisson_fft(lam, f, 0.05, sev_lo=lo)
    mc2 = monte_carlo_compound_poisson(lam, v, p, n, seed=2)
    r2 = cp.sf(bids)
    se2 = np.sqrt(r2 * (1 - r2) / n)
    assert np.all(np.abs((mc2[:, None] >= bids).mean(axis=0) - r2) <= 4 * se2 + 1e-4)
    # the Poisson model spreads more than the exact one (Var = Σ p v² > Σ p(1−p) v²)
    assert cp.std() > exact.std()


def test_same_seed_same_monte_carlo() -> None:
    a = monte_carlo_fleet([0.5, 0.4], [1.0, 2.0], 100, seed=3)
    b = monte_carlo_fleet([0.5, 0.4], [1.0, 2.0], 100, seed=3)
    np.testing.assert_array_equal(a, b)


def test_bad_inputs_rejected() -> None:
    with pytest.raises(InputError, match="p"):
        poisson_binomial_sum([1.2], [1.0], 1.0)
    with pytest.raises(InputError, match="v"):
        poisson_binomial_sum([0.5], [-1.0], 1.0)
    with pytest.raises(InputError, match="lam"):
        compound_poisson_fft(-1.0, [1.0], 1.0)
    with pytest.raises(InputError, match="values"):
        discretize([np.nan], None, 1.0)
