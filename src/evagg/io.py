"""Readers for users' own data files (layer 2), strict about every malformed row.

Each reader returns tz-aware pandas objects with units in the column names, or raises
:class:`evagg.errors.DataFileError` naming the file, line (header = line 1), column and
value. Nothing is dropped, filled or aligned silently.

Supported formats
-----------------
* ENTSO-E Transparency Platform CSV exports of day-ahead prices (classic layout
  ``"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]",...`` and the 2024+ layout
  ``"MTU (CET/CEST)","Area","Sequence","Day-ahead Price (EUR/MWh)"``) and of imbalance
  prices (``"Imbalance settlement period ..."``, ``"+ Imbalance Price [EUR/MWh] ..."``,
  ``"- Imbalance Price [EUR/MWh] ..."``). MTU strings ``"dd.mm.yyyy HH:MM - dd.mm.yyyy
  HH:MM"`` (or with ``/`` and seconds) in CET/CEST, with the optional ``(CET)``/
  ``(CEST)`` suffix the platform adds on the autumn DST change.
* Charging-session CSVs with one row per plug-in session: vehicle (or user) id,
  arrival, departure and delivered energy [kWh]; ACN-Data column names
  (``userID``/``connectionTime``/``disconnectTime``/``kWhDelivered``) are recognised.
* Multi-period load-profile CSVs for a feeder: ``time`` (timestamps or slot numbers),
  then ``load_scale`` or per-bus ``p_mw_<bus>`` [MW], optionally ``price_eur_per_mwh``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evagg._checks import (
    _ISO_RE,
    BALANCING_PRICE_LIMITS_EUR_PER_MWH,
    DA_PRICE_LIMITS_EUR_PER_MWH,
    check_tz,
    session_limit_violation,
)
from evagg.errors import DataFileError

__all__ = [
    "ENTSOE_TZ",
    "SESSION_COLUMNS",
    "read_entsoe_day_ahead_prices",
    "read_entsoe_imbalance_prices",
    "read_load_profile",
    "read_sessions",
]

ENTSOE_TZ = "Europe/Brussels"
"""CET/CEST, the time zone of ENTSO-E Transparency exports."""

SESSION_COLUMNS = ("vehicle_id", "arrival", "departure", "energy_kwh")
"""Canonical columns of a session table returned by :func:`read_sessions`."""

_SESSION_ALIASES: dict[str, tuple[str, ...]] = {
    "vehicle_id": ("vehicle_id", "ev_id", "car_id", "user_id", "userid", "vehicle", "user"),
    "arrival": ("arrival", "arrival_time", "connectiontime", "plug_in", "start", "start_time"),
    "departure": (
        "departure",
        "departure_time",
        "disconnecttime",
        "plug_out",
        "end",
        "end_time",
    ),
    "energy_kwh": ("energy_kwh", "kwhdelivered", "energy", "kwh", "energy_delivered_kwh"),
    "location": ("location", "site", "site_type"),
}

_MTU_RE = re.compile(
    r"^\s*(?P<start>\d{2}[./]\d{2}[./]\d{4} \d{2}:\d{2}(?::\d{2})?)\s*-\s*"
    r"(?P<end>\d{2}[./]\d{2}[./]\d{4} \d{2}:\d{2}(?::\d{2})?)\s*(?:\((?P<zone>CES?T)\))?\s*$"
)


def _line(i: int) -> int:
    """File line number of the i-th (0-based) data row: the header is line 1."""
    return int(i) + 2


def _read_csv(path: str | Path) -> tuple[str, pd.DataFrame]:
    p = Path(path)
    name = str(p)
    if not p.is_file():
        raise DataFileError(name, None, None, name, "file not found")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataFileError(name, None, None, name, f"not a readable CSV ({exc})") from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    if df.empty:
        raise DataFileError(name, None, None, 0, "file has a header but no data rows")
    return name, df


def _find_column(name: str, df: pd.DataFrame, what: str, pattern: str) -> str:
    rx = re.compile(pattern, re.IGNORECASE)
    hits = [c for c in df.columns if rx.search(c)]
    if len(hits) != 1:
        found = "none" if not hits else f"several: {hits}"
        raise DataFileError(
            name,
            1,
            None,
            list(df.columns),
            f"expected one {what} column matching /{pattern}/, found {found}",
        )
    return hits[0]


def _reject_first(
    name: str, bad: Any, column: str | None, values: Any, reason: str, offset: int = 0
) -> None:
    """Raise ``DataFileError`` at the first row where ``bad`` is true (if any).

    ``values`` gives the offending cell (``values.iloc[i]``; a plain string is shown as
    is); ``offset`` shifts the row when ``bad`` compares neighbours (``np.diff``).
    """
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return
    i = int(np.argmax(bad)) + offset
    value = values if isinstance(values, str) else values.iloc[i]
    raise DataFileError(name, _line(i), column, value, reason)


def _parse_numbers(name: str, df: pd.DataFrame, column: str) -> np.ndarray:
    raw = df[column].str.strip()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    _reject_first(name, ~np.isfinite(values), column, raw, "not a finite number")
    return values


def _parse_prices(
    name: str, df: pd.DataFrame, column: str, limits: tuple[float, float], what: str
) -> np.ndarray:
    """Finite prices [EUR/MWh] within ``limits`` (a typo or unit error otherwise)."""
    values = _parse_numbers(name, df, column)
    lo, hi = (float(x) for x in limits)
    _reject_first(
        name,
        (values < lo) | (values > hi),
        column,
        df[column],
        f"price outside [{lo:g}, {hi:g}] EUR/MWh ({what}); pass price_limits if intended",
    )
    return values


def _parse_mtu(
    name: str, df: pd.DataFrame, column: str, tz: str
) -> tuple[pd.DatetimeIndex, pd.Timedelta]:
    """Parse ENTSO-E MTU intervals: tz-aware start times and the interval length."""
    parts = df[column].str.extract(_MTU_RE)
    _reject_first(
        name,
        parts["start"].isna(),
        column,
        df[column],
        "not an MTU interval 'dd.mm.yyyy HH:MM - dd.mm.yyyy HH:MM'",
    )
    start = pd.to_datetime(
        parts["start"].str.replace("/", ".", regex=False),
        format="mixed",
        dayfirst=True,
        errors="coerce",
    )
    end = pd.to_datetime(
        parts["end"].str.replace("/", ".", regex=False),
        format="mixed",
        dayfirst=True,
        errors="coerce",
    )
    _reject_first(name, start.isna() | end.isna(), column, df[column], "unparseable date")
    # Local wall-clock length; the most common one is the MTU (DST rows may differ).
    step = (end - start).mode().iloc[0]
    # Ambiguous autumn hour: an explicit (CEST)/(CET) suffix decides; otherwise the first
    # occurrence is summer time, as in every ENTSO-E export.
    zone = parts["zone"]
    dup_first = ~start.duplicated(keep="first")
    is_dst = np.where(zone.notna(), zone == "CEST", dup_first).astype(bool)
    try:
        local = pd.DatetimeIndex(start).tz_localize(tz, ambiguous=is_dst, nonexistent="raise")
    except Exception as exc:  # pytz/zoneinfo raise different types for a DST gap
        bad_time = str(exc).split("'")[1] if "'" in str(exc) else str(exc)
        rows = np.flatnonzero(start.astype(str).str.startswith(bad_time[:16]).to_numpy())
        i = int(rows[0]) if rows.size else 0
        raise DataFileError(
            name,
            _line(i),
            column,
            df[column].iloc[i],
            f"local time does not exist in {tz} (DST gap): {exc}",
        ) from None
    return local, pd.Timedelta(step)


def _check_series_times(
    name: str, df: pd.DataFrame, column: str, index: pd.DatetimeIndex, step_td: pd.Timedelta
) -> None:
    """Duplicates, disorder and missing intervals in a regular series are errors."""
    _reject_first(name, index.duplicated(), column, df[column], "duplicate timestamp")
    if len(index) < 2:
        return
    utc = index.tz_convert("UTC")
    steps = np.diff(utc.asi8)
    _reject_first(name, steps <= 0, column, df[column], "timestamps not increasing", offset=1)
    step = int(step_td.value)
    gap = steps != step
    if gap.any():
        i = int(np.argmax(gap)) + 1
        missing = pd.Timedelta(int(steps[i - 1]) - step, unit="ns")
        raise DataFileError(
            name,
            _line(i),
            column,
            df[column].iloc[i],
            f"gap of {missing} before this row (step {pd.Timedelta(step, unit='ns')}); "
            "a missing interval, e.g. a DST change handled wrongly",
        )


def read_entsoe_day_ahead_prices(
    path: str | Path,
    tz: str = ENTSOE_TZ,
    *,
    price_limits: tuple[float, float] = DA_PRICE_LIMITS_EUR_PER_MWH,
) -> pd.Series:
    """Read an ENTSO-E Transparency day-ahead price export.

    Parameters
    ----------
    path
        CSV exported from the Transparency Platform (Day-ahead Prices, one bidding zone).
    tz
        Time zone the MTU column is written in (CET/CEST).
    price_limits
        Plausible price range [EUR/MWh]; default the EU harmonised day-ahead limits
        −500 / +4000 EUR/MWh (:data:`evagg._checks.DA_PRICE_LIMITS_EUR_PER_MWH`).

    Returns
    -------
    pandas.Series
        ``price_eur_per_mwh`` [EUR/MWh] indexed by the tz-aware start of each MTU.

    Raises
    ------
    DataFileError
        Missing columns, unparseable or duplicate timestamps, non-existent local times
        (DST gap), missing intervals, a non-numeric price (e.g. ``n/e``) or one outside
        ``price_limits``, naming line, column and value.
    """
    tz = check_tz("tz", tz)
    name, df = _read_csv(path)
    tcol = _find_column(name, df, "MTU time", r"^MTU\b")
    pcol = _find_column(name, df, "day-ahead price", r"day-ahead price")
    index, step = _parse_mtu(name, df, tcol, tz)
    _check_series_times(name, df, tcol, index, step)
    values = _parse_prices(name, df, pcol, price_limits, "EU harmonised day-ahead limits")
    return pd.Series(values, index=index.rename("time"), name="price_eur_per_mwh")


def read_entsoe_imbalance_prices(
    path: str | Path,
    tz: str = ENTSOE_TZ,
    *,
    price_limits: tuple[float, float] = BALANCING_PRICE_LIMITS_EUR_PER_MWH,
) -> pd.DataFrame:
    """Read an ENTSO-E Transparency imbalance-price export (positive and negative prices).

    ``price_limits`` [EUR/MWh] default to the EU balancing platforms' ±15 000 EUR/MWh
    (:data:`evagg._checks.BALANCING_PRICE_LIMITS_EUR_PER_MWH`).

    Returns
    -------
    pandas.DataFrame
        Columns ``pos_price_eur_per_mwh`` (the ``+`` imbalance price, paid by a short
        party) and ``neg_price_eur_per_mwh`` (the ``-`` price, received by a long
        party) [EUR/MWh], on the tz-aware start of each settlement period.

    Raises
    ------
    DataFileError
        As :func:`read_entsoe_day_ahead_prices`.
    """
    tz = check_tz("tz", tz)
    name, df = _read_csv(path)
    tcol = _find_column(name, df, "settlement-period time", r"settlement period|^MTU\b")
    pos = _find_column(name, df, "positive imbalance price", r"^\+\s*imbalance price|^long\b")
    neg = _find_column(name, df, "negative imbalance price", r"^-\s*imbalance price|^short\b")
    index, step = _parse_mtu(name, df, tcol, tz)
    _check_series_times(name, df, tcol, index, step)
    return pd.DataFrame(
        {
            "pos_price_eur_per_mwh": _parse_prices(name, df, pos, price_limits, _BAL),
            "neg_price_eur_per_mwh": _parse_prices(name, df, neg, price_limits, _BAL),
        },
        index=index.rename("time"),
    )


_BAL = "EU balancing-energy price limits"


def _resolve_session_columns(name: str, df: pd.DataFrame) -> dict[str, str]:
    lower = {c.lower().replace(" ", "_"): c for c in df.columns}
    found: dict[str, str] = {}
    for canon, aliases in _SESSION_ALIASES.items():
        for alias in aliases:
            if alias in lower:
                found[canon] = lower[alias]
                break
    missing = [c for c in SESSION_COLUMNS if c not in found]
    if missing:
        raise DataFileError(
            name,
            1,
            missing[0],
            list(df.columns),
            f"required column missing (need {list(SESSION_COLUMNS)}; "
            f"accepted names for {missing[0]!r}: {list(_SESSION_ALIASES[missing[0]])})",
        )
    return found


_OFFSET_RE = r"(?:Z|GMT|UTC|[+-]\d{2}:?\d{2})$"
_RFC2822_RE = re.compile(
    r"^(?:[A-Z][a-z]{2}, )?\d{1,2} [A-Z][a-z]{2} \d{4} "
    r"\d{2}:\d{2}(?::\d{2})? (?:GMT|UTC|[+-]\d{4})$"
)
"""RFC 2822 timestamps (ACN-Data's ``Wed, 25 Apr 2018 11:08:04 GMT``): unambiguous."""


def _check_time_format(
    name: str, raw: pd.Series, text: pd.Series, column: str, time_format: str | None
) -> str:
    """The pandas format of a timestamp column; without one, text must be unambiguous."""
    if time_format is not None:
        return time_format
    iso = text.str.match(_ISO_RE).to_numpy()
    if iso.all():
        return "ISO8601"
    rfc = text.str.match(_RFC2822_RE).to_numpy()
    bad = ~(iso | rfc) if not rfc.all() else np.zeros(len(text), bool)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataFileError(
            name,
            _line(i),
            column,
            raw.iloc[i],
            "unparseable timestamp: not ISO 8601 (YYYY-MM-DD HH:MM[:SS][+HH:MM]) or RFC 2822; "
            "dd/mm vs mm/dd is ambiguous, so give time_format (e.g. '%d/%m/%Y %H:%M')",
        )
    return "mixed"


def _parse_session_times(
    name: str, raw: pd.Series, column: str, tz: str, time_format: str | None = None
) -> pd.Series:
    """Parse one timestamp column: naive values are local ``tz``, offsets are honoured."""
    text = raw.str.strip()
    _reject_first(name, text == "", column, raw, "missing timestamp")
    fmt = _check_time_format(name, raw, text, column, time_format)
    has_offset = text.str.contains(_OFFSET_RE, regex=True).to_numpy()
    out = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[ns, {tz}]")
    if has_offset.any():
        aware = pd.to_datetime(text[has_offset], format=fmt, utc=True, errors="coerce")
        out[has_offset] = aware.dt.tz_convert(tz)
    if (~has_offset).any():
        naive = pd.to_datetime(text[~has_offset], format=fmt, errors="coerce")
        ok = naive.notna().to_numpy()
        try:
            local = naive[ok].dt.tz_localize(tz, ambiguous="raise", nonexistent="raise")
        except Exception as exc:
            stamps = naive[ok].astype(str)
            pos = np.flatnonzero(~has_offset)[ok]
            hits = [int(k) for k, t in zip(pos, stamps, strict=True) if t[:16] in str(exc)]
            i = hits[0] if hits else 0
            raise DataFileError(
                name,
                _line(i),
                column,
                raw.iloc[i],
                f"local time is ambiguous or does not exist in {tz} (DST change); write "
                "timestamps with a UTC offset",
            ) from None
        out[local.index] = local
    _reject_first(name, out.isna(), column, raw, "unparseable timestamp")
    return out


def read_sessions(
    path: str | Path,
    tz: str = "Europe/Amsterdam",
    id_column: str | None = None,
    *,
    time_format: str | None = None,
    limits: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Read a charging-session CSV: one row per plug-in session.

    Parameters
    ----------
    path
        CSV file with columns for vehicle (or user) id, arrival, departure and delivered
        energy [kWh] (see :data:`SESSION_COLUMNS`; common aliases such as ACN-Data's
        ``userID``, ``connectionTime``, ``disconnectTime``, ``kWhDelivered`` accepted),
        and optionally ``location``.
    tz
        Time zone for naive timestamps and of the result. Timestamps with a UTC offset
        are converted to it.
    id_column
        Use this column as ``vehicle_id`` instead of the automatic choice.
    time_format
        Explicit ``strftime`` format of the timestamps (e.g. ``"%d/%m/%Y %H:%M"``).
        Without it, timestamps must be ISO 8601 (``2024-03-04 08:00``, optionally with a
        UTC offset) or RFC 2822 (ACN-Data); ``03/04/2024`` is rejected as ambiguous.
    limits
        Overrides of the plausibility bounds :data:`evagg._checks.SESSION_LIMITS`
        (``max_power_kw`` = 350 kW, ``max_duration_h`` = 336 h, ``max_energy_kwh`` =
        250 kWh), e.g. ``{"max_energy_kwh": 600}`` for electric trucks.

    Returns
    -------
    pandas.DataFrame
        Columns ``vehicle_id`` (str), ``arrival``, ``departure`` (tz-aware),
        ``energy_kwh`` (float ≥ 0), ``duration_h`` and ``location`` if present, in file
        order, index = file line number.

    Raises
    ------
    DataFileError
        Missing columns; empty, unparseable, non-ISO, ambiguous or non-existent (DST
        gap) timestamps; duplicate sessions (same vehicle and arrival); negative or
        non-numeric energy; departure not after arrival; a session beyond a
        plausibility bound (length, energy, energy for the charger power in the
        window); overlapping sessions of one vehicle. The message names line, column
        and value.
    """
    tz = check_tz("tz", tz)
    name, df = _read_csv(path)
    cols = _resolve_session_columns(name, df)
    if id_column is not None:
        if id_column not in df.columns:
            raise DataFileError(name, 1, id_column, list(df.columns), "id column not found")
        cols["vehicle_id"] = id_column
    vid = df[cols["vehicle_id"]].str.strip()
    _reject_first(name, vid == "", cols["vehicle_id"], "", "missing vehicle id")
    arrival = _parse_session_times(name, df[cols["arrival"]], cols["arrival"], tz, time_format)
    departure = _parse_session_times(
        name, df[cols["departure"]], cols["departure"], tz, time_format
    )
    energy = _parse_numbers(name, df, cols["energy_kwh"])
    _reject_first(name, energy < 0, cols["energy_kwh"], df[cols["energy_kwh"]], "negative energy")
    order_bad = (departure <= arrival).to_numpy()
    if order_bad.any():
        i = int(np.argmax(order_bad))
        raise DataFileError(
            name,
            _line(i),
            cols["departure"],
            df[cols["departure"]].iloc[i],
            f"departure not after arrival ({df[cols['arrival']].iloc[i]})",
        )
    out = pd.DataFrame(
        {
            "vehicle_id": vid.to_numpy(),
            "arrival": arrival.to_numpy(),
            "departure": departure.to_numpy(),
            "energy_kwh": energy,
        }
    )
    out["arrival"] = pd.DatetimeIndex(arrival).tz_convert(tz)
    out["departure"] = pd.DatetimeIndex(departure).tz_convert(tz)
    out["duration_h"] = (out["departure"] - out["arrival"]).dt.total_seconds() / 3600.0
    hit = session_limit_violation(out["energy_kwh"], out["duration_h"], limits)
    if hit is not None:
        i, canon, reason = hit
        raise DataFileError(name, _line(i), cols[canon], df[cols[canon]].iloc[i], reason)
    if "location" in cols:
        out["location"] = df[cols["location"]].str.strip().to_numpy()
    out.index = pd.Index([_line(i) for i in range(len(out))], name="line")
    _check_session_overlaps(name, out, cols)
    return out


def _check_session_overlaps(name: str, out: pd.DataFrame, cols: dict[str, str]) -> None:
    dup = out.duplicated(["vehicle_id", "arrival"]).to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise DataFileError(
            name,
            _line(i),
            cols["arrival"],
            str(out["arrival"].iloc[i]),
            f"duplicate session for vehicle {out['vehicle_id'].iloc[i]!r}",
        )
    s = out.sort_values(["vehicle_id", "arrival"], kind="stable")
    same = s["vehicle_id"].to_numpy()[1:] == s["vehicle_id"].to_numpy()[:-1]
    overlap = same & (s["arrival"].to_numpy()[1:] < s["departure"].to_numpy()[:-1])
    if overlap.any():
        k = int(np.argmax(overlap)) + 1
        line = int(s.index[k])
        raise DataFileError(
            name,
            line,
            cols["arrival"],
            str(s["arrival"].iloc[k]),
            f"session overlaps the previous session of vehicle {s['vehicle_id'].iloc[k]!r} "
            f"(which departs {s['departure'].iloc[k - 1]})",
        )


def read_load_profile(
    path: str | Path,
    bus_index: pd.Index,
    *,
    price_limits: tuple[float, float] = DA_PRICE_LIMITS_EUR_PER_MWH,
    max_load_scale: float = 10.0,
    max_abs_p_mw: float = 100.0,
) -> dict[str, Any]:
    """Read a multi-period load-profile CSV for a feeder.

    Format: first column ``time`` (ISO timestamps with UTC offset, or slot numbers), then
    either a ``load_scale`` column (factor on every bus's base load) or per-bus columns
    ``p_mw_<bus>`` [MW] (buses not listed keep their base load), and optionally
    ``price_eur_per_mwh`` [EUR/MWh].

    Parameters
    ----------
    path
        CSV file.
    bus_index
        In-service buses of the feeder; every ``p_mw_<bus>`` column must name one.
    price_limits
        Plausible range of ``price_eur_per_mwh`` [EUR/MWh] (default −500 / +4000, the EU
        harmonised day-ahead limits).
    max_load_scale
        Plausibility bound on ``|load_scale|`` [-] (default 10: ten times the feeder's base
        load; a unit or typo error beyond). Raise it if a study needs more.
    max_abs_p_mw
        Plausibility bound on ``|p_mw_<bus>|`` [MW] (default 100 MW, more than any
        distribution-feeder bus; a kW-for-MW mix-up beyond).

    Returns
    -------
    dict
        ``time_index`` (tz-aware UTC ``DatetimeIndex`` named ``time``, or an integer
        ``Index`` named ``slot``), ``dt_h`` [h] (inferred from the timestamps, else
        ``None``), and ``load_scale`` (array) or ``p_mw`` (dict bus → array [MW]), plus
        ``price`` (array [EUR/MWh]) if the file has a price column.

    Raises
    ------
    DataFileError
        Unreadable or empty file, first column not ``time``, unparseable or irregular
        timestamps, a cell that is not a number, both or neither of ``load_scale`` and
        ``p_mw_<bus>``, a bus column that is not ``p_mw_<int>`` of an in-service bus, or a
        load beyond ``max_load_scale`` / ``max_abs_p_mw`` (the bound is named).
        Missing or non-finite values (including ``inf``) are errors; ``row`` is the file
        line (header = line 1), as for every reader here.
    """
    spath, df = _read_csv(path)
    if df.columns[0] != "time":
        raise DataFileError(spath, 1, df.columns[0], df.columns[0], "first column must be 'time'")
    out: dict[str, Any] = {"dt_h": None}
    raw = df["time"].str.strip()
    if raw.str.fullmatch(r"\d+").all():
        out["time_index"] = pd.Index(raw.astype(int).to_numpy(), name="slot")
    else:
        _reject_first(
            spath,
            ~raw.str.contains(_OFFSET_RE, regex=True).to_numpy(),
            "time",
            raw,
            "need an integer slot number or an ISO timestamp with a UTC offset",
        )
        ti = pd.DatetimeIndex(
            pd.to_datetime(raw, format="mixed", utc=True, errors="coerce"), name="time"
        )
        _reject_first(spath, ti.isna(), "time", raw, "unparseable timestamp")
        if len(ti) > 1:
            steps = np.diff(ti.asi8)
            bad = (steps != steps[0]) | (steps <= 0)
            _reject_first(spath, bad, "time", raw, "irregular or decreasing time step", offset=1)
            out["dt_h"] = float(steps[0]) / 3.6e12
        out["time_index"] = ti
    if "price_eur_per_mwh" in df.columns:
        out["price"] = _parse_prices(
            spath, df, "price_eur_per_mwh", price_limits, "EU harmonised day-ahead limits"
        )
    for col in df.columns[1:]:
        df[col] = _parse_numbers(spath, df, col)
    bus_cols = [c for c in df.columns if c.startswith("p_mw_")]
    if "load_scale" in df.columns and bus_cols:
        raise DataFileError(
            spath, None, "load_scale", None, "give load_scale or p_mw_<bus>, not both"
        )
    if "load_scale" in df.columns:
        out["load_scale"] = df["load_scale"].to_numpy(float)
        _reject_first(
            spath,
            np.abs(out["load_scale"]) > max_load_scale,
            "load_scale",
            pd.Series(out["load_scale"]),
            f"|load_scale| above max_load_scale={max_load_scale:g}; pass max_load_scale if "
            "intended",
        )
    elif bus_cols:
        pmw: dict[int, Any] = {}
        for c in bus_cols:
            try:
                b = int(c.removeprefix("p_mw_"))
            except ValueError:
                raise DataFileError(spath, None, c, c, "bus column must be p_mw_<int>") from None
            if b not in bus_index:
                raise DataFileError(spath, None, c, b, "bus is not an in-service feeder bus")
            pmw[b] = df[c].to_numpy(float)
            _reject_first(
                spath,
                np.abs(pmw[b]) > max_abs_p_mw,
                c,
                pd.Series(pmw[b]),
                f"|p| above max_abs_p_mw={max_abs_p_mw:g} MW (kW given as MW?); pass "
                "max_abs_p_mw if intended",
            )
        out["p_mw"] = pmw
    else:
        raise DataFileError(
            spath, None, None, list(df.columns), "needs load_scale or p_mw_<bus> columns"
        )
    return out
