"""Backtests: any per-day study over a date range on dask.distributed (resumable).

See :mod:`evagg.backtest.engine` and ``docs/backtest.md``.
"""

from evagg.backtest.engine import BacktestResult, DayFn, day_seed, parse_day, run_backtest

__all__ = ["BacktestResult", "DayFn", "day_seed", "parse_day", "run_backtest"]
