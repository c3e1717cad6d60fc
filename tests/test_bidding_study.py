"""End-to-end checks of the seed 002 study and the ``evagg bidding`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from evagg.cli import app
from evagg.data import load_nl_day_ahead_prices
from evagg.errors import InputError
from evagg.studies.bidding_day import (
    BiddingStudyConfig,
    build_inputs,
    rival_forecast,
    run_bidding_study,
)


def test_cli_bidding_json_and_files(tmp_path: Path, captured_figures: list) -> None:
    out = tmp_path / "bid"
    res = CliRunner().invoke(
        app,
        [
            "bidding",
            "--date",
            "2024-03-12",
            "--beta",
            "0.1,10",
            "--scenarios",
            "20",
            "--reduce-to",
            "5",
            "--rivals",
            "2",
            "--switching-cost",
            "0",
            "--oos-days",
            "0",
            "--unreduced-beta",
            "",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout[res.stdout.index("[") :])
    assert [(r["case"], r["beta"]) for r in rows] == [
        ("reduced", 0.1),
        ("reduced", 10.0),
        ("rival_recourse", 0.1),
        ("rival_recourse", 10.0),
    ]
    for r in rows:
        assert r["status"] == "optimal"
        assert r["max_certificate_gap"] <= 1e-6
        assert r["cvar_eur"] <= r["expected_profit_eur"] + 1e-6  # CVaR <= mean, always
    for name in (
        "summary.csv",
        "summary.parquet",
        "certificates.csv",
        "frontier.png",
        "profit_cdf.png",
        "prices.png",
        "shares.png",
        "meta.json",
    ):
        assert (out / name).is_file(), name
    from conftest import assert_readable

    assert len(captured_figures) == 5  # frontier, CDF, prices, shares, energies
    for name, fig in captured_figures:
        assert_readable(name, fig)


def test_study_config_rejects_bad_values() -> None:
    with pytest.raises(InputError, match="n_rivals"):
        BiddingStudyConfig(n_rivals=5)
    with pytest.raises(InputError, match="betas"):
        BiddingStudyConfig(betas=(-1.0,))
    with pytest.raises(InputError, match="formulation"):
        BiddingStudyConfig(formulation="magic")


@pytest.mark.slow
def test_full_beta_study_direction_and_frontier() -> None:
    cfg = BiddingStudyConfig(oos_days=1, oos_draws=5, unreduced_betas=())
    res = run_bidding_study(cfg)
    s = res.summary_table[res.summary_table["case"] == "reduced"]
    for _, g in s.groupby("switching_cost_eur_per_mwh"):
        g = g.sort_values("beta")
        # Efficient frontier: expected profit non-increasing, CVaR non-decreasing in beta.
        assert (g["expected_profit_eur"].diff().dropna() <= 1e-3).all()
        assert (g["cvar_eur"].diff().dropna() >= -1e-3).all()
    assert (res.certificates["max_relative_gap"] <= 1e-6).all()


def _tampered(prices: pd.Series, day: str) -> pd.Series:
    """Prices with every hour from ``day`` on replaced by an absurd value."""
    out = prices.copy()
    out.loc[out.index >= pd.Timestamp(day, tz=out.index.tz)] = 5000.0
    return out


def test_rival_forecast_uses_only_the_week_before() -> None:
    # Out-of-sample days are decided on data up to the day before: the rival forecast of a
    # day must not move when that day's (and later) prices change.
    prices = load_nl_day_ahead_prices()
    day = "2024-03-13"
    idx = prices.loc[prices.index >= pd.Timestamp(day, tz=prices.index.tz)].index[:24]
    a = rival_forecast(prices, pd.DatetimeIndex(idx), 3)
    b = rival_forecast(_tampered(prices, day), pd.DatetimeIndex(idx), 3)
    pd.testing.assert_frame_equal(a, b)
    # ...while the week before does move it (the test can fail).
    week = (pd.Timestamp(day) - pd.Timedelta(days=7)).strftime("%Y-%m-%d")
    c = rival_forecast(_tampered(prices, week), pd.DatetimeIndex(idx), 3)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


@pytest.mark.slow
def test_build_inputs_never_sees_the_decided_day() -> None:
    # The whole input chain of an out-of-sample day (SARIMAX scenarios, premia, eq. (1)
    # demand, reduction, rival scenarios) is unchanged when the day's prices change.
    prices = load_nl_day_ahead_prices()
    day = "2024-03-13"
    cfg = BiddingStudyConfig(n_scenarios=10, reduce_to=3, n_sim_evs=50)
    a, _ = build_inputs(prices, day, cfg, reduce_to=3, switching_cost=0.0, seed=1)
    b, _ = build_inputs(_tampered(prices, day), day, cfg, reduce_to=3, switching_cost=0.0, seed=1)
    for q in a.market.quantities:
        pd.testing.assert_frame_equal(a.market[q], b.market[q])
    for q in a.rivals.quantities:
        pd.testing.assert_frame_equal(a.rivals[q], b.rivals[q])
