"""Benchmark: V2G contract pricing (seed 001) and its backtest on dask.distributed.

Times, on 2024-06-12 with a 200-vehicle ElaadNL fleet (30 % V2G):
- the pricing game MILP (build + solve + certificates; target < 10 s);
- one rolling day: 23-25 LP re-solves of one compiled CVXPY problem with
  ``cp.Parameter`` prices/bounds (target < 5 s), against a baseline that rebuilds the
  problem every hour (ratio printed);
- a backtest of ``--days`` days on a LocalCluster with 1 and with 2 workers (speed-up,
  target >= 1.6x; needs 2 otherwise idle cores).
Wall and CPU (process) times are printed with the load average: on a shared machine the
wall times measure the machine, the CPU times the code. ``--year`` also times the whole
2024 backtest (long).

Run: ``.venv/bin/python benchmarks/bench_v2g_pricing.py [--days 48] [--year] [--quick]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from evagg.data import load_nl_day_ahead_prices
from evagg.studies import v2g_pricing as study
from evagg.studies import v2g_pricing_backtest as backtest
from evagg.v2g_pricing import V2GDispatch, build_pricing, group_users, point_forecast, solve_pricing

DATE = "2024-06-12"


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _rebuild_rolling(users: pd.DataFrame, n_t: int, forecast: Any, realised: np.ndarray) -> None:
    """Baseline: a fresh CVXPY problem every hour (what cp.Parameter avoids)."""
    fixed_c = np.zeros((len(users), n_t))
    fixed_d = np.zeros((len(users), n_t))
    for h in range(n_t):
        disp = V2GDispatch(users, n_t, 0.05)
        hi_c, hi_d = disp.charge_hi.copy(), disp.discharge_hi.copy()
        lo_c, lo_d = np.zeros_like(hi_c), np.zeros_like(hi_d)
        lo_c[:, :h] = hi_c[:, :h] = fixed_c[:, :h]
        lo_d[:, :h] = hi_d[:, :h] = fixed_d[:, :h]
        disp.c_lo.value, disp.c_hi.value, disp.d_lo.value, disp.d_hi.value = lo_c, hi_c, lo_d, hi_d
        plan = disp._solve(forecast.view(realised[: h + 1]))
        fixed_c[:, h], fixed_d[:, h] = plan.charge_kwh[:, h], plan.discharge_kwh[:, h]


def _day_rows(quick: bool) -> list[tuple[str, float, float, str]]:
    prices = load_nl_day_ahead_prices()
    cfg = study.Config(date=DATE, forecast="weekly_profile")
    hours, realised = study._day_prices(prices, DATE)
    forecast = point_forecast(prices, hours, "weekly_profile")
    users = study._users_of_day(cfg, hours[0], len(hours))
    grouping = group_users(users, cfg.n_classes, cfg.seed)
    w, c, res = _timed(
        lambda: solve_pricing(build_pricing(grouping.classes, forecast.values, cfg.tariff()))
    )
    rows = [
        (
            f"pricing MILP, {len(users)} user-days of 200 EVs, {len(grouping.classes)} classes",
            w,
            c,
            f"target < 10 s; certificate gap {res.certificate_gap:.1e}",
        )
    ]
    v2g = users[users["contract"] == "v2g"]
    disp = V2GDispatch(v2g, len(hours), 0.05)
    disp.schedule(forecast.values)  # compile once (as the study does for the plan)
    w_r, c_r, _ = _timed(lambda: disp.rolling(forecast.view, realised))
    rows.append(
        (
            f"rolling day, {len(v2g)} V2G EVs, {len(hours)} re-solves (cp.Parameter)",
            w_r,
            c_r,
            "target < 5 s",
        )
    )
    if not quick:
        w_b, c_b, _ = _timed(lambda: _rebuild_rolling(v2g, len(hours), forecast, realised))
        rows.append(
            (
                "rolling day, problem rebuilt every hour (baseline)",
                w_b,
                c_b,
                f"cp.Parameter speed-up {w_b / w_r:.2f}x wall, {c_b / c_r:.2f}x CPU",
            )
        )
    return rows


def _backtest_rows(days: int) -> list[tuple[str, float, float, str]]:
    """The same range with 1 and with 2 workers (cluster start and worker imports
    included: the wall time a user waits)."""
    start = dt.date(2024, 3, 4)
    end = start + dt.timedelta(days=days - 1)
    walls = {}
    for workers in (1, 2):
        cfg = backtest.Config(
            start=str(start), end=str(end), workers=workers, forecast="weekly_profile"
        )
        w, _, res = _timed(lambda cfg=cfg: backtest.run(cfg))
        walls[workers] = (w, res)
    same = walls[1][1].daily.equals(walls[2][1].daily)  # same seed -> same numbers
    per_day = walls[2][0] / days
    return [
        (f"backtest {days} days, 1 worker", walls[1][0], float("nan"), ""),
        (
            f"backtest {days} days, 2 workers",
            walls[2][0],
            float("nan"),
            f"speed-up {walls[1][0] / walls[2][0]:.2f}x (target >= 1.6x); identical: {same}; "
            f"2024 at this rate ~{366 * per_day / 60:.0f} min",
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=48, help="days of the 1-vs-2-worker backtest")
    ap.add_argument("--quick", action="store_true", help="skip the baseline and the backtest")
    ap.add_argument("--year", action="store_true", help="also time the 2024 backtest")
    args = ap.parse_args()
    print(f"load average {_load()} at start")
    rows = _day_rows(args.quick)
    if not args.quick:
        rows += _backtest_rows(args.days)
    if args.year:
        cfg = backtest.Config(workers=2, forecast="weekly_profile")
        w, _, res = _timed(lambda: backtest.run(cfg, show_progress=True))
        rows.append(
            (
                "backtest 2024, 2 workers",
                w,
                float("nan"),
                f"target < 30 min; {len(res.daily)} days, {len(res.failures)} failed",
            )
        )
    print(f"{'what':<72} {'wall [s]':>9} {'CPU [s]':>8}  note")
    for what, w, c, note in rows:
        print(f"{what:<72} {w:9.2f} {c:8.2f}  {note}")
    print(f"load average {_load()} at end")


if __name__ == "__main__":
    main()
