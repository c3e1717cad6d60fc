"""Small input-validation helpers shared by every layer.

They raise :class:`evagg.errors.InputError` (or a subclass) naming the field and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg.errors import InputError, MisalignedIndexError


def as_finite_array(
    field: str, value: Any, *, ndim: int | None = None, dtype: type = float
) -> npt.NDArray[Any]:
    """Convert ``value`` to a finite numpy array or raise ``InputError`` naming ``field``."""
    try:
        arr: npt.NDArray[Any] = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(field, value, f"not convertible to a numeric array ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise InputError(field, value, f"expected {ndim}-D array, got shape {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(field, value, f"non-finite entry at index {tuple(int(i) for i in bad)}")
    return arr


def check_nonnegative(field: str, value: Any) -> npt.NDArray[np.float64]:
    """Return ``value`` as a finite float array, raising if any entry is negative."""
    arr = as_finite_array(field, value)
    if arr.size and np.any(arr < 0):
        bad = np.argwhere(arr < 0)[0]
        idx = tuple(int(i) for i in bad)
        raise InputError(field, value, f"negative entry {arr[idx]!r} at index {idx}")
    return arr


def check_positive_scalar(field: str, value: Any) -> float:
    """Return ``value`` as a float, raising unless it is finite and > 0."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(field, value, "must be a positive number") from None
    if not np.isfinite(x) or x <= 0:
        raise InputError(field, value, "must be a finite number > 0")
    return x


def check_in_range(field: str, value: Any, lo: float, hi: float) -> float:
    """Return ``value`` as a float, raising unless ``lo <= value <= hi``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(field, value, f"must be a number in [{lo}, {hi}]") from None
    if not (lo <= x <= hi):
        raise InputError(field, value, f"must lie in [{lo}, {hi}]")
    return x


def check_probabilities(field: str, value: Any, *, atol: float = 1e-9) -> npt.NDArray[np.float64]:
    """Return a 1-D probability vector, raising unless entries are >= 0 and sum to 1."""
    p = check_nonnegative(field, value)
    if p.ndim != 1 or p.size == 0:
        raise InputError(field, value, "must be a non-empty 1-D vector")
    total = float(p.sum())
    if abs(total - 1.0) > atol:
        raise InputError(field, value, f"probabilities sum to {total:.12g}, not 1")
    return p


def check_bounds(field_lo: str, lo: float, field_hi: str, hi: float) -> None:
    """Raise if a lower bound exceeds its upper bound."""
    if lo > hi:
        raise InputError(f"{field_lo}/{field_hi}", (lo, hi), "lower bound exceeds upper bound")


def check_time_index(field: str, index: pd.Index) -> pd.DatetimeIndex:
    """Require a tz-aware, strictly increasing, regularly spaced DatetimeIndex."""
    if not isinstance(index, pd.DatetimeIndex):
        raise InputError(field, type(index).__name__, "index must be a pandas DatetimeIndex")
    if index.tz is None:
        raise InputError(field, str(index[:1]), "time index must be tz-aware")
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise InputError(field, str(dup), "duplicate timestamp in time index")
    if len(index) > 1:
        steps = np.diff(index.asi8)
        if np.any(steps <= 0):
            raise InputError(field, str(index[1:][steps <= 0][0]), "time index not increasing")
        if np.any(steps != steps[0]):
            k = int(np.argmax(steps != steps[0]))
            raise InputError(field, str(index[k + 1]), "time index is not regularly spaced")
    return index


def check_same_index(fields: Sequence[str], indices: Sequence[pd.Index]) -> None:
    """Raise :class:`MisalignedIndexError` unless all indices are identical (no alignment)."""
    first = indices[0]
    for name, idx in zip(fields[1:], indices[1:], strict=True):
        if not first.equals(idx):
            raise MisalignedIndexError(
                name,
                f"{len(idx)} labels from {idx[:1].tolist()}",
                f"index differs from {fields[0]!r} ({len(first)} labels from "
                f"{first[:1].tolist()}); evagg never aligns silently",
            )
