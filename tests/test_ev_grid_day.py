"""EV grid-impact day: hosting capacity checked against independent feasibility solves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evagg import InfeasibleError, InputError
from evagg.data import load_microgrid_day, load_nl_day_ahead_prices
from evagg.grid import DistFlowModel, DistFlowOptions, Feeder
from evagg.studies.ev_grid_day import Config, daily_load_scale, run, write_outputs
from evagg.studies.scenario_day import expected_fleet_demand_mwh

DATE = "2024-06-12"


def test_daily_load_scale_hand_values() -> None:
    idx = pd.date_range(DATE, periods=24, freq="1h", tz="Europe/Amsterdam")
    scale = daily_load_scale(idx)
    day = load_microgrid_day()["load_p_kw"].to_numpy()
    hourly = day.reshape(24, 4).mean(axis=1)  # Table A1: 4 quarter-hours per hour
    assert scale.max() == pytest.approx(1.0)
    assert scale[0] == pytest.approx(hourly[0] / hourly.max())


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    res = run(Config(date=DATE, seed=0))
    out = tmp_path_factory.mktemp("evgrid")
    return res, out, write_outputs(res, out)


@pytest.fixture(scope="module")
def summary(result):  # type: ignore[no-untyped-def]
    return result[0].stats


def _opf_with(n_vehicles: float) -> None:
    prices = load_nl_day_ahead_prices(DATE, "2024-06-13")
    per_vehicle = expected_fleet_demand_mwh(DATE, n_vehicles=1000, seed=0).to_numpy() / 1000
    feeder = Feeder.from_pandapower()
    scale = daily_load_scale(pd.DatetimeIndex(prices.index))
    p = np.outer(feeder.p_load_mw, scale)
    p[feeder.bus_position(17)] += n_vehicles * per_vehicle
    opts = DistFlowOptions(v_min_pu=0.95, v_max_pu=1.05, v_slack_min_pu=1.0, v_slack_max_pu=1.05)
    model = DistFlowModel(feeder, len(prices), 1.0, opts, prices.index)
    model.set_loads(p, np.outer(feeder.q_load_mvar, scale))
    model.set_price(prices.to_numpy())
    model.solve()


def test_hosting_capacity_is_the_feasibility_boundary(summary) -> None:  # type: ignore[no-untyped-def]
    n = summary.hosting_vehicles
    assert 50 < n < 5000
    _opf_with(0.99 * n)  # feasible just below (verified OPF: gap + AC check)
    with pytest.raises(InfeasibleError) as info:
        _opf_with(1.02 * n)
    assert info.value.family == "voltage limits"
    # At the hosting limit the lowest voltage sits on the 0.95 pu limit, at the EV bus.
    assert summary.min_v_pu_ev == pytest.approx(0.95, abs=2e-3)
    assert summary.binding_bus == 17


def test_ev_load_raises_prices_losses_and_cost(summary, result) -> None:  # type: ignore[no-untyped-def]
    assert summary.mean_dlmp_ev_bus_ev > summary.mean_dlmp_ev_bus_base
    assert summary.losses_mwh_ev > summary.losses_mwh_base
    assert summary.cost_eur_ev > summary.cost_eur_base
    assert summary.max_relaxation_gap_rel < 1e-4 and summary.max_ac_dv_pu < 1e-4
    _, out, files = result
    for f in files:
        assert Path(f).exists()
    assert {"ev_impact.png", "summary.json"} <= {p.name for p in out.iterdir()}
    assert all(c.passed for c in result[0].verifications)


def test_figures_follow_the_style(result, captured_figures) -> None:  # type: ignore[no-untyped-def]
    from conftest import assert_readable

    write_outputs(result[0], result[1] / "again")
    assert len(captured_figures) == 5  # two OPFs x (heat map, voltage) + EV impact
    for name, fig in captured_figures:
        assert_readable(name, fig)


def test_bad_bus_and_date() -> None:
    with pytest.raises(InputError, match="ev_bus"):
        run(Config(date=DATE, ev_bus=99))
    with pytest.raises(InputError, match="date"):
        run(Config(date="not-a-date"))


def test_cli_ev_day_json(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from evagg.cli import app

    res = CliRunner().invoke(
        app, ["grid", "ev-day", "--bus", "32", "--v-min", "0.94", "--out", str(tmp_path), "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["ev_bus"] == 32 and out["binding_bus"] == 32
    # At the hosting limit the lowest voltage sits on the chosen --v-min.
    assert out["min_v_pu_ev"] == pytest.approx(0.94, abs=2e-3)
    assert (tmp_path / "ev_impact.png").exists()
