"""Benchmark: exact convex SOCP vs the GA baseline on the full 96-slot microgrid day.

Scenario: case33bw, Table 9 PV, Table A1 day, EVA at seed node 30 with the 74-vehicle
fleet's reliable power (exact model, power basis), PV disturbance at the 0.95 bid.
Both dispatches are scored by the same batched AC evaluation of eq. (13). Both methods
run single-threaded (Clarabel; power-grid-model batches sequentially) and are warmed up
first on a 4-slot day (imports, first-call caches), so that neither pays one-off costs
the other does not. The convex time is the median of ``--repeat`` complete runs (build,
compile, solve, gap and AC check; each builds its model anew). CPU time is the fairer
ratio on a shared machine.

The GA runs once, for at most ``--generations`` (default 3000), with the seed's MATLAB
stopping rule on (50 generations improving by <= 1e-6: ``solve_ga(stall=True)``); every
generation is time-stamped, so one run gives the GA at several budgets. Two speed
ratios are printed: at a fixed GA budget (GA time / convex time, at 300, 1000, ...
generations), and to equal quality (time until the GA's best penalised fitness is no
worse than the convex optimum's AC objective / convex time; a lower bound if the GA
never gets there).

Run: ``.venv/bin/python benchmarks/bench_microgrid.py [--generations 3000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from evagg.data import load_microgrid_day
from evagg.grid import Feeder
from evagg.microgrid import ACEvaluator, Dispatch, build_system
from evagg.microgrid.convex import solve_convex
from evagg.microgrid.ga import solve_ga
from evagg.studies.microgrid import Config, _fleet_bids

CHECKPOINTS = (300, 1000, 2000, 3000, 5000, 10000)
"""GA budgets [generations] reported from the one time-stamped run."""


def _timed(fn):  # type: ignore[no-untyped-def]
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def _system(seed: int, disturbance: str):  # type: ignore[no-untyped-def]
    day = load_microgrid_day()
    feeder = Feeder.from_pandapower()
    bids, e_max, s_kva = _fleet_bids(Config(seed=seed))
    rel = bids[0.95].to_numpy()
    base = build_system(day, feeder, eva_node=None, disturbance="none")
    ref = ACEvaluator(base).evaluate(Dispatch.zeros(base)).reference()
    kw = dict(eva_node=30, disturbance=disturbance, eva_e_max_kwh=e_max)
    s_ev = max(s_kva, 1.1 * rel.max())
    warm = build_system(day.iloc[40:44], feeder, bid_kw=rel[40:44], reliable_kw=rel[40:44],
                        eva_s_kva=s_ev, **kw)  # fmt: skip
    solve_convex(warm, ref)
    solve_ga(warm, ref, n_gen=2)
    system = build_system(day, feeder, bid_kw=rel, reliable_kw=rel, eva_s_kva=s_ev, **kw)
    return system, ref


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generations", type=int, default=3000, help="GA cap (stall rule on)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--disturbance", default="pv")
    ap.add_argument("--repeat", type=int, default=7, help="convex runs (median; each builds anew)")
    args = ap.parse_args()

    system, ref = _system(args.seed, args.disturbance)
    ev = ACEvaluator(system)
    runs = [_timed(lambda: solve_convex(system, ref, ev)) for _ in range(args.repeat)]
    conv = runs[0][0]
    w_c = statistics.median(r[1] for r in runs)
    c_c = statistics.median(r[2] for r in runs)
    a_c = ev.evaluate(conv.dispatch)
    f_c = float(a_c.objective(ref, system.weights)[0])

    stamps: list[tuple[float, float]] = []
    w0, c0 = time.perf_counter(), time.process_time()

    def stamp(gen: int, n: int) -> None:
        stamps.append((time.perf_counter() - w0, time.process_time() - c0))

    ga = solve_ga(system, ref, ev, n_gen=args.generations, stall=True, seed=args.seed,
                  progress=stamp)  # fmt: skip
    a_g = ev.evaluate(ga.dispatch)
    f_g = float(a_g.objective(ref, system.weights)[0])
    load = os.getloadavg()[0]
    n = ga.curve.size
    print(f"96 slots, 33 buses; load average {load:.1f} on 2 cores")
    print(f"convex SOCP (loss boost x{conv.loss_boost:g}, median of {args.repeat} runs): "
          f"wall {w_c:.3f} s, CPU {c_c:.3f} s, F (AC eq. 13) {f_c:.4f}, band excess "
          f"{a_c.v_violation_pu[0]:.4f} pu; relaxation gap {conv.gap_rel:.1e}, "
          f"SOCP vs AC max |dV| {conv.ac_max_dv_pu:.1e} pu")  # fmt: skip
    print(f"GA pop 40 (stall rule on, cap {args.generations}): stopped by "
          f"{ga.stopped_by} after {n} generations; final F (AC) {f_g:.4f}, band excess "
          f"{a_g.v_violation_pu[0]:.4f} pu")  # fmt: skip
    print("| GA budget [generations] | GA wall [s] | GA CPU [s] | GA best fitness "
          "(penalised) | ratio wall | ratio CPU | GA <= convex F? |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---|")
    for g in [c for c in CHECKPOINTS if c < n] + [n]:
        w, c = stamps[g - 1]
        fit = ga.curve[g - 1]
        print(f"| {g} | {w:.1f} | {c:.1f} | {fit:.4f} | {w / w_c:.0f} | {c / c_c:.0f} | "
              f"{'yes' if fit <= f_c else 'no'} |")  # fmt: skip
    hit = np.nonzero(ga.curve <= f_c)[0]
    if hit.size:
        w, c = stamps[int(hit[0])]
        print(
            f"to equal quality: GA reached the convex F after {hit[0] + 1} generations, "
            f"{w:.1f} s wall / {c:.1f} s CPU: {w / w_c:.0f}x wall, {c / c_c:.0f}x CPU"
        )
        r_eq = min(w / w_c, c / c_c)
    else:
        w, c = stamps[-1]
        print(f"to equal quality: GA did not reach the convex F ({f_c:.4f}) in {n} generations "
              f"({w:.1f} s wall / {c:.1f} s CPU; best {ga.curve[-1]:.4f}): convex > "
              f"{w / w_c:.0f}x faster (wall), > {c / c_c:.0f}x (CPU)")  # fmt: skip
        r_eq = min(w / w_c, c / c_c)
    w300, c300 = stamps[min(300, n) - 1]
    r300 = min(w300 / w_c, c300 / c_c)
    print(f"target >= 100x: to equal quality {'met' if r_eq >= 100 else 'NOT met'} "
          f"({r_eq:.0f}x); at a fixed 300-generation budget {'met' if r300 >= 100 else 'NOT met'}"
          f" ({r300:.0f}x, min of wall and CPU)")  # fmt: skip
    print(f"convex <= GA: {'met' if f_c <= f_g else 'NOT met'}")


if __name__ == "__main__":
    main()
