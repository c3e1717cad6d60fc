"""Tests of evagg.fleet: synthesis (seeded, physically consistent, seed 003 Table 1 classes
emerge) and Fleet.from_sessions validation; hand-calculated availability and load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evagg.errors import EvaggError, InputError
from evagg.fleet import USER_TYPES, Fleet, synthesize_fleet

TZ = "Europe/Amsterdam"


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return synthesize_fleet(300, 56, start="2024-03-04", seed=7)


def _ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz=TZ)


def _one(
    arrival: str = "2024-03-04 10:05",
    departure: str = "2024-03-04 14:00",
    energy: float = 5.5,
    vid: str = "a",
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vehicle_id": [vid],
            "arrival": [_ts(arrival)],
            "departure": [_ts(departure)],
            "energy_kwh": [energy],
        }
    )


def test_same_seed_same_fleet_and_different_seed_differs() -> None:
    a = synthesize_fleet(20, 5, seed=3)
    b = synthesize_fleet(20, 5, seed=3)
    c = synthesize_fleet(20, 5, seed=4)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    pd.testing.assert_frame_equal(a.vehicles, b.vehicles)
    assert not a.sessions["energy_kwh"].equals(c.sessions["energy_kwh"])


def test_sessions_physically_consistent(fleet: Fleet) -> None:
    s = fleet.sessions
    v = fleet.vehicles.loc[s["vehicle_id"]]
    hours = (s["departure"] - s["arrival"]).dt.total_seconds().to_numpy() / 3600
    assert (hours > 0).all()
    # energy <= what the charger delivers in the connection time
    assert np.all(s["energy_kwh"].to_numpy() <= v["max_charge_kw"].to_numpy() * hours + 1e-9)
    # the battery never receives more than its capacity in one session
    gain = v["efficiency"].to_numpy() * s["energy_kwh"].to_numpy()
    assert np.all(gain <= v["battery_kwh"].to_numpy() + 1e-9)
    assert (s["energy_kwh"] >= 0).all()
    # sessions of one vehicle never overlap
    same = s["vehicle_id"].to_numpy()[1:] == s["vehicle_id"].to_numpy()[:-1]
    arr = s["arrival"].reset_index(drop=True).iloc[1:].reset_index(drop=True)
    dep = s["departure"].reset_index(drop=True).iloc[:-1].reset_index(drop=True)
    gap = (arr - dep).dt.total_seconds().to_numpy()
    assert np.all(gap[same] > 0)
    assert str(s["arrival"].dt.tz) == TZ
    # re-validation through the public constructor accepts the synthetic sessions
    Fleet.from_sessions(s, fleet.vehicles)


def test_table1_classes_emerge(fleet: Fleet) -> None:
    # seed 003 Table 1: daily charge Q̄d and charge interval In per user class
    s = fleet.sessions.merge(fleet.vehicles[["user_type"]], left_on="vehicle_id", right_index=True)
    g = s.groupby("vehicle_id").agg(
        e=("energy_kwh", "sum"), n=("energy_kwh", "size"), ut=("user_type", "first")
    )
    qd = g["e"] / fleet.days
    interval = fleet.days * 24 / g["n"]
    ok = {
        "short_commute": (qd > 3) & (qd <= 6) & (interval > 12) & (interval <= 45),
        "long_commute": (qd > 6) & (interval <= 12.5),
        "residential": (qd <= 3) & (interval > 45),
    }
    for t in USER_TYPES:
        frac = ok[t][g["ut"] == t].mean()
        assert frac >= 0.8, (t, frac)


def test_mix_controls_user_types() -> None:
    f = synthesize_fleet(400, 2, mix={"residential": 1.0}, seed=1)
    assert set(f.vehicles["user_type"]) == {"residential"}
    with pytest.raises(InputError, match="mix"):
        synthesize_fleet(10, 2, mix={"taxi": 1.0})
    with pytest.raises(InputError, match="n_vehicles"):
        synthesize_fleet(0, 2)
    with pytest.raises(InputError, match="step"):
        synthesize_fleet(5, 2, step="5min")


def test_availability_and_load_hand_case() -> None:
    # one vehicle, 11 kW, plugged 10:05–14:00, 5.5 kWh -> charges 10:05–10:35 at 11 kW
    veh = pd.DataFrame({"battery_kwh": [60.0], "max_charge_kw": [11.0]}, index=["a"])
    f = Fleet.from_sessions(_one(), veh)
    av = f.availability()
    assert av.shape == (96, 1)
    # fully covered slots: 10:15 .. 13:45 (15 slots)
    assert int(av["a"].sum()) == 15
    assert av["a"].loc[_ts("2024-03-04 10:15")]
    assert not av["a"].loc[_ts("2024-03-04 10:00")]
    load = f.uncontrolled_load_kw()
    # hand calculation: slot 10:00 gets 11 kW × 10/15, 10:15 gets 11, 10:30 gets 11 × 5/15
    assert load.loc[_ts("2024-03-04 10:00")] == pytest.approx(11 * 10 / 15)
    assert load.loc[_ts("2024-03-04 10:15")] == pytest.approx(11.0)
    assert load.loc[_ts("2024-03-04 10:30")] == pytest.approx(11 * 5 / 15)
    assert load.sum() * 0.25 == pytest.approx(5.5)
    hourly = f.uncontrolled_load_kw("1h")
    assert hourly.loc[_ts("2024-03-04 10:00")] == pytest.approx(5.5)
    need = f.energy_need_kwh()
    assert need.loc[_ts("2024-03-04 10:00"), "a"] == 5.5 and need.to_numpy().sum() == 5.5
    due = f.energy_need_kwh(at="departure")
    assert due.loc[_ts("2024-03-04 13:45"), "a"] == 5.5


def test_uncontrolled_load_conserves_energy(fleet: Fleet) -> None:
    s = fleet.sessions
    p = fleet.vehicles.loc[s["vehicle_id"], "max_charge_kw"].to_numpy()
    ends = s["arrival"] + pd.to_timedelta(s["energy_kwh"].to_numpy() / p, unit="h")
    inside = (ends <= fleet.end).to_numpy()
    load = fleet.uncontrolled_load_kw()
    assert load.index.tz is not None and load.index.freq is not None
    total = load.sum() * 0.25
    assert total >= s["energy_kwh"][inside].sum() - 1e-6
    assert total <= s["energy_kwh"].sum() + 1e-6


def test_from_sessions_defaults_and_period() -> None:
    f = Fleet.from_sessions(_one(departure="2024-03-05 02:00"), step="1h")
    assert f.start == _ts("2024-03-04") and f.end == _ts("2024-03-06")
    assert f.vehicles.loc["a", "battery_kwh"] == 60.0
    assert f.availability().shape == (48, 1)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.drop(columns="energy_kwh"), "missing column"),
        (lambda d: d.assign(arrival=d["arrival"].dt.tz_localize(None)), "tz-aware"),
        (lambda d: d.assign(energy_kwh=-1.0), "energy_kwh"),
        (lambda d: d.assign(energy_kwh=np.nan), "energy_kwh"),
        (lambda d: d.assign(departure=d["arrival"] - pd.Timedelta("1h")), "not after arrival"),
        (lambda d: pd.concat([d, d], ignore_index=True), "overlaps"),
        (lambda d: d.assign(energy_kwh=500.0), "exceeds|battery"),
        (lambda d: d.assign(arrival=pd.NaT), "arrival|tz-aware"),
    ],
)
def test_from_sessions_rejects_malformed(mutate, match) -> None:  # type: ignore[no-untyped-def]
    veh = pd.DataFrame({"battery_kwh": [60.0], "max_charge_kw": [11.0]}, index=["a"])
    with pytest.raises(EvaggError, match=match):
        Fleet.from_sessions(mutate(_one()), veh)


def test_from_sessions_rejects_unknown_vehicle_and_bad_table() -> None:
    veh = pd.DataFrame({"battery_kwh": [60.0], "max_charge_kw": [11.0]}, index=["b"])
    with pytest.raises(InputError, match="not in vehicles"):
        Fleet.from_sessions(_one(), veh)
    bad = pd.DataFrame({"battery_kwh": [-1.0], "max_charge_kw": [11.0]}, index=["a"])
    with pytest.raises(InputError, match="battery_kwh"):
        Fleet.from_sessions(_one(), bad)
    with pytest.raises(InputError, match="sessions"):
        Fleet.from_sessions([1, 2, 3])  # type: ignore[arg-type]


def test_v2g_flags_read_strictly() -> None:
    # a CSV-read vehicles table may hold "no"/"yes" strings; "no" must not become True
    veh = pd.DataFrame({"battery_kwh": [60.0], "max_charge_kw": [11.0], "v2g": ["no"]}, index=["a"])
    f = Fleet.from_sessions(_one(), veh)
    assert not f.vehicles.loc["a", "v2g"] and f.vehicles.loc["a", "max_discharge_kw"] == 0.0
    assert Fleet.from_sessions(_one(), veh.assign(v2g=[1])).vehicles.loc["a", "v2g"]
    with pytest.raises(InputError, match="v2g"):
        Fleet.from_sessions(_one(), veh.assign(v2g=["maybe"]))


def test_from_sessions_period_across_dst() -> None:
    f = Fleet.from_sessions(_one("2024-03-30 20:00", "2024-03-31 07:00", 5.0))
    assert f.end == pd.Timestamp("2024-04-01", tz=TZ)
    assert len(f.time_index()) == 96 + 92  # the spring-forward day has 23 h
