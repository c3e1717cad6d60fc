"""Benchmark: V2G reliability curves for 10,000 vehicles × 96 slots × 50 bid levels.

Times, on the same fleet and slot model:
- (a) compound Poisson, all 96 slots in one batched FFT (target: < 2 s on 2 cores);
- (a) with the Gaussian-mixture severity (per slot);
- (b) exact Poisson-binomial (log-series on the lattice, one FFT per slot, safe bids;
  target: < 0.5 s, the default method's budget);
- a 100,000-sample Monte Carlo of the fleet (independent Bernoulli presence), timed on
  ``--mc-slots`` slots and scaled to 96 (stated in the table);
and prints each as a ratio to (a). Also reports building the fleet and the slot model.

Run: ``.venv/bin/python benchmarks/bench_reliability.py [--vehicles 10000] [--quick]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from evagg.fleet import synthesize_fleet
from evagg.reliability import build_slot_model, monte_carlo_fleet, reliability_curves


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _load() -> str:
    try:
        import os

        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except (OSError, AttributeError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vehicles", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=29, help="history days + 1 target day")
    ap.add_argument("--bids", type=int, default=50)
    ap.add_argument("--mc-samples", type=int, default=100_000)
    ap.add_argument("--mc-slots", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="skip the slow exact/GMM runs")
    args = ap.parse_args()

    t_fleet, fleet = _timed(lambda: synthesize_fleet(args.vehicles, args.days, seed=1))
    day = fleet.end - pd.Timedelta(days=1)
    t_model, model = _timed(lambda: build_slot_model(fleet, day))
    mean_max = float((model.p * model.v_kwh).sum(axis=1).max())
    bids = np.linspace(0.0, 1.2 * mean_max, args.bids)
    n_slots = len(model.p)

    rows = []
    reliability_curves(model, bids[:2], "poisson")  # warm-up (imports, FFT plans)
    t_a, (rel_a, c_a) = _timed(lambda: reliability_curves(model, bids, "poisson"))
    rows.append(("(a) compound Poisson, batched FFT", t_a, n_slots))
    reliability_curves(model, bids[:2], "exact")  # warm-up
    t_b, (rel_b, c_b) = _timed(lambda: reliability_curves(model, bids, "exact"))
    rows.append(("(b) exact Poisson-binomial", t_b, n_slots))
    if not args.quick:
        t_g, _ = _timed(lambda: reliability_curves(model, bids, "gmm"))
        rows.append(("(a) Gaussian-mixture severity", t_g, n_slots))
    k = min(args.mc_slots, n_slots)
    slots = np.linspace(0, n_slots - 1, k).astype(int)
    p, v = model.p.to_numpy(), model.v_kwh.to_numpy()

    def _mc() -> None:
        for t in slots:
            monte_carlo_fleet(p[t], v[t], args.mc_samples, seed=int(t))

    t_mc, _ = _timed(_mc)
    rows.append(
        (
            f"Monte Carlo {args.mc_samples:,} samples (x{n_slots}/{k} slots)",
            t_mc * n_slots / k,
            n_slots,
        )
    )

    print(
        f"fleet: {args.vehicles} vehicles, {args.days} days; synthesis {t_fleet:.2f} s, "
        f"slot model {t_model:.2f} s; {n_slots} slots x {bids.size} bids"
    )
    print(f"{'method':<48} {'time [s]':>9} {'ratio to (a)':>13}")
    for name, t, _ in rows:
        print(f"{name:<48} {t:9.3f} {t / t_a:13.1f}")
    print(f"target (a) < 2 s: {'met' if t_a < 2 else 'NOT met'}")
    print(f"target (b) < 0.5 s: {'met' if t_b < 0.5 else 'NOT met'} (load: {_load()})")
    gap = float(np.abs(rel_a.to_numpy() - rel_b.to_numpy()).max())
    print(
        f"max |R_a - R_b| over the grid: {gap:.3f}; mean bid at 0.95: "
        f"(a) {c_a.mean():.0f} kWh, (b) {c_b.mean():.0f} kWh (safe: true R >= 0.95)"
    )


if __name__ == "__main__":
    main()
