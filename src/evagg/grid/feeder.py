"""Radial distribution feeder: the domain object every grid model is built on.

A :class:`Feeder` is a frozen, validated, per-unit description of a radial network built
from a pandapower network (:meth:`Feeder.from_pandapower`). Buses are stored in
breadth-first order from the substation (position 0), and branch ``k`` is the branch
feeding bus ``k + 1`` from its parent, oriented away from the substation. All electrical
quantities are per unit on ``s_base_mva`` (pandapower's ``net.sn_mva``) and the bus's
nominal voltage; powers handed to or returned from users are in MW / Mvar.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from evagg.errors import InputError

__all__ = ["Feeder", "TopologyError", "load_network"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

UNLIMITED_S_PU = 1e3
"""Branch ratings above this many times ``s_base`` are treated as "no limit" (pandapower
writes 99999 kA for unlimited lines, e.g. in ``case33bw``); such constraints can never
bind and only hurt the conditioning of the cone program."""


class TopologyError(InputError):
    """The network is not a single connected radial feeder (meshed, or disconnected).

    Attributes
    ----------
    loop_buses
        pandapower bus indices on the loop (meshed case), else empty.
    loop_branches
        ``("line" | "trafo", index)`` pairs closing the loop, else empty.
    isolated_buses
        pandapower bus indices not reachable from the external grid (disconnected case).
    """

    def __init__(
        self,
        field_name: str,
        value: Any,
        reason: str,
        *,
        loop_buses: tuple[int, ...] = (),
        loop_branches: tuple[tuple[str, int], ...] = (),
        isolated_buses: tuple[int, ...] = (),
    ) -> None:
        super().__init__(field_name, value, reason)
        self.loop_buses = loop_buses
        self.loop_branches = loop_branches
        self.isolated_buses = isolated_buses


def load_network(name_or_path: str) -> Any:
    """Return a pandapower network by ``pandapower.networks`` name or from a JSON file.

    Parameters
    ----------
    name_or_path
        A function name in :mod:`pandapower.networks` (e.g. ``"case33bw"``) or the path
        of a file written by ``pandapower.to_json``.
    """
    import os

    import pandapower as pp
    import pandapower.networks as pn

    if os.path.exists(name_or_path):
        try:
            return pp.from_json(name_or_path)
        except Exception as exc:  # pandapower raises many types on a bad file
            raise InputError(
                "network", name_or_path, f"not a pandapower JSON file ({exc})"
            ) from None
    fn = getattr(pn, name_or_path, None)
    if fn is None or not callable(fn) or name_or_path.startswith("_"):
        raise InputError(
            "network",
            name_or_path,
            "neither an existing pandapower JSON file nor a pandapower.networks function "
            "(e.g. 'case33bw')",
        )
    return fn()


def _col(df: pd.DataFrame, name: str, default: float) -> FloatArray:
    if name in df.columns:
        return np.asarray(df[name].astype(float).fillna(default), dtype=float)
    return np.full(len(df), default, dtype=float)


def _flag(df: pd.DataFrame, name: str, default: bool) -> npt.NDArray[np.bool_]:
    if name in df.columns:
        return np.asarray(df[name].fillna(default).astype(bool), dtype=bool)
    return np.full(len(df), default, dtype=bool)


def _active(net: Any, table: str) -> pd.DataFrame:
    df = getattr(net, table, None)
    if df is None or len(df) == 0:
        return pd.DataFrame()
    return df[df["in_service"].astype(bool)] if "in_service" in df.columns else df


@dataclass(frozen=True, eq=False)
class Feeder:
    """A radial feeder in per unit, buses in breadth-first order from the substation.

    Attributes
    ----------
    name
        Free text.
    s_base_mva
        Power base of the per-unit quantities [MVA].
    bus_index
        pandapower bus index of each position (position 0 = substation/slack bus).
    vn_kv
        Nominal voltage per bus [kV].
    parent
        Parent bus position of each bus (``-1`` for the root).
    from_bus, to_bus
        Branch ``k`` connects ``from_bus[k]`` (parent) to ``to_bus[k] == k + 1``.
    r_pu, x_pu
        Series resistance and reactance per branch [pu].
    s_max_pu
        Apparent-power rating per branch [pu]; ``inf`` when unlimited.
    branch_element
        ``(kind, pandapower index)`` per branch, kind ``"line"`` or ``"trafo"``.
    g_sh_pu, b_sh_pu
        Bus shunt conductance/susceptance [pu] (line charging halves, shunts,
        transformer magnetising); injections are ``-g·v`` and ``+b·v``.
    p_load_mw, q_load_mvar
        Base demand per bus [MW, Mvar] (loads incl. ``scaling``, non-controllable
        storage).
    p_fixed_gen_mw, q_fixed_gen_mvar
        Base non-controllable generation per bus (static generators) [MW, Mvar].
    v_min_pu, v_max_pu
        Voltage limits per bus from ``net.bus`` (0.9/1.1 where missing) [pu].
    v_slack_pu
        External-grid voltage set point [pu].
    ext_p_min_mw, ext_p_max_mw, ext_q_min_mvar, ext_q_max_mvar
        External-grid limits [MW, Mvar] (``±inf`` where missing).
    gens
        Controllable static generators: DataFrame with columns ``bus`` (position),
        ``sgen`` (pandapower index), ``p_min_mw``, ``p_max_mw``, ``q_min_mvar``,
        ``q_max_mvar``, ``s_max_mva`` (inf = none), ``cost_eur_per_mwh``.
    storage
        Controllable storage: DataFrame with ``bus`` (position), ``storage`` (index),
        ``p_ch_max_mw``, ``p_dis_max_mw``, ``e_min_mwh``, ``e_max_mwh``, ``e0_mwh``.
    net
        Deep copy of the source pandapower network (used by the AC check).
    """

    name: str
    s_base_mva: float
    bus_index: pd.Index
    vn_kv: FloatArray
    parent: IntArray
    from_bus: IntArray
    to_bus: IntArray
    r_pu: FloatArray
    x_pu: FloatArray
    s_max_pu: FloatArray
    branch_element: tuple[tuple[str, int], ...]
    g_sh_pu: FloatArray
    b_sh_pu: FloatArray
    p_load_mw: FloatArray
    q_load_mvar: FloatArray
    p_fixed_gen_mw: FloatArray
    q_fixed_gen_mvar: FloatArray
    v_min_pu: FloatArray
    v_max_pu: FloatArray
    v_slack_pu: float
    ext_p_min_mw: float
    ext_p_max_mw: float
    ext_q_min_mvar: float
    ext_q_max_mvar: float
    gens: pd.DataFrame
    storage: pd.DataFrame
    net: Any = field(repr=False)

    # ------------------------------------------------------------------ derived
    @property
    def n_bus(self) -> int:
        """Number of buses."""
        return int(self.bus_index.size)

    @property
    def n_branch(self) -> int:
        """Number of branches (``n_bus - 1``)."""
        return int(self.from_bus.size)

    def incidence(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Return ``(A_from, A_to)``: bus × branch 0/1 matrices of branch ends."""
        n, m = self.n_bus, self.n_branch
        cols = np.arange(m)
        a_from = sp.csr_matrix((np.ones(m), (self.from_bus, cols)), shape=(n, m))
        a_to = sp.csr_matrix((np.ones(m), (self.to_bus, cols)), shape=(n, m))
        return a_from, a_to

    def path_matrix(self) -> sp.csr_matrix:
        """Bus × branch matrix Π with Π[j, k] = 1 iff branch k lies on the path root → j.

        Equivalently Π[j, k] = 1 iff bus j is in the subtree fed by branch k.
        """
        rows: list[int] = []
        cols: list[int] = []
        paths: list[list[int]] = [[] for _ in range(self.n_bus)]
        for j in range(1, self.n_bus):  # BFS order: parent already done
            paths[j] = [*paths[int(self.parent[j])], j - 1]
            rows.extend([j] * len(paths[j]))
            cols.extend(paths[j])
        data = np.ones(len(rows))
        return sp.csr_matrix((data, (rows, cols)), shape=(self.n_bus, self.n_branch))

    def bus_position(self, bus: int) -> int:
        """Position of pandapower bus ``bus``; raises ``InputError`` if not in the feeder."""
        try:
            return _int(self.bus_index.get_loc(bus))
        except KeyError:
            raise InputError("bus", bus, "not an in-service bus of this feeder") from None

    def load_bus_position(self, bus: int, field: str = "bus") -> int:
        """Position of a bus that may carry load; the substation (slack) bus may not.

        Load at the slack bus is supplied by the external grid directly: no branch, no
        voltage drop, no loss, so a hosting capacity there is unbounded and meaningless.
        """
        pos = self.bus_position(bus)
        if pos == 0:
            raise InputError(
                field,
                bus,
                "is the substation (slack) bus, not a load bus: load there never reaches "
                f"the feeder; choose one of buses {list(self.bus_index[1:4])}..."
                f"{int(self.bus_index[-1])}",
            )
        return pos

    # ------------------------------------------------------------------ builder
    @classmethod
    def from_pandapower(
        cls, net: Any = None, *, name: str | None = None, s_base_mva: float | None = None
    ) -> Feeder:
        """Build a radial :class:`Feeder` from a pandapower network.

        Parameters
        ----------
        net
            A pandapower network; ``None`` gives ``pandapower.networks.case33bw()``
            (Baran & Wu 1989, the IEEE 33-bus feeder used by seeds 000 and 003).
        name
            Optional label.
        s_base_mva
            Power base of the per-unit model [MVA]; default ``10**floor(log10(total
            load))`` (1 MVA for case33bw's 3.7 MW), which keeps the cone program well
            scaled (the network's ``sn_mva`` is not used: with tiny per-bus loads on a
            large base Clarabel stalls at "optimal_inaccurate").

        Supported elements: buses, lines (incl. charging and conductance), two-winding
        transformers at nominal ratio and neutral tap (any vector-group phase shift;
        magnetising branch split half to each end), shunts, loads, static generators
        (``controllable`` ones become OPF decisions), storage, exactly one external grid,
        switches of type line/transformer (an open switch removes the branch; a line
        open at one end only stays as its charging shunt at the other end). Out-of-
        service elements are ignored (e.g. the five open tie lines of ``case33bw``).

        Raises
        ------
        TopologyError
            If the in-service branches form a loop (the loop's buses and branches are
            named) or some in-service bus is not connected to the external grid.
        InputError
            For unsupported elements (``gen``, ``trafo3w``, ``impedance``, closed
            bus–bus switches, off-nominal transformers) or bad data.
        """
        if net is None:
            import pandapower.networks as pn

            net = pn.case33bw()
        net = copy.deepcopy(net)
        if s_base_mva is None:
            loads = _active(net, "load")
            total = float(np.abs(_col(loads, "p_mw", 0.0)).sum()) if len(loads) else 0.0
            s_base = 10.0 ** np.floor(np.log10(total)) if total > 0 else 1.0
        else:
            s_base = float(s_base_mva)
            if not (np.isfinite(s_base) and s_base > 0):
                raise InputError("s_base_mva", s_base_mva, "must be a positive number [MVA]")
        f_hz = float(getattr(net, "f_hz", 50.0) or 50.0)

        for tab in ("gen", "trafo3w", "impedance", "ward", "xward", "dcline"):
            df = _active(net, tab)
            if len(df):
                raise InputError(
                    f"net.{tab}",
                    list(df.index[:5]),
                    f"in-service {tab} elements are not supported by the radial DistFlow "
                    "model; convert them (e.g. gen → controllable sgen) or take them out "
                    "of service",
                )

        buses = _active(net, "bus")
        if len(buses) == 0:
            raise InputError("net.bus", 0, "network has no in-service bus")
        bus_ok = set(int(b) for b in buses.index)

        open_lines: dict[int, set[int]] = {}  # line → buses at which it is switched open
        open_trafos: set[int] = set()
        sw = getattr(net, "switch", pd.DataFrame())
        for idx, row in sw.iterrows() if len(sw) else []:
            closed = bool(row["closed"])
            et = str(row["et"])
            if et == "l" and not closed:
                open_lines.setdefault(int(row["element"]), set()).add(int(row["bus"]))
            elif et == "t" and not closed:
                open_trafos.add(int(row["element"]))
            elif et == "b" and closed:
                a, b = int(row["bus"]), int(row["element"])
                if a in bus_ok and b in bus_ok:
                    raise InputError(
                        "net.switch",
                        _int(idx),
                        f"closed bus–bus switch between buses {a} and {b} is not supported; "
                        "merge the buses or open the switch",
                    )

        # --- branches: (u, v, r_pu, x_pu, g_half, b_half at each end, s_max, kind, idx)
        br_u: list[int] = []
        br_v: list[int] = []
        br_r: list[float] = []
        br_x: list[float] = []
        br_s: list[float] = []
        br_el: list[tuple[str, int]] = []
        sh_g: dict[int, float] = {}
        sh_b: dict[int, float] = {}
        vn = buses["vn_kv"].astype(float)

        def add_shunt(bus: int, g: float, b: float) -> None:
            sh_g[bus] = sh_g.get(bus, 0.0) + g
            sh_b[bus] = sh_b.get(bus, 0.0) + b

        lines = _active(net, "line")
        for idx, ln in lines.iterrows():
            u, v = int(ln["from_bus"]), int(ln["to_bus"])
            if u not in bus_ok or v not in bus_ok:
                continue
            opened = open_lines.get(_int(idx), set()) & {u, v}
            par = float(ln.get("parallel", 1) or 1)
            length = float(ln["length_km"])
            z_base = vn[u] ** 2 / s_base
            r = float(ln["r_ohm_per_km"]) * length / par / z_base
            x = float(ln["x_ohm_per_km"]) * length / par / z_base
            if not (np.isfinite(r) and np.isfinite(x)) or r < 0 or x < 0 or r + x <= 0:
                raise InputError(f"net.line[{idx}]", (r, x), "needs finite r, x ≥ 0, not both 0")
            c = float(ln.get("c_nf_per_km", 0.0) or 0.0)
            g = float(ln.get("g_us_per_km", 0.0) or 0.0)
            b_tot = 2 * np.pi * f_hz * c * 1e-9 * length * par * z_base
            g_tot = g * 1e-6 * length * par * z_base
            if len(opened) == 2:
                continue
            if len(opened) == 1:
                # open at one end only: the line still charges from the other end, a
                # shunt Y/2 + 1/(Z + 2/Y) there (pi model with the far end open)
                live = v if u in opened else u
                y_half = complex(g_tot, b_tot) / 2
                y_in = y_half + (1 / (complex(r, x) + 1 / y_half) if y_half != 0 else 0)
                add_shunt(live, y_in.real, y_in.imag)
                continue
            for bus in (u, v):
                add_shunt(bus, g_tot / 2, b_tot / 2)
            imax = float(ln.get("max_i_ka", np.inf)) * float(ln.get("df", 1.0) or 1.0) * par
            loading = float(ln.get("max_loading_percent", 100.0))
            if not np.isfinite(loading):
                loading = 100.0
            s_max = np.sqrt(3) * vn[u] * imax * loading / 100 / s_base
            br_u.append(u)
            br_v.append(v)
            br_r.append(r)
            br_x.append(x)
            br_s.append(s_max if s_max < UNLIMITED_S_PU else np.inf)
            br_el.append(("line", _int(idx)))

        trafos = _active(net, "trafo")
        for idx, tr in trafos.iterrows():
            u, v = int(tr["hv_bus"]), int(tr["lv_bus"])
            if _int(idx) in open_trafos or u not in bus_ok or v not in bus_ok:
                continue
            for side, bus in (("vn_hv_kv", u), ("vn_lv_kv", v)):
                if abs(float(tr[side]) - vn[bus]) > 1e-6 * vn[bus]:
                    raise InputError(
                        f"net.trafo[{idx}].{side}",
                        float(tr[side]),
                        f"differs from bus {bus} vn_kv={vn[bus]}: off-nominal ratios "
                        "are not supported",
                    )
            tap_pos, tap_neu = tr.get("tap_pos", np.nan), tr.get("tap_neutral", np.nan)
            if pd.notna(tap_pos) and pd.notna(tap_neu) and float(tap_pos) != float(tap_neu):
                raise InputError(
                    f"net.trafo[{idx}].tap_pos", tap_pos, "only the neutral tap is supported"
                )
            # a phase shift (vector group, e.g. Dyn5 = 150°) only rotates the angles of
            # the whole downstream subtree: irrelevant in a radial feeder (no loops)
            par = float(tr.get("parallel", 1) or 1)
            sn = float(tr["sn_mva"]) * par
            z = float(tr["vk_percent"]) / 100 * s_base / sn
            r = float(tr["vkr_percent"]) / 100 * s_base / sn
            x = float(np.sqrt(max(z**2 - r**2, 0.0)))
            gm = float(tr.get("pfe_kw", 0.0) or 0.0) / 1000 / s_base * par
            ym = float(tr.get("i0_percent", 0.0) or 0.0) / 100 * sn / s_base
            bm = -float(np.sqrt(max(ym**2 - gm**2, 0.0)))
            add_shunt(u, gm / 2, bm / 2)  # T model ≈ pi: half the magnetising at each end
            add_shunt(v, gm / 2, bm / 2)
            loading = float(tr.get("max_loading_percent", 100.0))
            if not np.isfinite(loading):
                loading = 100.0
            s_max = sn * loading / 100 / s_base
            br_u.append(u)
            br_v.append(v)
            br_r.append(r)
            br_x.append(x)
            br_s.append(s_max if s_max < UNLIMITED_S_PU else np.inf)
            br_el.append(("trafo", _int(idx)))

        for _idx, sh in _active(net, "shunt").iterrows():
            bus = int(sh["bus"])
            if bus in bus_ok:
                scale = float(sh.get("step", 1) or 1) * (float(sh["vn_kv"]) / vn[bus]) ** -2
                # pandapower: p_mw, q_mvar consumed at v = 1 pu (q > 0 inductive)
                add_shunt(
                    bus, float(sh["p_mw"]) * scale / s_base, -float(sh["q_mvar"]) * scale / s_base
                )

        # --- slack
        ext = _active(net, "ext_grid")
        ext = ext[ext["bus"].astype(int).isin(bus_ok)] if len(ext) else ext
        if len(ext) != 1:
            raise InputError(
                "net.ext_grid",
                len(ext),
                "a radial feeder needs exactly one in-service external grid (substation)",
            )
        eg = ext.iloc[0]
        root = int(eg["bus"])

        order, parent_pp, parent_br = _tree(root, bus_ok, br_u, br_v, br_el)

        pos = {b: i for i, b in enumerate(order)}
        n = len(order)
        parent = np.full(n, -1, dtype=np.int64)
        from_bus = np.zeros(n - 1, dtype=np.int64)
        to_bus = np.arange(1, n, dtype=np.int64)
        sel = np.zeros(n - 1, dtype=np.int64)
        for j in range(1, n):
            b = order[j]
            parent[j] = pos[parent_pp[b]]
            from_bus[j - 1] = parent[j]
            sel[j - 1] = parent_br[b]
        r_pu = np.asarray(br_r, dtype=float)[sel]
        x_pu = np.asarray(br_x, dtype=float)[sel]
        s_max_pu = np.asarray(br_s, dtype=float)[sel]
        branch_element = tuple(br_el[k] for k in sel)
        bus_index = pd.Index(order, name="bus")

        g_sh = np.array([sh_g.get(b, 0.0) for b in order])
        b_sh = np.array([sh_b.get(b, 0.0) for b in order])

        def per_bus(df: pd.DataFrame, col: str, scale: bool = True) -> FloatArray:
            out = np.zeros(n)
            if len(df) == 0:
                return out
            vals = _col(df, col, 0.0) * (_col(df, "scaling", 1.0) if scale else 1.0)
            for bus, val in zip(df["bus"].astype(int), vals, strict=True):
                if bus in pos:
                    out[pos[bus]] += val
            return out

        loads = _active(net, "load")
        p_load = per_bus(loads, "p_mw")
        q_load = per_bus(loads, "q_mvar")

        sg = _active(net, "sgen")
        sg_ctrl = _flag(sg, "controllable", False) if len(sg) else np.zeros(0, bool)
        fixed_sg = sg[~sg_ctrl] if len(sg) else sg
        p_fix = per_bus(fixed_sg, "p_mw")
        q_fix = per_bus(fixed_sg, "q_mvar")

        costs = getattr(net, "poly_cost", pd.DataFrame())

        def lin_cost(et: str, idx: int) -> float:
            if len(costs) == 0:
                return 0.0
            m = costs[(costs["et"] == et) & (costs["element"].astype(int) == idx)]
            if len(m) == 0:
                return 0.0
            if float(m.iloc[0].get("cp2_eur_per_mw2", 0.0) or 0.0) != 0.0:
                raise InputError(
                    f"net.poly_cost[{et} {idx}].cp2_eur_per_mw2",
                    m.iloc[0]["cp2_eur_per_mw2"],
                    "quadratic costs are not supported (linear cp1 only)",
                )
            return float(m.iloc[0].get("cp1_eur_per_mw", 0.0) or 0.0)

        gen_rows = []
        if len(sg):
            ctrl = sg[sg_ctrl]
            for idx, gr in ctrl.iterrows():
                bus = int(gr["bus"])
                if bus not in pos:
                    continue
                p = float(gr["p_mw"]) * float(gr.get("scaling", 1.0) or 1.0)
                q = float(gr.get("q_mvar", 0.0) or 0.0)
                sn = float(gr.get("sn_mva", np.nan))
                gen_rows.append(
                    {
                        "bus": pos[bus],
                        "sgen": _int(idx),
                        "p_min_mw": _num(gr.get("min_p_mw"), 0.0),
                        "p_max_mw": _num(gr.get("max_p_mw"), p),
                        "q_min_mvar": _num(gr.get("min_q_mvar"), q),
                        "q_max_mvar": _num(gr.get("max_q_mvar"), q),
                        "s_max_mva": sn if np.isfinite(sn) and sn > 0 else np.inf,
                        "cost_eur_per_mwh": lin_cost("sgen", _int(idx)),
                    }
                )
        gens = pd.DataFrame(
            gen_rows,
            columns=[
                "bus",
                "sgen",
                "p_min_mw",
                "p_max_mw",
                "q_min_mvar",
                "q_max_mvar",
                "s_max_mva",
                "cost_eur_per_mwh",
            ],
        )
        for _, gr in gens.iterrows():
            if gr["p_min_mw"] > gr["p_max_mw"] or gr["q_min_mvar"] > gr["q_max_mvar"]:
                raise InputError(
                    f"net.sgen[{gr['sgen']}]", gr.to_dict(), "minimum exceeds maximum (p or q)"
                )

        st = _active(net, "storage")
        st_rows = []
        if len(st):
            st_ctrl = _flag(st, "controllable", False)
            fixed_st = st[~st_ctrl]
            p_load = p_load + per_bus(fixed_st, "p_mw")
            q_load = q_load + per_bus(fixed_st, "q_mvar")
            for idx, s in st[st_ctrl].iterrows():
                bus = int(s["bus"])
                if bus not in pos:
                    continue
                e_max = float(s["max_e_mwh"])
                p_nom = abs(float(s["p_mw"])) or float(s.get("sn_mva", 0.0) or 0.0)
                p_ch = _num(s.get("max_p_mw"), p_nom)
                p_dis = -_num(s.get("min_p_mw"), -p_nom)
                e_min = _num(s.get("min_e_mwh"), 0.0)
                e0 = _num(s.get("soc_percent"), 50.0) / 100 * e_max
                if not (0 <= e_min <= e0 <= e_max) or p_ch < 0 or p_dis < 0:
                    raise InputError(
                        f"net.storage[{idx}]",
                        {"e_min": e_min, "e0": e0, "e_max": e_max, "p_ch": p_ch, "p_dis": p_dis},
                        "needs 0 ≤ min_e_mwh ≤ soc·max_e_mwh ≤ max_e_mwh and "
                        "max_p_mw ≥ 0 ≥ min_p_mw",
                    )
                st_rows.append(
                    {
                        "bus": pos[bus],
                        "storage": _int(idx),
                        "p_ch_max_mw": p_ch,
                        "p_dis_max_mw": p_dis,
                        "e_min_mwh": e_min,
                        "e_max_mwh": e_max,
                        "e0_mwh": e0,
                    }
                )
        storage = pd.DataFrame(
            st_rows,
            columns=[
                "bus",
                "storage",
                "p_ch_max_mw",
                "p_dis_max_mw",
                "e_min_mwh",
                "e_max_mwh",
                "e0_mwh",
            ],
        )

        vmin = np.array(
            [_num(buses.at[b, "min_vm_pu"] if "min_vm_pu" in buses else None, 0.9) for b in order]
        )
        vmax = np.array(
            [_num(buses.at[b, "max_vm_pu"] if "max_vm_pu" in buses else None, 1.1) for b in order]
        )

        return cls(
            name=name or str(getattr(net, "name", "") or "feeder"),
            s_base_mva=s_base,
            bus_index=bus_index,
            vn_kv=np.array([vn[b] for b in order]),
            parent=parent,
            from_bus=from_bus,
            to_bus=to_bus,
            r_pu=r_pu,
            x_pu=x_pu,
            s_max_pu=s_max_pu,
            branch_element=branch_element,
            g_sh_pu=g_sh,
            b_sh_pu=b_sh,
            p_load_mw=p_load,
            q_load_mvar=q_load,
            p_fixed_gen_mw=p_fix,
            q_fixed_gen_mvar=q_fix,
            v_min_pu=vmin,
            v_max_pu=vmax,
            v_slack_pu=_num(eg.get("vm_pu"), 1.0),
            ext_p_min_mw=_num(eg.get("min_p_mw"), -np.inf),
            ext_p_max_mw=_num(eg.get("max_p_mw"), np.inf),
            ext_q_min_mvar=_num(eg.get("min_q_mvar"), -np.inf),
            ext_q_max_mvar=_num(eg.get("max_q_mvar"), np.inf),
            gens=gens,
            storage=storage,
            net=net,
        )


def _int(value: Any) -> int:
    return int(value)


def _num(value: Any, default: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return default
    return default if np.isnan(x) else x


def _tree(
    root: int,
    bus_ok: set[int],
    br_u: list[int],
    br_v: list[int],
    br_el: list[tuple[str, int]],
) -> tuple[list[int], dict[int, int], dict[int, int]]:
    """BFS spanning tree from ``root``; raise TopologyError on a loop or isolated bus."""
    adj: dict[int, list[tuple[int, int]]] = {b: [] for b in bus_ok}
    for k, (u, v) in enumerate(zip(br_u, br_v, strict=True)):
        if u == v:
            raise TopologyError(
                f"net.{br_el[k][0]}", br_el[k][1], f"branch connects bus {u} to itself"
            )
        adj[u].append((v, k))
        adj[v].append((u, k))
    order = [root]
    parent: dict[int, int] = {root: root}
    parent_br: dict[int, int] = {}
    head = 0
    while head < len(order):
        b = order[head]
        head += 1
        for nb, k in adj[b]:
            if parent_br.get(b) == k:
                continue
            if nb in parent:
                loop_b, loop_k = _loop(b, nb, k, parent, parent_br)
                named = ", ".join(f"{kind} {i}" for kind, i in (br_el[j] for j in loop_k))
                raise TopologyError(
                    "net",
                    f"loop through buses {loop_b}",
                    f"network is meshed: in-service branches [{named}] form a loop through "
                    f"buses {loop_b}; open a tie switch or take a branch out of service",
                    loop_buses=tuple(loop_b),
                    loop_branches=tuple(br_el[j] for j in loop_k),
                )
            parent[nb] = b
            parent_br[nb] = k
            order.append(nb)
    missing = sorted(bus_ok - set(order))
    if missing:
        raise TopologyError(
            "net.bus",
            missing[:10],
            f"{len(missing)} in-service bus(es) not connected to the external grid at bus "
            f"{root}; take them out of service or connect them",
            isolated_buses=tuple(missing),
        )
    return order, parent, parent_br


def _loop(
    a: int, b: int, k: int, parent: dict[int, int], parent_br: dict[int, int]
) -> tuple[list[int], list[int]]:
    """Buses and branch ids of the cycle closed by branch ``k`` between ``a`` and ``b``."""

    def chain(x: int) -> list[int]:
        out = [x]
        while parent[x] != x:
            x = parent[x]
            out.append(x)
        return out

    ca, cb = chain(a), chain(b)
    common = next(x for x in ca if x in set(cb))
    pa = ca[: ca.index(common) + 1]
    pb = cb[: cb.index(common)]
    buses = pa + pb[::-1]
    branches = [parent_br[x] for x in ca[: ca.index(common)]]
    branches += [parent_br[x] for x in cb[: cb.index(common)]]
    branches.append(k)
    return [int(x) for x in buses], branches
