"""Benchmark: exact convex SOCP vs the GA baseline on the full 96-slot microgrid day.

Scenario: case33bw, Table 9 PV, Table A1 day, EVA at seed node 30 with the 74-vehicle
fleet's reliable power (exact model, power basis), PV disturbance at the 0.95 bid.
Both dispatches are scored by the same batched AC evaluation of eq. (13). Prints time
and AC objective per method and the ratios (target: convex <= GA and >= 100x faster).

Run: ``.venv/bin/python benchmarks/bench_microgrid.py [--generations 100] [--seed 0]``
"""

from __future__ import annotations

import argparse
import os
import time

from evagg.data import load_microgrid_day
from evagg.grid import Feeder
from evagg.microgrid import ACEvaluator, Dispatch, build_system
from evagg.microgrid.convex import solve_convex
from evagg.microgrid.ga import solve_ga
from evagg.studies.microgrid import Config, _fleet_bids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generations", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--disturbance", default="pv")
    args = ap.parse_args()

    day = load_microgrid_day()
    feeder = Feeder.from_pandapower()
    bids, e_max, s_kva = _fleet_bids(Config(seed=args.seed))
    rel = bids[0.95].to_numpy()
    base = build_system(day, feeder, eva_node=None, disturbance="none")
    ref = ACEvaluator(base).evaluate(Dispatch.zeros(base)).reference()
    system = build_system(
        day,
        feeder,
        eva_node=30,
        bid_kw=rel,
        reliable_kw=rel,
        disturbance=args.disturbance,
        eva_e_max_kwh=e_max,
        eva_s_kva=max(s_kva, 1.1 * rel.max()),
    )
    ev = ACEvaluator(system)
    t0 = time.perf_counter()
    ev.evaluate(Dispatch.zeros(system, 40))
    t_eval = time.perf_counter() - t0
    conv = solve_convex(system, ref, ev)
    f_c = float(ev.evaluate(conv.dispatch).objective(ref, system.weights)[0])
    ga = solve_ga(system, ref, ev, n_gen=args.generations, seed=args.seed)
    f_g = float(ev.evaluate(ga.dispatch).objective(ref, system.weights)[0])
    load = os.getloadavg()[0]
    print(f"96 slots, 33 buses; AC evaluation of 40 candidates x 96 slots: {t_eval:.2f} s")
    print(f"{'method':<34} {'time [s]':>9} {'F (AC)':>9} {'V-band excess [pu]':>19}")
    a_c, a_g = ev.evaluate(conv.dispatch), ev.evaluate(ga.dispatch)
    print(
        f"{'convex SOCP (boost x' + format(conv.loss_boost, 'g') + ')':<34} "
        f"{conv.time_s:9.2f} {f_c:9.4f} {a_c.v_violation_pu[0]:19.4f}"
    )
    print(
        f"{'GA pop 40, ' + str(args.generations) + ' generations':<34} "
        f"{ga.time_s:9.2f} {f_g:9.4f} {a_g.v_violation_pu[0]:19.4f}"
    )
    print(f"relaxation gap {conv.gap_rel:.1e}, SOCP vs AC max |dV| {conv.ac_max_dv_pu:.1e} pu")
    ratio = ga.time_s / conv.time_s
    print(
        f"GA time / convex time: {ratio:.1f}  "
        f"(target >= 100: {'met' if ratio >= 100 else 'NOT met'})"
    )
    print(f"convex <= GA: {'met' if f_c <= f_g else 'NOT met'}  (load {load:.1f} on 2 cores)")


if __name__ == "__main__":
    main()
