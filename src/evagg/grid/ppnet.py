"""pandapower network → per-unit branch and shunt model, as pandapower models it.

Used by :meth:`evagg.grid.Feeder.from_pandapower`. Every element is converted the way
pandapower's own power flow and OPF (``build_branch.py``) convert it, so that the
radial DistFlow model and pandapower's ``runpp``/``runopp`` describe the same network:

* lines: pi model (series ``r + jx``, charging and conductance split half to each end);
* two-winding transformers: pandapower's T model (series impedance split by
  ``leakage_resistance_ratio_hv``/``leakage_reactance_ratio_hv``, default ½, magnetising
  branch in the middle) turned into its exact pi equivalent (star–delta), with the
  off-nominal ratio τ = (vn_hv'/vn_lv')/(vn_hv_bus/vn_lv_bus) of an ideal transformer at
  the HV end; vn_hv'/vn_lv' are the rated voltages moved by the tap position
  (``tap_pos``, ``tap_neutral``, ``tap_step_percent``, ``tap_step_degree``,
  ``tap_side``, ``tap_changer_type``, and the second tap changer ``tap2_*``);
* ratings as ``runopp`` states them: lines √3·vn·max_i_ka·df·parallel·max_loading/100,
  transformers sn_mva·df·parallel·max_loading/100 (apparent power at each end, shunts
  included).

All admittances are per unit on ``s_base`` and the bus's nominal voltage; an end shunt
``y`` consumes ``conj(y)·|V|²`` at its bus voltage (the HV-side shunt of a transformer,
inside the ideal transformer, is stored already divided by τ²).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from evagg.errors import InputError

__all__ = ["UNLIMITED_S_PU", "Branch", "fused_buses", "line_branches", "trafo_branches"]

UNLIMITED_S_PU = 1e3
"""Branch ratings above this many times ``s_base`` are treated as "no limit" (pandapower
writes 99999 kA for unlimited lines, e.g. in ``case33bw``); such constraints can never
bind and only hurt the conditioning of the cone program."""

UNSUPPORTED_TABLES = ("gen", "trafo3w", "impedance", "ward", "xward", "dcline")


@dataclass(frozen=True)
class Branch:
    """One series element between pandapower buses ``u`` (from) and ``v`` (to).

    ``z`` series impedance [pu], ``tau`` off-nominal ratio of an ideal transformer at the
    ``u`` end [-], ``y_u``/``y_v`` end shunts at the bus voltages [pu], ``s_max`` rating
    [pu] (``inf`` none), ``element`` = (pandapower table, index).
    """

    u: int
    v: int
    z: complex
    tau: float
    y_u: complex
    y_v: complex
    s_max: float
    element: tuple[str, int]

    def reversed(self) -> Branch:
        """The same two-port seen from ``v``: ratio 1/τ at ``v``, z·τ², ends swapped."""
        return Branch(
            self.v, self.u, self.z * self.tau**2, 1 / self.tau, self.y_v, self.y_u, self.s_max,
            self.element,
        )  # fmt: skip


def as_float(value: Any, default: float) -> float:
    """``float(value)``, or ``default`` when missing, NaN or not a number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return default
    return default if np.isnan(x) else x


def _int(value: Any) -> int:
    return int(value)


def _rating(value_pu: float) -> float:
    return value_pu if value_pu < UNLIMITED_S_PU else float("inf")


def active(net: Any, table: str) -> pd.DataFrame:
    """In-service rows of ``net[table]`` (empty frame if the table is absent)."""
    df = getattr(net, table, None)
    if df is None or len(df) == 0:
        return pd.DataFrame()
    return df[df["in_service"].astype(bool)] if "in_service" in df.columns else df


def check_supported(net: Any) -> None:
    """Raise ``InputError`` for in-service elements the radial model does not support."""
    for tab in UNSUPPORTED_TABLES:
        df = active(net, tab)
        if len(df):
            raise InputError(
                f"net.{tab}",
                list(df.index[:5]),
                f"in-service {tab} elements are not supported by the radial DistFlow "
                "model; convert them (e.g. gen → controllable sgen) or take them out "
                "of service",
            )


def fused_buses(net: Any, bus_ok: set[int]) -> dict[int, int]:
    """Representative of every bus joined by closed bus–bus switches (union–find).

    pandapower fuses such buses into one node in its power flow; so does evagg. The
    representative is the smallest index of each group; unfused buses map to themselves.
    """
    parent = {b: b for b in bus_ok}

    def find(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    sw = getattr(net, "switch", pd.DataFrame())
    if len(sw):
        bb = sw[(sw["et"] == "b") & sw["closed"].astype(bool)]
        for a, b in zip(bb["bus"].astype(int), bb["element"].astype(int), strict=True):
            if a in bus_ok and b in bus_ok:
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    return {b: find(b) for b in bus_ok}


def open_switches(net: Any) -> tuple[dict[int, set[int]], set[int]]:
    """``(open line ends {line: {buses}}, open transformers)`` from ``net.switch``."""
    open_lines: dict[int, set[int]] = {}
    open_trafos: set[int] = set()
    sw = getattr(net, "switch", pd.DataFrame())
    if len(sw) == 0:
        return open_lines, open_trafos
    opened = sw[~sw["closed"].astype(bool)]
    for et, bus, el in zip(
        opened["et"], opened["bus"].astype(int), opened["element"].astype(int), strict=True
    ):
        if et == "l":
            open_lines.setdefault(el, set()).add(bus)
        elif et == "t":
            open_trafos.add(el)
    return open_lines, open_trafos


def line_branches(
    net: Any, vn: pd.Series, s_base: float, bus_ok: set[int], shunts: dict[int, complex]
) -> list[Branch]:
    """Lines as pi-model branches; a line open at one end adds its input admittance
    Y/2 + 1/(Z + 2/Y) as a shunt at the live end (``shunts`` is updated), as pandapower
    does; a line open at both ends is dropped."""
    open_lines, _ = open_switches(net)
    f_hz = float(getattr(net, "f_hz", 50.0) or 50.0)
    out: list[Branch] = []
    for idx, ln in active(net, "line").iterrows():
        u, v = int(ln["from_bus"]), int(ln["to_bus"])
        if u not in bus_ok or v not in bus_ok:
            continue
        opened = open_lines.get(_int(idx), set()) & {u, v}
        par, length = as_float(ln.get("parallel"), 1.0), float(ln["length_km"])
        z_base = vn[u] ** 2 / s_base
        r = float(ln["r_ohm_per_km"]) * length / par / z_base
        x = float(ln["x_ohm_per_km"]) * length / par / z_base
        if not (np.isfinite(r) and np.isfinite(x)) or r < 0 or x < 0 or r + x <= 0:
            raise InputError(f"net.line[{idx}]", (r, x), "needs finite r, x ≥ 0, not both 0")
        b_tot = (
            2 * np.pi * f_hz * as_float(ln.get("c_nf_per_km"), 0.0) * 1e-9 * length * par * z_base
        )
        g_tot = as_float(ln.get("g_us_per_km"), 0.0) * 1e-6 * length * par * z_base
        y_half = complex(g_tot, b_tot) / 2
        if len(opened) == 2:
            continue
        if len(opened) == 1:
            live = v if u in opened else u
            y_in = y_half + (1 / (complex(r, x) + 1 / y_half) if y_half != 0 else 0)
            shunts[live] = shunts.get(live, 0j) + y_in
            continue
        i_max = as_float(ln.get("max_i_ka"), np.inf) * as_float(ln.get("df"), 1.0) * par
        loading = as_float(ln.get("max_loading_percent"), 100.0)
        s_max = np.sqrt(3) * vn[u] * i_max * loading / 100 / s_base
        out.append(
            Branch(u, v, complex(r, x), 1.0, y_half, y_half, _rating(s_max), ("line", _int(idx)))
        )
    return out


def _tap_voltages(tr: pd.Series, idx: int, net: Any) -> tuple[float, float]:
    """Rated voltages ``(vn_hv', vn_lv')`` [kV] moved by the tap changers, as pandapower.

    Ratio / symmetrical tap changers: the tapped side's voltage becomes
    |vn·(1 + d·e^{jφ})| with d = (tap_pos − tap_neutral)·tap_step_percent/100 and
    φ = tap_step_degree (the angle itself only rotates the downstream subtree, which
    changes nothing in a radial feeder). Ideal phase shifters change only the angle.
    Tabular tap changers (``tap_dependency_table``) are rejected.
    """
    vn = {"hv": float(tr["vn_hv_kv"]), "lv": float(tr["vn_lv_kv"])}
    for t in ("", "2"):
        pos, neutral = (
            as_float(tr.get(f"tap{t}_pos"), np.nan),
            as_float(tr.get(f"tap{t}_neutral"), 0.0),
        )
        kind = tr.get(f"tap{t}_changer_type")
        if np.isnan(pos) or pos == neutral or kind is None or pd.isna(kind) or kind == "":
            continue  # pandapower ignores a tap without a changer type
        if t == "" and bool(tr.get("tap_dependency_table", False) is True):
            raise InputError(
                f"net.trafo[{idx}].tap_dependency_table",
                True,
                "tabular (characteristic-table) tap changers are not supported; give "
                "tap_step_percent and tap_changer_type='Ratio' instead",
            )
        if kind == "Ideal":
            continue
        if kind not in ("Ratio", "Symmetrical"):
            raise InputError(f"net.trafo[{idx}].tap{t}_changer_type", kind, "unknown type")
        side = str(tr.get(f"tap{t}_side"))
        if side not in vn:
            raise InputError(f"net.trafo[{idx}].tap{t}_side", side, "must be 'hv' or 'lv'")
        d = (pos - neutral) * as_float(tr.get(f"tap{t}_step_percent"), 0.0) / 100
        phi = np.deg2rad(as_float(tr.get(f"tap{t}_step_degree"), 0.0))
        vn[side] = float(abs(vn[side] * (1 + d * np.exp(1j * phi))))
    return vn["hv"], vn["lv"]


def _t_to_pi(z: complex, y_m: complex, hv_share: complex) -> tuple[complex, complex, complex]:
    """Star (T: z·hv_share | y_m | z·(1 − hv_share)) → delta (pi): (z_series, y_hv, y_lv).

    ``hv_share`` = ratio_r + j·ratio_x applied component-wise (pandapower's
    leakage_resistance_ratio_hv / leakage_reactance_ratio_hv)."""
    if y_m == 0:
        return z, 0j, 0j
    za = complex(z.real * hv_share.real, z.imag * hv_share.imag)
    zb = z - za
    zc = 1 / y_m
    total = za * zb + za * zc + zb * zc
    return total / zc, zb / total, za / total


def trafo_branches(net: Any, vn: pd.Series, s_base: float, bus_ok: set[int]) -> list[Branch]:
    """Two-winding transformers as pandapower's T model (exact pi equivalent), tap ratio
    at the HV end; the HV-side shunt is returned divided by τ² (seen at the bus)."""
    _, open_trafos = open_switches(net)
    out: list[Branch] = []
    for idx, tr in active(net, "trafo").iterrows():
        u, v = int(tr["hv_bus"]), int(tr["lv_bus"])
        if _int(idx) in open_trafos or u not in bus_ok or v not in bus_ok:
            continue
        vn_hv, vn_lv = _tap_voltages(tr, _int(idx), net)
        tau = (vn_hv / vn_lv) / (vn[u] / vn[v])
        par, sn = as_float(tr.get("parallel"), 1.0), float(tr["sn_mva"])
        scale = (vn_lv / vn[v]) ** 2 * s_base / sn / par  # pandapower: LV-side referred
        z_abs, r = float(tr["vk_percent"]) / 100 * scale, float(tr["vkr_percent"]) / 100 * scale
        if not (np.isfinite(z_abs) and z_abs > 0 and 0 <= r <= z_abs):
            raise InputError(
                f"net.trafo[{idx}].vk_percent/vkr_percent",
                (tr["vk_percent"], tr["vkr_percent"]),
                "need vk_percent > 0 and 0 ≤ vkr_percent ≤ vk_percent",
            )
        pfe_mw, i0 = as_float(tr.get("pfe_kw"), 0.0) / 1e3, as_float(tr.get("i0_percent"), 0.0)
        b_mva = -np.sqrt(max((i0 / 100 * sn) ** 2 - pfe_mw**2, 0.0))
        y_m = complex(pfe_mw, b_mva) * par / s_base * (vn[v] / vn_lv) ** 2
        share = complex(
            as_float(tr.get("leakage_resistance_ratio_hv"), 0.5),
            as_float(tr.get("leakage_reactance_ratio_hv"), 0.5),
        )
        z, y_hv, y_lv = _t_to_pi(complex(r, np.sqrt(z_abs**2 - r**2)), y_m, share)
        loading = as_float(tr.get("max_loading_percent"), 100.0)
        s_max = sn * as_float(tr.get("df"), 1.0) * par * loading / 100 / s_base
        out.append(Branch(u, v, z, tau, y_hv / tau**2, y_lv, _rating(s_max), ("trafo", _int(idx))))
    return out


def bus_shunts(net: Any, vn: pd.Series, s_base: float, bus_ok: set[int]) -> dict[int, complex]:
    """``net.shunt`` as admittances per bus [pu] (pandapower: p_mw, q_mvar consumed at
    the shunt's vn_kv, times ``step``; q > 0 inductive)."""
    out: dict[int, complex] = {}
    for _idx, sh in active(net, "shunt").iterrows():
        bus = int(sh["bus"])
        if bus in bus_ok:
            scale = as_float(sh.get("step"), 1.0) * (float(sh["vn_kv"]) / vn[bus]) ** -2 / s_base
            out[bus] = out.get(bus, 0j) + complex(float(sh["p_mw"]), -float(sh["q_mvar"])) * scale
    return out


def merge_parallel(branches: list[Branch]) -> list[Branch]:
    """Merge branches joining the same two buses into one equivalent two-port.

    Admittances add (same ratio required); the series current splits in proportion to
    the series admittances, so the merged rating is min_k S̄_k·|Σy|/|y_k| (exact for
    identical units, e.g. two transformers in parallel at a substation)."""
    groups: dict[tuple[int, int], list[Branch]] = {}
    for b in branches:
        key = (b.u, b.v) if b.u <= b.v else (b.v, b.u)
        groups.setdefault(key, []).append(b if b.u == key[0] else b.reversed())
    out: list[Branch] = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        taus = {round(b.tau, 12) for b in group}
        if len(taus) > 1:
            raise InputError(
                "net",
                [f"{k} {i}" for k, i in (b.element for b in group)],
                "parallel transformers with different tap ratios circulate current: the "
                "pair forms a loop the radial model cannot represent; give them equal "
                "tap positions or take one out of service",
            )
        ys = [1 / b.z for b in group]
        y_sum = sum(ys)
        s_max = min(b.s_max * abs(y_sum) / abs(y) for b, y in zip(group, ys, strict=True))
        out.append(
            replace(
                group[0],
                z=1 / y_sum,
                y_u=sum(b.y_u for b in group),
                y_v=sum(b.y_v for b in group),
                s_max=s_max,
            )
        )
    return out


# ------------------------------------------------------------------ bus-level tables
GEN_COLUMNS = [
    "bus", "sgen", "p_min_mw", "p_max_mw", "q_min_mvar", "q_max_mvar", "s_max_mva",
    "cost_eur_per_mwh",
]  # fmt: skip
STORAGE_COLUMNS = [
    "bus", "storage", "p_ch_max_mw", "p_dis_max_mw", "e_min_mwh", "e_max_mwh", "e0_mwh",
]  # fmt: skip


def column(df: pd.DataFrame, name: str, default: float) -> np.ndarray:
    """``df[name]`` as floats with NaN → ``default`` (all ``default`` if absent)."""
    if name in df.columns:
        return np.asarray(pd.to_numeric(df[name], errors="coerce").fillna(default), dtype=float)
    return np.full(len(df), default, dtype=float)


def flag(df: pd.DataFrame, name: str) -> np.ndarray:
    """Boolean column, NaN/absent → False."""
    if name in df.columns:
        return np.array([bool(x) if pd.notna(x) else False for x in df[name]], dtype=bool)
    return np.zeros(len(df), dtype=bool)


def per_bus(df: pd.DataFrame, col: str, pos: dict[int, int], n: int) -> np.ndarray:
    """Sum of ``col × scaling`` per feeder position (rows on other buses ignored)."""
    out = np.zeros(n)
    if len(df) == 0:
        return out
    vals = column(df, col, 0.0) * column(df, "scaling", 1.0)
    for bus, val in zip(df["bus"].astype(int), vals, strict=True):
        if bus in pos:
            out[pos[bus]] += val
    return out


def linear_cost(net: Any, et: str, idx: int) -> float:
    """``poly_cost.cp1_eur_per_mw`` of an element (0 if none); quadratic terms rejected."""
    costs = getattr(net, "poly_cost", pd.DataFrame())
    if len(costs) == 0:
        return 0.0
    m = costs[(costs["et"] == et) & (costs["element"].astype(int) == idx)]
    if len(m) == 0:
        return 0.0
    if as_float(m.iloc[0].get("cp2_eur_per_mw2"), 0.0) != 0.0:
        raise InputError(
            f"net.poly_cost[{et} {idx}].cp2_eur_per_mw2",
            m.iloc[0]["cp2_eur_per_mw2"],
            "quadratic costs are not supported (linear cp1 only)",
        )
    return as_float(m.iloc[0].get("cp1_eur_per_mw"), 0.0)


def gen_table(net: Any, pos: dict[int, int]) -> pd.DataFrame:
    """Controllable static generators (OPF decisions), columns :data:`GEN_COLUMNS`."""
    sg = active(net, "sgen")
    rows = []
    for idx, gr in sg[flag(sg, "controllable")].iterrows() if len(sg) else []:
        if int(gr["bus"]) not in pos:
            continue
        p = float(gr["p_mw"]) * as_float(gr.get("scaling"), 1.0)
        q, sn = as_float(gr.get("q_mvar"), 0.0), as_float(gr.get("sn_mva"), np.nan)
        row = {
            "bus": pos[int(gr["bus"])],
            "sgen": _int(idx),
            "p_min_mw": as_float(gr.get("min_p_mw"), 0.0),
            "p_max_mw": as_float(gr.get("max_p_mw"), p),
            "q_min_mvar": as_float(gr.get("min_q_mvar"), q),
            "q_max_mvar": as_float(gr.get("max_q_mvar"), q),
            "s_max_mva": sn if np.isfinite(sn) and sn > 0 else np.inf,
            "cost_eur_per_mwh": linear_cost(net, "sgen", _int(idx)),
        }
        if row["p_min_mw"] > row["p_max_mw"] or row["q_min_mvar"] > row["q_max_mvar"]:
            raise InputError(f"net.sgen[{idx}]", row, "minimum exceeds maximum (p or q)")
        rows.append(row)
    return pd.DataFrame(rows, columns=GEN_COLUMNS)


def storage_table(net: Any, pos: dict[int, int]) -> pd.DataFrame:
    """Controllable storage (OPF decisions), columns :data:`STORAGE_COLUMNS`."""
    st = active(net, "storage")
    rows = []
    for idx, s in st[flag(st, "controllable")].iterrows() if len(st) else []:
        if int(s["bus"]) not in pos:
            continue
        e_max = float(s["max_e_mwh"])
        p_nom = abs(float(s["p_mw"])) or as_float(s.get("sn_mva"), 0.0)
        p_ch, p_dis = as_float(s.get("max_p_mw"), p_nom), -as_float(s.get("min_p_mw"), -p_nom)
        e_min = as_float(s.get("min_e_mwh"), 0.0)
        e0 = as_float(s.get("soc_percent"), 50.0) / 100 * e_max
        if not (0 <= e_min <= e0 <= e_max) or p_ch < 0 or p_dis < 0:
            raise InputError(
                f"net.storage[{idx}]",
                {"e_min": e_min, "e0": e0, "e_max": e_max, "p_ch": p_ch, "p_dis": p_dis},
                "needs 0 ≤ min_e_mwh ≤ soc·max_e_mwh ≤ max_e_mwh and max_p_mw ≥ 0 ≥ min_p_mw",
            )
        rows.append(
            dict(
                zip(
                    STORAGE_COLUMNS,
                    (pos[int(s["bus"])], _int(idx), p_ch, p_dis, e_min, e_max, e0),
                    strict=True,
                )
            )
        )
    return pd.DataFrame(rows, columns=STORAGE_COLUMNS)
