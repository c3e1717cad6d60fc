"""The DSO ↔ aggregators ↔ users game of seed 000, its iteration and its certificate.

One day (T slots) is played as

    DSO OPF (net loads) → DLMPs λ_k at the aggregators' buses
    → users choose station and start shift (generalised cost, points)  → reference demand D⁰_k
    → aggregators' exact best responses (price, purchases, storage)     → net loads x_k
    → damped net loads → OPF ...

until the DLMPs change by at most ``price_tol``, the best responses' net loads differ
from the damped loads by at most ``load_tol`` and no user wants to switch.
Users move with inertia (at most a share of them, those with the largest gains, per
iteration, shrinking as 1/i) and net loads are damped
(x ← (1−α_i) x + α_i x_BR, α_i = α/√i): both are allowed by the seed ("damping") and
needed for discrete
choices. A run that does not converge raises :class:`GameNotConverged` carrying the
trajectory; it never returns the last iterate as an equilibrium.

:func:`certify` checks a converged day: the OPF at the final net loads is verified by
:mod:`evagg.grid` (relaxation gap + AC power flow on every slot) and reproduces the
DLMPs the aggregators answered; each aggregator's decision is re-optimised from scratch
at those DLMPs (relative gap ≤ 1e-6); every user's choice is optimal for them at the
final prices and queues. Any failure raises :class:`evagg.VerificationError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg.dso_game.aggregator import AggregatorSpec, BestResponse, BestResponseModel
from evagg.dso_game.dso import DSOAdapter, DSOSolution
from evagg.errors import EvaggError, InputError, VerificationError
from evagg.points import (
    ChoiceParams,
    PointsRules,
    Trips,
    UserPopulation,
    bus_distance_hops,
    charging_profiles_kwh,
    choose_options,
    discount_factor,
    event_points,
)

__all__ = [
    "Certificate",
    "DayOutcome",
    "GameNotConverged",
    "GameSetup",
    "UserState",
    "certify",
    "play_day",
    "user_costs",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class GameNotConverged(EvaggError):
    """The iteration did not converge; ``trajectory`` holds what happened."""

    def __init__(self, iterations: int, trajectory: pd.DataFrame) -> None:
        self.iterations = iterations
        self.trajectory = trajectory
        last = trajectory.iloc[-1]
        super().__init__(
            f"game did not converge in {iterations} iterations (last Δprice "
            f"{last['max_dprice_eur_per_mwh']:.3g} EUR/MWh, Δload {last['max_dload_mw']:.3g} MW, "
            f"{int(last['switching_users'])} users still switching); no equilibrium returned"
        )


@dataclass
class GameSetup:
    """Everything fixed over a day: grid, aggregators, users, prices, rules.

    Attributes
    ----------
    dso
        The DSO adapter (OPF built once).
    specs
        Aggregators (K,), at ``dso.buses``.
    elasticity
        ε (T, T) [-]; ``c_ref_eur_per_mwh`` the reference retail price [EUR/MWh].
    users
        The user population; ``user_bus_pos`` their home bus positions.
    rt_buy_eur_per_mwh, rt_sell_eur_per_mwh
        Real-time buy and sell prices (T,) [EUR/MWh].
    rules, choice
        Points rules and generalised-cost weights; ``points_on`` switches the system.
    off_peak
        Off-peak slots (T,) bool (t_c = +1).
    damping
        α of the net-load update; ``max_switch_share`` the users' inertia (share of
        users that may switch in iteration i: max_switch_share / i).
    switch_friction_eur
        A user changes plan only for a gain above this [EUR] (switching friction); the
        certificate checks that no user can gain more than it.
    price_tol_eur_per_mwh, load_tol_mw, max_iter
        Convergence tolerances and iteration limit.
    """

    dso: DSOAdapter
    specs: tuple[AggregatorSpec, ...]
    elasticity: FloatArray
    c_ref_eur_per_mwh: float
    users: UserPopulation
    rt_buy_eur_per_mwh: FloatArray
    rt_sell_eur_per_mwh: FloatArray
    off_peak: npt.NDArray[np.bool_]
    rules: PointsRules = field(default_factory=PointsRules)
    choice: ChoiceParams = field(default_factory=ChoiceParams)
    points_on: bool = True
    damping: float = 0.5
    max_switch_share: float = 0.2
    switch_friction_eur: float = 0.1
    price_tol_eur_per_mwh: float = 0.05
    load_tol_mw: float = 1e-3
    max_iter: int = 60
    models: list[BestResponseModel] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.specs) != len(self.dso.buses):
            raise InputError("specs", len(self.specs), "one spec per aggregator bus")
        if not 0 < self.damping <= 1:
            raise InputError("damping", self.damping, "must lie in (0, 1]")
        if not self.models:
            self.models = [
                BestResponseModel(s, self.elasticity, self.c_ref_eur_per_mwh, self.dt_h)
                for s in self.specs
            ]
        fd = self.dso.feeder
        pos = np.array([fd.bus_position(int(b)) for b in self.users.home_bus])
        hops = bus_distance_hops(fd.path_matrix().toarray(), pos, self.dso.pos)
        self.distance_km = hops * self.choice.km_per_hop
        self.shifts = np.round(np.asarray(self.choice.shifts_h) / self.dt_h).astype(np.int64)

    @property
    def dt_h(self) -> float:
        """Slot length [h]."""
        return self.dso.model.dt_h

    @property
    def n_slots(self) -> int:
        """T."""
        return self.dso.n_slots

    @property
    def k(self) -> int:
        """Number of aggregators."""
        return len(self.specs)


@dataclass(frozen=True)
class UserState:
    """Users' choices on a day: option o = k·S + s (station k, shift s)."""

    option: IntArray
    station: IntArray
    shift: IntArray
    start_slot: IntArray


@dataclass(frozen=True)
class Certificate:
    """Verification records of a day's equilibrium: (name, value, threshold, passed)."""

    records: tuple[tuple[str, float, float, bool], ...]

    @property
    def holds(self) -> bool:
        """All checks passed."""
        return all(r[3] for r in self.records)

    def frame(self) -> pd.DataFrame:
        """The records as a table."""
        return pd.DataFrame(list(self.records), columns=["check", "value", "threshold", "passed"])


@dataclass(frozen=True)
class DayOutcome:
    """A converged day: prices, decisions, choices, OPF, trajectory and certificate."""

    dlmp_eur_per_mwh: FloatArray
    best_responses: tuple[BestResponse, ...]
    net_load_mw: FloatArray
    users: UserState
    discount: FloatArray
    points_earned: FloatArray
    recommended: npt.NDArray[np.bool_]
    dso: DSOSolution
    trajectory: pd.DataFrame
    certificate: Certificate
    user_cost_eur: FloatArray
    times_s: dict[str, float]


# ------------------------------------------------------------------ users
def _occupancy(setup: GameSetup, prof: FloatArray, opt: IntArray) -> FloatArray:
    """Users charging per station and slot (K, T) [-]."""
    s_n = setup.shifts.size
    k, s = opt // s_n, opt % s_n
    busy = prof[np.arange(opt.size), s, :] > 0
    occ = np.zeros((setup.k, setup.n_slots))
    np.add.at(occ, k, busy.astype(float))
    return occ


def user_costs(
    setup: GameSetup,
    trips: Trips,
    prof: FloatArray,
    dlmp: FloatArray,
    fee: FloatArray,
    phi: FloatArray,
    occupancy: FloatArray,
    with_points: bool | None = None,
    recommended_station: IntArray | None = None,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Generalised cost per user and option (N, K·S) [EUR] (seed 000 §5.1).

    cost = Σ_t E_{n,t} (λ_{k,t} + φ_n e_{k,t}) + VOT (travel + queue) + c_km · distance
    + c_shift · shift − v_point · (K + μ t_c) (points terms only when the system is on;
    the reservation term does not depend on the option).

    Returns cost, the monetary payment part (N, K·S) and the recommended-station flag.
    ``with_points`` overrides ``setup.points_on`` (False: the cost without points terms).
    ``recommended_station`` (T,) is the system's recommendation per slot; by default
    :func:`recommend` at the given prices and queues.
    """
    c = setup.choice
    mwh = prof / 1e3  # (N, S, T)
    pay = np.einsum("nst,kt->nks", mwh, dlmp) + phi[:, None, None] * np.einsum(
        "nst,kt->nks", mwh, fee
    )
    start = (trips.arrival_slot[:, None] + setup.shifts[None, :]) % setup.n_slots  # (N, S)
    piles = np.array([s.n_piles for s in setup.specs], dtype=float)
    queue_h = c.queue_max_h * np.minimum(occupancy / piles[:, None], 1.5) ** 2  # (K, T)
    q = queue_h[:, start].transpose(1, 0, 2)  # (N, K, S)
    travel_h = setup.distance_km / c.speed_km_per_h
    cost = (
        pay
        + c.value_of_time_eur_per_h * (travel_h[:, :, None] + q)
        + c.eur_per_km * setup.distance_km[:, :, None]
        + c.shift_cost_eur_per_h * (setup.shifts * setup.dt_h)[None, None, :]
    )
    rec_station = (
        recommend(setup, dlmp, occupancy) if recommended_station is None else recommended_station
    )
    rec = rec_station[start][:, None, :] == np.arange(setup.k)[None, :, None]  # (N, K, S)
    if setup.points_on if with_points is None else with_points:
        k_term = np.where(rec, 1.0, -1.0)
        tc = np.where(setup.off_peak[start], 1.0, -1.0)[:, None, :]
        cost = cost - c.eur_per_point * (k_term + setup.rules.mu * tc)
    n = prof.shape[0]
    return cost.reshape(n, -1), pay.reshape(n, -1), rec.reshape(n, -1)


def recommend(setup: GameSetup, dlmp: FloatArray, occupancy: FloatArray) -> IntArray:
    """Recommended station per slot: least DLMP + queue cost of a 20 kWh session (T,).

    Seed 000 §5.1: "the recommended charging station for comprehensive charging
    congestion and distribution cost". The game issues it once per day, from the DSO's
    DLMPs and the queues before the users book (a recommendation published ahead; a
    recommendation recomputed every iteration flips with tiny price changes and makes
    the users' dynamics cycle).
    """
    c = setup.choice
    piles = np.array([s.n_piles for s in setup.specs], dtype=float)
    queue_h = c.queue_max_h * np.minimum(occupancy / piles[:, None], 1.5) ** 2
    return np.argmin(dlmp + c.value_of_time_eur_per_h * queue_h / 0.02, axis=0)


def _state(setup: GameSetup, trips: Trips, opt: IntArray) -> UserState:
    s_n = setup.shifts.size
    k, s = opt // s_n, opt % s_n
    return UserState(
        option=opt,
        station=k,
        shift=s,
        start_slot=(trips.arrival_slot + setup.shifts[s]) % setup.n_slots,
    )


def _station_demand(
    setup: GameSetup, prof: FloatArray, opt: IntArray, phi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Reference demand D⁰ (K, T) [MW] and demand-weighted discount φ̄ (K, T) [-]."""
    s_n = setup.shifts.size
    k, s = opt // s_n, opt % s_n
    e = prof[np.arange(opt.size), s, :] / 1e3 / setup.dt_h  # MW
    d0 = np.zeros((setup.k, setup.n_slots))
    dphi = np.zeros_like(d0)
    np.add.at(d0, k, e)
    np.add.at(dphi, k, e * phi[:, None])
    phibar = np.divide(dphi, d0, out=np.ones_like(d0), where=d0 > 1e-12)
    return d0, phibar


# ------------------------------------------------------------------- game
def _best_responses(
    setup: GameSetup, dlmp: FloatArray, d0: FloatArray, phibar: FloatArray
) -> list[BestResponse]:
    out = []
    for j, m in enumerate(setup.models):
        m.set_data(dlmp[j], d0[j], phibar[j], setup.rt_buy_eur_per_mwh, setup.rt_sell_eur_per_mwh)
        out.append(m.solve())
    return out


def play_day(
    setup: GameSetup,
    trips: Trips,
    points: FloatArray,
    initial_option: IntArray | None = None,
) -> DayOutcome:
    """Iterate the game for one day until convergence, then certify.

    Parameters
    ----------
    setup
        The game.
    trips
        The day's trips (one per user).
    points
        Users' accumulated points before the day [points] (N,).
    initial_option
        Users' starting options (default: each user's nearest station, no shift).

    Raises
    ------
    GameNotConverged
        If ``max_iter`` iterations do not converge.
    VerificationError
        If the converged point fails its certificate.
    """
    t_start = time.perf_counter()
    times = {"opf_s": 0.0, "best_response_s": 0.0, "users_s": 0.0}
    prof = charging_profiles_kwh(
        trips, setup.users.p_max_kw, setup.n_slots, setup.dt_h, setup.shifts
    )
    phi = discount_factor(points, setup.rules) if setup.points_on else np.ones(points.size)
    s_n = setup.shifts.size
    if initial_option is None:
        initial_option = np.argmin(setup.distance_km, axis=1) * s_n
    opt = np.asarray(initial_option, dtype=np.int64).copy()
    d0, phibar = _station_demand(setup, prof, opt, phi)
    x = d0.copy()
    t = time.perf_counter()
    sol = setup.dso.solve(x)
    times["opf_s"] += time.perf_counter() - t
    dlmp = sol.dlmp_eur_per_mwh
    rec_station = recommend(setup, dlmp, _occupancy(setup, prof, opt))
    fee = np.array(
        [
            np.full(setup.n_slots, 0.5 * (s.fee_min_eur_per_mwh + s.fee_max_eur_per_mwh))
            for s in setup.specs
        ]
    )
    rows = []
    converged = False
    brs: list[BestResponse] = []
    for it in range(1, setup.max_iter + 1):
        t = time.perf_counter()
        occ = _occupancy(setup, prof, opt)
        cost, _, _ = user_costs(setup, trips, prof, dlmp, fee, phi, occ, None, rec_station)
        before = opt
        opt, gain = choose_options(
            cost, opt, setup.max_switch_share / it, setup.switch_friction_eur
        )
        switching = int(np.sum(gain > setup.switch_friction_eur)) + int(np.sum(opt != before))
        d0, phibar = _station_demand(setup, prof, opt, phi)
        times["users_s"] += time.perf_counter() - t
        t = time.perf_counter()
        brs = _best_responses(setup, dlmp, d0, phibar)
        times["best_response_s"] += time.perf_counter() - t
        fee = np.array([b.fee_coef_eur_per_mwh for b in brs])
        x_br = np.array([b.net_load_mw for b in brs])
        dload = float(np.abs(x_br - x).max())
        alpha = setup.damping / np.sqrt(it)
        x = (1 - alpha) * x + alpha * x_br if dload > setup.load_tol_mw else x_br
        t = time.perf_counter()
        sol = setup.dso.solve(x)
        times["opf_s"] += time.perf_counter() - t
        dprice = float(np.abs(sol.dlmp_eur_per_mwh - dlmp).max())
        dlmp = sol.dlmp_eur_per_mwh
        rows.append(
            {
                "iteration": it,
                "max_dprice_eur_per_mwh": dprice,
                "max_dload_mw": dload,
                "switching_users": switching,
                "dso_cost_eur": sol.cost_eur,
                "profit_eur": float(sum(b.profit_eur for b in brs)),
                "mean_dlmp_eur_per_mwh": float(dlmp.mean()),
                "elapsed_s": time.perf_counter() - t_start,
            }
        )
        if dprice <= setup.price_tol_eur_per_mwh and dload <= setup.load_tol_mw and switching == 0:
            # final best responses at the final DLMPs (moved by ≤ price_tol); stop only if
            # every user is still within the friction of her best option at them
            t = time.perf_counter()
            brs = _best_responses(setup, dlmp, d0, phibar)
            times["best_response_s"] += time.perf_counter() - t
            fee = np.array([b.fee_coef_eur_per_mwh for b in brs])
            occ = _occupancy(setup, prof, opt)
            cost, pay, rec = user_costs(setup, trips, prof, dlmp, fee, phi, occ, None, rec_station)
            ugap = cost[np.arange(opt.size), opt] - cost.min(axis=1)
            if float(ugap.max()) <= setup.switch_friction_eur:
                converged = True
                break
    traj = pd.DataFrame(rows)
    if not converged:
        raise GameNotConverged(len(rows), traj)
    x = np.array([b.net_load_mw for b in brs])
    t = time.perf_counter()
    cert, final = certify(setup, trips, prof, phi, dlmp, brs, x, opt, rec_station)
    times["certificate_s"] = time.perf_counter() - t
    rows_n = np.arange(opt.size)
    state = _state(setup, trips, opt)
    earned = event_points(
        trips.offset_min, rec[rows_n, opt], setup.off_peak[state.start_slot], setup.rules
    )
    times["total_s"] = time.perf_counter() - t_start
    return DayOutcome(
        dlmp_eur_per_mwh=dlmp,
        best_responses=tuple(brs),
        net_load_mw=x,
        users=state,
        discount=phi,
        points_earned=earned if setup.points_on else np.zeros(opt.size),
        recommended=rec[rows_n, opt],
        dso=final,
        trajectory=traj,
        certificate=cert,
        user_cost_eur=pay[rows_n, opt],
        times_s=times,
    )


# ------------------------------------------------------------ certificate
def certify(
    setup: GameSetup,
    trips: Trips,
    prof: FloatArray,
    phi: FloatArray,
    dlmp: FloatArray,
    brs: list[BestResponse] | tuple[BestResponse, ...],
    net_load_mw: FloatArray,
    option: IntArray,
    recommended_station: IntArray | None = None,
    gap_tol: float = 1e-6,
) -> tuple[Certificate, DSOSolution]:
    """Certify a day's point as an equilibrium; raise ``VerificationError`` if it is not.

    Checks (name, value, threshold):

    * ``opf_verified``: OPF at the final net loads with every :mod:`evagg.grid` check
      (relaxation gap, AC power flow on all slots) — raises inside the grid on failure;
    * ``dlmp_consistency``: max |λ(OPF at x) − λ the aggregators answered| [EUR/MWh] ≤
      the game's price tolerance;
    * ``net_load_consistency``: max |x − net load of the best responses| [MW] ≤ 1e-6;
    * ``best_response_gap``: per aggregator (π* − π(decision))/max(1, |π*|) ≤ 1e-6, π*
      re-solved from scratch at the final DLMPs, π(decision) evaluated by eq. (14) on the
      decision after checking its feasibility;
    * ``user_choice_gap``: max over users of cost(choice) − min cost [EUR] ≤ the
      switching friction (each user's choice is optimal up to it).
    """
    recs: list[tuple[str, float, float, bool]] = []
    opts = replace(setup.dso.model.options, ac_slots="all")
    full = DSOAdapter(
        setup.dso.feeder,
        setup.dso.buses,
        setup.dso.base_p,
        setup.dso.base_q,
        setup.dso.price,
        setup.dt_h,
        setup.dso.model.time_index,
        opts,
    )
    final = full.solve(net_load_mw, verify=True)
    recs.append(("opf_relaxation_gap_rel", final.opf.relaxation_gap_rel, opts.relaxation_tol, True))
    recs.append(("opf_ac_max_dv_pu", final.opf.ac_max_dv_pu, opts.ac_v_tol_pu, True))
    dp = float(np.abs(final.dlmp_eur_per_mwh - dlmp).max())
    recs.append(
        (
            "dlmp_consistency_eur_per_mwh",
            dp,
            setup.price_tol_eur_per_mwh,
            dp <= setup.price_tol_eur_per_mwh,
        )
    )
    x_br = np.array([b.net_load_mw for b in brs])
    dx = float(np.abs(x_br - net_load_mw).max())
    recs.append(("net_load_consistency_mw", dx, 1e-6, dx <= 1e-6))
    d0, phibar = _station_demand(setup, prof, option, phi)
    for j, (m, b) in enumerate(zip(setup.models, brs, strict=True)):
        fresh = BestResponseModel(m.spec, m.eps, m.c_ref, m.dt_h, m.solver)
        fresh.set_data(
            dlmp[j], d0[j], phibar[j], setup.rt_buy_eur_per_mwh, setup.rt_sell_eur_per_mwh
        )
        opt_br = fresh.solve()
        feas = fresh.feasible(b)
        val = fresh.profit_of(b) if feas else -np.inf
        gap = (opt_br.profit_eur - val) / max(1.0, abs(opt_br.profit_eur))
        recs.append(
            (f"best_response_gap_{m.spec.bus}", float(gap), gap_tol, bool(feas and gap <= gap_tol))
        )
    fee = np.array([b.fee_coef_eur_per_mwh for b in brs])
    occ = _occupancy(setup, prof, option)
    cost, _, _ = user_costs(setup, trips, prof, dlmp, fee, phi, occ, None, recommended_station)
    ugap = float((cost[np.arange(option.size), option] - cost.min(axis=1)).max())
    fr = max(setup.switch_friction_eur, 1e-9)
    recs.append(("user_choice_gap_eur", ugap, fr, ugap <= fr))
    cert = Certificate(tuple(recs))
    if not cert.holds:
        bad = next(r for r in cert.records if not r[3])
        raise VerificationError(bad[0], bad[1], bad[2], "the day's point is not an equilibrium")
    return cert, final
