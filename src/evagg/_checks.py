"""Small input-validation helpers shared by every layer.

They raise :class:`evagg.errors.InputError` (or a subclass) naming the field and value.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import zoneinfo
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import AfterValidator, ValidationInfo

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


_T = TypeVar("_T")


def build_checked(cls: type[_T], source: Any, **overrides: Any) -> _T:
    """Build the validated dataclass ``cls`` from the same-named attributes of ``source``.

    Each init field of ``cls`` is taken from ``overrides`` if given there, else from
    ``source`` (a study config, or another ``cls`` instance) if it has the attribute,
    else left at its default; ``cls.__post_init__`` then validates and raises
    ``InputError`` naming the field and value. Used where a config (or a copy with a
    few parts replaced) becomes a domain object, so that the two never drift apart.
    """
    kwargs = {
        f.name: overrides[f.name] if f.name in overrides else getattr(source, f.name)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init and (f.name in overrides or hasattr(source, f.name))
    }
    unknown = set(overrides) - set(kwargs)
    if unknown:
        raise InputError("overrides", sorted(unknown), f"not fields of {cls.__name__}")
    return cls(**kwargs)


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


# ---------------------------------------------------------------------- dates and zones
_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)
"""ISO 8601 dates and timestamps evagg accepts from text (YYYY-MM-DD[ HH:MM[:SS]][offset])."""


def check_tz(field: str, tz: Any) -> str:
    """Return the IANA name of time zone ``tz``, raising ``InputError`` if it is unknown."""
    if isinstance(tz, _dt.tzinfo):
        return str(tz)
    if not isinstance(tz, str) or not tz.strip():
        raise InputError(field, tz, "must be an IANA time-zone name, e.g. 'Europe/Amsterdam'")
    try:
        zoneinfo.ZoneInfo(tz)
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, KeyError, OSError) as exc:
        raise InputError(
            field,
            tz,
            f"unknown time zone ({type(exc).__name__}); use an IANA name such as "
            "'Europe/Amsterdam' or 'UTC'",
        ) from None
    except Exception as exc:  # pytz.UnknownTimeZoneError is a KeyError subclass; be safe
        raise InputError(field, tz, f"unknown time zone ({type(exc).__name__})") from None
    return tz


# pandas' nanosecond timestamps span 1677-09-21 .. 2262-04-11; a day's margin either side
# keeps a localised day (any time zone) inside that range.
_TIMESTAMP_MIN = pd.Timestamp("1677-09-23")
_TIMESTAMP_MAX = pd.Timestamp("2262-04-09")


def parse_timestamp(field: str, value: Any, tz: Any = None) -> pd.Timestamp:
    """A timestamp from a date-like value; text must be ISO 8601 (``YYYY-MM-DD[ HH:MM]``).

    ``03/04/2024`` is the 3rd of April in most of Europe and the 4th of March in the US;
    pandas silently guesses, so evagg accepts only unambiguous ISO text (or datetime
    objects). With ``tz``, a naive result is localised to ``tz`` and an aware one
    converted to it.

    Raises
    ------
    InputError
        Naming ``field`` and ``value``: not ISO text, not a real date (2024-02-30), outside
        the nanosecond range pandas represents (1677 .. 2262), or not date-like at all.
    """
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_RE.match(text):
            raise InputError(
                field,
                value,
                "not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DD HH:MM); other "
                "formats such as dd/mm/yyyy are ambiguous and rejected",
            )
        value = text
    elif not isinstance(value, pd.Timestamp | _dt.datetime | _dt.date | np.datetime64):
        raise InputError(field, value, "not a date (use YYYY-MM-DD)")
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(field, value, f"not a valid date ({exc})") from None
    if ts is pd.NaT:
        raise InputError(field, value, "not a date (use YYYY-MM-DD)")
    if not _TIMESTAMP_MIN <= ts.tz_localize(None) <= _TIMESTAMP_MAX:
        raise InputError(
            field,
            value,
            f"outside the supported dates {_TIMESTAMP_MIN.date()} .. {_TIMESTAMP_MAX.date()} "
            "(nanosecond timestamps; a typo in the year?)",
        )
    if tz is not None:
        zone = check_tz("tz", tz)
        try:
            ts = ts.tz_localize(zone) if ts.tzinfo is None else ts.tz_convert(zone)
        except Exception as exc:  # nonexistent/ambiguous local time at a DST change
            raise InputError(
                field, value, f"local time does not exist or is ambiguous in {zone} ({exc})"
            ) from None
    return ts


# ---------------------------------------------------------------------- plausibility bounds
DA_PRICE_LIMITS_EUR_PER_MWH = (-500.0, 4000.0)
"""Harmonised min/max clearing prices of the EU single day-ahead coupling (SDAC, ACER
HMMCP methodology; +4000 EUR/MWh since the 2022 automatic increase). A day-ahead price
outside is a typo or a unit error; pass other limits where a user has a reason."""

BALANCING_PRICE_LIMITS_EUR_PER_MWH = (-15000.0, 15000.0)
"""Harmonised technical price limits of the EU balancing-energy platforms (ACER decision
01/2023 on the pricing methodology, ±15 000 EUR/MWh); imbalance prices beyond are errors."""

SESSION_LIMITS = {"max_power_kw": 350.0, "max_duration_h": 14 * 24.0, "max_energy_kwh": 250.0}
"""Plausibility bounds of one charging session: mean power [kW] (the fastest CCS
high-power chargers deliver 350 kW), plug-in length [h] (two weeks; longer is a typing
error such as a year 2035 departure) and delivered energy [kWh] (above the largest
passenger-EV batteries, ~210 kWh). Overridable by callers with a reason (e.g. trucks)."""


def check_price_limits(
    field: str,
    value: Any,
    limits: tuple[float, float] = DA_PRICE_LIMITS_EUR_PER_MWH,
    *,
    what: str = "EU harmonised day-ahead price limits",
) -> npt.NDArray[np.float64]:
    """Finite prices [EUR/MWh] within ``limits`` (default the SDAC −500/+4000 EUR/MWh)."""
    arr = as_finite_array(field, value)
    lo, hi = (float(x) for x in limits)
    out = (arr < lo) | (arr > hi)
    if arr.size and out.any():
        idx = tuple(int(i) for i in np.argwhere(out)[0])
        raise InputError(
            field,
            float(arr[idx]) if arr.ndim else float(arr),
            f"price outside [{lo:g}, {hi:g}] EUR/MWh ({what}); pass other limits if intended",
        )
    return arr


def check_finite_result(field: str, value: Any) -> Any:
    """Raise (an internal-bug guard) if a computed result contains NaN or inf."""
    arr = np.asarray(value, dtype=float)
    if arr.size and not np.all(np.isfinite(arr)):
        raise InputError(field, value, "result is not finite; the inputs are out of range")
    return value


def session_limit_violation(
    energy_kwh: npt.ArrayLike, duration_h: npt.ArrayLike, limits: dict[str, float] | None = None
) -> tuple[int, str, str] | None:
    """First session breaking a plausibility bound: ``(row, column, reason)`` or ``None``.

    Bounds (:data:`SESSION_LIMITS`, overridable per key): ``duration_h <= max_duration_h``,
    ``energy_kwh <= max_energy_kwh`` and ``energy_kwh <= max_power_kw * duration_h`` (the
    charger cannot deliver more in the plug-in window). The reason names the bound and how
    to override it.
    """
    lim = {**SESSION_LIMITS, **(limits or {})}
    unknown = sorted(set(lim) - set(SESSION_LIMITS))
    if unknown:
        raise InputError("limits", unknown, f"unknown bound(s); known: {sorted(SESSION_LIMITS)}")
    for key, val in lim.items():
        check_positive_scalar(f"limits[{key!r}]", val)
    e = np.asarray(energy_kwh, dtype=float)
    h = np.asarray(duration_h, dtype=float)
    tests = (
        (
            h > lim["max_duration_h"],
            "departure",
            f"session of {{h:.4g}} h is longer than max_duration_h={lim['max_duration_h']:g} h "
            "(a mistyped date or swapped day/month?); raise the bound if intended",
        ),
        (
            e > lim["max_energy_kwh"],
            "energy_kwh",
            f"{{e:.4g}} kWh in one session exceeds max_energy_kwh={lim['max_energy_kwh']:g} kWh "
            "(larger than any EV battery); raise the bound if intended",
        ),
        (
            e > lim["max_power_kw"] * h * (1 + 1e-9) + 1e-9,
            "energy_kwh",
            f"{{e:.4g}} kWh in {{h:.4g}} h needs more than max_power_kw="
            f"{lim['max_power_kw']:g} kW; raise the bound if intended",
        ),
    )
    firsts = [(int(np.argmax(bad)), col, msg) for bad, col, msg in tests if bad.any()]
    if not firsts:
        return None
    row, col, msg = min(firsts, key=lambda t: t[0])
    return row, col, msg.format(e=float(e[row]), h=float(h[row]))


def _iso_date_text(value: str, info: ValidationInfo) -> str:
    parse_timestamp(info.field_name or "date", value)
    return value


IsoDate = Annotated[str, AfterValidator(_iso_date_text)]
"""Pydantic field type of a config date: ISO text only (``dd/mm/yyyy`` is ambiguous)."""

TimeZoneName = Annotated[str, AfterValidator(lambda tz: check_tz("tz", tz))]
"""Pydantic field type of an IANA time-zone name (unknown zones rejected up front)."""
