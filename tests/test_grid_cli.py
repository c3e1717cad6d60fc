"""Tests of ``evagg grid opf`` (single period JSON, multi-period profile, outputs, errors)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from typer.testing import CliRunner

from evagg.cli import app
from evagg.errors import DataFileError, InfeasibleError
from evagg.grid import load_network

warnings.filterwarnings("ignore", message=".*numba.*")
runner = CliRunner()


def test_opf_json_single_period():
    args = ["grid", "opf", "--network", "case33bw", "--price-eur-per-mwh", "50",
            "--v-min", "0.95", "--v-max", "1.05", "--v-slack-min", "0.95",
            "--v-slack-max", "1.05", "--json"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["status"] == "optimal"
    assert out["relaxation_gap"]["exact"] is True
    assert set(out["v_pu"]) == {str(b) for b in range(33)}
    assert set(out["dlmp_eur_per_mwh"]) == set(out["v_pu"])
    assert set(out["dlmp_components_eur_per_mwh"]) == {
        "energy", "loss", "voltage", "congestion", "other",
    }  # fmt: skip
    # the substation rises to its 1.05 pu limit (losses fall with voltage)
    assert out["v_pu"]["0"] == pytest.approx(1.05, abs=1e-6)
    assert min(out["v_pu"].values()) >= 0.95 - 1e-7
    # cost per hour = price × import = 50 × (3.715 MW load + losses)
    assert out["cost_eur_per_h"] == pytest.approx(50 * (3.715 + out["losses_kw"] / 1e3), rel=1e-6)
    comp = out["dlmp_components_eur_per_mwh"]
    for b, lam in out["dlmp_eur_per_mwh"].items():
        assert sum(comp[k][b] for k in comp) == pytest.approx(lam, abs=1e-9)


def test_opf_pinned_band_is_infeasible():
    res = runner.invoke(app, ["grid", "opf", "--v-min", "0.95", "--v-max", "1.05", "--json"])
    assert isinstance(res.exception, InfeasibleError)
    assert res.exception.family == "voltage limits"


def test_opf_profile_out_dir_and_json_network(tmp_path):
    net = load_network("case33bw")
    path = tmp_path / "net.json"
    pp.to_json(net, str(path))
    t = pd.date_range("2024-06-01", periods=4, freq="15min", tz="Europe/Amsterdam")
    prof = pd.DataFrame(
        {"time": t.strftime("%Y-%m-%dT%H:%M:%S%z"), "load_scale": [0.6, 0.8, 1.0, 0.7],
         "price_eur_per_mwh": [30.0, 60.0, 90.0, 40.0]}
    )  # fmt: skip
    prof.to_csv(tmp_path / "prof.csv", index=False)
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["grid", "opf", "--network", str(path), "--profile", str(tmp_path / "prof.csv"),
              "--out", str(out), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    js = json.loads(res.stdout)
    assert len(js["losses_kw"]) == 4
    # losses grow with load: the 1.0 slot has the largest
    assert int(np.argmax(js["losses_kw"])) == 2
    for name in ("opf_buses.parquet", "opf_buses.csv", "dlmp_heatmap.png", "voltage.png",
                 "summary.json", "v_pu.csv", "dlmp_eur_per_mwh.csv"):  # fmt: skip
        assert (out / name).stat().st_size > 0
    long = pd.read_parquet(out / "opf_buses.parquet")
    assert len(long) == 33 * 4
    # energy component = that slot's price (15-min slots, EUR/MWh)
    e = long.groupby("slot")["dlmp_energy_eur_per_mwh"].first().to_numpy()
    np.testing.assert_allclose(sorted(e), sorted([30.0, 60.0, 90.0, 40.0]), atol=1e-5)


def test_profile_per_bus_and_bad_rows(tmp_path):
    good = pd.DataFrame({"time": [0, 1], "p_mw_17": [0.05, 0.0]})
    good.to_csv(tmp_path / "g.csv", index=False)
    res = runner.invoke(app, ["grid", "opf", "--profile", str(tmp_path / "g.csv"), "--json"])
    assert res.exit_code == 0, res.output
    bad = pd.DataFrame({"time": [0, 1], "load_scale": ["1.0", "x"]})
    bad.to_csv(tmp_path / "b.csv", index=False)
    res = runner.invoke(app, ["grid", "opf", "--profile", str(tmp_path / "b.csv")])
    assert isinstance(res.exception, DataFileError)
    assert res.exception.row == 3 and res.exception.column == "load_scale"  # file line
