"""Readers of users' files: every malformed case named in the issue raises DataFileError."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evagg import DataFileError, EvaggError
from evagg.io import (
    read_entsoe_day_ahead_prices,
    read_entsoe_imbalance_prices,
    read_load_profile,
    read_sessions,
)

DA_HEADER = '"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]","Currency","BZN|NL"\n'


def _write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _da_rows(rows: list[tuple[str, str]]) -> str:
    return DA_HEADER + "".join(f'"{mtu}","{price}","EUR","BZN|NL"\n' for mtu, price in rows)


def test_day_ahead_autumn_dst_day_has_25_distinct_hours(tmp_path: Path) -> None:
    # 27 Oct 2024: CEST -> CET, the platform writes the repeated 02:00 hour twice with a suffix.
    rows = []
    for h in range(24):
        a, b = (
            f"27.10.2024 {h:02d}:00",
            f"27.10.2024 {h + 1:02d}:00" if h < 23 else "28.10.2024 00:00",
        )
        if h == 2:
            rows.append((f"{a} - {b} (CEST)", "50"))
            rows.append((f"{a} - {b} (CET)", "49"))
        else:
            rows.append((f"{a} - {b}", str(40 + h)))
    s = read_entsoe_day_ahead_prices(_write(tmp_path, _da_rows(rows)))
    assert len(s) == 25
    assert s.index.tz is not None
    # UTC steps are all exactly one hour (hand check: 00:00 CEST = 22:00 UTC the day before).
    assert (s.index.tz_convert("UTC").to_series().diff().dropna() == pd.Timedelta("1h")).all()
    assert s.index[0].tz_convert("UTC") == pd.Timestamp("2024-10-26 22:00", tz="UTC")
    assert s.iloc[2] == 50.0 and s.iloc[3] == 49.0
    assert s.name == "price_eur_per_mwh"


def test_day_ahead_new_platform_layout(tmp_path: Path) -> None:
    text = (
        '"MTU (CET/CEST)","Area","Sequence","Day-ahead Price (EUR/MWh)"\n'
        '"01/01/2025 00:00:00 - 01/01/2025 01:00:00","BZN|NL","1","10.5"\n'
        '"01/01/2025 01:00:00 - 01/01/2025 02:00:00","BZN|NL","1","-3.2"\n'
    )
    s = read_entsoe_day_ahead_prices(_write(tmp_path, text))
    assert s.tolist() == [10.5, -3.2]
    assert s.index[0] == pd.Timestamp("2025-01-01 00:00", tz="Europe/Brussels")


@pytest.mark.parametrize(
    ("rows", "line", "needle"),
    [
        ([("01.01.2024 00:00 - 01.01.2024 01:00", "n/e")], 2, "not a finite number"),
        ([("01.01.2024 00:00 - 01.01.2024 01:00", "")], 2, "not a finite number"),
        ([("2024-01-01 00:00", "5")], 2, "not an MTU interval"),
        ([("31.02.2024 00:00 - 31.02.2024 01:00", "5")], 2, "unparseable"),
        (
            [
                ("01.01.2024 00:00 - 01.01.2024 01:00", "5"),
                ("01.01.2024 00:00 - 01.01.2024 01:00", "6"),
            ],
            3,
            "duplicate timestamp",
        ),
        (
            [
                ("01.01.2024 00:00 - 01.01.2024 01:00", "5"),
                ("01.01.2024 02:00 - 01.01.2024 03:00", "6"),
            ],
            3,
            "gap of",
        ),
        # 31 Mar 2024 02:00 does not exist in CET/CEST.
        ([("31.03.2024 02:00 - 31.03.2024 03:00", "5")], 2, "DST gap"),
    ],
)
def test_day_ahead_malformed_rows(
    tmp_path: Path, rows: list[tuple[str, str]], line: int, needle: str
) -> None:
    with pytest.raises(DataFileError) as info:
        read_entsoe_day_ahead_prices(_write(tmp_path, _da_rows(rows)))
    assert info.value.row == line
    assert needle in str(info.value)
    assert f"line {line}" in str(info.value)


def test_day_ahead_missing_price_column(tmp_path: Path) -> None:
    text = '"MTU (CET/CEST)","Currency"\n"01.01.2024 00:00 - 01.01.2024 01:00","EUR"\n'
    with pytest.raises(DataFileError, match="day-ahead price"):
        read_entsoe_day_ahead_prices(_write(tmp_path, text))


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        read_entsoe_day_ahead_prices(tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match="no data rows"):
        read_entsoe_day_ahead_prices(_write(tmp_path, DA_HEADER))


def test_imbalance_prices(tmp_path: Path) -> None:
    text = (
        '"Imbalance settlement period CET/CEST","Imbalance Price Category",'
        '"+ Imbalance Price [EUR/MWh] - MBA|NL","- Imbalance Price [EUR/MWh] - MBA|NL","Status"\n'
        '"01.01.2024 00:00 - 01.01.2024 00:15","Excess balance","80.1","12.5","Final"\n'
        '"01.01.2024 00:15 - 01.01.2024 00:30","Excess balance","75.0","-20.0","Final"\n'
    )
    df = read_entsoe_imbalance_prices(_write(tmp_path, text))
    assert list(df.columns) == ["pos_price_eur_per_mwh", "neg_price_eur_per_mwh"]
    assert df["neg_price_eur_per_mwh"].tolist() == [12.5, -20.0]
    assert df.index[1] - df.index[0] == pd.Timedelta("15min")


SESSION_HEADER = "vehicle_id,arrival,departure,energy_kwh\n"


def test_sessions_roundtrip_and_aliases(tmp_path: Path) -> None:
    text = (
        "userID,connectionTime,disconnectTime,kWhDelivered\n"
        "u1,2024-03-01 08:00,2024-03-01 17:00,12.5\n"
        "u1,2024-03-01 18:30,2024-03-02 07:00,8\n"
        "u2,2024-03-01T09:00:00+01:00,2024-03-01T12:00:00+01:00,0\n"
    )
    df = read_sessions(_write(tmp_path, text))
    assert df["vehicle_id"].tolist() == ["u1", "u1", "u2"]
    assert df["duration_h"].tolist() == [9.0, 12.5, 3.0]
    assert str(df["arrival"].dt.tz) == "Europe/Amsterdam"
    assert df.index.tolist() == [2, 3, 4]


@pytest.mark.parametrize(
    ("body", "line", "column", "needle"),
    [
        ("ev1,2024-03-01 08:00,2024-03-01 07:00,5\n", 2, "departure", "departure not after"),
        ("ev1,2024-03-01 08:00,2024-03-01 17:00,-1\n", 2, "energy_kwh", "negative energy"),
        ("ev1,2024-03-01 08:00,2024-03-01 17:00,nan\n", 2, "energy_kwh", "not a finite"),
        ("ev1,2024-03-01 08:00,2024-03-01 17:00,\n", 2, "energy_kwh", "not a finite"),
        ("ev1,yesterday,2024-03-01 17:00,5\n", 2, "arrival", "unparseable"),
        ("ev1,,2024-03-01 17:00,5\n", 2, "arrival", "missing timestamp"),
        (",2024-03-01 08:00,2024-03-01 17:00,5\n", 2, "vehicle_id", "missing vehicle id"),
        ("ev1,2024-03-31 02:30,2024-03-31 07:00,5\n", 2, "arrival", "DST"),
        ("ev1,2024-10-27 02:30,2024-10-27 07:00,5\n", 2, "arrival", "ambiguous"),
        (
            "ev1,2024-03-01 08:00,2024-03-01 17:00,5\nev1,2024-03-01 08:00,2024-03-01 18:00,5\n",
            3,
            "arrival",
            "duplicate session",
        ),
        (
            "ev1,2024-03-01 08:00,2024-03-01 17:00,5\nev1,2024-03-01 16:00,2024-03-01 18:00,5\n",
            3,
            "arrival",
            "overlaps",
        ),
    ],
)
def test_sessions_malformed(tmp_path: Path, body: str, line: int, column: str, needle: str) -> None:
    with pytest.raises(DataFileError) as info:
        read_sessions(_write(tmp_path, SESSION_HEADER + body))
    err = info.value
    assert isinstance(err, EvaggError)
    assert (err.row, err.column) == (line, column)
    assert needle in str(err)


def test_sessions_missing_column(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="required column missing") as info:
        read_sessions(_write(tmp_path, "vehicle_id,arrival,energy_kwh\nev1,2024-03-01 08:00,5\n"))
    assert info.value.column == "departure"


BUSES = pd.Index(range(33))


def test_load_profile_timestamps_and_per_bus(tmp_path: Path) -> None:
    text = (
        "time,p_mw_17,p_mw_5,price_eur_per_mwh\n"
        "2024-06-01T00:00:00+0200,0.05,0.1,30\n"
        "2024-06-01T00:15:00+0200,0.0,0.2,60\n"
    )
    prof = read_load_profile(_write(tmp_path, text), BUSES)
    assert prof["dt_h"] == pytest.approx(0.25)  # 15 min
    assert prof["time_index"][0] == pd.Timestamp("2024-05-31 22:00", tz="UTC")
    assert set(prof["p_mw"]) == {17, 5}
    assert list(prof["p_mw"][5]) == [0.1, 0.2]
    assert list(prof["price"]) == [30.0, 60.0]
    slots = read_load_profile(_write(tmp_path, "time,load_scale\n0,0.5\n1,1.0\n"), BUSES)
    assert slots["dt_h"] is None and list(slots["time_index"]) == [0, 1]
    assert list(slots["load_scale"]) == [0.5, 1.0]


# row = file line (header = line 1), as for every reader
@pytest.mark.parametrize(
    ("text", "row", "column", "needle"),
    [
        ("slot,load_scale\n0,1\n", 1, "slot", "first column must be 'time'"),
        ("time,load_scale\n", None, None, "no data rows"),
        ("time,load_scale\nnoon,1\n", 2, "time", "ISO timestamp with a UTC offset"),
        ("time,load_scale\n2024-06-01 00:00,1\n", 2, "time", "UTC offset"),
        ("time,load_scale\n1.5,1\n", 2, "time", "integer slot number"),
        (
            "time,load_scale\n2024-06-01T00:00Z,1\n2024-06-01T00:15Z,1\n2024-06-01T00:45Z,1\n",
            4,
            "time",
            "irregular",
        ),
        ("time,load_scale,price_eur_per_mwh\n0,1,30\n1,1,\n", 3, "price_eur_per_mwh", "finite"),
        ("time,load_scale\n0,inf\n", 2, "load_scale", "finite"),
        ("time,load_scale,p_mw_3\n0,1,0.1\n", None, "load_scale", "not both"),
        ("time,price_eur_per_mwh\n0,30\n", None, None, "needs load_scale or p_mw_<bus>"),
        ("time,p_mw_x\n0,0.1\n", None, "p_mw_x", "p_mw_<int>"),
        ("time,p_mw_40\n0,0.1\n", None, "p_mw_40", "not an in-service feeder bus"),
    ],
)
def test_load_profile_malformed(
    tmp_path: Path, text: str, row: int | None, column: str | None, needle: str
) -> None:
    with pytest.raises(DataFileError) as info:
        read_load_profile(_write(tmp_path, text), BUSES)
    assert (info.value.row, info.value.column) == (row, column)
    assert needle in str(info.value)


def test_load_profile_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        read_load_profile(tmp_path / "nope.csv", BUSES)
