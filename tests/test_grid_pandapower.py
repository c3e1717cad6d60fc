"""Real feeders as pandapower describes them: transformer taps and model, ratings,
several external grids.

Reference: pandapower's AC OPF ``runopp`` (PIPS interior point, tolerances tightened to
1e-10) and power flow ``runpp`` on the same networks; an exact SOCP has the AC OPF's
optimum, so cost, voltages and DLMPs (``res_bus.lam_p``) must agree to the solvers'
tolerances.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from evagg.errors import InputError
from evagg.grid import DistFlowOptions, Feeder, TopologyError, load_network, solve_opf
from evagg.grid.acpf import ac_power_flow

warnings.filterwarnings("ignore", message=".*numba.*")

PIPS_TIGHT = {
    "PDIPM_GRADTOL": 1e-10,
    "PDIPM_COMPTOL": 1e-10,
    "PDIPM_COSTTOL": 1e-10,
    "PDIPM_FEASTOL": 1e-10,
    "OPF_VIOLATION": 1e-10,
}


def tapped_net(tap_pos: int, sn_mva: float = 10.0, dg: bool = False, **tap: object) -> object:
    """case33bw behind a 110/12.66 kV transformer at tap ``tap_pos`` (1.25 %/step on the
    HV side), with line charging; optionally a 80 EUR/MWh controllable generator at
    bus 17 (so that a transformer too small for the load can bind)."""
    net = load_network("case33bw")
    hv = pp.create_bus(net, vn_kv=110.0)
    net.ext_grid.loc[net.ext_grid.index[0], "bus"] = hv
    kw = {"tap_side": "hv", "tap_step_percent": 1.25, "tap_changer_type": "Ratio"} | tap
    pp.create_transformer_from_parameters(
        net, hv, 0, sn_mva=sn_mva, vn_hv_kv=110.0, vn_lv_kv=12.66, vkr_percent=0.5,
        vk_percent=10.0, pfe_kw=10.0, i0_percent=0.1, tap_neutral=0, tap_pos=tap_pos,
        tap_min=-9, tap_max=9, max_loading_percent=100.0, **kw,
    )  # fmt: skip
    net.line["c_nf_per_km"] = 200.0
    net.bus["min_vm_pu"], net.bus["max_vm_pu"] = 0.9, 1.1
    if dg:
        g = pp.create_sgen(
            net, 17, p_mw=2.0, q_mvar=0.0, controllable=True, max_p_mw=3.0, min_p_mw=0.0,
            max_q_mvar=0.0, min_q_mvar=0.0,
        )  # fmt: skip
        pp.create_poly_cost(net, g, "sgen", cp1_eur_per_mw=80.0)
    return net


def runopp_pinned(net: object, price: float) -> object:
    """``runopp`` with the external grid bought at ``price`` and its voltage pinned at
    vm_pu (evagg's default; a controllable ext_grid's voltage is otherwise free)."""
    ref = copy.deepcopy(net)
    ref.ext_grid["controllable"] = True
    ref.bus.loc[ref.ext_grid.bus.iloc[0], ["min_vm_pu", "max_vm_pu"]] = ref.ext_grid.vm_pu.iloc[0]
    ref.poly_cost.loc[ref.poly_cost.et == "ext_grid", "cp1_eur_per_mw"] = price
    pp.runopp(ref, numba=False, **PIPS_TIGHT)
    return ref


@pytest.mark.parametrize(
    ("tap_pos", "sn_mva", "dg", "vm_pu"),
    [(-4, 10.0, False, 1.0), (-2, 4.0, True, 1.04)],
    ids=["tapped", "transformer-limit-binds"],
)
def test_dlmp_matches_runopp_on_tapped_and_limited_transformer(tap_pos, sn_mva, dg, vm_pu):  # type: ignore[no-untyped-def]
    net = tapped_net(tap_pos, sn_mva, dg)
    net.ext_grid["vm_pu"] = vm_pu  # off 1 pu, a current and an apparent rating differ
    ref = runopp_pinned(net, 50.0)
    res = solve_opf(Feeder.from_pandapower(net), price_eur_per_mwh=50.0)
    lam = ref.res_bus.lam_p
    # measured: cost 5e-11 / 2.8e-9 relative, DLMP 4.7e-7 / 9.5e-7, voltages 8e-12 / 7e-10 pu
    assert res.cost_eur == pytest.approx(ref.res_cost, rel=1e-6)
    np.testing.assert_allclose(res.dlmp_eur_per_mwh[0].loc[lam.index], lam, rtol=1e-4)
    np.testing.assert_allclose(res.v_pu[0].loc[lam.index], ref.res_bus.vm_pu, atol=1e-6)
    loading = float(ref.res_trafo.loading_percent.iloc[0])
    if dg:  # the 4 MVA rating binds: current at the HV end, magnetising branch included
        assert loading == pytest.approx(100.0, abs=1e-4)
        assert res.dlmp_components["congestion"].loc[17, 0] > 1.0
        assert res.dlmp_eur_per_mwh.loc[17, 0] == pytest.approx(80.0, abs=1e-3)  # marginal DG
        # runopp limits the current (OPF_FLOW_LIM = 2), not the apparent power: at
        # 1.04 pu an apparent rating would allow 4 % less and cost 2.1 % more
        app = solve_opf(
            Feeder.from_pandapower(net),
            price_eur_per_mwh=50.0,
            options=DistFlowOptions(branch_rating="apparent"),
        )
        assert app.cost_eur > ref.res_cost * 1.01
    else:
        assert loading < 60 and np.abs(res.dlmp_components["congestion"].to_numpy()).max() < 1e-6


@pytest.mark.parametrize(
    "tap",
    [{"tap_side": "lv"}, {"tap_step_degree": 30.0}, {"tap_changer_type": "Ideal"}],
    ids=["lv-side", "complex-step", "ideal-phase-shifter"],
)
def test_tap_variants_match_runpp(tap):  # type: ignore[no-untyped-def]
    net = tapped_net(-4, **tap)
    fd = Feeder.from_pandapower(net)
    p, q = np.outer(fd.p_load_mw, [0.5, 1.2]), np.outer(fd.q_load_mvar, [0.5, 1.2])
    a = ac_power_flow(fd, p, q, np.array([1.0, 1.03]), [0, 1], engine="pgm")
    b = ac_power_flow(fd, p, q, np.array([1.0, 1.03]), [0, 1], engine="pandapower")
    # the feeder model is pandapower's (exact pi equivalent of the T model, the tap as
    # an off-nominal ratio): measured 3e-10 pu
    np.testing.assert_allclose(a.v_pu, b.v_pu, atol=1e-8)
    np.testing.assert_allclose(a.losses_mw, b.losses_mw, atol=1e-7)
    if tap.get("tap_changer_type") == "Ideal":  # angle only: no change of magnitude
        assert fd.tap_ratio[0] == 1.0


def test_tabular_taps_and_bad_transformer_are_named():
    net = tapped_net(-4)
    net.trafo["tap_dependency_table"] = True
    with pytest.raises(InputError, match=r"net.trafo\[0\].tap_dependency_table"):
        Feeder.from_pandapower(net)
    net = tapped_net(-4)
    net.trafo["vkr_percent"] = 20.0
    with pytest.raises(InputError, match=r"net.trafo\[0\].vk_percent"):
        Feeder.from_pandapower(net)


@pytest.mark.slow
def test_several_external_grids_split_per_substation():
    net = pn.mv_oberrhein()  # two 110/20 kV substations, taps at -2 and -3
    with pytest.raises(InputError, match="per_ext_grid") as ei:
        Feeder.from_pandapower(net)
    assert ei.value.value == [0, 1]
    feeders = Feeder.per_ext_grid(net)
    assert sorted(feeders) == [0, 1]
    n_bus = {k: f.n_bus for k, f in feeders.items()}
    assert sum(n_bus.values()) == len(net.bus)  # every bus in exactly one feeder
    fd = feeders[0]
    assert fd.tap_ratio[0] == pytest.approx(1 - 2 * 0.015)  # tap −2 × 1.5 %
    res = solve_opf(fd, price_eur_per_mwh=50.0)
    assert res.exact and res.ac_max_dv_pu < 1e-6
    for f in feeders.values():  # batched check vs runpp on the feeder's part of the net
        p, q = np.outer(f.p_load_mw, [0.5, 1.0]), np.outer(f.q_load_mvar, [0.5, 1.0])
        a = ac_power_flow(f, p, q, np.array([1.0, 1.02]), [0, 1], engine="pgm")
        b = ac_power_flow(f, p, q, np.array([1.0, 1.02]), [0, 1], engine="pandapower")
        np.testing.assert_allclose(a.v_pu, b.v_pu, atol=1e-9)  # measured 5e-12
    # the same sub-net as pandapower's own split by substation
    sub = pn.mv_oberrhein(separation_by_sub=True)
    sizes = sorted(len(s.bus) for s in sub)
    assert sizes == sorted(n_bus.values())
    # two external grids in one island: named, with how to fix it
    joined = pn.mv_oberrhein()
    pp.create_line_from_parameters(
        joined, 39, 319, 1.0, r_ohm_per_km=0.1, x_ohm_per_km=0.1, c_nf_per_km=0.0, max_i_ka=1.0
    )
    with pytest.raises(TopologyError, match="open a switch"):
        Feeder.from_pandapower(joined, ext_grid=0)


@pytest.mark.slow
def test_parallel_transformers_and_bus_bus_switches_are_fused():
    net = tapped_net(0)
    hv, lv = int(net.trafo.hv_bus.iloc[0]), int(net.trafo.lv_bus.iloc[0])
    hv2, lv2 = pp.create_bus(net, vn_kv=110.0), pp.create_bus(net, vn_kv=12.66)
    pp.create_switch(net, hv, hv2, et="b")
    pp.create_switch(net, lv, lv2, et="b")
    row = net.trafo.iloc[0]
    pp.create_transformer_from_parameters(
        net, hv2, lv2, sn_mva=10.0, vn_hv_kv=110.0, vn_lv_kv=12.66, vkr_percent=0.5,
        vk_percent=10.0, pfe_kw=10.0, i0_percent=0.1, max_loading_percent=100.0,
    )  # fmt: skip
    assert row.sn_mva == 10.0
    fd = Feeder.from_pandapower(net)
    assert fd.n_bus == 34 and fd.bus_position(lv2) == fd.bus_position(lv)
    assert fd.s_max_pu[0] == pytest.approx(20.0 / fd.s_base_mva)  # two identical units
    res = solve_opf(fd, price_eur_per_mwh=50.0)
    ref = copy.deepcopy(net)
    pp.runpp(ref, numba=False, tolerance_mva=1e-10)
    np.testing.assert_allclose(
        res.v_pu[0].loc[fd.bus_index], ref.res_bus.vm_pu.loc[fd.bus_index], atol=1e-6
    )
    net.trafo.loc[1, "tap_pos"], net.trafo.loc[1, "tap_changer_type"] = 2, "Ratio"
    net.trafo.loc[1, ["tap_step_percent", "tap_side", "tap_neutral"]] = [1.25, "hv", 0]
    with pytest.raises(InputError, match="different tap ratios"):
        Feeder.from_pandapower(net)


def test_transformer_fed_from_its_lv_side_is_reversed_exactly():
    # a step-up feeder: the external grid on the 20 kV side, the tapped transformer's HV
    # side downstream (the tree orientation is the reverse of pandapower's hv → lv)
    net = pp.create_empty_network()
    lv, hv, far = (pp.create_bus(net, vn_kv=v) for v in (20.0, 110.0, 110.0))
    pp.create_ext_grid(net, lv, vm_pu=1.0)
    pp.create_transformer_from_parameters(
        net, hv, lv, sn_mva=40.0, vn_hv_kv=110.0, vn_lv_kv=20.0, vkr_percent=0.4,
        vk_percent=12.0, pfe_kw=20.0, i0_percent=0.08, tap_side="hv", tap_neutral=0,
        tap_pos=3, tap_step_percent=1.5, tap_changer_type="Ratio",
    )  # fmt: skip
    pp.create_line_from_parameters(
        net, hv, far, 20.0, r_ohm_per_km=0.12, x_ohm_per_km=0.4, c_nf_per_km=10.0, max_i_ka=1.0
    )
    pp.create_load(net, far, p_mw=15.0, q_mvar=4.0)
    fd = Feeder.from_pandapower(net)
    assert fd.tap_ratio[0] == pytest.approx(1 / 1.045)  # 1/τ at the LV (sending) end
    res = solve_opf(fd, price_eur_per_mwh=50.0)
    ref = copy.deepcopy(net)
    pp.runpp(ref, numba=False, tolerance_mva=1e-10)
    np.testing.assert_allclose(res.v_pu[0].loc[ref.res_bus.index], ref.res_bus.vm_pu, atol=1e-8)
    assert res.losses_mw.iloc[0] == pytest.approx(
        ref.res_trafo.pl_mw.sum() + ref.res_line.pl_mw.sum(), abs=1e-7
    )
