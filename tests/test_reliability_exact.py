"""Exact offer distribution: random per-vehicle energies, safe bids, speed path.

Reference values: brute-force enumeration of every presence pattern (and energy atom) of
small fleets with real-valued energies (the exact step function ``P(S ≥ C)``), and
Monte Carlo of a larger fleet (agreement within 4 standard errors).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from evagg.errors import InputError
from evagg.reliability import monte_carlo_fleet
from evagg.reliability.exact import poisson_binomial_batch, poisson_binomial_sum


def _enumerate(p: np.ndarray, atoms: list[list[float]], probs: list[list[float]]) -> tuple:
    """All outcomes (sum, probability) of independent vehicles: absent or one atom."""
    choices = [
        [(0.0, 1 - pi)] + [(a, pi * q) for a, q in zip(at, pr, strict=True)]
        for pi, at, pr in zip(p, atoms, probs, strict=True)
    ]
    sums, probs_out = [], []
    for combo in itertools.product(*choices):
        sums.append(sum(c[0] for c in combo))
        probs_out.append(float(np.prod([c[1] for c in combo])))
    return np.array(sums), np.array(probs_out)


def _exact_sf(sums: np.ndarray, w: np.ndarray, c: np.ndarray) -> np.ndarray:
    order = np.argsort(sums)
    s, tail = sums[order], np.cumsum(w[order][::-1])[::-1]
    k = np.searchsorted(s, np.asarray(c) - 1e-12)
    return np.where(k < s.size, tail[np.minimum(k, s.size - 1)], 0.0)


def _exact_bid(sums: np.ndarray, w: np.ndarray, target: float) -> float:
    cand = np.unique(sums)
    ok = cand[_exact_sf(sums, w, cand) >= target]
    return float(ok.max())


def test_random_energy_matches_enumeration() -> None:
    # 7 vehicles, three with a random V2G energy (2–3 atoms), p = ½ included (direct path)
    p = np.array([0.3, 0.5, 0.9, 0.7, 0.2, 0.55, 0.5])
    atoms = [[4.0], [2.0, 6.0], [3.0], [1.0, 5.0, 9.0], [2.0], [5.0], [3.0, 4.0]]
    probs = [[1.0], [0.5, 0.5], [1.0], [0.2, 0.5, 0.3], [1.0], [1.0], [0.9, 0.1]]
    k = max(len(a) for a in atoms)
    v = np.array([a + [a[-1]] * (k - len(a)) for a in atoms])
    q = np.array([pr + [0.0] * (k - len(pr)) for pr in probs])
    dist = poisson_binomial_sum(p, v, 1.0, q=q)
    sums, w = _enumerate(p, atoms, probs)
    c = np.arange(0.0, 40.0)
    np.testing.assert_allclose(dist.sf_lattice(c), _exact_sf(sums, w, c), atol=1e-12)
    assert dist.mean() == pytest.approx(float((sums * w).sum()), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_safe_bid_has_true_reliability_at_least_target(seed: int) -> None:
    # 14 vehicles with real-valued energies (no common lattice): the exact reliability is a
    # step function over 2^14 subset sums. The safe bid must reach 0.95 exactly, and the
    # exact largest bid must lie within the stated rounding error above it.
    rng = np.random.default_rng(seed)
    p = rng.choice([0.5 / 21, 5.5 / 21, 10.5 / 21, 15.5 / 21, 20.5 / 21], 14)
    v = rng.uniform(15.0, 45.0, 14)
    dist = poisson_binomial_sum(p, v)
    bits = (np.arange(2**14)[:, None] >> np.arange(14)) & 1  # every presence pattern
    sums = bits @ v
    w = np.prod(np.where(bits == 1, p, 1 - p), axis=1)
    for target in (0.5, 0.84, 0.95):
        bid, upper = dist.bid_bounds(target)
        assert _exact_sf(sums, w, np.array([bid]))[0] >= target
        exact = _exact_bid(sums, w, target)
        assert bid <= exact + 1e-9 <= upper + 2e-9
        assert upper - bid < 0.02 * float((p * v).sum())  # the stated error is small
    lo, hi = dist.sf_bounds(np.linspace(0.0, v.sum(), 60))
    ref = _exact_sf(sums, w, np.linspace(0.0, v.sum(), 60))
    assert np.all(lo <= ref + 1e-9) and np.all(ref <= hi + 1e-9)


def test_batch_matches_monte_carlo_on_a_large_fleet() -> None:
    rng = np.random.default_rng(5)
    n = 1000
    p = rng.choice(np.arange(21) / 20, size=(2, n))  # includes 0, ½ and 1
    v = rng.uniform(5.0, 50.0, size=(2, n))
    dists = poisson_binomial_batch(p, v)
    samples = 40_000
    for t, d in enumerate(dists):
        mc = monte_carlo_fleet(p[t], v[t], samples, seed=t)
        b = d.mean() + d.std() * np.array([-2.0, -1.0, 0.0, 1.0])
        r = d.sf(b)
        se = np.sqrt(r * (1 - r) / samples)
        assert np.all(np.abs((mc[:, None] >= b).mean(axis=0) - r) <= 4 * se + 1e-3)
        bid, upper = d.bid_bounds(0.95)
        assert (mc >= bid).mean() >= 0.95 - 4 * np.sqrt(0.95 * 0.05 / samples)
        assert upper - bid < 0.1 * d.std()  # rounding error stated and small


def test_random_energy_vs_monte_carlo() -> None:
    rng = np.random.default_rng(8)
    n = 40
    p = rng.uniform(0.1, 0.9, n)
    v = np.sort(rng.uniform(5.0, 40.0, (n, 3)), axis=1)
    q = rng.dirichlet(np.ones(3), n)
    d = poisson_binomial_sum(p, v, q=q)
    samples = 50_000
    present = rng.random((samples, n)) < p
    cum = q.cumsum(axis=1)
    atom = (rng.random((samples, n, 1)) > cum[None]).sum(axis=2)
    s = (present * np.take_along_axis(v[None].repeat(samples, 0), atom[..., None], 2)[..., 0]).sum(
        axis=1
    )
    b = d.mean() + d.std() * np.array([-1.5, 0.0, 1.5])
    r = d.sf(b)
    se = np.sqrt(r * (1 - r) / samples)
    assert np.all(np.abs((s[:, None] >= b).mean(axis=0) - r) <= 4 * se + 1e-3)


def test_bad_random_energy_inputs() -> None:
    with pytest.raises(InputError, match="q"):
        poisson_binomial_sum([0.5], [[1.0, 2.0]], q=[[0.5, 0.6]])
    with pytest.raises(InputError, match="q"):
        poisson_binomial_batch([[0.5]], [[[1.0, 2.0]]])
    with pytest.raises(InputError, match="h"):
        poisson_binomial_sum([0.5], [1.0], h=-1.0)
