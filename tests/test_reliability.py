"""Tests of evagg.reliability on fleets: eqs. 5–8, curves, Monte Carlo, allocation,
classification, calibration and the CLI.

Reference values are hand calculations (written beside them), closed forms, or Monte
Carlo estimates compared within 4 standard errors sqrt(R(1 − R)/n).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from evagg.errors import InputError
from evagg.fleet import Fleet, synthesize_fleet
from evagg.reliability import (
    allocation_reliability,
    bid_curve,
    build_slot_model,
    calibrate,
    classify_users,
    compare_classifications,
    delivered_kwh,
    fit_gaussian_mixture,
    monte_carlo_fleet,
    reliability_curves,
    reliability_table,
    slot_distribution,
    user_mix_curves,
    v2g_energy,
)

TZ = "Europe/Amsterdam"


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    # the seed's setting: 74 users, 41 short / 25 long commute / 8 residential (default mix)
    return synthesize_fleet(74, 63, start="2024-03-04", seed=5)


@pytest.fixture(scope="module")
def day(fleet: Fleet) -> pd.Timestamp:
    return fleet.end - pd.Timedelta(days=1)


def _hand_fleet() -> Fleet:
    # one vehicle, 4 days; plugged 09:00–12:00 on days 1–3, charged 10, 20, 30, 0 kWh
    rows = []
    for d, e in zip(range(3), (10.0, 20.0, 30.0), strict=True):
        a = pd.Timestamp("2024-03-04 09:00", tz=TZ) + pd.Timedelta(days=d)
        rows.append(
            {"vehicle_id": "a", "arrival": a, "departure": a + pd.Timedelta("3h"), "energy_kwh": e}
        )
    veh = pd.DataFrame(
        {"battery_kwh": [50.0], "max_charge_kw": [11.0], "efficiency": [1.0]}, index=["a"]
    )
    return Fleet.from_sessions(pd.DataFrame(rows), veh, start="2024-03-04", end="2024-03-09")


def test_eq6_eq7_hand_calculation() -> None:
    f = _hand_fleet()
    e = v2g_energy(f, before="2024-03-08", confidence=0.95).loc["a"]
    daily = np.array([10.0, 20.0, 30.0, 0.0])  # days 1–4 (day 4: no session)
    half = stats.norm.ppf(0.975) * daily.std(ddof=1) / 2.0  # z·s/√N, N = 4
    assert e["h_av_kwh"] == pytest.approx(15.0)
    assert e["h_av_hi_kwh"] == pytest.approx(15.0 + half)
    assert e["e_start_kwh"] == pytest.approx(0.8 * 50 - 15.0 - half)  # eq. 7, upper H_av
    assert e["e_start_hi_kwh"] == pytest.approx(0.8 * 50 - 15.0 + half)


def test_eq5_presence_and_lambda_hand_calculation() -> None:
    f = _hand_fleet()
    m = build_slot_model(f, "2024-03-08", same_day_type=False)
    # history: 4 days, present 09:00–12:00 on 3 of them -> p = (3 + ½)/(4 + 1) = 0.7
    assert m.p.loc[pd.Timestamp("2024-03-08 10:30", tz=TZ), "a"] == pytest.approx(0.7)
    assert m.p.loc[pd.Timestamp("2024-03-08 13:00", tz=TZ), "a"] == pytest.approx(0.1)
    assert m.lam.iloc[42] == pytest.approx(0.7)  # 10:30 is slot 42; λ = n − E[M] = Σ p
    assert m.expected_missed.iloc[42] == pytest.approx(0.3)
    raw = build_slot_model(f, "2024-03-08", same_day_type=False, pseudo_count=0.0)
    assert raw.p.iloc[42, 0] == pytest.approx(0.75)


def test_power_basis_caps_at_discharge_power(fleet: Fleet, day: pd.Timestamp) -> None:
    m = build_slot_model(fleet, day, basis="power")
    cap = fleet.vehicles["max_discharge_kw"] * 0.25
    assert (m.v_kwh.le(cap + 1e-12, axis=1)).all().all()
    with pytest.raises(InputError, match="basis"):
        build_slot_model(fleet, day, basis="kw")


def test_batched_curves_match_per_slot_and_monte_carlo(fleet: Fleet, day: pd.Timestamp) -> None:
    m = build_slot_model(fleet, day)
    bids = np.linspace(0, 2500, 26)
    rel, c95 = reliability_curves(m, bids, "poisson")
    assert (rel.iloc[:, 0] == 1.0).all()  # a zero bid is always met (S ≥ 0)
    for t in (10, 42, 72):
        d = slot_distribution(m.p.iloc[t], m.v_kwh.iloc[t], "poisson")
        np.testing.assert_allclose(rel.iloc[t].to_numpy(), d.sf(bids), atol=1e-4)
        assert c95.iloc[t] == pytest.approx(d.quantile_bid(0.95), abs=0.5)
    # exact model vs Monte Carlo of the same fleet (independent Bernoulli presence)
    t = m.pos("10:30")
    p, v = m.p.iloc[t].to_numpy(), m.v_kwh.iloc[t].to_numpy()
    n = 100_000
    mc = monte_carlo_fleet(p, v, n, seed=9)
    exact = slot_distribution(p, v, "exact")
    b = exact.mean() + exact.std() * np.array([-2.0, -1.0, 0.0, 1.0])
    r = exact.sf(b)
    se = np.sqrt(r * (1 - r) / n)
    assert np.all(np.abs((mc[:, None] >= b).mean(axis=0) - r) <= 4 * se + 1e-3)
    # R decreases in C, and the bid at 0.95 has R ≈ 0.95
    assert np.all(np.diff(rel.to_numpy(), axis=1) <= 1e-12)
    assert exact.sf(exact.quantile_bid(0.95)) == pytest.approx(0.95, abs=2e-3)


def test_reliability_table_and_bid_curve(fleet: Fleet, day: pd.Timestamp) -> None:
    m = build_slot_model(fleet, day)
    tab = reliability_table(m, ["10:30", "18:00"], [500, 800], methods=("poisson", "gmm", "exact"))
    assert len(tab) == 2 * 3 * 2
    assert tab["reliability"].between(0, 1).all()
    pj = reliability_table(m, ["10:30"], [500, 800], methods=("poisson", "panjer"))
    a = pj[pj["method"] == "poisson"]["reliability"].to_numpy()
    b = pj[pj["method"] == "panjer"]["reliability"].to_numpy()
    np.testing.assert_allclose(a, b, atol=1e-9)  # FFT and Panjer on the same lattice
    curve = bid_curve(m)
    assert (curve["bid_poisson_kwh"] <= curve["expected_kwh"] + 1e-6).all()
    assert len(curve) == 96
    real = delivered_kwh(fleet, m)
    assert real.index.equals(m.p.index) and (real >= 0).all()
    with pytest.raises(InputError, match="slot"):
        m.slot("25:00")
    with pytest.raises(InputError, match="bids"):
        reliability_table(m, ["10:30"], [-1.0])
    with pytest.raises(InputError, match="method"):
        slot_distribution([0.5], [1.0], "normal")
    with pytest.raises(InputError, match="history"):
        build_slot_model(fleet, fleet.start)


def test_priority_at_least_as_reliable_as_equal_shares(fleet: Fleet, day: pd.Timestamp) -> None:
    # seed 003 Table 7 setting: slots (10:00, 10:15] and (18:30, 18:45], bids per row
    bids = [[475, 450], [550, 535], [650, 600], [700, 650]]
    res = allocation_reliability(fleet, day, ["10:00", "18:30"], bids, n_samples=4000, seed=1)
    wide = res.pivot_table(index=["row", "slot"], columns="rule", values="reliability")
    assert (wide["priority"] >= wide["equal"]).all()
    # the priority rule meets the first slot iff the present energy covers the bid, so it
    # equals P(S ≥ C) of the same bootstrap; check it is a proper, decreasing estimate
    first = wide.xs(wide.index.levels[1][0], level="slot")["priority"].to_numpy()
    assert np.all(np.diff(first) <= 0)
    same = allocation_reliability(fleet, day, ["10:00", "18:30"], bids, n_samples=4000, seed=1)
    pd.testing.assert_frame_equal(res, same)
    with pytest.raises(InputError, match="bids_kwh"):
        allocation_reliability(fleet, day, ["10:00", "18:30"], [[1.0]], n_samples=10)


def test_classification_rule_and_kmeans(fleet: Fleet) -> None:
    rule = classify_users(fleet, "rule")
    agree = (rule["user_type"] == fleet.vehicles["user_type"]).mean()
    assert agree >= 0.9
    comp = compare_classifications(fleet)
    assert comp["n_rule"].sum() == fleet.n_vehicles
    assert comp.attrs["kmeans_vs_rule_agreement"] >= 0.8
    with pytest.raises(InputError, match="method"):
        classify_users(fleet, "dbscan")


def test_gaussian_mixture_bic_choice() -> None:
    rng = np.random.default_rng(0)
    one = rng.normal(1551, 29.2, 3000)  # seed Table 3, 74 users: one component
    two = np.concatenate([rng.normal(63.2, 3.2, 2300), rng.normal(71.2, 1.9, 700)])  # 3 users
    f1, f2 = fit_gaussian_mixture(one), fit_gaussian_mixture(two)
    assert f1.k == 1 and f1.means[0] == pytest.approx(1551, abs=3)
    # overlapping components: EM recovers them to within about half a standard deviation
    assert f2.k == 2
    np.testing.assert_allclose(np.sort(f2.means), [63.2, 71.2], atol=1.5)
    assert f1.r2 > 0.95 and f2.r2 > 0.9


def test_user_mix_more_residential_raises_lambda() -> None:
    big = synthesize_fleet(300, 30, seed=4)
    lam, curves = user_mix_curves(
        big, big.end - pd.Timedelta(days=1), "10:30", np.arange(200, 1800, 100)
    )
    assert lam.loc["1:1:0.5", "lambda"] > lam.loc["1:1:0.25", "lambda"]
    assert list(curves.index) == list(lam.index)


def test_calibration_exact_better_than_poisson(fleet: Fleet) -> None:
    cal = calibrate(fleet, first_day=fleet.end - pd.Timedelta(days=10), slot_stride=4)
    s = cal.summary
    assert set(s.index) == {"poisson", "exact"}
    assert s.loc["exact", "brier"] < s.loc["poisson", "brier"]
    # the exact 0.95-bid is larger than the compound-Poisson one (Poisson over-disperses)
    assert s.loc["exact", "target_bid_mean_kwh"] > s.loc["poisson", "target_bid_mean_kwh"]
    assert s.loc["exact", "target_bid_met_rate"] >= 0.85
    assert cal.table["count"].sum() == len(cal.pairs)


def test_cli_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from evagg.cli import app

    res = CliRunner().invoke(
        app,
        [
            "reliability",
            "--fleet-size",
            "30",
            "--days",
            "35",
            "--slot",
            "10:30",
            "--bids",
            "300,400",
            "--calibration-days",
            "3",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{") :])
    rel = out["slots"]["10:30"]["reliability"]
    assert set(rel) == {"poisson", "exact", "gmm"} and set(rel["exact"]) == {"300", "400"}
    for name in ("reliability_table.csv", "bid_curve.png", "calibration.png", "result.json"):
        assert (tmp_path / name).exists()


def test_cli_sessions_csv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from evagg.cli import app

    f = synthesize_fleet(12, 21, seed=2)
    s = f.sessions.copy()
    s.to_csv(tmp_path / "s.csv", index=False)
    res = CliRunner().invoke(
        app,
        [
            "reliability",
            "--sessions",
            str(tmp_path / "s.csv"),
            "--slot",
            "20:00",
            "--bids",
            "50",
            "--calibration-days",
            "2",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    bad = s.assign(energy_kwh=-s["energy_kwh"])
    bad.to_csv(tmp_path / "bad.csv", index=False)
    res = CliRunner().invoke(
        app, ["reliability", "--sessions", str(tmp_path / "bad.csv"), "--out", str(tmp_path)]
    )
    assert res.exit_code != 0


def test_dst_days_have_92_and_100_slots() -> None:
    f = synthesize_fleet(20, 14, start="2024-10-21", seed=1)
    long_day = build_slot_model(f, "2024-10-27")  # clocks go back: 25 h
    assert len(long_day.p) == 100
    assert long_day.slot("10:30") == pd.Timestamp("2024-10-27 10:30", tz=TZ)
    assert delivered_kwh(f, long_day).shape == (100,)
    g = synthesize_fleet(20, 10, start="2024-03-25", seed=1)
    short_day = build_slot_model(g, "2024-03-31")  # clocks go forward: 23 h
    assert len(short_day.p) == 92
    assert short_day.slot("10:30") == pd.Timestamp("2024-03-31 10:30", tz=TZ)


def test_allocation_draws_from_the_models_same_type_history_days() -> None:
    # one vehicle plugged in 09:00–12:00 on weekdays only, 3 weeks from Monday 2024-03-04;
    # target Sunday 2024-03-24: the model's history is the 5 weekend days before it, on
    # which the vehicle was never plugged in, so no bid can be met (hand reasoning). Drawing
    # from the last 5 calendar days instead (4 of them weekdays) would meet it ~80 % of
    # the time.
    rows = []
    for d in range(20):
        a = pd.Timestamp("2024-03-04 09:00", tz=TZ) + pd.Timedelta(days=d)
        if a.dayofweek < 5:
            rows.append(
                {"vehicle_id": "a", "arrival": a, "departure": a + pd.Timedelta("3h"),
                 "energy_kwh": 10.0}
            )  # fmt: skip
    veh = pd.DataFrame(
        {"battery_kwh": [50.0], "max_charge_kw": [11.0], "efficiency": [1.0]}, index=["a"]
    )
    f = Fleet.from_sessions(pd.DataFrame(rows), veh, start="2024-03-04", end="2024-03-25")
    m = build_slot_model(f, "2024-03-24")
    assert m.n_history_days == 5
    assert m.p.loc[pd.Timestamp("2024-03-24 10:00", tz=TZ), "a"] == pytest.approx(0.5 / 6)
    res = allocation_reliability(f, "2024-03-24", ["10:00"], [[5.0]], n_samples=2000, seed=0)
    assert (res["reliability"] == 0.0).all()


def test_slot_model_uses_only_days_before_the_target(fleet: Fleet) -> None:
    # out of sample (seed Table 6): changing everything from the target day on must not
    # change the model of that day; here sessions arriving on or after it are dropped
    day = fleet.start + pd.Timedelta(days=40)
    cut = fleet.sessions[fleet.sessions["arrival"] < day]
    past = Fleet(fleet.vehicles, cut, fleet.start, fleet.end, fleet.step)
    a = build_slot_model(fleet, day, window_days=28)
    b = build_slot_model(past, day, window_days=28)
    pd.testing.assert_frame_equal(a.p, b.p)
    pd.testing.assert_frame_equal(a.v_kwh, b.v_kwh)
    # ... while the day's realised offer does depend on them
    assert delivered_kwh(past, b).sum() < delivered_kwh(fleet, a).sum()
