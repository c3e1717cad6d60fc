"""ScenarioSet validation: strict about alignment, finiteness and probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evagg import InputError, MisalignedIndexError
from evagg.scenarios import ScenarioSet


def _frame(n_t: int = 4, n_s: int = 3, start: str = "2024-01-01") -> pd.DataFrame:
    idx = pd.date_range(start, periods=n_t, freq="1h", tz="Europe/Amsterdam", name="time")
    return pd.DataFrame(np.arange(n_t * n_s, dtype=float).reshape(n_t, n_s), index=idx)


def test_basic_views() -> None:
    ss = ScenarioSet.equiprobable({"a": _frame(), "b": 2 * _frame()})
    assert ss.n_scenarios == 3 and ss.quantities == ["a", "b"]
    assert ss.array("a").shape == (3, 4)
    assert ss.features().shape == (3, 8)
    # expected = row mean for equal probabilities (hand: row 0 is 0, 1, 2 -> 1)
    assert ss.expected("a").iloc[0] == pytest.approx(1.0)
    sub = ss.subset([0, 2], [0.25, 0.75])
    assert list(sub.scenarios) == [0, 2] and sub.p.sum() == pytest.approx(1.0)
    long = ss.to_long()
    assert len(long) == 12 and set(long.columns) == {"a", "b", "probability"}


def test_rejects_misaligned_time_index() -> None:
    with pytest.raises(MisalignedIndexError):
        ScenarioSet.equiprobable({"a": _frame(), "b": _frame(start="2024-01-02")})


def test_rejects_naive_index_nan_and_bad_probabilities() -> None:
    f = _frame()
    with pytest.raises(InputError, match="tz-aware"):
        ScenarioSet.equiprobable({"a": f.tz_localize(None)})
    g = f.copy()
    g.iloc[1, 2] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        ScenarioSet.equiprobable({"a": g})
    with pytest.raises(InputError, match="sum to"):
        ScenarioSet({"a": f}, pd.Series([0.5, 0.5, 0.5], index=f.columns))
    with pytest.raises(InputError, match="not scenario labels"):
        ScenarioSet.equiprobable({"a": f}).subset([7])
