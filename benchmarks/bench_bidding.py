"""Benchmark of the seed 002 bidding MILP: time and out-of-sample profit vs kept scenarios.

For each number of kept market scenarios (fast forward reduction of 200 SARIMAX scenarios)
and switching cost K, builds and solves the model at β = 1 in both formulations (the seed's
KKT big-M MILP and evagg's exact breakpoint enumeration), then scores the decision on
the target day's actual NL day-ahead prices (not used in fitting) with fresh draws of
balancing premia and rival errors. Prints a table with build/solve times, the build share of
the total and ratios against the 7-scenario baseline run in the same process.

Targets (issue 12, 2 cores): 200 scenarios, K = 10, each formulation < 10 s; build < 20 %
of the total; a β sweep on one model (cp.Parameter, warm-started HiGHS) vs fresh models;
the README example (``evagg bidding --date 2024-03-12 --beta 0.1,1,10,100 ...``) < 60 s
(``--readme``, timed in-process through ``evagg.studies.bidding_day.run``).

    .venv/bin/python benchmarks/bench_bidding.py [--date 2024-03-12] [--keep 7,10,20,50,200]
        [--k 0,10] [--sweep] [--readme]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from evagg.bidding import build_bidding, evaluate_bidding, solve
from evagg.data import load_nl_day_ahead_prices
from evagg.studies.bidding_day import BiddingStudyConfig, _realised, build_inputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--date", default="2024-03-12")
    ap.add_argument("--keep", default="7,10,20,50,200")
    ap.add_argument("--k", default="0,10", help="switching costs [EUR/MWh]")
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--draws", type=int, default=50)
    ap.add_argument("--formulations", default="kkt,enumeration")
    ap.add_argument("--sweep", action="store_true", help="time a beta sweep (200 scenarios)")
    ap.add_argument("--readme", action="store_true", help="time the README bidding example")
    args = ap.parse_args()
    keeps = [int(x) for x in args.keep.split(",")]
    ks = [float(x) for x in args.k.split(",")]
    forms = args.formulations.split(",")
    prices = load_nl_day_ahead_prices()
    cfg = BiddingStudyConfig(date=args.date, oos_draws=args.draws)
    rows = []
    generated: dict[object, object] = {}  # one scenario generation for every K and size
    for k in ks:
        base_total: dict[str, float] = {}
        for n in keeps:
            t0 = time.perf_counter()
            inputs, meta = build_inputs(
                prices,
                args.date,
                cfg,
                reduce_to=None if n >= 200 else n,
                switching_cost=k,
                seed=cfg.seed,
                cache=generated,
            )
            t_data = time.perf_counter() - t0
            realised = _realised(prices, inputs, cfg, seed=cfg.seed + 999)
            for form in forms:
                t1, c1 = time.perf_counter(), time.process_time()
                model = build_bidding(inputs, formulation=form)
                t_build = time.perf_counter() - t1
                t2 = time.perf_counter()
                res = solve(model, beta=args.beta)
                t_solve = time.perf_counter() - t2  # CVXPY compile + solver + certificate
                cpu = time.process_time() - c1  # CPU of this process (load-independent)
                oos = evaluate_bidding(
                    res.decision,
                    realised,
                    switching_cost_eur_per_mwh=inputs.k_matrix,
                    initial_shares=inputs.x0,
                )
                total = t_build + t_solve
                base_total.setdefault(form, total)
                rows.append(
                    (
                        k,
                        n,
                        form[:4],
                        t_data,
                        t_build,
                        res.solve_info.compile_time_s,
                        res.solve_info.solve_time_s,
                        total,
                        cpu,
                        t_build / total,
                        total / base_total[form],
                        res.solve_info.objective,
                        res.cvar,
                        float(np.mean(oos)),
                        float(meta.get("kantorovich_distance", 0.0)),
                        res.certificate.max_gap,
                    )
                )
                print(f"  done K={k:g} n={n} {form}: {total:.1f} s, load {_load()}", flush=True)
    head = (
        f"{'K':>4} {'kept':>5} {'form':>5} {'data_s':>7} {'build_s':>8} "
        f"{'compile_s':>9} {'solver_s':>9} "
        f"{'total_s':>8} {'cpu_s':>7} {'build%':>7} {'x_base':>7} {'objective':>10} {'CVaR':>9} "
        f"{'oos_mean':>9} {'kantor':>7} {'cert_gap':>9}"
    )
    print(
        f"\nbidding MILP, date {args.date}, beta {args.beta}, 3 rivals; "
        "x_base = total / first row's total (same K and formulation, same process); "
        "objective = E[profit] + beta*CVaR; oos_mean = mean realised profit on the day; "
        "data_s = scenario generation (not part of the model build); cpu_s = CPU time of "
        f"build + solve (wall/cpu > 1 means other processes took the cores); load {_load()}"
    )
    print(head)
    for r in rows:
        print(
            f"{r[0]:>4g} {r[1]:>5d} {r[2]:>5} {r[3]:>7.1f} {r[4]:>8.2f} {r[5]:>9.2f} "
            f"{r[6]:>9.2f} {r[7]:>8.2f} {r[8]:>7.2f} {100 * r[9]:>6.1f}% {r[10]:>7.2f} "
            f"{r[11]:>10.1f} {r[12]:>9.1f} {r[13]:>9.1f} {r[14]:>7.2f} {r[15]:>9.1e}"
        )
    print()
    for form in sorted({r[2] for r in rows}):
        big = [r for r in rows if r[1] >= 200 and r[2] == form]
        if big:
            worst = max(r[7] for r in big)
            share = max(r[9] for r in big)
            print(
                f"{form}: 200-scenario model < 10 s: {'met' if worst < 10 else 'NOT met'} "
                f"(worst {worst:.1f} s); build < 20 % of total: "
                f"{'met' if share < 0.2 else 'NOT met'} ({100 * share:.1f} %)"
            )
    if args.sweep:
        _sweep(prices, cfg, args.date, generated)
    if args.readme:
        _readme(prices, args.date)


def _sweep(prices: object, cfg: BiddingStudyConfig, date: str, generated: dict) -> None:
    """β sweep (0.1, 1, 10, 100) on the 200-scenario K = 10 model: one model re-solved
    (parameter + warm start) vs a fresh model per β, formulation chosen automatically."""
    inputs, _ = build_inputs(
        prices, date, cfg, reduce_to=None, switching_cost=10.0, seed=cfg.seed, cache=generated
    )
    betas = (0.1, 1.0, 10.0, 100.0)
    t0 = time.perf_counter()
    model = build_bidding(inputs)
    one = [solve(model, beta=b).solve_info.objective for b in betas]
    t_one = time.perf_counter() - t0
    t1 = time.perf_counter()
    fresh = [
        solve(build_bidding(inputs), beta=b, warm_start=False).solve_info.objective for b in betas
    ]
    t_fresh = time.perf_counter() - t1
    same = np.allclose(one, fresh, rtol=1e-6)
    print(
        f"\nbeta sweep {betas}, 200 scenarios, K = 10, formulation {model.formulation}: "
        f"one model {t_one:.1f} s, fresh models {t_fresh:.1f} s "
        f"(ratio {t_one / t_fresh:.2f}); objectives equal: {same}"
    )


def _readme(prices: object, date: str) -> None:
    """The README example in-process (same defaults as the CLI)."""
    from evagg.studies.bidding_day import Config, run

    t0, c0 = time.perf_counter(), time.process_time()
    run(Config(date=date, betas=(0.1, 1.0, 10.0, 100.0)), prices)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"\nREADME example (evagg bidding --date {date} --beta 0.1,1,10,100): {wall:.1f} s "
        f"wall, {cpu:.1f} s CPU, load {_load()}; < 60 s: {'met' if wall < 60 else 'NOT met'}"
    )


def _load() -> str:
    """1-, 5- and 15-minute load averages (the machine is shared)."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
