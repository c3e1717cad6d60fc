"""Bundled datasets load as tz-aware, unit-labelled, physically plausible series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evagg import InputError, data


def test_dataset_table_lists_every_loader() -> None:
    table = data.datasets()
    for loaders in table["loader"]:
        for name in loaders.split(", "):
            assert callable(getattr(data, name))
    assert {"source", "licence", "period"} <= set(table.columns)


def test_nl_prices_cover_the_decade_hourly() -> None:
    s = data.load_nl_day_ahead_prices()
    assert s.name == "price_eur_per_mwh"
    assert str(s.index.tz) == "Europe/Amsterdam"
    assert s.index.is_monotonic_increasing and not s.index.has_duplicates
    steps = s.index.tz_convert("UTC").to_series().diff().dropna()
    # Two known holes in the source series (see DATA.md); everything else is hourly.
    assert (steps != pd.Timedelta("1h")).sum() <= 2
    assert s.index[0] == pd.Timestamp("2015-01-01 01:00", tz="Europe/Amsterdam")
    # ENTSO-E NL: the 2022 energy crisis peak exceeded 600 EUR/MWh; negative prices exist.
    assert s.max() > 600 and s.min() < 0


def test_nl_prices_local_day_has_23_hours_on_spring_dst() -> None:
    s = data.load_nl_day_ahead_prices("2024-03-31", "2024-04-01")
    assert len(s) == 23
    # ENTSO-E NL 2024-03-31 00:00 CET price (from the source file).
    assert s.iloc[0] == pytest.approx(81.81)


def test_nl_prices_bad_range() -> None:
    with pytest.raises(InputError, match="no prices in range"):
        data.load_nl_day_ahead_prices("1990-01-01", "1990-01-02")
    with pytest.raises(InputError, match="start must be before end"):
        data.load_nl_day_ahead_prices("2024-01-02", "2024-01-01")
    with pytest.raises(InputError, match="not an ISO 8601 date"):
        data.load_nl_day_ahead_prices("not a date")
    with pytest.raises(InputError, match="ambiguous"):
        data.load_nl_day_ahead_prices("03/04/2024")


def test_elaad_tables() -> None:
    arr = data.load_elaad_arrival()
    assert len(arr) == 96 and np.allclose(arr.sum(), 1.0)
    assert set(arr.columns) == {"home", "public", "workplace"}
    conn = data.load_elaad_connection_time_quantiles()
    # exceedance table: non-increasing in the percentage of sessions exceeding it
    assert (conn.diff().dropna() <= 1e-9).all().all()
    energy = data.load_elaad_energy_demand_quantiles()
    assert (energy >= 0).all().all()


def test_ev_specs_and_microgrid_day() -> None:
    specs = data.load_ev_specs()
    assert specs["share"].sum() == pytest.approx(1.0)
    assert (specs["battery_kwh"] > 10).all()
    # The 2023 list flags every model "ac_v2g": "no"; the 2024 list is all V2G-capable.
    assert not specs["v2g"].any() and (specs["max_ac_discharge_kw"] == 0).all()
    v2g = data.load_ev_specs(v2g_only=True)
    assert v2g["v2g"].all() and (v2g["max_ac_discharge_kw"] > 0).all()
    day = data.load_microgrid_day()
    assert len(day) == 96
    assert day.index.freq == "15min" or (day.index[1] - day.index[0]) == pd.Timedelta("15min")
    # seed 003 Table A1 slot 1: load 4673.091 kW, purchase 1168.273 kWh = load/4 (no PV at night)
    assert day["load_p_kw"].iloc[0] == pytest.approx(4673.091)
    assert day["purchase_kwh"].iloc[0] == pytest.approx(day["load_p_kw"].iloc[0] / 4, rel=1e-6)
    pv = data.load_pv_profile()
    assert pv.between(0, 1).all() and len(pv) == 8760
