"""SimBench benchmark grids (German LV/MV/HV, with a year of 15-min profiles) as feeders.

SimBench (Meinecke et al., Energies 13(12) 3290, 2020; the ``simbench`` package) ships
grids as pandapower networks with load, generation and storage profiles for 2016
(366 × 96 quarter-hours). :func:`simbench_net` loads a grid by its code
(``"1-LV-rural1--0-sw"``, ``"1-MV-rural--0-sw"``, ...; ``simbench.collect_all_simbench_codes()``
lists them), :meth:`evagg.grid.Feeder.from_simbench` makes it a radial feeder (the open
ring switches of the MV grids keep them radial), and :func:`simbench_day` gives one day
of its profiles per feeder bus, usable as the OPF's per-slot loads and injections::

    fd = Feeder.from_simbench("1-LV-rural1--0-sw")
    day = simbench_day(fd, "2016-06-21")
    m = DistFlowModel(fd, 96, 0.25, time_index=day.time_index)
    m.set_loads(day.p_load_mw, day.q_load_mvar)
    m.set_injections(day.p_inj_mw, day.q_inj_mvar)

The profiles run through 2016 without daylight-saving shifts (366 × 96 steps); evagg
labels them with the fixed offset UTC+01:00 (``Etc/GMT-1``).
"""

from __future__ import annotations

import copy
import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evagg._checks import parse_timestamp
from evagg.errors import InputError
from evagg.grid import ppnet
from evagg.grid.ppnet import active, column, flag

__all__ = ["SIMBENCH_TZ", "SimbenchDay", "simbench_day", "simbench_net"]

SIMBENCH_TZ = "Etc/GMT-1"
"""Fixed UTC+01:00 offset the DST-free SimBench profile timestamps are labelled with."""

SLOTS_PER_DAY = 96
PROFILE_TABLES = (("load", ("p_mw", "q_mvar")), ("sgen", ("p_mw",)), ("storage", ("p_mw",)))
"""Elements with SimBench profiles and the columns they scale."""


def simbench_net(code: str) -> Any:
    """The SimBench grid ``code`` as a pandapower network (with ``net.profiles``).

    Raises
    ------
    InputError
        Unknown code (the message shows valid examples).
    """
    import simbench as sb

    code = str(code).strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            known = set(sb.collect_all_simbench_codes())
    except Exception:  # the list itself is only a convenience for the message
        known = set()
    if known and code not in known:
        examples = ", ".join(sorted(c for c in known if c.endswith("--0-sw"))[:6])
        raise InputError(
            "simbench code",
            code,
            f"not a SimBench grid code; {len(known)} codes exist, e.g. {examples} "
            "(simbench.collect_all_simbench_codes() lists them)",
        )
    return copy.deepcopy(_load(code))


@functools.lru_cache(maxsize=4)
def _load(code: str) -> Any:
    """simbench's loader (reads the whole profile year: ~9 s CPU), cached per process."""
    import simbench as sb

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sb.get_simbench_net(code)
    except Exception as exc:  # simbench raises ValueError/KeyError on bad codes
        raise InputError("simbench code", code, f"simbench could not load it ({exc})") from None


@dataclass(frozen=True)
class SimbenchDay:
    """One day of a SimBench grid's profiles per feeder bus [MW, Mvar].

    Attributes
    ----------
    time_index
        96 quarter-hour starts, tz ``Etc/GMT-1`` (SimBench's DST-free 2016 time).
    p_load_mw, q_load_mvar
        Demand per bus (rows: feeder ``bus_index``) and slot: loads and non-controllable
        storage (charging positive).
    p_inj_mw, q_inj_mvar
        Non-controllable static generation per bus and slot (reactive: the sgens'
        fixed ``q_mvar``).
    """

    time_index: pd.DatetimeIndex
    p_load_mw: pd.DataFrame
    q_load_mvar: pd.DataFrame
    p_inj_mw: pd.DataFrame
    q_inj_mvar: pd.DataFrame


def _profile_year(net: Any) -> pd.DatetimeIndex:
    prof = getattr(net, "profiles", None)
    if not isinstance(prof, dict) or "load" not in prof or "time" not in prof["load"]:
        raise InputError("net.profiles", type(prof).__name__, "network has no SimBench profiles")
    try:
        stamps = pd.to_datetime(prof["load"]["time"], format="%d.%m.%Y %H:%M")
    except (ValueError, TypeError) as exc:
        raise InputError(
            "net.profiles['load'].time", "…", f"unreadable timestamps ({exc})"
        ) from None
    return pd.DatetimeIndex(stamps)


PROFILE_SOURCES = {
    "load": (("load",), ("_pload", "_qload")),
    "sgen": (("renewables", "powerplants"), ("",)),
    "storage": (("storage",), ("",)),
}
"""Where simbench looks up an element's ``profile`` name: profile tables and suffixes."""


def _check_profiles_fit(net: Any) -> None:
    """Every in-service element's ``profile`` name is a column of its profile table
    (simbench itself would silently use a constant factor 1 for a missing one)."""
    for table, (sources, suffixes) in PROFILE_SOURCES.items():
        df = active(net, table)
        if len(df) == 0 or "profile" not in df.columns:
            continue
        have: set[str] = set()
        for src in sources:
            have |= set(net.profiles.get(src, pd.DataFrame()).columns)
        for idx, name in df["profile"].dropna().items():
            missing = [f"{name}{suf}" for suf in suffixes if f"{name}{suf}" not in have]
            if missing:
                raise InputError(
                    f"net.{table}[{idx}].profile",
                    name,
                    f"no column {missing} in net.profiles {list(sources)}: the profile does "
                    "not fit the network",
                )


def _day_rows(net: Any, date: Any) -> np.ndarray:
    stamps = _profile_year(net)
    day = parse_timestamp("date", date).normalize()
    rows = np.flatnonzero(stamps.normalize() == day)
    if rows.size != SLOTS_PER_DAY:
        raise InputError(
            "date",
            str(date),
            f"SimBench profiles cover {stamps[0]:%Y-%m-%d} to {stamps[-1]:%Y-%m-%d} "
            f"({SLOTS_PER_DAY} quarter-hours per day); choose a day in that range",
        )
    return rows


def _absolute(net: Any, rows: np.ndarray) -> dict[tuple[str, str], pd.DataFrame]:
    import simbench as sb

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    except Exception as exc:  # KeyError/ValueError on a profile table that does not fit
        raise InputError("net.profiles", "…", f"profiles do not fit the network ({exc})") from None
    out = {}
    for key, df in values.items():
        if df.shape[1] == 0:
            continue
        if len(df) <= rows.max():
            raise InputError(f"net.profiles[{key}]", len(df), "shorter than the profile year")
        day = df.iloc[rows]
        if not np.isfinite(day.to_numpy(dtype=float)).all():
            raise InputError(f"net.profiles[{key}]", "NaN/inf", "non-finite profile values")
        out[key] = day
    return out


def simbench_day(feeder: Any, date: Any) -> SimbenchDay:
    """The feeder's SimBench profiles for one ``date`` (ISO ``YYYY-MM-DD`` in 2016).

    Element values (``simbench.get_absolute_values``: profile factor × rated power) times
    the element's ``scaling``, summed per feeder bus (fused buses onto their
    representative). Controllable static generators and storage are OPF decisions and
    take no profile.

    Raises
    ------
    InputError
        The feeder's network has no profiles, the date is outside them, an element's
        profile name is missing, or the profile table does not match the elements.
    """
    net = feeder.net
    rows = _day_rows(net, date)
    _check_profiles_fit(net)
    values = _absolute(net, rows)
    stamps = _profile_year(net)[rows].tz_localize(SIMBENCH_TZ)
    n = feeder.n_bus
    acc = {k: np.zeros((n, SLOTS_PER_DAY)) for k in ("p_load", "q_load", "p_inj", "q_inj")}
    targets = {
        ("load", "p_mw"): "p_load",
        ("load", "q_mvar"): "q_load",
        ("storage", "p_mw"): "p_load",
        ("sgen", "p_mw"): "p_inj",
    }
    for (table, col), dest in targets.items():
        _add_per_bus(feeder, net, table, values.get((table, col)), acc[dest])
    sg = active(net, "sgen")
    if len(sg):  # reactive generation: the fixed q_mvar (SimBench has no q profiles)
        fixed = sg[~flag(sg, "controllable")]
        acc["q_inj"] += ppnet.per_bus(fixed, "q_mvar", _positions(feeder), n)[:, None]
    frame = {k: pd.DataFrame(v, index=feeder.bus_index, columns=stamps) for k, v in acc.items()}
    return SimbenchDay(
        pd.DatetimeIndex(stamps),
        frame["p_load"],
        frame["q_load"],
        frame["p_inj"],
        frame["q_inj"],
    )


def _positions(feeder: Any) -> dict[int, int]:
    pos = {int(b): i for i, b in enumerate(feeder.bus_index)}
    return pos | {int(b): pos[int(r)] for b, r in feeder.bus_alias.items() if int(r) in pos}


def _add_per_bus(
    feeder: Any, net: Any, table: str, day: pd.DataFrame | None, out: np.ndarray
) -> None:
    """Add ``day`` (slots × elements) × scaling to ``out`` (buses × slots) by bus."""
    if day is None:
        return
    df = active(net, table)
    if table in ("sgen", "storage"):
        df = df[~flag(df, "controllable")]
    extra = sorted(set(df.index) - set(day.columns))
    if extra:
        raise InputError(
            f"net.profiles[({table!r}, ...)]",
            extra[:5],
            f"no profile values for these in-service {table} elements: the profile "
            "does not fit the network",
        )
    pos = _positions(feeder)
    scale = column(df, "scaling", 1.0)
    for (idx, bus), s in zip(df["bus"].astype(int).items(), scale, strict=True):
        if bus in pos:
            out[pos[bus]] += s * day[idx].to_numpy(dtype=float)
