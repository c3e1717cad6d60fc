"""Distributions of the V2G energy a fleet can deliver in a slot (pure mathematics).

Two models of the aggregate ``S_t`` of slot ``t`` (seed 003 §3, eqs. 1–5):

(a) compound Poisson ``S = Σ_{j ≤ N} V_j`` with ``N ~ Poisson(λ_t)`` and ``V_j`` i.i.d.
    from the severity distribution ``F_t``; computed on a lattice by FFT
    (``G(ω) = exp(λ(φ_V(ω) − 1))``) or by Panjer recursion
    (``g_0 = exp(−λ(1 − f_0))``, ``g_k = λ/k Σ_{j=1}^{k} j f_j g_{k−j}``);
(b) exact: ``S = Σ_i B_i v_i`` with independent ``B_i ~ Bernoulli(p_i)`` (a weighted
    Poisson-binomial sum): ``φ_S(ω) = Π_i (1 − p_i + p_i e^{−iωv_i})``, in
    :mod:`evagg.reliability.exact`.

Both are evaluated on the lattice ``{k·h}`` in a window ``[lo, lo + M)`` that holds all but
a negligible mass (the DFT is taken modulo ``M`` and unwrapped into the window).
Reliability is the survival function ``R(C) = P(S ≥ C)``; between lattice points it is
interpolated linearly (second-order accurate for continuous severities).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evagg._checks import as_finite_array, check_positive_scalar, check_probabilities
from evagg.errors import InputError, VerificationError

__all__ = [
    "LatticeDistribution",
    "auto_grid_kwh",
    "compound_poisson_fft",
    "compound_poisson_panjer",
    "discretize",
    "monte_carlo_compound_poisson",
    "monte_carlo_fleet",
]

FloatArray = npt.NDArray[np.float64]
_BID_EPS = 1e-6  # Hoeffding failure probability spent by a safe bid
_SIGMAS = 12.0  # half-width of the lattice window in standard deviations


@dataclass(frozen=True)
class LatticeDistribution:
    """Distribution of an aggregate on the lattice ``(lo + k)·h``, ``k = 0..M−1``.

    Attributes
    ----------
    pmf
        Probabilities of the lattice points (sum 1 up to the truncated tail).
    lo
        Index of the first lattice point (value ``lo·h`` [kWh]).
    h
        Lattice spacing [kWh].
    offset
        Value added to every lattice point [kWh] (sure vehicles, mean correction).
    dev_lo, dev_hi, dev_ss
        Exact model only: the true offer is ``lattice value + D`` with the rounding
        deviation ``D ∈ [dev_lo, dev_hi]`` and ``P(D < −t) ≤ exp(−2t²/dev_ss)``
        (Hoeffding); ``None`` for approximations (compound Poisson).
    """

    pmf: FloatArray
    lo: int
    h: float
    offset: float = 0.0
    dev_lo: float | None = None
    dev_hi: float | None = None
    dev_ss: float = 0.0

    @property
    def values(self) -> FloatArray:
        """Lattice values [kWh] (``(lo + k)·h + offset``)."""
        return np.asarray((self.lo + np.arange(self.pmf.size)) * self.h + self.offset, float)

    def std(self) -> float:
        """Standard deviation [kWh]."""
        x = self.values
        var = float(self.pmf @ (x - self.mean()) ** 2)
        return float(np.sqrt(max(var, 0.0)))

    def quantile_bid(self, target: float) -> float:
        """Largest bid ``C`` with ``sf(C) ≥ target`` [kWh].

        Exact model (rounding bounds known): the safe bid of :meth:`bid_bounds`, whose
        true reliability is ≥ ``target``. Otherwise the mid-point rule, interpolated.
        """
        if self.dev_lo is not None:
            return self.bid_bounds(target)[0]
        if self.pmf.size == 1:  # deterministic aggregate (every vehicle surely present)
            return float(max(self.values[0], 0.0))
        pmf = np.concatenate([self.pmf, [0.0]])
        tail = np.cumsum(pmf[::-1])[::-1] - 0.5 * pmf
        x = (self.lo + np.arange(tail.size)) * self.h + self.offset
        ok = np.flatnonzero(tail >= target)
        if ok.size == 0:
            return 0.0
        k = int(ok[-1])
        if k + 1 >= tail.size or tail[k] == tail[k + 1]:
            return float(max(x[k], 0.0))
        frac = (tail[k] - target) / (tail[k] - tail[k + 1])
        return float(max(x[k] + frac * self.h, 0.0))

    def _hoeffding_t(self) -> float:
        return float(np.sqrt(self.dev_ss * np.log(1.0 / _BID_EPS) / 2.0))

    def bid_bounds(self, target: float) -> tuple[float, float]:
        """Safe bid and an upper bound of the exact bid at ``target`` [kWh].

        With ``x(τ)`` the largest lattice value whose exact lattice tail is ≥ τ, the
        safe bid is ``max(x(τ) + dev_lo, x(τ + ε) − t_ε)`` (``t_ε`` the Hoeffding margin at
        ``ε = 1e-6``): ``P(S ≥ bid) ≥ target``. The exact largest bid ``c*`` is at most
        ``min(x(τ) + dev_hi, x(τ − ε) + t_ε)``; the difference is the rounding error.
        Only for the exact model (``dev_lo`` set).
        """
        if self.dev_lo is None or self.dev_hi is None:
            raise InputError("dev_lo", None, "bid bounds need the exact model's rounding bounds")
        tail = np.cumsum(self.pmf[::-1])[::-1]
        x = self.values

        def last(level: float) -> float:
            ok = np.flatnonzero(tail >= level)
            return float(x[ok[-1]]) if ok.size else -np.inf

        t = self._hoeffding_t()
        tol = 1e-9  # floating-point noise of the FFT pmf
        safe = max(last(target + tol) + self.dev_lo, last(target + _BID_EPS + tol) - t)
        upper = min(last(target - tol) + self.dev_hi, last(target - _BID_EPS - tol) + t)
        return float(max(safe, 0.0)), float(max(upper, safe, 0.0))

    def sf_bounds(self, c: Any) -> tuple[FloatArray, FloatArray]:
        """Lower and upper bounds of the true ``P(S ≥ C)`` (exact model only)."""
        if self.dev_lo is None or self.dev_hi is None:
            raise InputError("dev_lo", None, "sf bounds need the exact model's rounding bounds")
        c = np.asarray(c, dtype=float)
        t = self._hoeffding_t()
        lo = np.maximum(self.sf_lattice(c - self.dev_lo), self.sf_lattice(c + t) - _BID_EPS)
        hi = np.minimum(self.sf_lattice(c - self.dev_hi), self.sf_lattice(c - t) + _BID_EPS)
        ones = c <= 0.0
        return np.where(ones, 1.0, np.clip(lo, 0, 1)), np.where(ones, 1.0, np.clip(hi, 0, 1))

    def mean(self) -> float:
        """Expected value [kWh]."""
        # elementwise (no BLAS call: its thread hand-off dominates for one vector)
        idx = float((self.pmf * np.arange(self.pmf.size, dtype=float)).sum())
        return float((self.lo * self.pmf.sum() + idx) * self.h + self.offset * self.pmf.sum())

    def sf(self, c: Any) -> FloatArray:
        """``P(S ≥ C)`` for bids ``C`` [kWh] of an aggregate with a continuous severity.

        The lattice atom at ``x_k`` stands for the mass around it, so ``P(S ≥ x_k) ≈
        P(S_h > x_k) + ½·P(S_h = x_k)`` (mid-point rule), linearly interpolated between
        lattice points: second-order accurate in ``h``. Use :meth:`sf_lattice` for a
        variable that truly lives on the lattice.
        """
        c = np.asarray(c, dtype=float)
        if self.pmf.size == 1:  # deterministic aggregate: no mass to spread
            return np.asarray(c <= self.values[0] + 1e-9 * max(self.h, 1.0), dtype=float)
        pmf = np.concatenate([self.pmf, [0.0]])
        tail = np.cumsum(pmf[::-1])[::-1] - 0.5 * pmf  # P(S_h ≥ x_k) − ½ P(S_h = x_k)
        x = (self.lo + np.arange(tail.size)) * self.h + self.offset
        out = np.interp(c, x, tail, left=1.0, right=0.0)
        # the offer is never negative: P(S ≥ C) = 1 for C ≤ 0 (the mid-point rule would
        # halve an atom at 0, e.g. the e^{−λ} of nobody present)
        return np.clip(np.where(c <= 0.0, 1.0, out), 0.0, 1.0)

    def sf_lattice(self, c: Any) -> FloatArray:
        """``P(S ≥ C)`` exactly for the lattice variable (no interpolation)."""
        c = np.asarray(c, dtype=float)
        tail = np.concatenate([np.cumsum(self.pmf[::-1])[::-1], [0.0]])
        k = np.ceil((c - self.offset) / self.h - 1e-9).astype(np.int64) - self.lo
        return np.where(k <= 0, 1.0, tail[np.clip(k, 0, tail.size - 1)])


MAX_LATTICE_POINTS = 2**27
"""Largest lattice (value range / h) a distribution may span (about 1 GB of float64)."""


def _check_lattice(extent: float, h: float) -> None:
    """Raise if a value range of ``extent`` [kWh] needs more than MAX_LATTICE_POINTS at h."""
    if extent / h > MAX_LATTICE_POINTS:
        raise InputError(
            "h",
            h,
            f"lattice step too small: {extent:g} kWh / h needs more than "
            f"{MAX_LATTICE_POINTS} points; use a larger h",
        )


def discretize(values: Any, weights: Any | None, h: float) -> tuple[npt.NDArray[np.float64], int]:
    """Mean-preserving lattice discretisation of a (weighted) sample of values ≥ 0.

    Value ``x`` puts mass ``1 − r`` on ``⌊x/h⌋`` and ``r`` on ``⌊x/h⌋ + 1`` with
    ``r = x/h − ⌊x/h⌋`` (local moment matching of order 1): the mean is exact, the
    variance grows by at most ``h²/4``.

    Returns
    -------
    (pmf, lo)
        ``pmf[k]`` is the probability of value ``(lo + k)·h``; weights are normalised.
    """
    h = check_positive_scalar("h", h)
    x = as_finite_array("values", values, ndim=1)
    if x.size == 0:
        raise InputError("values", values, "no values")
    if np.any(x < 0):
        raise InputError("values", float(x.min()), "values must be >= 0")
    _check_lattice(float(x.max()), h)
    w = np.ones_like(x) if weights is None else as_finite_array("weights", weights, ndim=1)
    if w.shape != x.shape or np.any(w < 0) or w.sum() <= 0:
        raise InputError("weights", weights, "need one weight >= 0 per value, positive sum")
    u = x / h
    k = np.floor(u).astype(np.int64)
    r = u - k
    lo = int(k.min())
    pmf = np.zeros(int(k.max()) - lo + 2)
    np.add.at(pmf, k - lo, w * (1 - r))
    np.add.at(pmf, k - lo + 1, w * r)
    return pmf / w.sum(), lo


def auto_grid_kwh(p: Any, v: Any, points_per_sd: float = 400.0) -> float:
    """Default lattice spacing [kWh]: the Poisson-model standard deviation / 400.

    ``σ = sqrt(Σ_i p_i v_i²)`` bounds the spread of both models; the discretisation errors
    are O((h/σ)²) for the aggregate, so h = σ/400 keeps them far below 1e-4 while the FFT
    window (± 12 σ) stays near 10⁴ points whatever the fleet size.
    """
    pp = np.asarray(p, dtype=float)
    vv = np.asarray(v, dtype=float)
    sd = float(np.sqrt((pp * vv**2).sum()))
    return max(sd / points_per_sd, 1e-3)


_MASS_TOL = 1e-6


def _verified(dist: LatticeDistribution, expected_mean: float, what: str) -> LatticeDistribution:
    """Check that the lattice pmf keeps its mass and mean; raise VerificationError if not.

    A lost mass means the FFT window was too narrow (aliasing) or numerical noise; the
    mean is exact by construction (mean-preserving discretisation), so a mean error shows
    a truncated tail.
    """
    mass = float(dist.pmf.sum())
    if abs(mass - 1.0) > _MASS_TOL:
        raise VerificationError(f"{what}: total probability", abs(mass - 1.0), _MASS_TOL)
    scale = max(abs(expected_mean), dist.h)
    err = abs(dist.mean() - expected_mean) / scale
    if err > _MASS_TOL:
        raise VerificationError(f"{what}: mean", err, _MASS_TOL, f"expected {expected_mean:.6g}")
    return dist


def _next_pow2(n: float) -> int:
    return int(2 ** np.ceil(np.log2(max(float(n), 16.0))))


def _unwrap(g_mod: FloatArray, lo: int) -> FloatArray:
    """Reorder a pmf known modulo M so that index 0 is lattice point ``lo``."""
    m = g_mod.size
    return np.roll(g_mod, -(lo % m))


def _check_lambda(lam: float) -> float:
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise InputError("lam", lam, "Poisson parameter must be finite and >= 0")
    return lam


def compound_poisson_fft(
    lam: float, severity_pmf: Any, h: float, sev_lo: int = 0, m: int | None = None
) -> LatticeDistribution:
    """Compound Poisson aggregate by FFT: ``φ_S(ω) = exp(λ(φ_V(ω) − 1))``.

    Parameters
    ----------
    lam
        Poisson parameter λ (expected number of participating vehicles, eq. 5).
    severity_pmf
        Severity probabilities on the lattice ``(sev_lo + k)·h`` (sum 1).
    h
        Lattice spacing [kWh].
    sev_lo
        Lattice index of the first severity point (≥ 0).
    m
        FFT length; default: a power of two covering mean ± 12 standard deviations.

    Returns
    -------
    LatticeDistribution
        Aggregate pmf on a window of the lattice.
    """
    lam = _check_lambda(lam)
    h = check_positive_scalar("h", h)
    f = check_probabilities("severity_pmf", severity_pmf, atol=1e-6)
    if sev_lo < 0:
        raise InputError("sev_lo", sev_lo, "severity must be >= 0")
    x = (sev_lo + np.arange(f.size)) * h
    ev, ev2 = float(f @ x), float(f @ x**2)
    mu, sd = lam * ev, float(np.sqrt(lam * ev2))
    lo_v = max(0.0, mu - _SIGMAS * sd - 2 * x[-1])
    lo = int(np.floor(lo_v / h))
    _check_lattice(mu + _SIGMAS * sd + 2 * x[-1] - lo * h, h)
    hi = int(np.ceil((mu + _SIGMAS * sd + 2 * x[-1]) / h)) + 1
    if m is None:
        m = _next_pow2(hi - lo + 1)
    # severity placed at its lattice index modulo m
    f_mod = np.zeros(m)
    np.add.at(f_mod, (sev_lo + np.arange(f.size)) % m, f)
    phi = np.fft.rfft(f_mod)
    g = np.fft.irfft(np.exp(lam * (phi - 1.0)), n=m)
    g = np.clip(g, 0.0, None)
    return _verified(LatticeDistribution(pmf=_unwrap(g, lo), lo=lo, h=h), mu, "compound Poisson")


def compound_poisson_panjer(
    lam: float, severity_pmf: Any, h: float, n_points: int | None = None
) -> LatticeDistribution:
    """Compound Poisson aggregate by Panjer recursion (severity lattice starts at 0).

    ``g_0 = exp(−λ(1 − f_0))``, ``g_k = (λ/k) Σ_{j=1}^{min(k, L)} j·f_j·g_{k−j}``.
    The result is verified like the FFT's (total mass and mean within 1e-6, else
    ``VerificationError``, e.g. for an ``n_points`` too small to hold the upper tail).
    Underflows for λ ≳ 700 (``g_0`` < 1e-300): use :func:`compound_poisson_fft` then.
    """
    lam = _check_lambda(lam)
    h = check_positive_scalar("h", h)
    f = check_probabilities("severity_pmf", severity_pmf, atol=1e-6)
    g0 = np.exp(-lam * (1.0 - f[0]))
    if g0 < 1e-300:
        raise InputError("lam", lam, "too large for Panjer recursion (g_0 underflows); use FFT")
    x = np.arange(f.size) * h
    mu, sd = lam * float(f @ x), float(np.sqrt(lam * float(f @ x**2)))
    if n_points is None:
        _check_lattice(mu + _SIGMAS * sd + 2 * x[-1], h)
        n_points = int(np.ceil((mu + _SIGMAS * sd + 2 * x[-1]) / h)) + 1
    g = np.zeros(n_points)
    g[0] = g0
    jf = np.arange(f.size) * f  # j·f_j
    for k in range(1, n_points):
        j_hi = min(k, f.size - 1)
        # Σ_{j=1}^{j_hi} j f_j g_{k−j}
        g[k] = lam / k * float(jf[1 : j_hi + 1] @ g[k - j_hi : k][::-1])
    # a too short recursion truncates the upper tail: caught as lost mass / mean
    return _verified(LatticeDistribution(pmf=g, lo=0, h=h), mu, "compound Poisson (Panjer)")


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def monte_carlo_fleet(
    p: Any,
    v: Any,
    n_samples: int,
    seed: int | np.random.Generator | None = None,
    chunk: int = 20_000_000,
) -> FloatArray:
    """Samples of ``Σ_i B_i v_i`` with independent ``B_i ~ Bernoulli(p_i)`` [kWh].

    Vehicles with identical ``(p, v)`` are drawn as one binomial count.
    """
    pp = as_finite_array("p", p, ndim=1)
    vv = as_finite_array("v", v, ndim=1)
    if pp.shape != vv.shape:
        raise InputError("p/v", (pp.shape, vv.shape), "need one probability per value")
    if np.any((pp < 0) | (pp > 1)):
        raise InputError("p", pp[(pp < 0) | (pp > 1)][:3], "probabilities must lie in [0, 1]")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
        raise InputError("n_samples", n_samples, "must be an integer >= 1")
    if n_samples < 1:
        raise InputError("n_samples", n_samples, "must be an integer >= 1")
    rng = _rng(seed)
    groups, counts = np.unique(np.column_stack([pp, vv]), axis=0, return_counts=True)
    out = np.zeros(int(n_samples))
    if len(groups) > 0.5 * pp.size:
        # (almost) all vehicles distinct: compare float32 uniforms with p, chunked
        p32, v32 = pp.astype(np.float32), vv.astype(np.float32)
        step = max(1, chunk // max(1, pp.size))
        for s in range(0, out.size, step):
            n = min(step, out.size - s)
            hit = rng.random((n, pp.size), dtype=np.float32) < p32
            out[s : s + n] = hit.astype(np.float32) @ v32
        return out
    step = max(1, chunk // max(1, len(groups)))
    for s in range(0, out.size, step):
        n = min(step, out.size - s)
        cnt = rng.binomial(counts[None, :], groups[None, :, 0], size=(n, len(groups)))
        out[s : s + n] = cnt @ groups[:, 1]
    return out


def monte_carlo_compound_poisson(
    lam: float,
    values: Any,
    weights: Any | None,
    n_samples: int,
    seed: int | np.random.Generator | None = None,
) -> FloatArray:
    """Samples of ``Σ_{j ≤ N} V_j``, ``N ~ Poisson(λ)``, ``V_j`` i.i.d. from the weighted values."""
    lam = _check_lambda(lam)
    x = as_finite_array("values", values, ndim=1)
    w = np.ones_like(x) if weights is None else as_finite_array("weights", weights, ndim=1)
    w = w / w.sum()
    rng = _rng(seed)
    n = rng.poisson(lam, size=int(n_samples))
    idx = rng.choice(x.size, size=int(n.sum()), p=w)
    owner = np.repeat(np.arange(n.size), n)
    return np.asarray(np.bincount(owner, weights=x[idx], minlength=n.size), dtype=float)
