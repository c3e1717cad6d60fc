"""Sweep: the ev-day OPF on every bundled day with a negative day-ahead hour.

Run ``python benchmarks/bench_grid_negative_days.py`` (about 15–40 min on one core;
``--limit N`` for the first N days, ``--out FILE.csv`` for the per-day table).

Per day (Europe/Amsterdam local day, 23/24/25 hours, the 2023-12-31 gap included):
case33bw, 15-min slots (each hour's NL price for its four quarter-hours; base loads
shaped by seed 003 Table A1 per local hour, as ``evagg grid ev-day`` does), voltage band
0.95–1.05 pu, substation 1.0–1.05 pu, verified OPF (relaxation gap and AC power flow
bind). Prints failures (target 0), the remedy used, iterations, the largest gap and AC
|ΔV|, and the time per day.
"""

from __future__ import annotations

import argparse
import functools
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore", message=".*numba.*")


def negative_days() -> list[str]:
    from evagg.data import load_nl_day_ahead_prices

    s = load_nl_day_ahead_prices()
    neg = s[s < 0]
    return sorted({str(t.date()) for t in neg.index})


@functools.cache
def _feeder() -> object:
    from evagg.grid import Feeder

    return Feeder.from_pandapower()


def day_opf(date: str) -> dict[str, object]:
    from evagg.data import load_nl_day_ahead_prices
    from evagg.grid import DistFlowModel, DistFlowOptions
    from evagg.studies.ev_grid_day import daily_load_scale

    start = pd.Timestamp(date)
    hourly = load_nl_day_ahead_prices(start, start + pd.Timedelta(days=1))
    idx = pd.DatetimeIndex(hourly.index)
    q_idx = pd.DatetimeIndex(
        [t + pd.Timedelta(minutes=15 * k) for t in idx for k in range(4)], name="time"
    )
    price = np.repeat(hourly.to_numpy(float), 4)
    scale = np.repeat(daily_load_scale(idx), 4)
    fd: Any = _feeder()
    opts = DistFlowOptions(v_min_pu=0.95, v_max_pu=1.05, v_slack_min_pu=1.0, v_slack_max_pu=1.05)
    model = DistFlowModel(fd, len(q_idx), 0.25, opts, q_idx)
    model.set_loads(np.outer(fd.p_load_mw, scale), np.outer(fd.q_load_mvar, scale))
    model.set_price(price)
    t0 = time.perf_counter()
    row: dict[str, object] = {"date": date, "slots": len(q_idx), "min_price": price.min()}
    try:
        res = model.solve()
        row |= {
            "ok": True,
            "remedy": res.remedy,
            "iterations": res.pccp_iterations,
            "gap_rel": res.relaxation_gap_rel,
            "ac_dv_pu": res.ac_max_dv_pu,
            "cost_eur": res.cost_eur,
            "bound_gap_rel": res.optimality_gap_rel,
        }
    except Exception as exc:  # report every failure, keep sweeping
        row |= {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    row["time_s"] = time.perf_counter() - t0
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N days")
    ap.add_argument("--out", default="", help="CSV file for the per-day table")
    args = ap.parse_args()
    days = negative_days()
    if args.limit:
        days = days[: args.limit]
    rows = []
    for i, d in enumerate(days):
        rows.append(day_opf(d))
        r = rows[-1]
        print(
            f"{i + 1:4d}/{len(days)} {d} ok={r['ok']} {r.get('remedy', r.get('error'))} "
            f"it={r.get('iterations', '-')} {r['time_s']:.1f}s",
            flush=True,
        )
    df = pd.DataFrame(rows)
    if args.out:
        df.to_csv(args.out, index=False)
    ok = df[df["ok"]]
    print(f"\ndays with a negative hour: {len(df)}; failures: {int((~df['ok']).sum())}")
    if len(ok):
        print(
            f"remedy pccp on {int((ok['remedy'] == 'pccp').sum())} days; "
            f"iterations median {ok['iterations'].median():.0f}, max {ok['iterations'].max()}"
        )
        gap, dv = ok["gap_rel"].max(), ok["ac_dv_pu"].max()
        print(f"max relaxation gap {gap:.1e}, max AC |dV| {dv:.1e} pu")
        print(f"time per day: median {ok['time_s'].median():.1f} s, max {ok['time_s'].max():.1f} s")
    for _, r in df[~df["ok"]].iterrows():
        print(f"FAILED {r['date']}: {r['error']}")


if __name__ == "__main__":
    main()
