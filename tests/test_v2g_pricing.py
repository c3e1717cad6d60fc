"""V2G contract pricing (seed 001): brute force, certificates, rolling, contracts, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from evagg.errors import EvaggError, InputError
from evagg.optim.bilevel import LowerLevelLP, brute_force_leader, solve_followers
from evagg.v2g_pricing import (
    DayForecast,
    Tariff,
    V2GDispatch,
    build_pricing,
    follower_response,
    leader_profit_eur,
    solve_pricing,
    validate_users,
)

# A 3-hour instance small enough to enumerate the leader's prices (hand-made data).
CLASSES = pd.DataFrame(
    {
        "contract": ["ordinary", "v2g", "ordinary"],
        "start_h": [0, 1, 0],
        "end_h": [3, 3, 2],
        "energy_kwh": [4.0, 2.0, 6.0],  # the third class needs its whole window: fixed load
        "p_max_kw": [3.0, 2.0, 3.0],
        "n_users": [2, 1, 1],
    },
    index=pd.Index(["a", "b", "c"], name="class_id"),
)
FORECAST = np.array([50.0, 20.0, 80.0])  # EUR/MWh


def _brute_force(tariff: Tariff, grid: np.ndarray) -> tuple[float, np.ndarray]:
    cols = [CLASSES[c].to_numpy() for c in ("start_h", "end_h", "energy_kwh", "p_max_kw")]
    n = CLASSES["n_users"].to_numpy(float)

    def leader(lam: np.ndarray) -> float:
        if lam.sum() > tariff.price_cap_eur_per_kwh * lam.size + 1e-12:
            return -np.inf
        x = follower_response(lam, *cols, FORECAST)  # exact, optimistic ties
        if tariff.cap_mode == "energy" and np.any(
            x @ lam > tariff.price_cap_eur_per_kwh * CLASSES["energy_kwh"].to_numpy() + 1e-12
        ):
            return -np.inf
        return leader_profit_eur(lam, x, n, FORECAST)

    bf = brute_force_leader([grid] * 3, leader)
    return bf.best_value, bf.best_x


@pytest.mark.parametrize("cap_mode", ["time", "energy"])
def test_milp_equals_brute_force_on_a_small_instance(cap_mode: str) -> None:
    # Grid step 0.05 EUR/kWh holds every vertex of {bounds, cap, price ties} here
    # (e.g. (0.9 - 0.1)/2 = 0.4), so the enumerated optimum is the true optimum.
    tariff = Tariff(0.10, 0.50, 0.30, cap_mode=cap_mode)  # type: ignore[arg-type]
    res = solve_pricing(build_pricing(CLASSES, FORECAST, tariff))
    best, _ = _brute_force(tariff, np.round(np.arange(0.10, 0.5001, 0.05), 10))
    assert res.profit_eur == pytest.approx(best, rel=1e-6, abs=1e-6)
    # the MILP's prices, evaluated with the followers solved exactly, give its value
    cols = [CLASSES[c].to_numpy() for c in ("start_h", "end_h", "energy_kwh", "p_max_kw")]
    x = follower_response(res.price_eur_per_kwh, *cols, FORECAST)
    n = CLASSES["n_users"].to_numpy(float)
    assert leader_profit_eur(res.price_eur_per_kwh, x, n, FORECAST) == pytest.approx(
        res.profit_eur, rel=1e-6
    )
    np.testing.assert_allclose(res.class_kwh.to_numpy(), x, atol=1e-6)
    assert res.certificate_gap <= 1e-6 and res.duality_gap <= 1e-6
    assert res.price_eur_per_kwh.mean() <= 0.30 + 1e-9 or cap_mode == "energy"


def test_follower_response_is_the_lp_optimum() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        lam = rng.uniform(0.1, 0.6, 6).round(2)  # rounding makes ties
        a, b = 1, 6
        e, p = rng.uniform(0.5, 20.0), 4.5
        x = follower_response(lam, [a], [b], [e], [p], rng.normal(60, 30, 6))
        n = b - a
        lower = LowerLevelLP(
            "one user",
            lam[None, a:b],
            lam[None, a:b],
            lam[None, a:b],
            np.full((1, n), p),
            A=-np.eye(n),
            b=np.full((1, n), -p),
            G=np.ones((1, n)),
            h=np.array([[e]]),
        )
        _, opt = solve_followers(lower, lam[None, a:b])
        assert float(x[0] @ lam) == pytest.approx(float(opt[0]), rel=1e-9, abs=1e-9)
        assert x[0].sum() == pytest.approx(e) and x[0].max() <= p + 1e-12
        assert x[0, :a].sum() == 0 and x[0, b:].sum() == 0


def _v2g_users(n_hours: int = 6) -> pd.DataFrame:
    return validate_users(
        pd.DataFrame(
            {
                "contract": "v2g",
                "start_h": [0, 1, 2],
                "end_h": [6, 5, 6],
                "energy_kwh": [10.0, 4.0, 0.0],
                "p_max_kw": [7.0, 11.0, 3.7],
                "p_dis_kw": [7.0, 11.0, 3.7],
                "battery_kwh": [60.0, 40.0, 30.0],
                "efficiency": [0.9, 0.92, 0.9],
                "e0_kwh": [40.0, 20.0, 29.0],
            }
        ),
        n_hours,
    )


REALISED = np.array([30.0, -20.0, 90.0, 150.0, 10.0, 120.0])  # with a negative price
FCAST = DayForecast(np.array([40.0, 10.0, 70.0, 110.0, 40.0, 90.0]), "test", 0.8)


def test_rolling_is_non_anticipative() -> None:
    disp = V2GDispatch(_v2g_users(), 6, compensation_eur_per_kwh=0.02)
    base = disp.rolling(FCAST.view, REALISED)
    for h0 in range(5):
        bumped = REALISED.copy()
        bumped[h0 + 1 :] += np.linspace(200.0, -300.0, 5 - h0)  # future prices change a lot
        other = disp.rolling(FCAST.view, bumped)
        np.testing.assert_array_equal(other.charge_kwh[:, : h0 + 1], base.charge_kwh[:, : h0 + 1])
        np.testing.assert_array_equal(
            other.discharge_kwh[:, : h0 + 1], base.discharge_kwh[:, : h0 + 1]
        )
        assert not np.array_equal(other.net_kwh, base.net_kwh) or h0 == 4
    # the view at hour h is built from hours 0..h only
    seen: list[int] = []
    disp.rolling(lambda r: (seen.append(len(r)), FCAST.view(r))[1], REALISED)
    assert seen == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("strategy", ["plan", "rolling", "perfect"])
def test_v2g_users_never_end_below_their_need(strategy: str) -> None:
    users = _v2g_users()
    disp = V2GDispatch(users, 6, compensation_eur_per_kwh=0.0)
    s = {
        "plan": lambda: disp.schedule(FCAST.values),
        "rolling": lambda: disp.rolling(FCAST.view, REALISED),
        "perfect": lambda: disp.schedule(REALISED),
    }[strategy]()
    need = users["e0_kwh"] + users["efficiency"] * users["energy_kwh"]
    assert np.all(s.soc_kwh[:, -1] >= need.to_numpy() - 1e-6)
    assert s.discharge_kwh.sum() > 1.0  # V2G is used (prices spread, ρ = 0)
    assert np.all(
        s.soc_kwh
        >= np.minimum(0.2 * users["battery_kwh"], users["e0_kwh"]).to_numpy()[:, None] - 1e-6
    )


def test_perfect_foresight_is_never_beaten() -> None:
    from evagg.v2g_pricing import settle_eur

    disp = V2GDispatch(_v2g_users(), 6, compensation_eur_per_kwh=0.03)
    pf = settle_eur(disp.schedule(REALISED), REALISED, 0.03)
    for s in (disp.schedule(FCAST.values), disp.rolling(FCAST.view, REALISED)):
        assert settle_eur(s, REALISED, 0.03) >= pf - 1e-9


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"price_min_eur_per_kwh": 0.5, "price_max_eur_per_kwh": 0.2}, "price_max_eur_per_kwh"),
        ({"price_cap_eur_per_kwh": 0.9}, "price_cap_eur_per_kwh"),
        ({"price_cap_eur_per_kwh": 0.05}, "price_cap_eur_per_kwh"),
        ({"compensation_eur_per_kwh": -0.01}, "compensation_eur_per_kwh"),
        ({"degradation_eur_per_kwh": float("nan")}, "degradation_eur_per_kwh"),
        # plausibility: 1e300 EUR/kWh of compensation was accepted and ran
        ({"compensation_eur_per_kwh": 1e300}, "compensation_eur_per_kwh"),
        ({"price_max_eur_per_kwh": 600.0}, "price_max_eur_per_kwh"),  # EUR/MWh as EUR/kWh
    ],
)
def test_bad_tariff_names_field_and_value(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as err:
        Tariff(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert repr(list(kwargs.values())[-1])[:4] in str(err.value)


def test_user_needing_more_than_the_window_allows() -> None:
    users = _v2g_users().assign(energy_kwh=[10.0, 50.0, 0.0], e0_kwh=[40.0, 0.0, 29.0])
    with pytest.raises(InputError, match=r"users.energy_kwh\[1\]=50.0: more than 11 kW"):
        validate_users(users, 6)
    with pytest.raises(InputError, match=r"users.end_h\[0\]"):
        validate_users(_v2g_users().assign(end_h=[7, 5, 6]), 6)


def test_study_config_errors_name_key_and_value() -> None:
    from evagg.studies.v2g_pricing import Config

    with pytest.raises(EvaggError, match=r"price_cap_eur_per_kwh=0.9"):
        Config(price_cap_eur_per_kwh=0.9)
    with pytest.raises(EvaggError, match=r"compensation_eur_per_kwh=-1"):
        Config(compensation_eur_per_kwh=-1)
    with pytest.raises(EvaggError, match=r"fleet_size"):
        Config(fleet_size=0)


@pytest.mark.parametrize(
    ("date", "pattern"),
    [
        (
            "2023-12-31",
            r"date='2023-12-31': the bundled ENTSO-E NL series has no price for "
            r"2023-12-31 00:00:00\+01:00",
        ),
        ("2015-01-10", r"date='2015-01-10': outside the bundled NL prices"),
        ("2026-01-01", r"date='2026-01-01': outside the bundled NL prices"),
    ],
)
def test_days_the_data_cannot_serve_are_named(date: str, pattern: str) -> None:
    from evagg.studies.v2g_pricing import Config, run

    with pytest.raises(InputError, match=pattern):
        run(Config(date=date, fleet_size=10, forecast="weekly_profile"))


@pytest.fixture(scope="module")
def negative_day() -> Any:
    """2024-05-12 (negative NL prices at midday), a small fleet, cheap forecast."""
    from evagg.studies.v2g_pricing import Config, run

    return run(Config(date="2024-05-12", fleet_size=40, n_classes=3, forecast="weekly_profile"))


def test_negative_price_day_end_to_end(negative_day: Any) -> None:
    """The day runs, is certified, V2G users' needs hold; every verification passes."""
    res = negative_day
    assert res.hourly["realised_price_eur_per_mwh"].min() < 0
    assert all(c.passed for c in res.verifications)
    s = res.strategies["profit_eur"]
    assert s["perfect_foresight"] >= max(s["hold"], s["rolling"], s["no_v2g"]) - 1e-6
    assert res.numbers["certificate_gap"] <= 1e-6
    assert res.hourly.shape[0] == 24
    # users pay the game's prices; the flat-tariff comparison uses the cap
    u = res.users
    np.testing.assert_allclose(u["flat_tariff_cost_eur"], 0.30 * u["energy_kwh"])


def test_outputs_and_figures_follow_the_style(
    negative_day: Any, tmp_path: Path, captured_figures: list[tuple[str, Figure]]
) -> None:
    from conftest import assert_readable
    from evagg.studies.v2g_pricing import write_outputs

    files = write_outputs(negative_day, tmp_path)
    names = {p.name for p in files}
    assert {"hourly.csv", "strategies.csv", "binding_bigm.csv", "summary.json"} <= names
    assert {"prices.png", "v2g_dispatch.png", "profit_by_strategy.png"} <= names
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["date"] == "2024-05-12" and "loss_eur_rolling" in summary
    for name, fig in captured_figures:
        assert_readable(name, fig)
    assert len(captured_figures) == 3


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--start", "2024-03-02", "--end", "2024-03-01"], r"end='2024-03-01': is before start"),
        (["--start", "2014-06-01", "--end", "2014-06-02"], r"start='2014-06-01': outside"),
        (["--start", "2024-12-30", "--end", "2025-02-01"], r"end='2025-02-01': outside"),
    ],
)
def test_backtest_cli_rejects_bad_ranges(tmp_path: Path, args: list[str], pattern: str) -> None:
    from typer.testing import CliRunner

    from evagg.cli import app

    res = CliRunner().invoke(
        app, ["backtest", "v2g-pricing", *args, "--out", str(tmp_path), "--json"]
    )
    assert res.exit_code != 0
    assert isinstance(res.exception, InputError)
    assert re.search(pattern, str(res.exception)), str(res.exception)


@pytest.mark.slow
def test_cli_day_and_backtest_with_the_missing_hour_day(tmp_path: Path) -> None:
    """`evagg v2g-pricing --json` prints only JSON; a backtest over 2023-12-30..31 records
    the missing-hour day as a named failure and summarises the other."""
    from typer.testing import CliRunner

    from evagg.cli import app

    small = ["--fleet-size", "30", "--forecast", "weekly_profile"]
    day = CliRunner().invoke(
        app, ["v2g-pricing", "--date", "2024-03-31", *small, "--out", str(tmp_path / "d"), "--json"]
    )
    assert day.exit_code == 0, day.output
    summary = json.loads(day.stdout)
    assert summary["n_hours"] == 23  # DST day
    assert (tmp_path / "d" / "run.json").exists()
    res = CliRunner().invoke(
        app,
        [
            "backtest",
            "v2g-pricing",
            "--start",
            "2023-12-30",
            "--end",
            "2023-12-31",
            "--scheduler",
            "synchronous",
            *small,
            "--out",
            str(tmp_path / "b"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    fails = out["failures"]
    assert [f["date"] for f in fails] == ["2023-12-31"]
    assert fails[0]["error"].startswith("InputError") and "no price for" in fails[0]["error"]
    assert out["days"] == 1.0 and out["n_days"] == 1
    assert (tmp_path / "b" / "monthly.png").exists()


def test_backtest_day_is_deterministic() -> None:
    """Same day and seed, same bytes: what makes kill/resume and 1 vs 2 workers equal for
    this study (the engine's own tests show it for any deterministic day function)."""
    import datetime as dt
    import io

    from evagg.studies.v2g_pricing import Config, backtest_day

    cfg = Config(fleet_size=30, n_classes=3, forecast="weekly_profile")
    runs = []
    for _ in range(2):
        buf = io.BytesIO()
        backtest_day(dt.date(2024, 3, 31), 11, cfg).to_parquet(buf)  # a 23-hour DST day
        runs.append(buf.getvalue())
    assert runs[0] == runs[1]
    other = backtest_day(dt.date(2024, 3, 31), 12, cfg)
    assert other["n_hours"].iloc[0] == 23
