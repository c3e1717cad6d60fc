"""Shared helpers of the scenario generators: seeds, dates and scenario labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evagg._checks import check_tz, parse_timestamp
from evagg.errors import InputError

SeedLike = int | np.random.Generator | None
"""A seed: ``None`` (fresh entropy), an ``int`` or a ready ``numpy.random.Generator``."""


def as_generator(seed: SeedLike, field: str = "seed") -> np.random.Generator:
    """Return a ``numpy.random.Generator``; the same int seed gives the same stream."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(field, seed, "must be None, an int or a numpy.random.Generator")
    if seed < 0:
        raise InputError(field, seed, "an int seed must be >= 0")
    return np.random.default_rng(int(seed))


def check_count(field: str, value: Any) -> int:
    """Return ``value`` as an int >= 1 or raise ``InputError`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(field, value, "must be an integer >= 1")
    if value < 1:
        raise InputError(field, value, "must be an integer >= 1")
    return int(value)


def scenario_labels(n: int) -> pd.Index:
    """Scenario labels ``0 .. n-1`` named ``scenario``."""
    return pd.RangeIndex(n, name="scenario")


def local_day(field: str, date: Any, tz: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start (inclusive) and end (exclusive) of the local calendar day ``date`` in ``tz``.

    The day has 23 or 25 hours on daylight-saving changes; both bounds are local
    midnights. A tz-aware timestamp is first converted to ``tz``; its date is used.
    """
    ts = parse_timestamp(field, date)
    check_tz("tz", tz)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(tz).tz_localize(None)
    day = ts.normalize()
    start = day.tz_localize(tz)
    end = (day + pd.Timedelta(days=1)).tz_localize(tz)
    return start, end
