"""SimBench grids as feeders, their profiles as the OPF's per-slot data.

Reference: the grids have no controllable element, so the OPF's operating point is the
AC power flow at the profile values; ``pandapower.runpp`` on the original SimBench network
with each element's value from ``simbench.get_absolute_values`` (per element, not per bus
as evagg aggregates them) must give the same voltages.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandapower as pp
import pytest
import simbench as sb

from evagg.errors import InputError
from evagg.grid import DistFlowModel, Feeder, TopologyError, simbench_day, simbench_net

warnings.filterwarnings("ignore", message=".*numba.*")

LV, MV, DAY = "1-LV-rural1--0-sw", "1-MV-rural--0-sw", "2016-06-21"


def _runpp_at(net: object, row: int) -> object:
    """runpp with every load/sgen at its SimBench value of profile row ``row``."""
    ref = copy.deepcopy(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = sb.get_absolute_values(ref, profiles_instead_of_study_cases=True)
    for (table, col), df in values.items():
        if df.shape[1]:
            ref[table].loc[df.columns, col] = df.iloc[row].to_numpy()
    pp.runpp(ref, numba=False, tolerance_mva=1e-10)
    return ref


def _check_day(code: str, noon_slot: int = 48) -> object:
    fd = Feeder.from_simbench(code)
    day = simbench_day(fd, DAY)
    assert day.p_load_mw.shape == (fd.n_bus, 96) and day.time_index[0].hour == 0
    m = DistFlowModel(fd, 96, 0.25, time_index=day.time_index)
    m.set_loads(day.p_load_mw, day.q_load_mvar)
    m.set_injections(day.p_inj_mw, day.q_inj_mvar)
    m.set_price(50.0)
    res = m.solve()  # verified: relaxation gap, batched AC check of all 96 slots
    assert res.exact and res.ac_max_dv_pu < 1e-6
    row = int(np.flatnonzero(simbench_net_rows(fd) == day.time_index[noon_slot])[0])
    ref = _runpp_at(fd.net, row)
    vm = ref.res_bus.vm_pu.loc[fd.bus_index]
    np.testing.assert_allclose(res.v_pu.iloc[:, noon_slot].loc[fd.bus_index], vm, atol=1e-6)
    return res


def simbench_net_rows(fd: Feeder) -> object:
    """Profile timestamps of the feeder's network, labelled as evagg labels them."""
    import pandas as pd

    stamps = pd.to_datetime(fd.net.profiles["load"]["time"], format="%d.%m.%Y %H:%M")
    return pd.DatetimeIndex(stamps).tz_localize("Etc/GMT-1")


def test_lv_grid_day_matches_runpp_at_the_profile_values():
    res = _check_day(LV)
    # 1-LV-rural1: 15 buses, 0.16 MVA 20/0.4 kV transformer, PV exports at noon
    assert res.v_pu.shape == (15, 96)
    assert res.p_ext_mw.iloc[48] < 0 < res.p_ext_mw.iloc[0]


@pytest.mark.slow
def test_mv_grid_day_matches_runpp_at_the_profile_values():
    # 1-MV-rural: two parallel 25 MVA transformers behind bus-bus switches, open rings
    fd = Feeder.from_simbench(MV)
    assert fd.n_bus == len(fd.net.bus) - 2  # the two fused bus pairs
    _check_day(MV)


def test_simbench_bad_inputs_are_named():
    with pytest.raises(InputError, match="not a SimBench grid code") as ei:
        simbench_net("1-LV-nowhere--0-sw")
    assert ei.value.value == "1-LV-nowhere--0-sw"
    fd = Feeder.from_simbench(LV)
    with pytest.raises(InputError, match=r"2016-01-01 to 2016-12-31"):
        simbench_day(fd, "2024-06-21")
    bad = copy.deepcopy(fd)
    idx = int(bad.net.load.index[3])
    bad.net.load.loc[idx, "profile"] = "H9-Z"  # a profile the table does not have
    with pytest.raises(InputError, match=rf"net.load\[{idx}\].profile.*does not fit"):
        simbench_day(bad, DAY)
    # a meshed grid: close the loop with a cable between two feeder ends
    net = simbench_net(LV)
    a, b = (int(x) for x in net.load.bus.iloc[[0, -1]])
    pp.create_line(net, a, b, 0.1, "NAYY 4x150 SE")
    with pytest.raises(TopologyError, match="meshed") as et:
        Feeder.from_pandapower(net)
    assert {a, b} <= set(et.value.loop_buses)


@pytest.mark.slow
def test_meshed_and_multi_substation_simbench_grids_are_named():
    with pytest.raises(TopologyError, match=r"simbench:1-HV-urban--0-sw.*meshed") as ei:
        Feeder.from_simbench("1-HV-urban--0-sw")  # the 110 kV grid is meshed
    assert len(ei.value.loop_branches) >= 3
    with pytest.raises(InputError, match="3 in-service external grids"):
        Feeder.from_simbench("1-HV-mixed--0-sw")


@pytest.mark.slow
def test_cli_opf_on_a_simbench_day(tmp_path):  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from evagg.cli import app

    args = ["grid", "opf", "--network", f"simbench:{LV}", "--date", DAY, "--json"]
    out = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    s = json.loads(out.stdout)
    assert len(s["losses_kw"]) == 96 and s["relaxation_gap"]["exact"]
    assert (tmp_path / "dlmp_eur_per_mwh.csv").exists()
    bad = CliRunner().invoke(app, ["grid", "opf", "--network", "case33bw", "--date", DAY])
    assert isinstance(bad.exception, InputError) and bad.exception.field == "date"


@pytest.mark.slow
def test_ev_day_on_a_simbench_lv_grid_names_the_binding_rating():
    from evagg.studies.ev_grid_day import Config, run

    res = run(Config(network=f"simbench:{LV}", ev_bus=4, date="2024-06-12"))
    s = res.stats
    # measured: 203 EVs at bus 4, limited by the current rating of line 7 at 18:00
    # (voltages stay above 0.98 pu); every OPF verified
    assert s.binding_limit.startswith("rating of line") and 150 < s.hosting_vehicles < 260
    assert s.min_v_pu_ev > 0.95 and s.max_ac_dv_pu < 1e-6
    assert res.case == f"feeder simbench:{LV}"
