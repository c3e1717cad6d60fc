"""Negative energy prices: the relaxation is inexact, the OPF still returns a verified
AC-feasible optimum (penalty convex-concave procedure, docs/grid.md §10).

Reference values: pandapower ``runopp`` (AC OPF, PIPS interior point) on the same case,
finite differences of the OPF's own optimal objective, the relaxation's lower bound.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

from evagg.data import load_nl_day_ahead_prices
from evagg.errors import VerificationError
from evagg.grid import COMPONENTS, DistFlowModel, DistFlowOptions, Feeder, load_network, solve_opf
from evagg.studies.ev_grid_day import daily_load_scale

warnings.filterwarnings("ignore", message=".*numba.*")

BAND = {"v_min_pu": 0.95, "v_max_pu": 1.05, "v_slack_min_pu": 0.95, "v_slack_max_pu": 1.05}


@pytest.fixture(scope="module")
def neg20():  # type: ignore[no-untyped-def]
    fd = Feeder.from_pandapower()
    model = DistFlowModel(fd, 1, 1.0, DistFlowOptions(**BAND))
    model.set_price(-20.0)
    return model, model.solve()


def test_minus_20_matches_pandapower_ac_opf(neg20) -> None:  # type: ignore[no-untyped-def]
    _, res = neg20
    net = load_network("case33bw")
    net.ext_grid["controllable"] = True
    net.ext_grid["min_vm_pu"], net.ext_grid["max_vm_pu"] = 0.95, 1.05
    net.bus["min_vm_pu"], net.bus["max_vm_pu"] = 0.95, 1.05
    net.poly_cost["cp1_eur_per_mw"] = -20.0
    pp.runopp(net, numba=False)
    # runopp (measured): -78.0556 EUR/h, substation 1.03373 pu, bus 17 at 0.9501 pu
    assert res.remedy == "pccp" and res.exact
    assert res.cost_eur == pytest.approx(net.res_cost, rel=5e-3)  # issue 8: 0.5 %
    assert res.cost_eur == pytest.approx(net.res_cost, rel=1e-4)  # measured 1.1e-5
    assert res.v_pu.loc[0, 0] == pytest.approx(net.res_bus.vm_pu[0], abs=1e-3)
    assert res.v_pu[0].min() == pytest.approx(0.95, abs=1e-6)  # lower limit binds
    # the relaxation alone burns 10 MW (ext_grid limit) in fictitious losses: a valid
    # but loose lower bound, reported
    assert res.lower_bound_eur is not None and res.lower_bound_eur < res.objective_eur
    assert res.ac_max_dv_pu < 1e-4 and res.relaxation_gap_rel < 1e-5
    # DLMP = pandapower's lam_p (measured: -22.1231 vs -22.1278 at bus 17, 2e-4)
    lam = net.res_bus.lam_p
    np.testing.assert_allclose(res.dlmp_eur_per_mwh[0].loc[lam.index], lam, rtol=1e-3)


def test_negative_dlmp_is_the_local_marginal_cost(neg20) -> None:  # type: ignore[no-untyped-def]
    model, res = neg20
    dlmp = res.dlmp_eur_per_mwh[0]
    # more load at the far end: more losses, cheaper at a negative price; voltage-
    # limited, so the far end is dearer than the pure-loss price would be
    assert dlmp[0] == pytest.approx(-20.0, abs=1e-6)
    assert dlmp[17] < -20.0
    total = sum(res.dlmp_components[k] for k in (*COMPONENTS, "other"))
    np.testing.assert_allclose(total, res.dlmp_eur_per_mwh, atol=1e-9)
    assert np.abs(res.dlmp_components["other"].to_numpy()).max() < 1e-4
    assert res.dlmp_components["voltage"].loc[17, 0] > 0.1  # 0.95 pu floor binds
    base, base_q = model.p_load_mw.value.copy(), model.q_load_mvar.value.copy()
    for bus in (17, 32):
        j, obj = model.feeder.bus_position(bus), []
        for sgn in (1, -1):
            p = base.copy()
            p[j, 0] += sgn * 1e-2
            model.set_loads(p, base_q)  # active load only (q=None would scale Q too)
            obj.append(model.solve().objective_eur)
        model.set_loads(base, base_q)
        assert dlmp[bus] == pytest.approx((obj[0] - obj[1]) / 2e-2, rel=1e-3)


def test_remedy_none_still_refuses_an_inexact_point() -> None:
    opts = DistFlowOptions(**BAND, remedy="none")
    with pytest.raises(VerificationError) as ei:
        solve_opf(price_eur_per_mwh=-20.0, options=opts)
    assert ei.value.check == "relaxation_gap"


def test_verify_false_skips_the_ac_power_flow(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import evagg.grid.solution as sol

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("AC power flow run with verify=False")

    monkeypatch.setattr(sol, "ac_power_flow", boom)
    res = solve_opf(price_eur_per_mwh=50.0, options=DistFlowOptions(**BAND), verify=False)
    assert not res.verified and np.isnan(res.ac_max_dv_pu)


def _ev_day_base(date: str) -> object:
    start = pd.Timestamp(date)
    prices = load_nl_day_ahead_prices(start, start + pd.Timedelta(days=1))
    fd = Feeder.from_pandapower()
    scale = daily_load_scale(pd.DatetimeIndex(prices.index))
    opts = DistFlowOptions(v_min_pu=0.95, v_max_pu=1.05, v_slack_min_pu=1.0, v_slack_max_pu=1.05)
    model = DistFlowModel(fd, len(prices), 1.0, opts, pd.DatetimeIndex(prices.index))
    model.set_loads(np.outer(fd.p_load_mw, scale), np.outer(fd.q_load_mvar, scale))
    model.set_price(prices.to_numpy())
    return model.solve()


def test_ev_day_opf_on_a_negative_price_day() -> None:
    # 2024-05-12: 9 negative hours down to -200 EUR/MWh (bundled ENTSO-E NL prices)
    res = _ev_day_base("2024-05-12")
    assert res.remedy == "pccp" and res.exact and res.ac_max_dv_pu < 1e-4  # type: ignore[attr-defined]
    assert res.dlmp_eur_per_mwh.to_numpy().min() < -200.0  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("date", ["2023-12-31", "2024-04-21", "2019-06-02"])
def test_ev_day_opf_sample_of_negative_days(date: str) -> None:
    # 2023-12-31: 23 hours in the bundled series (one hour missing), negative hours
    res = _ev_day_base(date)
    assert res.exact and res.ac_max_dv_pu < 1e-4  # type: ignore[attr-defined]


@pytest.mark.slow
def test_ev_day_cli_on_negative_day(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evagg.cli import app

    out = CliRunner().invoke(
        app, ["grid", "ev-day", "--date", "2023-12-31", "--json", "--out", str(tmp_path)]
    )
    assert out.exit_code == 0, out.output
    assert '"hosting_vehicles"' in out.output
