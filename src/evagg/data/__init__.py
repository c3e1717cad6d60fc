"""Bundled real datasets and their loaders (layer 1: no network access at run time).

Every loader returns tz-aware pandas objects with units in the column names. Sources,
licences and processing of each file are in ``DATA.md`` beside this module; the
extraction script is ``scripts/extract_ev2gym_data.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from evagg._checks import parse_timestamp
from evagg.errors import InputError

__all__ = [
    "DatasetInfo",
    "data_file_path",
    "datasets",
    "load_elaad_arrival",
    "load_elaad_connection_time_quantiles",
    "load_elaad_energy_demand_quantiles",
    "load_elaad_mean_demand_per_arrival",
    "load_elaad_mean_session_length",
    "load_ev_specs",
    "load_microgrid_day",
    "load_nl_day_ahead_prices",
    "load_pv_profile",
    "reset_used_data_files",
    "used_data_files",
]

MARKET_TZ = "Europe/Amsterdam"
"""Time zone of the Dutch day-ahead market; used for the bundled NL series."""

LOCATIONS = ("home", "public", "workplace")
"""ElaadNL charging locations (ElaadNL calls home charging 'private')."""


_USED: set[str] = set()


def _path(name: str) -> Path:
    _USED.add(name)
    return Path(str(resources.files("evagg.data") / "files" / name))


def data_file_path(name: str) -> Path:
    """Path of the bundled file ``name`` (in ``evagg/data/files``)."""
    return Path(str(resources.files("evagg.data") / "files" / name))


def used_data_files() -> list[str]:
    """Names of the bundled files read since the last :func:`reset_used_data_files`.

    Studies record them (with hashes) in ``run.json`` so a result can be re-run.
    """
    return sorted(_USED)


def reset_used_data_files() -> None:
    """Forget the record of bundled files read (see :func:`used_data_files`)."""
    _USED.clear()


@dataclass(frozen=True)
class DatasetInfo:
    """One bundled dataset: what it is, where it came from and under which licence."""

    name: str
    loader: str
    period: str
    resolution: str
    source: str
    licence: str


_DATASETS = (
    DatasetInfo(
        "nl_day_ahead_prices",
        "load_nl_day_ahead_prices",
        "2015-01-01 .. 2025-01-07",
        "1 h",
        "ENTSO-E Transparency Platform, bidding zone NL, via ev2gym 2.0.0",
        "ENTSO-E terms (free re-use with attribution); packaging MIT (ev2gym)",
    ),
    DatasetInfo(
        "nl_pv_2019",
        "load_pv_profile",
        "2019 (one year)",
        "1 h",
        "Normalised PV output, the Netherlands, via ev2gym 2.0.0",
        "MIT (ev2gym)",
    ),
    DatasetInfo(
        "elaad_charging_statistics",
        "load_elaad_arrival, load_elaad_connection_time_quantiles, "
        "load_elaad_energy_demand_quantiles, load_elaad_mean_demand_per_arrival, "
        "load_elaad_mean_session_length",
        "ElaadNL open data (public reports, 2019-2020)",
        "15 min (arrival), percentiles",
        "ElaadNL charging-session statistics (home/public/workplace), via ev2gym 2.0.0",
        "ElaadNL open data with attribution; packaging MIT (ev2gym)",
    ),
    DatasetInfo(
        "ev_specs",
        "load_ev_specs",
        "registrations NL 2023-2024",
        "per model",
        "EV models: battery, AC charge/discharge power, V2G capability, via ev2gym 2.0.0",
        "MIT (ev2gym)",
    ),
    DatasetInfo(
        "seed003_microgrid_day",
        "load_microgrid_day",
        "one typical day",
        "15 min",
        "Seed 003, Table A1: microgrid load, PV and purchased energy (96 slots)",
        "reproduced from the published paper for research use",
    ),
)


def datasets() -> pd.DataFrame:
    """Table of bundled datasets (name, loader, period, resolution, source, licence)."""
    return pd.DataFrame([d.__dict__ for d in _DATASETS]).set_index("name")


@lru_cache(maxsize=1)
def _prices_utc() -> pd.Series:
    df = pd.read_csv(_path("nl_day_ahead_prices_2015_2025.csv.gz"))
    idx = pd.DatetimeIndex(pd.to_datetime(df["time_utc"], utc=True), name="time")
    return pd.Series(df["price_eur_per_mwh"].to_numpy(float), index=idx, name="price_eur_per_mwh")


def load_nl_day_ahead_prices(
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    tz: str = MARKET_TZ,
) -> pd.Series:
    """Hourly Dutch day-ahead prices [EUR/MWh], ENTSO-E, 2015-01-01 to 2025-01-07.

    Parameters
    ----------
    start, end
        Optional inclusive start and exclusive end; naive strings are read in ``tz``.
    tz
        Time zone of the returned index (default Europe/Amsterdam).

    Returns
    -------
    pandas.Series
        ``price_eur_per_mwh`` on a tz-aware hourly index named ``time``. Local days have
        23 or 25 hours at DST changes, as the market does.
    """
    _USED.add("nl_day_ahead_prices_2015_2025.csv.gz")  # _prices_utc is cached
    s = _prices_utc().tz_convert(tz)
    lo = _stamp("start", start, tz) if start is not None else None
    hi = _stamp("end", end, tz) if end is not None else None
    if lo is not None and hi is not None and lo >= hi:
        raise InputError("start/end", (str(start), str(end)), "start must be before end")
    out = s.loc[(s.index >= lo) if lo is not None else slice(None)]
    if hi is not None:
        out = out.loc[out.index < hi]
    if out.empty:
        raise InputError(
            "start/end",
            (str(start), str(end)),
            f"no prices in range; data cover {s.index[0]} .. {s.index[-1]}",
        )
    return out.copy()


def _stamp(field: str, value: str | pd.Timestamp, tz: str) -> pd.Timestamp:
    return parse_timestamp(field, value, tz)


def load_pv_profile(tz: str = MARKET_TZ) -> pd.Series:
    """Hourly normalised PV output of the Netherlands for 2019 [pu of installed peak]."""
    df = pd.read_csv(_path("nl_pv_2019.csv.gz"))
    idx = pd.DatetimeIndex(pd.to_datetime(df["time_utc"], utc=True), name="time").tz_convert(tz)
    return pd.Series(df["pv_pu"].to_numpy(float), index=idx, name="pv_pu")


def _elaad_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(_path(f"elaad_{name}"))


def load_elaad_arrival(weekend: bool = False) -> pd.DataFrame:
    """ElaadNL arrival-time distribution by 15-min time of day [probability per slot].

    Returns a 96-row frame indexed by ``time_of_day`` (a ``Timedelta`` from midnight)
    with columns ``home``, ``public``, ``workplace`` (weekend: no workplace), each
    column normalised to sum to 1 (the source gives percentages).
    """
    df = _elaad_csv(
        "distribution-of-arrival-weekend.csv" if weekend else "distribution-of-arrival.csv"
    )
    tod = pd.to_timedelta(df.iloc[:, 0] + ":00")
    out = df.iloc[:, 1:].rename(columns={"private": "home"}).astype(float)
    out.index = pd.TimedeltaIndex(tod, name="time_of_day")
    return out / out.sum()


def _quantile_table(name: str, unit: str) -> pd.DataFrame:
    df = _elaad_csv(name)
    out = df.iloc[:, 1:].rename(columns={"private": "home"}).astype(float)
    out.index = pd.Index(df.iloc[:, 0].astype(float), name="pct_of_sessions_exceeding")
    out.columns = [f"{c}_{unit}" for c in out.columns]
    return out


def load_elaad_connection_time_quantiles() -> pd.DataFrame:
    """ElaadNL connection-time exceedance table [h].

    Row ``p`` (0..100) gives the connection time exceeded by ``p`` % of sessions
    (i.e. the (100 − p) % quantile), per location: ``home_h``, ``public_h``,
    ``workplace_h``.
    """
    return _quantile_table("distribution-of-connection-time.csv", "h")


def load_elaad_energy_demand_quantiles() -> pd.DataFrame:
    """ElaadNL energy-per-session exceedance table [kWh], same layout as connection time."""
    return _quantile_table("distribution-of-energy-demand.csv", "kwh")


def _by_arrival_hour(name: str, unit: str) -> pd.DataFrame:
    df = _elaad_csv(name)
    tod = pd.to_timedelta(df.iloc[:, 0] + ":00")
    out = df.iloc[:, 1:].astype(float)
    out.columns = [f"{c if c != 'work' else 'workplace'}_{unit}" for c in out.columns]
    out.index = pd.TimedeltaIndex(tod, name="time_of_day")
    return out.sort_index()


def load_elaad_mean_demand_per_arrival() -> pd.DataFrame:
    """Mean energy per session by half-hour of arrival [kWh]; NaN where ElaadNL has no data."""
    return _by_arrival_hour("mean-demand-per-arrival.csv", "kwh")


def load_elaad_mean_session_length() -> pd.DataFrame:
    """Mean session length by half-hour of arrival [h]; NaN where ElaadNL has no data."""
    return _by_arrival_hour("mean-session-length-per.csv", "h")


def load_ev_specs(v2g_only: bool = False) -> pd.DataFrame:
    """EV models registered in the Netherlands with battery and AC power ratings.

    Columns: ``registrations``, ``battery_kwh``, ``max_ac_charge_kw``,
    ``max_ac_discharge_kw`` (0 where the model cannot discharge over AC), ``v2g``
    (bool: AC V2G capable), ``share`` (registration share). The general list marks no
    model as AC-V2G capable (2023 registrations); ``v2g_only=True`` returns the 2024
    list of V2G-capable models instead.
    """
    name = "ev_specs_v2g_enabled2024.json" if v2g_only else "ev_specs.json"
    raw = json.loads(_path(f"elaad_{name}").read_text(encoding="utf-8"))
    rows = []
    for model, d in raw.items():
        v2g = True if v2g_only else _yes(d.get("ac_v2g", "no"))
        rows.append(
            {
                "model": model,
                "registrations": int(d["number_of_registrations"]),
                "battery_kwh": float(d["battery_capacity"]),
                "max_ac_charge_kw": float(d["max_ac_charge_power"]),
                "max_ac_discharge_kw": float(d["max_ac_discharge_power"]) if v2g else 0.0,
                "v2g": v2g,
            }
        )
    out = pd.DataFrame(rows).set_index("model")
    out["share"] = out["registrations"] / out["registrations"].sum()
    return out


def _yes(value: object) -> bool:
    """ev2gym writes flags as the strings ``"yes"``/``"no"`` (or JSON booleans)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("yes", "no", "true", "false"):
        raise ValueError(f"unexpected V2G flag {value!r} in bundled EV specs")
    return text in ("yes", "true")


def load_microgrid_day(date: str = "2024-07-01", tz: str = "UTC") -> pd.DataFrame:
    """Seed 003 Table A1: 96 quarter-hours of microgrid load, PV and purchased energy.

    Parameters
    ----------
    date
        Nominal calendar day to label the (undated) typical day with.
    tz
        Time zone of the index.

    Returns
    -------
    pandas.DataFrame
        Columns ``slot`` (1..96), ``load_p_kw``, ``load_q_kvar``, ``pv_p_kw``,
        ``pv_q_kvar``, ``purchase_kwh``. Note: the paper's purchase in slot 54
        (680.25 kWh) disagrees with its own (load − PV)/4 = 682.21 kWh; kept as printed.
    """
    df = pd.read_csv(_path("seed003_tableA1_microgrid_day.csv"))
    start = _stamp("date", date, tz)
    df.index = pd.date_range(start, periods=len(df), freq="15min", name="time")
    return df[["slot", "load_p_kw", "load_q_kvar", "pv_p_kw", "pv_q_kvar", "purchase_kwh"]]
