"""V2G contract pricing over a date range (seed 001 day, every day of a year).

The one-day study :mod:`evagg.studies.v2g_pricing` (leader–follower prices, stage-2 V2G
dispatch, hold vs rolling vs perfect foresight at realised NL prices) run for every day of
``[start, end]`` on :func:`evagg.backtest.run_backtest` (dask, one task per day, a seed per
day derived from the run seed and the date, each day written atomically, resumable).

Summary over the days (sums of the daily rows):

    loss_s = Σ_d (profit_d^PF − profit_d^s),  s ∈ {hold, rolling}
    loss reduction of rolling vs hold = 1 − loss_rolling / loss_hold

(the seed reports ~33 % for its case). Days the data cannot settle (2023-12-31 and
2024-12-31 lack their 00:00 price in the ENTSO-E source) are listed as failed with the
reason; every computed day carries its pricing-game certificate.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evagg.studies.base import (
    BacktestRangeConfig,
    Verification,
    check_at_most,
    write_tables,
    write_verifications,
)
from evagg.studies.v2g_pricing import (
    MISSING_HOUR_MESSAGE,
    DaySettings,
    backtest_day,
    backtest_summary,
    data_range,
)

__all__ = ["Config", "V2GBacktestResult", "run", "write_outputs"]


class Config(BacktestRangeConfig, DaySettings):
    """V2G pricing over a date range: the range options plus the day's settings."""


@dataclass(frozen=True)
class V2GBacktestResult:
    """Daily rows, failed days, totals and the monthly table of a V2G-pricing backtest."""

    config: Config
    daily: pd.DataFrame
    failures: pd.DataFrame
    totals: dict[str, float]
    monthly: pd.DataFrame
    n_computed: int
    n_resumed: int

    @property
    def verifications(self) -> list[Verification]:
        """Largest pricing-game certificate gap over every computed day (each day's run
        already raises on a failed certificate; this records it for the range), and no
        failed day other than one the data cannot settle (a missing price hour)."""
        gap = float(self.totals.get("max_certificate_gap", 0.0))
        messages = self.failures["message"] if len(self.failures) else pd.Series([], dtype=str)
        unexpected = int((~messages.astype(str).str.contains(MISSING_HOUR_MESSAGE)).sum())
        return [
            check_at_most("max certificate gap over the days (rel)", gap, 1e-6),
            check_at_most(
                "failed days other than a missing price hour",
                unexpected,
                0,
                "see failures.csv",
            ),
        ]

    def summary(self) -> dict[str, Any]:
        """JSON-able key numbers: totals, counts, failed days with their reason."""
        fails = self.failures
        return {
            "start": self.config.start,
            "end": self.config.end,
            "every_days": self.config.every_days,
            "n_days": len(self.daily),
            "n_computed": self.n_computed,
            "n_resumed": self.n_resumed,
            "n_failures": len(fails),
            "failures": [
                {
                    "date": pd.Timestamp(r["date"]).date().isoformat(),
                    "error": f"{r['error_type']}: {r['message']}",
                }
                for r in fails.to_dict(orient="records")
            ],
            **{k: (None if not np.isfinite(v) else v) for k, v in self.totals.items()},
            "verifications": [v.as_dict() for v in self.verifications],
        }


def run(
    config: Config, *, scheduler: str | None = None, show_progress: bool = False
) -> V2GBacktestResult:
    """Run the V2G-pricing day over ``[config.start, config.end]`` (see
    :meth:`~evagg.studies.base.BacktestRangeConfig.run_days`: per-day files, resume,
    workers, scheduler); nothing else is written."""
    settings = DaySettings(**{k: getattr(config, k) for k in DaySettings.model_fields})
    res = config.run_days(
        functools.partial(backtest_day, config=settings),
        data_range(config.train_days),
        scheduler=scheduler,
        show_progress=show_progress,
    )
    daily = res.daily
    if daily.empty:
        totals: dict[str, float] = {"days": 0.0, "max_certificate_gap": 0.0}
        monthly = pd.DataFrame()
    else:
        daily = daily.assign(date=pd.to_datetime(daily["date"])).sort_values("date")
        daily = daily.reset_index(drop=True)
        totals, monthly = backtest_summary(daily)
    return V2GBacktestResult(
        config, daily, res.failures, totals, monthly, res.n_computed, res.n_resumed
    )


def write_outputs(result: V2GBacktestResult, out_dir: str | Path) -> list[Path]:
    """``daily.csv``, ``monthly.csv``, ``failures.csv``, ``monthly.png``, ``summary.json``
    and ``verifications.json`` in ``out_dir``."""
    from evagg.report.style import save_figure
    from evagg.report.v2g_pricing import monthly_figure

    out = Path(out_dir)
    daily = result.daily.copy()
    if not daily.empty:
        daily["date"] = daily["date"].dt.date.astype(str)
    files = write_tables(
        out,
        [
            ("daily.csv", daily, False),
            ("monthly.csv", result.monthly, True),
            ("failures.csv", result.failures, False),
        ],
    )
    if not result.monthly.empty:
        cfg = result.config
        case = f"{cfg.fleet_size} EVs, {cfg.v2g_share:.0%} V2G, {cfg.forecast} forecast"
        fig = monthly_figure(result.monthly, case, f"{cfg.start} .. {cfg.end}")
        files.append(save_figure(fig, out / "monthly.png"))
    path = out / "summary.json"
    path.write_text(json.dumps(result.summary(), indent=1, default=str) + "\n", encoding="utf-8")
    files += [path, write_verifications(result.verifications, out)]
    return files
