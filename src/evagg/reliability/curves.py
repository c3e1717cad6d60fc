"""Reliability curves over a whole day, bid curves and out-of-sample calibration.

``reliability_curves`` evaluates ``R_t(C)`` for every slot of a :class:`SlotModel` and a
set of bids. For the compound Poisson model (a) all slots are computed in one batched
FFT (severity pmfs of all slots from one scatter-add, one ``rfft`` of shape slots × M);
the exact model (b) is :func:`~evagg.reliability.exact.poisson_binomial_batch` (log-series
scattered onto the lattice, one FFT per slot) with safe bids.

``calibrate`` reproduces seed 003 Table 6 over many days: fit on the days before day
``t``, predict every slot of day ``t`` (the seed's day t+1), and compare with what the
fleet really offered that day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg._checks import parse_timestamp
from evagg.errors import InputError, VerificationError
from evagg.fleet import Fleet
from evagg.reliability.compound import _next_pow2
from evagg.reliability.exact import poisson_binomial_batch
from evagg.reliability.model import (
    METHODS,
    SlotModel,
    build_slot_model,
    delivered_kwh,
    presence_by_day,
    slot_distribution,
)

__all__ = [
    "CalibrationResult",
    "bid_curve",
    "calibrate",
    "reliability_curves",
]

_SIGMAS = 12.0
_MAX_M = 2**20


def _interp_tail(
    tail: npt.NDArray[np.float64], lo: npt.NDArray[np.int64], h: float, bids: Any
) -> npt.NDArray[np.float64]:
    """Row-wise linear interpolation of tails on lattices ``(lo_t + k)·h`` at ``bids``."""
    pos = bids[None, :] / h - lo[:, None]  # fractional lattice index per slot, bid
    m = tail.shape[1]
    j = np.clip(np.floor(pos).astype(np.int64), 0, m - 2)
    frac = np.clip(pos - j, 0.0, 1.0)
    rows = np.arange(tail.shape[0])[:, None]
    out = tail[rows, j] * (1 - frac) + tail[rows, j + 1] * frac
    out = np.where((pos < 0) | (bids[None, :] <= 0.0), 1.0, out)  # S ≥ 0 surely
    out = np.where(pos >= m - 1, 0.0, out)
    return np.clip(out, 0.0, 1.0)


def _batch_poisson(
    p: npt.NDArray[np.float64],
    v: npt.NDArray[np.float64],
    bids: npt.NDArray[np.float64],
    target: float,
    h: float | None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Compound Poisson R for all slots at once; returns (R: T × B, bid at target: T)."""
    t_n = p.shape[0]
    lam = p.sum(axis=1)
    sd = np.sqrt((p * v**2).sum(axis=1))
    if h is None:
        pos = sd[sd > 0]
        h = max(float(pos.min()) / 400.0, 1e-3) if pos.size else 1.0
    vmax = float(v.max()) if v.size else 0.0
    mu = (p * v).sum(axis=1)
    lo = np.floor(np.maximum(0.0, mu - _SIGMAS * sd - 2 * vmax) / h).astype(np.int64)
    hi = np.ceil((mu + _SIGMAS * sd + 2 * vmax) / h).astype(np.int64) + 1
    width = int((hi - lo).max()) + 1
    while width > _MAX_M:  # keep the FFT bounded: coarsen the lattice
        h *= 2.0
        lo //= 2
        hi = hi // 2 + 1
        width = int((hi - lo).max()) + 1
    m = _next_pow2(width)
    u = v / h
    k = np.floor(u).astype(np.int64)
    r = u - k
    f = np.zeros((t_n, m))
    rows = np.broadcast_to(np.arange(t_n)[:, None], k.shape)
    np.add.at(f, (rows, k % m), p * (1 - r))
    np.add.at(f, (rows, (k + 1) % m), p * r)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(lam[:, None] > 0, f / lam[:, None], 0.0)
    phi = np.fft.rfft(f, axis=1)
    g = np.fft.irfft(np.exp(lam[:, None] * (phi - 1.0)), n=m, axis=1)
    g = np.clip(g, 0.0, None)
    # unwrap each row so that column 0 is lattice point lo_t
    cols = (lo[:, None] + np.arange(m)[None, :]) % m
    g = np.take_along_axis(g, cols, axis=1)
    # verification: every slot keeps its probability mass and its exact mean Σ p v
    mass_err = np.abs(g.sum(axis=1) - 1.0)
    mean_g = (g * ((lo[:, None] + np.arange(m)[None, :]) * h)).sum(axis=1)
    mean_err = np.abs(mean_g - mu) / np.maximum(np.abs(mu), h)
    for name, err in (("total probability", mass_err), ("mean", mean_err)):
        if float(err.max()) > 1e-6:
            worst = int(np.argmax(err))
            raise VerificationError(
                f"batched compound Poisson: {name}", float(err.max()), 1e-6, f"slot {worst}"
            )
    g = np.concatenate([g, np.zeros((t_n, 1))], axis=1)
    tail = np.cumsum(g[:, ::-1], axis=1)[:, ::-1] - 0.5 * g
    rel = _interp_tail(tail, lo, h, bids)
    # bid at target: last lattice index with tail >= target, interpolated
    ok = tail >= target
    kk = np.where(ok.any(axis=1), m - np.argmax(ok[:, ::-1], axis=1), 0)
    kk = np.clip(kk, 0, m - 1)
    rr = np.arange(t_n)
    t0, t1 = tail[rr, kk], tail[rr, np.minimum(kk + 1, m)]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(t0 > t1, (t0 - target) / (t0 - t1), 0.0)
    c = np.where(ok.any(axis=1), (lo + kk + np.clip(frac, 0, 1)) * h, 0.0)
    return rel, np.maximum(c, 0.0)


def reliability_curves(
    model: SlotModel,
    bids_kwh: Any,
    method: str = "poisson",
    target: float = 0.95,
    h: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """``R_t(C)`` for every slot ``t`` of the model's day and every bid ``C``.

    Parameters
    ----------
    model
        Slot model of the target day.
    bids_kwh
        Bids ``C`` [kWh] (per slot, in the model's basis).
    method
        ``"poisson"`` (batched FFT), ``"panjer"``, ``"gmm"`` or ``"exact"``.
    target
        Reliability level of the returned bid curve.
    h
        Common lattice spacing [kWh] (default: smallest per-slot σ / 400).
    progress
        Optional callback receiving the number of slots done (for progress bars).

    Returns
    -------
    (reliability, bid_at_target)
        slot × bid DataFrame and the largest bid with ``R ≥ target`` per slot [kWh].
    """
    if method not in METHODS:
        raise InputError("method", method, f"must be one of {METHODS}")
    if not 0 < target < 1:
        raise InputError("target", target, "must lie in (0, 1)")
    bids = np.atleast_1d(np.asarray(bids_kwh, dtype=float))
    if bids.size == 0 or np.any(~np.isfinite(bids)) or np.any(bids < 0):
        raise InputError("bids_kwh", bids_kwh, "need finite bids >= 0")
    p = model.p.to_numpy(float)
    v = model.v_kwh.to_numpy(float)
    if method == "poisson":
        rel, c = _batch_poisson(p, v, bids, target, h)
        if progress is not None:
            progress(p.shape[0])
    elif method == "exact":
        dists = poisson_binomial_batch(p, v, h)
        rel = np.vstack([d.sf(bids) for d in dists])
        c = np.array([d.quantile_bid(target) for d in dists])
        if progress is not None:
            progress(p.shape[0])
    else:
        rel = np.zeros((p.shape[0], bids.size))
        c = np.zeros(p.shape[0])
        for t in range(p.shape[0]):
            dist = slot_distribution(p[t], v[t], method, h)
            rel[t] = dist.sf(bids)
            c[t] = dist.quantile_bid(target)
            if progress is not None:
                progress(t + 1)
    cols = pd.Index(bids, name="bid_kwh")
    return (
        pd.DataFrame(rel, index=model.p.index, columns=cols),
        pd.Series(c, index=model.p.index, name=f"bid_{method}_kwh"),
    )


def bid_curve(
    model: SlotModel,
    target: float = 0.95,
    methods: Sequence[str] = ("poisson", "exact"),
) -> pd.DataFrame:
    """Largest bid with ``R_t ≥ target`` per slot and method, with ``λ_t`` and ``E[S_t]``."""
    out = pd.DataFrame(index=model.p.index)
    out["lambda"] = model.lam
    out["expected_kwh"] = (model.p * model.v_kwh).sum(axis=1)
    for m in methods:
        _, c = reliability_curves(model, [0.0], m, target)
        out[f"bid_{m}_kwh"] = c
    return out


@dataclass(frozen=True)
class CalibrationResult:
    """Out-of-sample calibration of reliability predictions.

    Attributes
    ----------
    pairs
        One row per (day, slot, bid, method): ``predicted`` reliability and ``met``
        (1 if the fleet really offered at least the bid that day).
    table
        Per method and predicted-reliability bin: mean predicted, observed frequency,
        count (the calibration plot's points).
    summary
        Per method: Brier score, number of predictions, and for the bid at the target
        reliability: how often it was met (should be ≥ target), mean bid [kWh].
    target
        Reliability target of the bids in ``summary``.
    """

    pairs: pd.DataFrame
    table: pd.DataFrame
    summary: pd.DataFrame
    target: float


def calibrate(
    fleet: Fleet,
    first_day: Any | None = None,
    n_days: int | None = None,
    window_days: int | None = 56,
    methods: Sequence[str] = ("poisson", "exact"),
    basis: str = "energy",
    target: float = 0.95,
    bid_fractions: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2),
    slot_stride: int = 1,
    bins: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationResult:
    """Fit on days before ``d``, predict day ``d``, over many days (seed 003 Table 6).

    For each test day and slot the bids are ``bid_fractions × E[S_t]`` (expected offered
    energy of that slot under the exact model), plus the bid at ``target`` of each method.
    The fleet's realised offer is :func:`~evagg.reliability.model.delivered_kwh`: the V2G
    energy of the vehicles actually plugged in (the per-vehicle energies are the day-ahead
    eq. 7 values, so the test checks the presence model).

    Parameters
    ----------
    fleet
        Fleet with enough history.
    first_day
        First test day (default: after 28 days or half the period, whichever is less).
    n_days
        Number of test days (default: all remaining days).
    window_days
        Rolling history length (None: expanding).
    methods, basis, target
        Models compared, energy basis, reliability target.
    bid_fractions
        Bids relative to the expected offer of each slot.
    slot_stride
        Use every ``slot_stride``-th slot of each day.
    bins
        Number of predicted-reliability bins of the calibration table.
    progress
        Optional callback ``(days done, days total)``.
    """
    days, _ = presence_by_day(fleet)
    if first_day is None:
        first = min(28, len(days) // 2)
    else:
        ts = parse_timestamp("first_day", first_day, fleet.tz)
        first = int(days.searchsorted(ts.normalize()))
    if first < 3:
        raise InputError("first_day", first_day, "need at least 3 history days")
    last = len(days) if n_days is None else min(len(days), first + int(n_days))
    if last <= first:
        raise InputError("n_days", n_days, "no test days left")
    fr = np.asarray(bid_fractions, dtype=float)
    rows: list[pd.DataFrame] = []
    for i, d in enumerate(range(first, last)):
        model = build_slot_model(fleet, days[d], window_days=window_days, basis=basis)
        real = delivered_kwh(fleet, model).to_numpy()
        p_all = model.p.to_numpy(float)
        v_all = model.v_kwh.to_numpy(float)
        for t in range(0, p_all.shape[0], slot_stride):
            p, v = p_all[t], v_all[t]
            mean = float((p * v).sum())
            if mean <= 0:
                continue
            dists = {m: slot_distribution(p, v, m) for m in methods}
            bids = np.concatenate([fr * mean, [dists[m].quantile_bid(target) for m in methods]])
            kind = ["fraction"] * fr.size + [f"target_{m}" for m in methods]
            for m, dist in dists.items():
                rows.append(
                    pd.DataFrame(
                        {
                            "day": days[d],
                            "slot": model.p.index[t],
                            "method": m,
                            "bid_kwh": bids,
                            "bid_kind": kind,
                            "predicted": dist.sf(bids),
                            "met": (real[t] >= bids - 1e-9).astype(int),
                        }
                    )
                )
        if progress is not None:
            progress(i + 1, last - first)
    if not rows:
        raise InputError("fleet", fleet.n_vehicles, "no slot with positive expected V2G energy")
    pairs = pd.concat(rows, ignore_index=True)
    edges = np.linspace(0.0, 1.0, bins + 1)
    pairs["bin"] = np.clip(np.digitize(pairs["predicted"], edges) - 1, 0, bins - 1)
    table = (
        pairs.groupby(["method", "bin"])
        .agg(predicted=("predicted", "mean"), observed=("met", "mean"), count=("met", "size"))
        .reset_index()
    )
    summ = []
    for m in methods:
        sub = pairs[pairs["method"] == m]
        own = sub[sub["bid_kind"] == f"target_{m}"]
        summ.append(
            {
                "method": m,
                "brier": float(((sub["predicted"] - sub["met"]) ** 2).mean()),
                "n_predictions": len(sub),
                "target_bid_met_rate": float(own["met"].mean()),
                "target_bid_mean_kwh": float(own["bid_kwh"].mean()),
                "n_target_bids": len(own),
            }
        )
    return CalibrationResult(
        pairs=pairs, table=table, summary=pd.DataFrame(summ).set_index("method"), target=target
    )
