"""A toy day function for the backtest engine tests (importable by worker processes)."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd

from evagg.errors import InputError


def toy_day(
    day: dt.date, seed: int, *, sleep_s: float = 0.0, fail_on: str | None = None
) -> pd.DataFrame:
    """Three seeded random rows per day; raises on ``fail_on``; sleeps ``sleep_s``."""
    if fail_on is not None and day.isoformat() == fail_on:
        raise InputError("day", day.isoformat(), "toy failure")
    time.sleep(sleep_s)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"hour": np.arange(3), "value_eur": rng.normal(size=3), "seed": np.full(3, seed)}
    )
