"""Benchmark of the DSO game: one day to a certified equilibrium, time split OPF vs best responses.

Usage::

    python benchmarks/bench_dso_game.py                 # case33bw × 96 slots × 3 aggregators
    python benchmarks/bench_dso_game.py --scaling   # + 10 aggregators, 300-bus feeder

Target: case33bw × 96 × 3 aggregators converged in < 30 s on 2 cores. The baseline row
(ratio 1) is the 3-aggregator case33bw day in the same process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from evagg.dso_game import GameNotConverged, play_day
from evagg.studies import dso_game as study


def one_day(cfg: study.Config, feeder=None) -> dict[str, object]:
    feeder = feeder if feeder is not None else study._feeder(cfg.network)
    users = study.synthesize_users(cfg.n_users, feeder.bus_index[1:], seed=cfg.seed)
    t0 = time.perf_counter()
    setup = study._day_setup(cfg, feeder, users, pd.Timestamp(cfg.date), cfg.points)
    trips = study.draw_trips(users, setup.n_slots, np.random.default_rng([cfg.seed, 0]))
    try:
        out = play_day(setup, trips, np.zeros(users.n))
        it, conv, tm = len(out.trajectory), True, out.times_s
    except GameNotConverged as exc:
        it, conv, tm = exc.iterations, False, {}
    total = time.perf_counter() - t0
    return {
        "buses": feeder.n_bus,
        "aggregators": len(cfg.aggregators),
        "slots": setup.n_slots,
        "converged": conv,
        "iterations": it,
        "total_s": total,
        "opf_s_per_iter": tm.get("opf_s", float("nan")) / max(it, 1),
        "best_responses_s_per_iter": tm.get("best_response_s", float("nan")) / max(it, 1),
        "certificate_s": tm.get("certificate_s", float("nan")),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scaling", action="store_true")
    args = ap.parse_args()
    rows = [one_day(study.Config(days=1, compare=False))]
    if args.scaling:
        ten = tuple(range(3, 33, 3))
        rows.append(one_day(study.Config(days=1, aggregators=ten, compare=False)))
        from evagg.grid import Feeder, synthetic_feeder_net

        big = Feeder.from_pandapower(synthetic_feeder_net(300, seed=0))
        rows.append(one_day(study.Config(days=1, aggregators=(50, 150, 250), compare=False), big))
    df = pd.DataFrame(rows)
    df["ratio_vs_baseline"] = df["total_s"] / df["total_s"].iloc[0]
    print(df.to_string(index=False))
    print("target: case33bw x 96 x 3 aggregators converged < 30 s")


if __name__ == "__main__":
    main()
