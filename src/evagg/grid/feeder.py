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
import functools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from evagg.errors import InputError
from evagg.grid import ppnet
from evagg.grid.ppnet import UNLIMITED_S_PU
from evagg.grid.ppnet import as_float as _num

__all__ = ["UNLIMITED_S_PU", "Feeder", "TopologyError", "feeder_from_network", "load_network"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
    """Return a pandapower network by ``pandapower.networks`` name, SimBench code or file.

    Parameters
    ----------
    name_or_path
        A function name in :mod:`pandapower.networks` (e.g. ``"case33bw"``),
        ``"simbench:<code>"`` (e.g. ``"simbench:1-LV-rural1--0-sw"``, with profiles), or
        the path of a file written by ``pandapower.to_json``.
    """
    import os

    import pandapower as pp
    import pandapower.networks as pn

    if name_or_path.startswith("simbench:"):
        from evagg.grid.simbench import simbench_net

        return simbench_net(name_or_path.removeprefix("simbench:"))

    if os.path.exists(name_or_path):
        try:
            return pp.from_json(name_or_path)
        except Exception as exc:  # pandapower raises many types on a bad file
            raise InputError(
                "network", name_or_path, f"not a pandapower JSON file ({exc})"
            ) from None
    fn = getattr(pn, name_or_path, None)
    if fn is not None and callable(fn) and not name_or_path.startswith("_"):
        return copy.deepcopy(_pp_network(name_or_path))
    raise InputError(
        "network",
        name_or_path,
        "neither an existing pandapower JSON file, a pandapower.networks function "
        "(e.g. 'case33bw') nor simbench:<code> (e.g. 'simbench:1-LV-rural1--0-sw')",
    )


@functools.lru_cache(maxsize=8)
def _pp_network(name: str) -> Any:
    """``pandapower.networks.<name>()``, cached per process (case33bw takes ~2 s CPU to
    read); callers get deep copies."""
    import pandapower.networks as pn

    return getattr(pn, name)()


def feeder_from_network(name_or_path: str, *, ext_grid: int | None = None) -> Feeder:
    """:class:`Feeder` of a network named as for :func:`load_network` (``simbench:<code>``
    through :meth:`Feeder.from_simbench`, which names the code in topology errors)."""
    if name_or_path.startswith("simbench:"):
        return Feeder.from_simbench(name_or_path.removeprefix("simbench:"), ext_grid=ext_grid)
    return Feeder.from_pandapower(load_network(name_or_path), ext_grid=ext_grid)


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
    tap_ratio
        Off-nominal ratio τ of an ideal transformer at the sending end of each branch
        [-] (1 for lines; a transformer's tap position, pandapower's convention): the
        series element sees v_from/τ² (docs/grid.md §2).
    s_max_pu
        Rating per branch [pu]; ``inf`` when unlimited. As pandapower's OPF states it:
        √3·vn·max_i_ka·df·parallel·max_loading_percent/100 for lines (in per unit this
        is also the current rating), sn_mva·df·parallel·max_loading_percent/100 for
        transformers. Imposed at both ends, shunts included (docs/grid.md §2).
    branch_element
        ``(kind, pandapower index)`` per branch, kind ``"line"`` or ``"trafo"`` (the
        first of a group of merged parallel branches).
    g_from_pu, b_from_pu, g_to_pu, b_to_pu
        The branch's own end shunts at the bus voltages [pu] (line charging halves,
        the transformer's pi-equivalent magnetising branch); included in ``g_sh_pu``,
        ``b_sh_pu`` and kept apart for the end flows that the ratings limit.
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
    ext_grid_index
        pandapower index of the external grid feeding the feeder.
    bus_alias
        pandapower buses fused into another (closed bus–bus switches) → the bus that
        represents them in ``bus_index``.
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
    tap_ratio: FloatArray
    s_max_pu: FloatArray
    branch_element: tuple[tuple[str, int], ...]
    g_from_pu: FloatArray
    b_from_pu: FloatArray
    g_to_pu: FloatArray
    b_to_pu: FloatArray
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
    ext_grid_index: int = 0
    bus_alias: dict[int, int] = field(default_factory=dict)

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

    def subtree_sum(self, s: FloatArray) -> FloatArray:
        """β (L, T) solving β_l = s_{to(l)} + Σ_{k: from(k) = to(l)} β_k / τ_k².

        The adjoint of the voltage-drop recursion: with all τ = 1 it is Πᵀ s (the sum of
        ``s`` over the subtree each branch feeds); an off-nominal ratio scales what
        passes through its transformer by 1/τ².
        """
        from scipy.sparse.linalg import spsolve_triangular

        nl = self.n_branch
        k = np.flatnonzero(self.from_bus > 0)
        child = sp.csr_matrix(
            (1.0 / self.tap_ratio[k] ** 2, (self.from_bus[k] - 1, k)), shape=(nl, nl)
        )
        rhs = np.asarray(s, dtype=float)[1:]
        if np.all(self.tap_ratio == 1.0):
            return np.asarray(self.path_matrix().T @ np.asarray(s, dtype=float))
        out = spsolve_triangular(sp.identity(nl, format="csr") - child, rhs, lower=False)
        return np.asarray(out, dtype=float).reshape(rhs.shape)

    def bus_position(self, bus: int) -> int:
        """Position of pandapower bus ``bus``; raises ``InputError`` if not in the feeder."""
        try:
            return _int(self.bus_index.get_loc(self.bus_alias.get(bus, bus)))
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

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_pandapower(
        cls,
        net: Any = None,
        *,
        name: str | None = None,
        s_base_mva: float | None = None,
        ext_grid: int | None = None,
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
        ext_grid
            Index of the external grid (substation) to build the feeder of, when the
            network has several (e.g. ``mv_oberrhein``): the feeder is the part of the
            network connected to it (see :meth:`per_ext_grid`).

        Elements are modelled as pandapower's power flow and OPF model them (lines,
        transformers with taps, shunts, loads, sgens, storage, switches incl. fused
        bus–bus switches, merged parallel branches; :mod:`evagg.grid.ppnet`,
        ``docs/grid.md`` §1). Out-of-service elements are ignored.

        Raises
        ------
        TopologyError
            If the in-service branches form a loop (the loop's buses and branches are
            named), some in-service bus is not connected to the external grid, or two
            external grids are connected.
        InputError
            For unsupported elements (``gen``, ``trafo3w``, ``impedance``, tabular tap
            changers), several external grids without ``ext_grid``, or bad data.
        """
        net = copy.deepcopy(_pp_network("case33bw") if net is None else net)
        s_base = _base_mva(net, s_base_mva)
        ppnet.check_supported(net)
        buses = ppnet.active(net, "bus")
        if len(buses) == 0:
            raise InputError("net.bus", 0, "network has no in-service bus")
        vn = buses["vn_kv"].astype(float)
        bus_ok = {int(b) for b in buses.index}
        shunts = ppnet.bus_shunts(net, vn, s_base, bus_ok)
        branches = ppnet.line_branches(net, vn, s_base, bus_ok, shunts)
        branches += ppnet.trafo_branches(net, vn, s_base, bus_ok)
        alias = ppnet.fused_buses(net, bus_ok)
        branches = [replace(b, u=alias[b.u], v=alias[b.v]) for b in branches]
        eg, root, keep = _select_ext_grid(net, alias, branches, ext_grid)
        if keep != set(alias.values()):  # several external grids: this one's island only
            branches = [b for b in branches if b.u in keep]
            alias = {b: r for b, r in alias.items() if r in keep}
            _isolate(net, set(alias), eg)
        order, tree = _tree(root, set(alias.values()), ppnet.merge_parallel(branches))
        pos = {b: order.index(alias[b]) for b in alias}
        data = _bus_data(net, buses, order, pos, tree, shunts, eg)
        return cls(
            name=name or str(getattr(net, "name", "") or "feeder"),
            s_base_mva=s_base,
            bus_index=pd.Index(order, name="bus"),
            vn_kv=np.array([vn[b] for b in order]),
            from_bus=np.array([order.index(b.u) for b in tree], dtype=np.int64),
            to_bus=np.arange(1, len(order), dtype=np.int64),
            r_pu=np.array([b.z.real for b in tree]),
            x_pu=np.array([b.z.imag for b in tree]),
            tap_ratio=np.array([b.tau for b in tree]),
            s_max_pu=np.array([b.s_max for b in tree]),
            branch_element=tuple((k, int(i)) for k, i in (b.element for b in tree)),
            ext_grid_index=eg,
            bus_alias={b: r for b, r in alias.items() if b != r},
            net=net,
            **data,
        )

    @classmethod
    def from_simbench(cls, code: str, **kwargs: Any) -> Feeder:
        """The SimBench grid ``code`` (e.g. ``"1-LV-rural1--0-sw"``) as a radial feeder,
        named ``simbench:<code>``; its profiles: :func:`evagg.grid.simbench_day`.
        ``kwargs`` as for :meth:`from_pandapower`.

        Raises
        ------
        InputError
            Unknown code (:func:`evagg.grid.simbench_net`).
        TopologyError
            The grid is meshed under its switch states (field ``simbench:<code>``).
        """
        from evagg.grid.simbench import simbench_net

        net = simbench_net(code)
        kwargs.setdefault("name", f"simbench:{code}")
        try:
            return cls.from_pandapower(net, **kwargs)
        except TopologyError as exc:
            raise TopologyError(
                f"simbench:{code} {exc.field}",
                exc.value,
                f"{exc.reason} (SimBench grids are used with their switch states; a meshed "
                "grid needs a tie switch opened in net.switch)",
                loop_buses=exc.loop_buses,
                loop_branches=exc.loop_branches,
                isolated_buses=exc.isolated_buses,
            ) from None

    @classmethod
    def per_ext_grid(cls, net: Any, **kwargs: Any) -> dict[int, Feeder]:
        """One feeder per in-service external grid (the network part connected to it),
        keyed by the external grid's index; ``kwargs`` as for :meth:`from_pandapower`."""
        ext = ppnet.active(net, "ext_grid")
        return {int(i): cls.from_pandapower(net, ext_grid=int(i), **kwargs) for i in ext.index}


def _base_mva(net: Any, s_base_mva: float | None) -> float:
    if s_base_mva is None:
        loads = ppnet.active(net, "load")
        total = float(np.abs(ppnet.column(loads, "p_mw", 0.0)).sum()) if len(loads) else 0.0
        return float(10.0 ** np.floor(np.log10(total))) if total > 0 else 1.0
    s_base = float(s_base_mva)
    if not (np.isfinite(s_base) and s_base > 0):
        raise InputError("s_base_mva", s_base_mva, "must be a positive number [MVA]")
    return s_base


def _component(root: int, branches: list[ppnet.Branch]) -> set[int]:
    """Buses connected to ``root`` through ``branches``."""
    adj: dict[int, list[int]] = {}
    for b in branches:
        adj.setdefault(b.u, []).append(b.v)
        adj.setdefault(b.v, []).append(b.u)
    seen, todo = {root}, [root]
    while todo:
        for nb in adj.get(todo.pop(), []):
            if nb not in seen:
                seen.add(nb)
                todo.append(nb)
    return seen


def _select_ext_grid(
    net: Any, alias: dict[int, int], branches: list[ppnet.Branch], ext_grid: int | None
) -> tuple[int, int, set[int]]:
    """``(external grid index, root bus, buses kept)``; several external grids need
    ``ext_grid`` and must lie in separate islands."""
    ext = ppnet.active(net, "ext_grid")
    ext = ext[ext["bus"].astype(int).isin(list(alias))] if len(ext) else ext
    idx = [int(i) for i in ext.index]
    if not idx:
        raise InputError("net.ext_grid", 0, "a radial feeder needs one in-service external grid")
    if ext_grid is not None and int(ext_grid) not in idx:
        raise InputError("ext_grid", ext_grid, f"not an in-service external grid; one of {idx}")
    if ext_grid is None and len(idx) > 1:
        raise InputError(
            "net.ext_grid",
            idx,
            f"{len(idx)} in-service external grids, but a radial feeder has one substation "
            "(slack): build one feeder per external grid with Feeder.per_ext_grid(net) or "
            "Feeder.from_pandapower(net, ext_grid=<index>) (CLI: --ext-grid), or split the "
            "net by substation (e.g. mv_oberrhein(separation_by_sub=True))",
        )
    chosen = int(ext_grid) if ext_grid is not None else idx[0]
    ext_bus = {i: alias[_int(b)] for i, b in zip(idx, ext["bus"], strict=True)}
    root = ext_bus[chosen]
    if len(idx) == 1:
        return chosen, root, set(alias.values())
    keep = _component(root, branches)
    others = [i for i in idx if i != chosen and ext_bus[i] in keep]
    if others:
        raise TopologyError(
            "net.ext_grid",
            [chosen, *others],
            "these external grids are connected through in-service branches (several "
            "slacks in one network); open a switch between them or take one out of service",
        )
    return chosen, root, keep


def _isolate(net: Any, buses: set[int], ext_grid: int) -> None:
    """Take every bus outside ``buses`` and every other external grid out of service in
    the feeder's copy of the network (so pandapower's power flow sees the feeder only)."""
    net.bus.loc[~net.bus.index.isin(list(buses)), "in_service"] = False
    net.ext_grid.loc[net.ext_grid.index != ext_grid, "in_service"] = False


def _bus_data(
    net: Any,
    buses: pd.DataFrame,
    order: list[int],
    pos: dict[int, int],
    tree: list[ppnet.Branch],
    shunts: dict[int, complex],
    eg: int,
) -> dict[str, Any]:
    """Per-bus shunts, loads, fixed injections, limits and the device tables."""
    n = len(order)
    y_sh = np.zeros(n, dtype=complex)
    for bus, y in shunts.items():
        if bus in pos:
            y_sh[pos[bus]] += y
    for k, b in enumerate(tree):
        y_sh[order.index(b.u)] += b.y_u
        y_sh[k + 1] += b.y_v
    loads, sg, st = (ppnet.active(net, t) for t in ("load", "sgen", "storage"))
    fixed_sg = sg[~ppnet.flag(sg, "controllable")] if len(sg) else sg
    fixed_st = st[~ppnet.flag(st, "controllable")] if len(st) else st
    ext = net.ext_grid.loc[eg]
    vmin, vmax = np.full(n, -np.inf), np.full(n, np.inf)
    for bus, p in pos.items():  # fused buses: the tightest of their limits
        vmin[p] = max(
            vmin[p], _num(buses["min_vm_pu"].get(bus) if "min_vm_pu" in buses else None, 0.9)
        )
        vmax[p] = min(
            vmax[p], _num(buses["max_vm_pu"].get(bus) if "max_vm_pu" in buses else None, 1.1)
        )
    return {
        "parent": np.array([-1] + [order.index(b.u) for b in tree], dtype=np.int64),
        "g_from_pu": np.array([b.y_u.real for b in tree]),
        "b_from_pu": np.array([b.y_u.imag for b in tree]),
        "g_to_pu": np.array([b.y_v.real for b in tree]),
        "b_to_pu": np.array([b.y_v.imag for b in tree]),
        "g_sh_pu": y_sh.real.copy(),
        "b_sh_pu": y_sh.imag.copy(),
        "p_load_mw": ppnet.per_bus(loads, "p_mw", pos, n) + ppnet.per_bus(fixed_st, "p_mw", pos, n),
        "q_load_mvar": ppnet.per_bus(loads, "q_mvar", pos, n)
        + ppnet.per_bus(fixed_st, "q_mvar", pos, n),
        "p_fixed_gen_mw": ppnet.per_bus(fixed_sg, "p_mw", pos, n),
        "q_fixed_gen_mvar": ppnet.per_bus(fixed_sg, "q_mvar", pos, n),
        "v_min_pu": vmin,
        "v_max_pu": vmax,
        "v_slack_pu": _num(ext.get("vm_pu"), 1.0),
        "ext_p_min_mw": _num(ext.get("min_p_mw"), -np.inf),
        "ext_p_max_mw": _num(ext.get("max_p_mw"), np.inf),
        "ext_q_min_mvar": _num(ext.get("min_q_mvar"), -np.inf),
        "ext_q_max_mvar": _num(ext.get("max_q_mvar"), np.inf),
        "gens": ppnet.gen_table(net, pos),
        "storage": ppnet.storage_table(net, pos),
    }


def _int(value: Any) -> int:
    return int(value)


def _tree(
    root: int, bus_ok: set[int], branches: list[ppnet.Branch]
) -> tuple[list[int], list[ppnet.Branch]]:
    """BFS spanning tree from ``root``: bus order and the branch feeding each non-root
    bus, oriented away from the root; raise TopologyError on a loop or isolated bus."""
    br_el = [b.element for b in branches]
    adj: dict[int, list[tuple[int, int]]] = {b: [] for b in bus_ok}
    for k, br in enumerate(branches):
        if br.u == br.v:
            raise TopologyError(
                f"net.{br.element[0]}",
                br.element[1],
                f"branch connects bus {br.u} to itself (buses joined by closed bus–bus "
                "switches are one bus)",
            )
        adj[br.u].append((br.v, k))
        adj[br.v].append((br.u, k))
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
    tree = [branches[parent_br[b]] for b in order[1:]]
    return order, [
        br if br.v == b else br.reversed() for br, b in zip(tree, order[1:], strict=True)
    ]


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
