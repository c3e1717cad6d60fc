"""Benchmark of the SOCP DistFlow OPF (evagg.grid) against pandapower's AC OPF.

Run ``python benchmarks/bench_grid.py`` (about a minute on a laptop core); add
``--sizes 100,500,1000`` for the large synthetic feeders (several minutes).

Tables printed:

1. single period on case33bw: evagg (fresh build + solve; warm re-solve) vs
   ``pandapower.runopp`` (same case, same price), ratio;
2. case33bw × 96 slots (15 min; seed 003 Table A1 load shape, NL day-ahead prices of
   2024-07-01): build + solve (+ batched verification) vs 96 sequential ``runopp``
   calls (target ≥ 50× verified, verification < 30 % of the total);
3. synthetic radial feeders × 96 slots: build, solve, verification time, relaxation gap,
   and solve time per bus·slot (≈ constant if time grows linearly with buses × slots);
   feeders of ≥ 300 buses are solved slot by slot (``DistFlowOptions.split_slots``).
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore", message=".*numba.*")


def _profiles() -> tuple[np.ndarray, np.ndarray]:
    from evagg.data import load_microgrid_day, load_nl_day_ahead_prices

    day = load_microgrid_day()
    scale = day["load_p_kw"].to_numpy() / day["load_p_kw"].max()  # DESIGN.md default
    prices = load_nl_day_ahead_prices("2024-07-01", "2024-07-02").to_numpy()[:24]
    return scale, np.repeat(prices, 4)


def _runopp_time(net: object, p_scale: float, price: float) -> tuple[float, float]:
    import pandapower as pp

    n = copy.deepcopy(net)
    n.load["p_mw"] *= p_scale  # type: ignore[attr-defined]
    n.load["q_mvar"] *= p_scale  # type: ignore[attr-defined]
    n.ext_grid["controllable"] = True  # type: ignore[attr-defined]
    n.poly_cost["cp1_eur_per_mw"] = price  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    pp.runopp(n, numba=False)
    return time.perf_counter() - t0, float(n.res_cost)  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100", help="synthetic feeder sizes, e.g. 100,500,1000")
    ap.add_argument("--slots", type=int, default=96)
    ap.add_argument("--runopp-slots", type=int, default=96, help="sequential runopp calls")
    args = ap.parse_args()

    import pandapower.networks as pn

    from evagg.grid import DistFlowModel, DistFlowOptions, Feeder, synthetic_feeder_net
    from evagg.grid.distflow import _splittable

    scale, price = _profiles()
    t_slots = args.slots
    scale, price = scale[:t_slots], price[:t_slots]

    # 1. single period
    net = pn.case33bw()
    fd = Feeder.from_pandapower(net)
    t0 = time.perf_counter()
    m1 = DistFlowModel(fd, 1, 1.0)
    m1.set_price(50.0)
    r1 = m1.solve()
    first = time.perf_counter() - t0 - r1.verify_time_s
    t0 = time.perf_counter()
    m1.set_price(55.0)
    r1b = m1.solve()
    warm = time.perf_counter() - t0 - r1b.verify_time_s
    _runopp_time(net, 1.0, 50.0)  # warm-up (imports, first-call overheads)
    t_opp, cost_opp = _runopp_time(net, 1.0, 50.0)
    print("\n1. single period, case33bw (price 50 EUR/MWh)")
    print(f"{'method':<34}{'time [s]':>10}{'cost [EUR/h]':>14}{'ratio':>8}")
    print(f"{'pandapower runopp (AC OPF)':<34}{t_opp:>10.3f}{cost_opp:>14.4f}{1.0:>8.2f}")
    print(f"{'evagg build + solve (first)':<34}{first:>10.3f}{r1.objective_eur:>14.4f}"
          f"{first / t_opp:>8.2f}")  # fmt: skip
    print(f"{'evagg re-solve (DPP cache)':<34}{warm:>10.3f}{'':>14}{warm / t_opp:>8.2f}")
    print(f"  verification (runpp + gap + decomposition): {r1.verify_time_s:.3f} s")

    # 2. case33bw x T
    t0 = time.perf_counter()
    m = DistFlowModel(fd, t_slots, 0.25)
    m.set_price(price)
    m.scale_loads(scale)
    m.build()
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = m.solve()
    solve = time.perf_counter() - t0 - r.verify_time_s
    k = min(args.runopp_slots, t_slots)
    t_opp_all = 0.0
    for t in range(k):
        dt, _ = _runopp_time(net, float(scale[t]), float(price[t]))
        t_opp_all += dt
    t_opp_all *= t_slots / k
    ours = build + solve
    print(f"\n2. case33bw x {t_slots} slots (15 min)")
    print(f"{'method':<40}{'time [s]':>10}")
    label = f"pandapower runopp x {t_slots}" + (" (extrapolated)" if k < t_slots else "")
    print(f"{label:<40}{t_opp_all:>10.2f}")
    print(f"{'evagg build':<40}{build:>10.3f}")
    print(f"{'evagg solve (canonicalise + Clarabel)':<40}{solve:>10.3f}")
    print(f"{'evagg verification (batched AC etc.)':<40}{r.verify_time_s:>10.3f}")
    verified = ours + r.verify_time_s
    print(f"speed-up build+solve vs runopp: {t_opp_all / ours:.1f}x; "
          f"verified (build+solve+verify): {t_opp_all / verified:.1f}x (target >= 50x); "
          f"verification share {r.verify_time_s / verified:.0%} (target < 30%); "
          f"relaxation gap {r.relaxation_gap_rel:.1e} (exact={r.exact}); "
          f"AC max|dV| {r.ac_max_dv_pu:.1e} pu")  # fmt: skip

    # 3. scaling
    sizes = [33] + [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"\n3. scaling, {t_slots} slots (batched AC check on every slot)")
    hdr = ("buses", "mode", "build [s]", "solve [s]", "verify [s]", "gap rel", "dV AC [pu]",
           "us/bus/slot")  # fmt: skip
    print("".join(f"{h:>12}" for h in hdr))
    for n in sizes:
        if n == 33:
            f, opts = fd, DistFlowOptions()
        else:
            f = Feeder.from_pandapower(synthetic_feeder_net(n, seed=0))
            opts = DistFlowOptions()
        t0 = time.perf_counter()
        mm = DistFlowModel(f, t_slots, 0.25, opts)
        mm.set_price(price)
        mm.scale_loads(scale)
        mm.build()
        b = time.perf_counter() - t0
        t0 = time.perf_counter()
        rr = mm.solve()
        s = time.perf_counter() - t0 - rr.verify_time_s
        per = 1e6 * s / (n * t_slots)
        mode = "by slot" if _splittable(mm) else "joint"
        row = (f"{n}", mode, f"{b:.3f}", f"{s:.2f}", f"{rr.verify_time_s:.2f}",
               f"{rr.relaxation_gap_rel:.1e}", f"{rr.ac_max_dv_pu:.1e}", f"{per:.1f}")  # fmt: skip
        print("".join(f"{c:>12}" for c in row))


if __name__ == "__main__":
    main()
