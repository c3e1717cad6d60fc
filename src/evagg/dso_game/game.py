"""The DSO ↔ aggregators ↔ users game of seed 000, its iteration and its certificate.

One day (T slots) is a fixed point of

    DSO OPF (net loads x)                 → DLMPs λ_k at the aggregators' buses
    users' logit choice (λ, fees, queues) → choice probabilities P → expected demand D⁰_k
    aggregators' exact best responses     → net loads x_k and fees e_k

Users choose station and start shift by a multinomial logit of scale τ on their
generalised cost (seed 000 §5.1 read as a random-utility model, :func:`evagg.points.
logit_choice`): the users' part is a stochastic user equilibrium, whose expected demand
and queues are continuous in prices and fees. (Deterministic least-cost choices,
τ = 0, made the 96-slot day cycle: about ten users flipped between two stations every
iteration because each move changed the fees the move was made for.)

Solution method (one outer iteration = one OPF and K best responses):

1. users: their stochastic user equilibrium at the current DLMPs λ_i and fees e_{i−1}
   (the queues respond to the users' own choices): an inner self-regulated averaging
   loop on the logit response, cheap (no OPF, no best response), warm-started from the
   previous probabilities, the users answering the DLMPs their own move predicts through
   the DLMP Jacobian (:func:`_users_sue`);
2. aggregators: exact best responses at λ_i and the users' expected demand D⁰(P), one
   after another, each answering the DLMPs the earlier ones' moves predict through the
   DLMP Jacobian, with its own price response as a proximal term
   (:func:`_best_responses_gs`: linearised block Gauss–Seidel);
3. loads: x_{i+1} = x_i + β_i (x^{BR}_i − x_i) (and P moved by the same step), or an
   Anderson step (:class:`_Anderson`) once the users have settled;
4. DSO: OPF at x_{i+1} → λ_{i+1}.

β_1 = ``step_init``; β is halved (not below ``step_min``) when the merit
max(r_P / tol_P, r_x / tol_x) grew by more than 10 % to above 1, else raised by half
(self-regulated averaging, Liu, He & He, Netw. Spat. Econ. 2009), up to a ceiling that
drops to ¾ of a step that made the merit grow and recovers by 10 % an iteration (evagg's
addition: without it 2024-06-02 cycled β = 1, ½, ¾, 1, … for 100 iterations); a
merit above 1 that falls by less than 2 % over 5 full steps in a row counts as growth
(2024-05-01 alternated between two points at β = 1).
r_P = max_n ‖L_n − P_n‖₁ is the
users' residual at the start of the iteration (before their inner loop), r_x =
max |x^{BR} − x|. The loop stops when r_P, r_x and the DLMP change are within tolerance,
the plain (unregularised) best responses at the final DLMPs are within the load
tolerance of x, the users are still within tolerance at their fees, and the OPF at the
plain best responses' loads reproduces the final DLMPs within the price tolerance (what
the certificate checks); otherwise the iteration goes on from there. Solving the
users' congestion part inside (it is the stiff part: a queue change moves many users at
once) leaves the outer loop a mild fee ↔ demand coupling; the 96-slot, 300-user day then
converges in about 8 outer iterations with β = 1. A run that does not converge raises
:class:`GameNotConverged` carrying the trajectory; it never returns the last iterate as
an equilibrium.

:func:`certify` checks a converged day: the OPF at the final net loads is verified by
:mod:`evagg.grid` (relaxation gap + AC power flow on every slot) and reproduces the
DLMPs the aggregators answered; each aggregator's decision is re-optimised from scratch
at those DLMPs (relative gap ≤ 1e-6); the users' probabilities equal their logit
response at the final prices, fees and queues (within ``user_tol``). Any failure
raises :class:`evagg.VerificationError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
    discount_factor,
    event_points,
    logit_choice,
)

__all__ = [
    "Certificate",
    "DayOutcome",
    "GameNotConverged",
    "GameSetup",
    "UserState",
    "certify",
    "expected_loads",
    "one_hot",
    "option_start_slot",
    "play_day",
    "price_sensitivity",
    "proximal_weights",
    "user_costs",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class GameNotConverged(EvaggError):
    """The iteration did not converge; ``trajectory`` holds what happened."""

    def __init__(self, iterations: int, trajectory: pd.DataFrame, day: str = "") -> None:
        self.iterations = iterations
        self.trajectory = trajectory
        self.day = day
        self.days_done = pd.DataFrame()
        """Rows of the days certified before this one (set by the multi-day study)."""
        last = trajectory.iloc[-1]
        why = _slow_approach(trajectory) or _damped_cycle(trajectory)
        if not why and last["voltage_violation_pu"] > 0 and last["max_dprice_eur_per_mwh"] > 1.0:
            why = (
                f"; the DLMPs jump by up to {last['max_dprice_eur_per_mwh']:.0f} EUR/MWh at "
                f"bus {int(last['max_dprice_bus'])}, slot {int(last['max_dprice_slot'])}, "
                f"where the (soft) voltage limit is violated by up to "
                f"{last['voltage_violation_pu']:.4f} pu: the aggregators' loads swing "
                "across the voltage limit, whose penalty sets the price"
            )
        # the settled-far clause below speaks of the last settled point only if it is
        # recent (within DIAGNOSIS_WINDOW iterations); an older one is history, not the reason
        col = trajectory.get("plain_br_dload_mw", pd.Series(np.nan, index=trajectory.index))
        tested = np.flatnonzero(col.notna().to_numpy())
        recent = len(tested) > 0 and tested[-1] >= len(trajectory) - DIAGNOSIS_WINDOW
        plain = float(col.iloc[tested[-1]]) if recent else np.nan
        if np.isfinite(plain) and plain > 1e-3 and last["max_dload_mw"] <= 1e-3:
            gain = trajectory.get("deviation_gain_eur", pd.Series(dtype=float)).dropna()
            rel = trajectory.get("deviation_gain_rel", pd.Series(dtype=float)).dropna()
            eps = (
                f" by up to {gain.iloc[-1]:.3g} EUR ({rel.iloc[-1]:.1e} of the profit; an "
                "equilibrium needs <= 1e-6)"
                if len(gain) and len(rel)
                else ""
            )
            why = (
                f"; the iterates settled (Δload {last['max_dload_mw']:.1e} MW) but the plain "
                f"best responses at their DLMPs lie {plain:.3g} MW away and earn more{eps}: "
                "the iteration's fixed point is not a best response there (the storage "
                "binaries of another decision earn more), and with binaries a pure "
                "equilibrium need not exist"
            )
            if len(gain):
                # rounded up to 2 significant digits: that ε accepts this point
                e = float(gain.iloc[-1])
                mag = 10.0 ** (np.floor(np.log10(e)) - 1) if e > 0 else 1.0
                why += (
                    f"; to accept this point as an ε-equilibrium, state ε >= "
                    f"{np.ceil(e / mag) * mag:.2g} EUR (epsilon_eur; evagg game --epsilon-eur)"
                )
        where = f" on {day}" if day else ""
        super().__init__(
            f"game did not converge{where} in {iterations} iterations (last Δprice "
            f"{last['max_dprice_eur_per_mwh']:.3g} EUR/MWh, Δload {last['max_dload_mw']:.3g} MW, "
            f"users' residual {last['user_residual']:.3g}){why}; no equilibrium returned"
        )


DIAGNOSIS_WINDOW = 20
"""Iterations over which :class:`GameNotConverged` reads a trend off the trajectory
(the last window against the one before)."""


def _halves(trajectory: pd.DataFrame, column: str, window: int) -> tuple[float, float]:
    """Median of ``column`` over the last ``window`` rows and over the ``window`` before."""
    v = trajectory[column].to_numpy(dtype=float)
    return float(np.median(v[-window:])), float(np.median(v[-2 * window : -window]))


def _slow_approach(trajectory: pd.DataFrame, window: int = DIAGNOSIS_WINDOW) -> str:
    """Why-clause of a day whose iterates still drift towards a point (empty otherwise).

    Over the last ``window`` iterations against the ``window`` before: the best
    responses' median distance from the iterate (``max_dload_mw``, taken before the
    step) fell below 0.9 of its value and is at most 1e-3 MW (the default load
    tolerance); a violated voltage limit, if any, is smaller than ``window`` iterations
    earlier; the DLMPs move by at most 1 EUR/MWh and the users' residual is at most 1e-2
    (medians: no swing). Measured on 2023-06-10 (6 negative hours down to −56 EUR/MWh;
    the voltage limit at bus 23 violated by 0.0034 pu at iteration 1): 150 iterations
    ended at Δprice 0.085 EUR/MWh with the violation shrinking by ~5e-6 pu an iteration;
    with ``max_iter`` = 600 the day was certified after 479 iterations (337 s, violation
    0.0008 pu).
    """
    if len(trajectory) < 2 * window:
        return ""
    now, before = _halves(trajectory, "max_dload_mw", window)
    viol = trajectory["voltage_violation_pu"].to_numpy()
    calm = (
        _halves(trajectory, "max_dprice_eur_per_mwh", window)[0] <= 1.0
        and _halves(trajectory, "user_residual", window)[0] <= 1e-2
    )
    shrinking = viol[-1] <= 0 or viol[-1] < viol[-window - 1]
    if not (now < 0.9 * before and now <= GameSetup.load_tol_mw and shrinking and calm):
        return ""
    last = trajectory.iloc[-1]
    where = (
        f", where the (soft) voltage limit is violated by {viol[-1]:.4f} pu "
        f"({viol[-window - 1]:.4f} pu {window} iterations before)"
        if viol[-1] > 0
        else ""
    )
    return (
        f"; the iterates still drift towards a point: the best responses' median distance "
        f"from the iterate fell from {before:.2g} to {now:.2g} MW over the last {2 * window} "
        f"iterations, and the DLMPs still move by up to {last['max_dprice_eur_per_mwh']:.3g} "
        f"EUR/MWh at bus {int(last['max_dprice_bus'])}, slot {int(last['max_dprice_slot'])}"
        f"{where}: a slow tail; more iterations may converge (max_iter; evagg game --max-iter)"
    )


def _damped_cycle(trajectory: pd.DataFrame, window: int = DIAGNOSIS_WINDOW) -> str:
    """Why-clause of a day whose best responses keep jumping between near-tied decisions
    while the step is at its floor (empty otherwise).

    Over the last ``window`` iterations: median step β ≤ 0.1; the users settled (median
    residual ≤ 1e-3); no voltage swing (median Δprice ≤ 1 EUR/MWh); the best responses
    more than 1e-3 MW from the iterate (median) and not closing in (≥ 0.9 of the
    ``window`` before); their total profit within 1e-5 of its size (near-tied).
    Measured on 2023-07-02 (−500 EUR/MWh at 13:00): from iteration 50 to 150 at β ≈ 0.05
    the best responses lay 0.06–0.10 MW from the iterate while the total profit varied by
    0.0054 EUR (2.3e-6 of it): near-tied decisions (the binaries make the best response
    discontinuous).
    """
    need = {"step", "profit_eur"}
    if len(trajectory) < 2 * window or not need <= set(trajectory.columns):
        return ""
    tail = trajectory.iloc[-window:]
    now, before = _halves(trajectory, "max_dload_mw", window)
    profit = tail["profit_eur"].to_numpy(dtype=float)
    spread = float(np.ptp(profit))
    if not (
        float(tail["step"].median()) <= 0.1
        and float(tail["user_residual"].median()) <= GameSetup.user_tol
        and float(tail["max_dprice_eur_per_mwh"].median()) <= 1.0
        and now > GameSetup.load_tol_mw
        and now >= 0.9 * before
        and spread <= 1e-5 * max(1.0, float(np.abs(profit).max()))
    ):
        return ""
    dist = tail["max_dload_mw"].to_numpy(dtype=float)
    last = trajectory.iloc[-1]
    return (
        f"; the best responses keep jumping {dist.min():.2g}–{dist.max():.2g} MW away from "
        f"the iterate with the step at its floor (β = {float(tail['step'].median()):.2g}) "
        f"and the users settled, their total profit varying by only {spread:.2g} EUR; the "
        f"DLMPs move most at bus {int(last['max_dprice_bus'])}, slot "
        f"{int(last['max_dprice_slot'])}: the best response jumps between near-tied "
        "decisions (with the storage and market binaries it is discontinuous), the damped "
        "iteration cycles between them and a pure equilibrium need not exist (epsilon_eur "
        "accepts settled points only, not this cycle)"
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
        The user population.
    rt_buy_eur_per_mwh, rt_sell_eur_per_mwh
        Real-time buy and sell prices (T,) [EUR/MWh].
    rules, choice
        Points rules and generalised-cost weights; ``points_on`` switches the system.
    off_peak
        Off-peak slots (T,) bool (t_c = +1).
    choice_temperature_eur
        Scale τ of the users' logit choice [EUR] (:func:`evagg.points.logit_choice`).
    step_init, step_min
        First and smallest averaging step β of the iteration [-].
    fee_slots
        Slots per fee period of the aggregators (the study uses an hour).
    proximal
        Couple the best responses during the iteration through the DLMP sensitivity
        (``coupling``); the final check and the certificate use the plain best response.
    sensitivity_step_mw
        Load step δ of the finite-difference DLMP sensitivity [MW].
    sensitivity_refresh_mw
        While a voltage limit is violated the sensitivity is re-estimated once the loads
        moved more than this since the last estimate [MW] (and when the violation
        appears or ends). 0.05 MW (2026-12-07; was 0.01): each refresh costs K extra
        OPFs and jolts the users' inner loop; the 10-aggregator day converged in 135
        iterations, 341 s, against 130 iterations, 451 s with 0.01, and the 30-day run
        took 7 min 54 s (453 iterations) against 9 min 7 s (424), all days certified.
    rho_floor_eur_per_mw2h
        Smallest proximal weight ρ [EUR/(MW²·h)].
    coupling
        With ``proximal``: ``"gauss-seidel"`` (default; :func:`_best_responses_gs`, the
        DLMP Jacobian from K extra OPFs) or ``"jacobi"`` (simultaneous proximal best
        responses weighted by :func:`proximal_weights`, one extra OPF).
    consistency_load_tol_mw
        Load precision δx behind the DLMP consistency test [MW]: the DLMPs at the final
        loads must reproduce the answered ones within ``price_tol_eur_per_mwh`` +
        Σ_j |S_kj,t| · δx, S the DLMP Jacobian (:func:`_load_slope`; where a voltage
        limit binds the DLMP moves by 10³–10⁴ EUR/MWh per MW: 0.05 EUR/MWh alone would
        ask for loads to 10 W).
    anderson_depth, anderson_user_tol
        Depth m of the Anderson acceleration of the net loads (:class:`_Anderson`; 0:
        none), used while β = 1 and the users' residual is ≤ ``anderson_user_tol``.
    epsilon_eur
        Largest unilateral gain [EUR] at which a settled point whose plain best responses
        lie elsewhere is accepted as an ε-equilibrium (default 0: never; only an exact
        equilibrium, every best-response gap ≤ 1e-6 relative, is returned). With the
        storage binaries of eq. (21) a pure equilibrium need not exist (2024-05-12:
        stores cycling at −160 EUR/MWh, ε = 0.0061 EUR); the accepted point is the
        decisions next to the settled loads (proximal best responses anchored at them,
        at the settled DLMPs, which the certificate checks against the OPF at those
        decisions' loads), certified with each aggregator's gap ≤ max(1e-6 relative,
        ``epsilon_eur``), its ε reported
        (:attr:`Certificate.epsilon_eur`).
    settled_far_limit
        The iteration gives up (``GameNotConverged``) after this many settled points in a
        row whose plain best responses lay more than 10 load tolerances away and came
        no closer (by 2 %): the proximal iterates stay put there (2024-05-12 first
        settled so at iteration 24, 0.14 MW away, and stayed until ``max_iter``;
        restarting from the plain best responses came back to the same point).
    price_tol_eur_per_mwh, load_tol_mw, user_tol, max_iter
        Convergence tolerances (DLMP change [EUR/MWh], |x^BR − x| [MW], max_n ‖L_n −
        P_n‖₁ [-]) and iteration limit.
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
    choice_temperature_eur: float = 0.5
    step_init: float = 1.0
    step_min: float = 0.05
    price_tol_eur_per_mwh: float = 0.05
    load_tol_mw: float = 1e-3
    user_tol: float = 1e-3
    max_iter: int = 60
    fee_slots: int = 1
    proximal: bool = True
    sensitivity_step_mw: float = 0.01
    sensitivity_refresh_mw: float = 0.05
    rho_floor_eur_per_mw2h: float = 0.0
    anderson_depth: int = 5
    anderson_user_tol: float = 0.01
    coupling: str = "gauss-seidel"
    consistency_load_tol_mw: float = 1e-4
    epsilon_eur: float = 0.0
    settled_far_limit: int = 10
    models: list[BestResponseModel] = field(default_factory=list)
    """Best-response models; by default one per aggregator with hourly fee periods (a
    fee per 15-min slot made each QP ~10x slower: dense 96 × 96 revenue terms)."""

    def __post_init__(self) -> None:
        if len(self.specs) != len(self.dso.buses):
            raise InputError("specs", len(self.specs), "one spec per aggregator bus")
        for name in ("step_init", "step_min"):
            if not 0 < getattr(self, name) <= 1:
                raise InputError(name, getattr(self, name), "must lie in (0, 1]")
        if self.coupling not in ("gauss-seidel", "jacobi"):
            raise InputError("coupling", self.coupling, "'gauss-seidel' or 'jacobi'")
        if not (np.isfinite(self.epsilon_eur) and self.epsilon_eur >= 0):
            raise InputError("epsilon_eur", self.epsilon_eur, "must be a finite number >= 0")
        if not (np.isfinite(self.choice_temperature_eur) and self.choice_temperature_eur > 0):
            raise InputError("choice_temperature_eur", self.choice_temperature_eur, "must be > 0")
        if not self.models:
            self.models = [
                BestResponseModel(
                    s,
                    self.elasticity,
                    self.c_ref_eur_per_mwh,
                    self.dt_h,
                    slots_per_block=self.fee_slots,
                )
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
    """Users' choices on a day: probabilities over options o = k·S + s (station k, shift s).

    ``option``, ``station``, ``shift`` and ``start_slot`` are each user's most likely
    option (for tables); expectations use ``probability`` (N, K·S).
    """

    probability: FloatArray
    option: IntArray
    station: IntArray
    shift: IntArray
    start_slot: IntArray

    def station_shares(self, n_stations: int) -> FloatArray:
        """Expected share of users per station (K,) [-]."""
        p = self.probability.reshape(self.probability.shape[0], n_stations, -1)
        return p.sum(axis=2).mean(axis=0)


@dataclass(frozen=True)
class Certificate:
    """Verification records of a day's equilibrium: (name, value, threshold, passed)."""

    records: tuple[tuple[str, float, float, bool], ...]

    @property
    def holds(self) -> bool:
        """All checks passed."""
        return all(r[3] for r in self.records)

    @property
    def epsilon_eur(self) -> float:
        """ε of an accepted ε-equilibrium [EUR] (0 for an exact one)."""
        return next((r[1] for r in self.records if r[0] == "epsilon_equilibrium_eur"), 0.0)

    def frame(self) -> pd.DataFrame:
        """The records as a table."""
        return pd.DataFrame(list(self.records), columns=["check", "value", "threshold", "passed"])


@dataclass(frozen=True)
class DayOutcome:
    """A converged day: prices, decisions, choices, OPF, trajectory and certificate.

    ``points_earned``, ``recommended`` and ``user_cost_eur`` are per-user expectations
    over the logit choice [points, -, EUR]; ``recommended_station`` (N,) the station
    the system recommended to each user that day (§5.2). ``certificate.epsilon_eur`` is 0 for an
    exact equilibrium, else the ε of an accepted ε-equilibrium
    (:attr:`GameSetup.epsilon_eur`).
    """

    dlmp_eur_per_mwh: FloatArray
    best_responses: tuple[BestResponse, ...]
    net_load_mw: FloatArray
    users: UserState
    discount: FloatArray
    points_earned: FloatArray
    recommended: FloatArray
    recommended_station: IntArray
    dso: DSOSolution
    trajectory: pd.DataFrame
    certificate: Certificate
    user_cost_eur: FloatArray
    times_s: dict[str, float]


# ------------------------------------------------------------------ users
def expected_loads(
    setup: GameSetup, prof: FloatArray, prob: FloatArray, phi: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Expected demand D⁰ (K, T) [MW], its demand-weighted discount φ̄ (K, T) [-] and the
    expected number of users charging (K, T) [-] at choice probabilities ``prob``."""
    n = prof.shape[0]
    p3 = prob.reshape(n, setup.k, setup.shifts.size)
    mw = prof / 1e3 / setup.dt_h
    d0 = np.einsum("nks,nst->kt", p3, mw)
    dphi = np.einsum("nks,nst->kt", p3 * phi[:, None, None], mw)
    occ = np.einsum("nks,nst->kt", p3, (prof > 0).astype(float))
    phibar = np.divide(dphi, d0, out=np.ones_like(d0), where=d0 > 1e-12)
    return d0, phibar, occ


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


def _state(setup: GameSetup, trips: Trips, prob: FloatArray) -> UserState:
    s_n = setup.shifts.size
    opt = np.argmax(prob, axis=1).astype(np.int64)
    k, s = opt // s_n, opt % s_n
    return UserState(
        probability=prob,
        option=opt,
        station=k,
        shift=s,
        start_slot=(trips.arrival_slot + setup.shifts[s]) % setup.n_slots,
    )


def one_hot(setup: GameSetup, option: npt.ArrayLike) -> FloatArray:
    """Choice probabilities (N, K·S) putting each user on one option o = k·S + s."""
    o = np.asarray(option, dtype=np.int64)
    p = np.zeros((o.size, setup.k * setup.shifts.size))
    p[np.arange(o.size), o] = 1.0
    return p


def option_start_slot(setup: GameSetup, trips: Trips) -> IntArray:
    """Start slot of each user's charging with each option (N, K·S)."""
    n, s_n = trips.arrival_slot.size, setup.shifts.size
    start = (trips.arrival_slot[:, None] + setup.shifts[None, :]) % setup.n_slots  # (N, S)
    return np.broadcast_to(start[:, None, :], (n, setup.k, s_n)).reshape(n, -1)


def _option_points(setup: GameSetup, trips: Trips, rec: npt.NDArray[np.bool_]) -> FloatArray:
    """Points a user earns with each option (N, K·S) (seed 000 §5.2)."""
    off = setup.off_peak[option_start_slot(setup, trips)]
    offset = np.broadcast_to(trips.offset_min[:, None], off.shape)
    return event_points(offset, rec, off, setup.rules)


# ------------------------------------------------------------------- game
def _respond(
    setup: GameSetup,
    k: int,
    dlmp_k: FloatArray,
    d0: FloatArray,
    phibar: FloatArray,
    rho_k: FloatArray | None = None,
    anchor_k: FloatArray | None = None,
) -> BestResponse:
    """Aggregator k's exact best response at DLMPs ``dlmp_k`` (T,); proximal (ρ_k, anchor_k
    (T,)) if both are given, else plain."""
    m = setup.models[k]
    m.set_data(dlmp_k, d0[k], phibar[k], setup.rt_buy_eur_per_mwh, setup.rt_sell_eur_per_mwh)
    if rho_k is None or anchor_k is None:
        zero = np.zeros(setup.n_slots)
        m.set_proximal(zero, zero)
    else:
        m.set_proximal(rho_k, anchor_k)
    return m.solve()


def _best_responses(
    setup: GameSetup,
    dlmp: FloatArray,
    d0: FloatArray,
    phibar: FloatArray,
    rho: FloatArray | None = None,
    anchor_mw: FloatArray | None = None,
) -> list[BestResponse]:
    """Each aggregator's exact best response; proximal (ρ (K, T), anchor (K, T)) if given."""
    if rho is None or anchor_mw is None:
        return [_respond(setup, k, dlmp[k], d0, phibar) for k in range(setup.k)]
    return [_respond(setup, k, dlmp[k], d0, phibar, rho[k], anchor_mw[k]) for k in range(setup.k)]


def proximal_weights(setup: GameSetup, x_mw: FloatArray, dlmp: FloatArray) -> FloatArray:
    r"""Proximal weights ρ (K, T) [EUR/(MW²·h)] from the DSO's DLMP sensitivity.

    .. math::  ρ_{k,t} = \max\bigl(ρ^{floor},\ |λ_{k,t}(x + δ\mathbf 1) − λ_{k,t}(x)| / δ\bigr)
               ≈ \bigl|\sum_j ∂λ_{k,t}/∂x_{j,t}\bigr|

    one extra OPF with every aggregator's net load raised by δ in every slot (the OPF
    has no inter-temporal coupling, so slot t's prices respond to slot t's loads only).
    Why this ρ: linearise the DLMPs, λ(x) ≈ λ̄ + S x (S ⪰ 0: the Hessian of the OPF's
    value in the loads), and the aggregator's per-slot trade-off as a concave quadratic
    with curvature c. The Jacobi (simultaneous) price-taking iteration x⁺ = BR(λ(x)) then
    has gain −S/c per mode — far above 1 where a voltage limit binds (S ≈ 10⁴–10⁵
    EUR/(MW²·h) measured, c ≈ 20 for a store) — and oscillates. The proximal best response
    x⁺ = argmax π(x; λ(x_i)) − ½ (x − x_i)ᵀ diag(ρ) (x − x_i) has gain
    (c + diag ρ)⁻¹ (diag ρ − S): with ρ_k ≥ Σ_j |S_kj| (Gershgorin: diag ρ − S is then
    diagonally dominant, so ⪰ 0) the gains lie in [0, 1) and the linearised iteration
    contracts. One OPF gives the signed row sums Σ_j S_kj; they equal Σ_j |S_kj| where
    every load deepens the binding limit (a voltage limit: all S_kj ≥ 0); the modulus
    keeps ρ ≥ 0 where signs cancel (losses with reverse flows). Where
    ρ = S it is the Newton-like diagonalisation with the DLMP Jacobian (the price-taker
    sees λ_i + S (x − x_i)). Proximal/regularised Jacobi best responses for Nash games:
    Facchinei & Kanzow, Ann. Oper. Res. 175 (2010) §5; Scutari, Facchinei, Pang & Palomar,
    IEEE Trans. Inf. Theory 60 (2014), Alg. 2 (proximal decomposition). At a fixed
    point x = x_i the term and its gradient vanish, so x satisfies the optimality
    conditions of the unregularised best response at the fixed binaries; with the
    binaries a different plain optimum may exist, so the stop test re-solves the plain
    best responses and the certificate decides.
    """
    step = setup.sensitivity_step_mw
    up = setup.dso.solve(np.asarray(x_mw) + step).dlmp_eur_per_mwh
    return np.maximum(setup.rho_floor_eur_per_mw2h, np.abs(up - dlmp) / step)


def price_sensitivity(setup: GameSetup, x_mw: FloatArray, dlmp: FloatArray) -> FloatArray:
    r"""DLMP Jacobian per slot S (K, K, T) [EUR/(MW²·h)]: S[k, j, t] ≈ ∂λ_{k,t}/∂x_{j,t}.

    .. math::  S_{kj,t} = [λ_{k,t}(x + δ e_j) − λ_{k,t}(x)] / δ

    K extra OPFs, one per aggregator raised by δ in every slot (the OPF has no coupling
    between slots, so one solve gives every slot's column j).
    """
    x = np.asarray(x_mw, dtype=float)
    step = setup.sensitivity_step_mw
    sens = np.empty((setup.k, setup.k, setup.n_slots))
    for j in range(setup.k):
        up = x.copy()
        up[j] += step
        sens[:, j, :] = (setup.dso.solve(up).dlmp_eur_per_mwh - dlmp) / step
    return sens


def _best_responses_gs(
    setup: GameSetup,
    dlmp: FloatArray,
    d0: FloatArray,
    phibar: FloatArray,
    sens: FloatArray,
    anchor_mw: FloatArray,
) -> list[BestResponse]:
    r"""Linearised block Gauss–Seidel best responses, aggregator by aggregator.

    Aggregator k answers the DLMPs the earlier aggregators' moves predict, with its own
    price response as a proximal term:

    .. math::  λ'_{k,t} = λ_{k,t} + \sum_{j<k} S_{kj,t} (x^+_{j,t} − x_{j,t}),\qquad
               \max_{x_k} π_k(x_k; λ'_k) − \tfrac{Δt}{2} \sum_t \max(ρ^{floor}, S_{kk,t})
               (x_{k,t} − \hat x_{k,t})^2

    Its first-order condition is the price-taker's at the linearised DLMP
    λ'_k + S_kk (x_k − x̂_k). On the linearised game (C + S) x = b (C the aggregators'
    curvatures, S ⪰ 0 the DLMP Jacobian) this is block Gauss–Seidel, which converges for
    every symmetric positive definite C + S (Golub & Van Loan, Matrix Computations, 4th
    ed., Thm. 11.2.3); the simultaneous (Jacobi) proximal iteration with diagonal weights
    contracts only at the rate ρ/(c + ρ) in directions S barely moves, measured 0.98 per
    iteration on 2024-06-15. At a fixed point (x^+ = x) λ' = λ and the proximal term and
    its gradient vanish: the price-taking best responses at λ.
    """
    out = []
    moved = np.zeros_like(anchor_mw)
    weight = np.maximum(setup.rho_floor_eur_per_mw2h, _own_slope(setup, None, sens))
    for k in range(setup.k):
        lam = dlmp[k] + np.einsum("jt,jt->t", sens[k, :k], moved[:k])
        out.append(_respond(setup, k, lam, d0, phibar, weight[k], anchor_mw[k]))
        moved[k] = out[-1].net_load_mw - anchor_mw[k]
    return out


def _deviation_gain(
    setup: GameSetup,
    dlmp: FloatArray,
    d0: FloatArray,
    phibar: FloatArray,
    x_mw: FloatArray,
    slope: FloatArray,
    plain: list[BestResponse],
) -> tuple[float, float, list[BestResponse]]:
    """What the plain best responses ``plain`` at ``dlmp`` gain over staying at ``x_mw``.

    Each aggregator's proximal best response anchored at x_k (weight max(ρ^floor, slope_k))
    is a decision near x_k; its profit (14) at the same DLMPs against the plain optimum's
    gives the largest unilateral gain [EUR] and that gain / max(1, |π*|) [-]: ``x`` is an
    ε-equilibrium of the aggregators with this ε (an upper estimate: the proximal decision
    lies within the load tolerance of x, not on it). The third item is those proximal
    decisions (what :attr:`GameSetup.epsilon_eur` accepts).
    """
    weight = np.maximum(setup.rho_floor_eur_per_mw2h, slope)
    gains, near = [], []
    for k, best in enumerate(plain):
        near.append(_respond(setup, k, dlmp[k], d0, phibar, weight[k], x_mw[k]))
        gains.append((best.profit_eur - near[-1].profit_eur, max(1.0, abs(best.profit_eur))))
    eur, scale = max(gains, key=lambda g: g[0] / g[1])
    return eur, eur / scale, near


def _measure_far(setup: GameSetup, far: tuple) -> list[BestResponse]:
    """Write the ε of a settled point whose plain best responses lie elsewhere into its
    trajectory row (:func:`_deviation_gain`); return the decisions next to it."""
    row, lam, d0, phibar, x_mw, slope, plain = far
    row["deviation_gain_eur"], row["deviation_gain_rel"], near = _deviation_gain(
        setup, lam, d0, phibar, x_mw, slope, plain
    )
    return near


def _own_slope(setup: GameSetup, rho: FloatArray | None, sens: FloatArray | None) -> FloatArray:
    """Own-load DLMP slope S_kk,t (K, T) [EUR/(MW²·h)] as last estimated (0 if none)."""
    if sens is not None:
        return np.maximum(np.einsum("kkt->kt", sens), 0.0)
    if rho is not None:
        return np.asarray(rho, dtype=float)
    return np.zeros((setup.k, setup.n_slots))


def _load_slope(setup: GameSetup, rho: FloatArray | None, sens: FloatArray | None) -> FloatArray:
    """Bound on the DLMP's slope when every load moves (K, T) [EUR/(MW²·h)]: Σ_j |S_kj,t|.

    If every aggregator's load moves by at most δx, λ_k,t moves by at most
    Σ_j |S_kj,t| δx (to first order). With the Jacobi weights ρ (already
    |Σ_j S_kj,t|, the row sums) that is ρ; 0 if no sensitivity was estimated.
    """
    if sens is not None:
        return np.abs(sens).sum(axis=1)
    return _own_slope(setup, rho, None)


def _dlmp_excess(
    setup: GameSetup, dlmp_at_x: FloatArray, dlmp_answered: FloatArray, slope: FloatArray
) -> float:
    """max_{k,t} |λ(x) − λ_answered| − slope_k,t δx [EUR/MWh] (δx =
    consistency_load_tol_mw, slope from :func:`_load_slope`)."""
    gap = np.abs(np.asarray(dlmp_at_x) - np.asarray(dlmp_answered))
    return float((gap - slope * setup.consistency_load_tol_mw).max())


@dataclass(frozen=True)
class _DayUsers:
    """What is fixed about the users over a day: trips, energy profiles (N, S, T) [kWh],
    fee discounts φ (N,) and the recommended station per slot (T,)."""

    trips: Trips
    prof: FloatArray
    phi: FloatArray
    rec_station: IntArray


def _user_residual(
    setup: GameSetup,
    day: _DayUsers,
    prob: FloatArray,
    dlmp: FloatArray,
    fee: FloatArray,
    sens: FloatArray | None = None,
    d0_ref: FloatArray | None = None,
) -> tuple[float, FloatArray]:
    r"""max_n ‖L_n − P_n‖₁ and the logit response L (N, K·S) at the given prices.

    With the DLMP Jacobian ``sens`` (K, K, T) and reference demand ``d0_ref`` (K, T)
    the users see the DLMPs their own move predicts,
    λ' = λ + Σ_j S_{kj,t} (D⁰_j(P) − D⁰_j,ref) (equal to λ where P is at the reference).
    """
    d0, _, occ = expected_loads(setup, day.prof, prob, day.phi)
    if sens is not None and d0_ref is not None:
        dlmp = dlmp + np.einsum("kjt,jt->kt", sens, d0 - d0_ref)
    cost = user_costs(setup, day.trips, day.prof, dlmp, fee, day.phi, occ, None, day.rec_station)[0]
    resp = logit_choice(cost, setup.choice_temperature_eur)
    return float(np.abs(resp - prob).sum(axis=1).max()), resp


def _users_sue(
    setup: GameSetup,
    day: _DayUsers,
    prob: FloatArray,
    dlmp: FloatArray,
    fee: FloatArray,
    sens: FloatArray | None = None,
    max_iter: int = 500,
) -> tuple[FloatArray, int]:
    """Users' stochastic user equilibrium at fixed fees; the queues respond, and with
    the DLMP Jacobian ``sens`` (K, K, T) so do the DLMPs, linearised about the loads of
    ``prob`` (:func:`_user_residual`).

    Self-regulated averaging from ``prob``: P ← P + α (L(c(P)) − P), α halved (≥ 0.02)
    when the residual max_n ‖L_n − P_n‖₁ grew, else raised by a fifth (≤ 1), until the
    residual is ≤ user_tol/10 or ``max_iter`` (the outer loop checks the users again).
    Returns the probabilities and the number of logit evaluations. Why the linearised
    DLMPs: where a voltage limit binds, the DLMPs move by 10³ EUR/MWh per MW; users who
    answered fixed DLMPs moved wholesale between stations and the DLMPs swung by
    1–300 EUR/MWh between outer iterations (10 aggregators, 2024-06-12).
    """
    d0_ref = expected_loads(setup, day.prof, prob, day.phi)[0] if sens is not None else None
    tol = setup.user_tol / 10
    step, last = 1.0, np.inf
    for i in range(1, max_iter + 1):
        r, resp = _user_residual(setup, day, prob, dlmp, fee, sens, d0_ref)
        if r <= tol:
            return prob, i
        step = max(step / 2, 0.02) if r > last else min(1.0, 1.2 * step)
        last = r
        prob = prob + step * (resp - prob)
    return prob, max_iter


class _Anderson:
    r"""Anderson acceleration (type II, depth m) of the fixed-point map x ↦ f(x).

    With residuals g_j = f(x_j) − x_j and the last m differences ΔG = [g_{j+1} − g_j],
    ΔF = [f(x_{j+1}) − f(x_j)]:

    .. math::  γ = \arg\min_γ ‖g_i − ΔG\,γ‖_2, \qquad x_{i+1} = f(x_i) − ΔF\,γ

    (Walker & Ni, SIAM J. Numer. Anal. 49 (2011), eq. (2.1); a multisecant quasi-Newton
    method). It takes the proximal iteration's linear tail near a voltage limit (rate
    ≈ 0.96 per iteration measured on 2024-06-15) to its fixed point. The history is
    dropped when ‖g‖ grows (safeguard) and f(x) is then taken plainly; a fixed point of
    the accelerated iteration is one of f.
    """

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.dg: list[FloatArray] = []
        self.df: list[FloatArray] = []
        self.prev: tuple[FloatArray, FloatArray] | None = None

    def reset(self) -> None:
        """Forget the history."""
        self.dg, self.df, self.prev = [], [], None

    def update(self, x: FloatArray, fx: FloatArray) -> FloatArray:
        """Next iterate from the current one and its image f(x) (any shape)."""
        g, f = (fx - x).ravel(), fx.ravel()
        if self.prev is not None and np.linalg.norm(g) > np.linalg.norm(self.prev[0]):
            self.reset()
        if self.prev is not None:
            self.dg = [*self.dg, g - self.prev[0]][-self.depth :]
            self.df = [*self.df, f - self.prev[1]][-self.depth :]
        self.prev = (g, f)
        if not self.dg:
            return fx.copy()
        gamma = np.linalg.lstsq(np.array(self.dg).T, g, rcond=None)[0]
        return (f - np.array(self.df).T @ gamma).reshape(fx.shape)


class _Clock:
    """Accumulated wall time per phase [s]."""

    def __init__(self) -> None:
        self.t = {"opf_s": 0.0, "best_response_s": 0.0, "users_s": 0.0}
        self._last = time.perf_counter()

    def lap(self, key: str) -> None:
        now = time.perf_counter()
        self.t[key] = self.t.get(key, 0.0) + now - self._last
        self._last = now


def play_day(
    setup: GameSetup,
    trips: Trips,
    points: FloatArray,
    initial_probability: FloatArray | None = None,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
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
    initial_probability
        Users' starting choice probabilities (N, K·S) (default: each user at her
        nearest station, no shift).
    on_iteration
        Called with each outer iteration's trajectory row (e.g. a progress display).

    Raises
    ------
    GameNotConverged
        If ``max_iter`` iterations do not converge.
    VerificationError
        If the converged point fails its certificate.
    """
    t_start = time.perf_counter()
    clock = _Clock()
    prof = charging_profiles_kwh(
        trips, setup.users.p_max_kw, setup.n_slots, setup.dt_h, setup.shifts
    )
    phi = discount_factor(points, setup.rules) if setup.points_on else np.ones(points.size)
    prob = (
        one_hot(setup, np.argmin(setup.distance_km, axis=1) * setup.shifts.size)
        if initial_probability is None
        else np.asarray(initial_probability, dtype=float).copy()
    )
    d0, phibar, occ = expected_loads(setup, prof, prob, phi)
    x = d0.copy()
    clock.lap("users_s")
    dlmp = setup.dso.solve(x).dlmp_eur_per_mwh
    clock.lap("opf_s")
    gs = setup.proximal and setup.coupling == "gauss-seidel"
    rho = proximal_weights(setup, x, dlmp) if setup.proximal and not gs else None
    sens = price_sensitivity(setup, x, dlmp) if gs else None
    rho_violated, x_sens = False, x.copy()
    clock.lap("sensitivity_s")
    day = _DayUsers(trips, prof, phi, recommend(setup, dlmp, occ))
    fee = np.array(
        [
            np.full(setup.n_slots, 0.5 * (s.fee_min_eur_per_mwh + s.fee_max_eur_per_mwh))
            for s in setup.specs
        ]
    )
    rows: list[dict[str, float]] = []
    # the last settled point whose plain best responses lie elsewhere: (row, λ, D⁰, φ̄, x,
    # slope, plain best responses); its ε is measured once, if the day ends unconverged
    far: (
        tuple[
            dict[str, float],
            FloatArray,
            FloatArray,
            FloatArray,
            FloatArray,
            FloatArray,
            list[BestResponse],
        ]
        | None
    ) = None
    brs: list[BestResponse] = []
    step, merit_prev, converged, accepted = setup.step_init, np.inf, False, False
    n_far, far_prev = 0, np.inf  # settled points in a row whose plain best responses
    # stayed far, and the last such distance [MW]
    ceiling = 1.0  # largest step β may grow back to (see below)
    flat = 0  # full steps in a row whose merit, above 1, fell by less than 2 %
    accel = _Anderson(setup.anderson_depth)
    for it in range(1, setup.max_iter + 1):
        r_u, _ = _user_residual(setup, day, prob, dlmp, fee)
        sue, n_inner = _users_sue(setup, day, prob, dlmp, fee, sens)
        prob = prob + step * (sue - prob)
        d0, phibar, _ = expected_loads(setup, prof, prob, phi)
        clock.lap("users_s")
        if sens is not None:
            brs = _best_responses_gs(setup, dlmp, d0, phibar, sens, x)
        else:
            brs = _best_responses(setup, dlmp, d0, phibar, rho, x)
        clock.lap("best_response_s")
        fee = np.array([b.fee_coef_eur_per_mwh for b in brs])
        x_br = np.array([b.net_load_mw for b in brs])
        r_x = float(np.abs(x_br - x).max())
        if step == 1.0 and r_u <= setup.anderson_user_tol and setup.anderson_depth > 0:
            x = accel.update(x, x_br)  # the users settled: the proximal map's linear tail
        else:
            accel.reset()
            x = x + step * (x_br - x)
        sol = setup.dso.solve(x)
        clock.lap("opf_s")
        violated = sol.opf.voltage_violation_pu > 0
        moved = float(np.abs(x - x_sens).max())
        if setup.proximal and (
            (violated and moved > setup.sensitivity_refresh_mw) or violated != rho_violated
        ):
            # the sensitivity changes where a (soft) voltage limit is violated; elsewhere
            # it is the losses' few EUR/(MW²·h) of the first estimate: not re-estimated.
            # Near a violated limit it is a local Jacobian: re-estimated once the loads
            # moved more than sensitivity_refresh_mw since the last estimate
            x_sens = x.copy()
            if gs:
                sens = price_sensitivity(setup, x, sol.dlmp_eur_per_mwh)
            else:
                rho = proximal_weights(setup, x, sol.dlmp_eur_per_mwh)
            rho_violated = violated
            clock.lap("sensitivity_s")
        jump = np.abs(sol.dlmp_eur_per_mwh - dlmp)
        j_bus, j_slot = np.unravel_index(int(np.argmax(jump)), jump.shape)
        dprice = float(jump.max())
        dlmp = sol.dlmp_eur_per_mwh
        rows.append(
            {
                "iteration": it,
                "step": step,
                "max_dprice_eur_per_mwh": dprice,
                "max_dprice_bus": setup.dso.buses[int(j_bus)],
                "max_dprice_slot": int(j_slot),
                "max_dlmp_eur_per_mwh": float(dlmp.max()),
                "voltage_violation_pu": float(sol.opf.voltage_violation_pu),
                "max_dload_mw": r_x,
                "rho_max_eur_per_mw2h": float(_own_slope(setup, rho, sens).max()),
                "user_residual": r_u,
                "user_inner_iterations": n_inner,
                "dso_cost_eur": sol.cost_eur,
                "profit_eur": float(sum(b.profit_eur for b in brs)),
                "mean_dlmp_eur_per_mwh": float(dlmp.mean()),
                "elapsed_s": time.perf_counter() - t_start,
                **{k: v for k, v in clock.t.items()},
            }
        )
        if on_iteration is not None:
            on_iteration(rows[-1])
        merit = max(r_u / setup.user_tol, r_x / setup.load_tol_mw)
        # halve on growth by > 10 % above the tolerances: within them (or by a few %)
        # the merit's changes are the users' inner-loop noise (see the module doc)
        # The step that overshot is not retried at once: the ceiling drops to ¾ of it
        # and recovers by 10 % an iteration (without it 2024-06-02 cycled β = 1, ½, ¾, 1
        # for 100 iterations, the merit growing at each return to 1)
        # A merit above 1 that stops falling over 5 full steps (β = 1, within 2 %) is a
        # cycle the growth test misses: 2024-05-01 alternated between two points at β = 1
        # for 90 iterations (users' residual 0.0856/0.0858); it is treated as a growth.
        # (Counting shorter steps too halved β down to 0.05 in the slow tail of the
        # 10-aggregator day, which then missed 200 iterations.)
        grew = merit > 1.1 * merit_prev and merit > 1.0
        stalled = step == 1.0 and merit > 1.0 and merit > 0.98 * merit_prev
        flat = flat + 1 if (stalled and not grew) else 0
        if flat >= 5:
            grew, flat = True, 0
        if grew:
            ceiling = max(setup.step_min, 0.75 * step)
            step = max(setup.step_min, step / 2)
        else:
            ceiling = min(1.0, 1.1 * ceiling)
            step = min(ceiling, 1.5 * step)
        merit_prev = merit
        if (
            r_u <= setup.user_tol
            and r_x <= setup.load_tol_mw
            and dprice <= setup.price_tol_eur_per_mwh
        ):
            # final best responses at the final DLMPs; stop only if the users are still
            # within tolerance of their logit response to them
            brs = _best_responses(setup, dlmp, d0, phibar)
            clock.lap("best_response_s")
            fee = np.array([b.fee_coef_eur_per_mwh for b in brs])
            r_final, _ = _user_residual(setup, day, prob, dlmp, fee)
            clock.lap("users_s")
            x_plain = np.array([b.net_load_mw for b in brs])
            r_x0 = float(np.abs(x_plain - x).max())
            rows[-1]["plain_br_dload_mw"] = r_x0
            if r_final <= setup.user_tol and r_x0 <= setup.load_tol_mw:
                # the certificate re-solves the OPF at the plain best responses' loads;
                # where a voltage limit binds, S·r_x0 can exceed the price tolerance
                stop = setup.dso.solve(x_plain)
                clock.lap("opf_s")
                slope = _load_slope(setup, rho, sens)
                excess = _dlmp_excess(setup, stop.dlmp_eur_per_mwh, dlmp, slope)
                rows[-1]["stop_dprice_excess_eur_per_mwh"] = excess
                # 0.8: the certificate re-solves the OPF (every slot AC-checked); its DLMPs
                # differ from this solve's by the solver's accuracy (2023-04-30 stopped at
                # 0.0498 and failed its certificate at 0.05036 EUR/MWh against 0.05)
                if excess <= 0.8 * setup.price_tol_eur_per_mwh:
                    converged = True
                    break
            elif r_x0 > setup.load_tol_mw:
                far = (rows[-1], dlmp, d0, phibar, x, _own_slope(setup, rho, sens), brs)
                if setup.epsilon_eur > 0:
                    near = _measure_far(setup, far)
                    clock.lap("best_response_s")
                    if rows[-1]["deviation_gain_eur"] <= setup.epsilon_eur:
                        brs, accepted, converged = near, True, True
                        break
                # stuck: the plain best responses stay far (> 10 load tolerances) and do
                # not come closer (by 2 % since the last such point); 2024-07-06 settled
                # with them 5 kW away, closing in by ~5 % an iteration, and converged
                stuck = r_x0 > 10 * setup.load_tol_mw and r_x0 > 0.98 * far_prev
                n_far, far_prev = (n_far + 1 if stuck else 0), r_x0
                if n_far >= setup.settled_far_limit:
                    break
    if not converged and far is not None and "deviation_gain_eur" not in far[0]:
        _measure_far(setup, far)
    traj = pd.DataFrame(rows)
    if not converged:
        raise GameNotConverged(len(rows), traj)
    x = np.array([b.net_load_mw for b in brs])
    cert, final = certify(
        setup,
        trips,
        prof,
        phi,
        dlmp,
        brs,
        x,
        prob,
        day.rec_station,
        _load_slope(setup, rho, sens),
        epsilon_eur=setup.epsilon_eur if accepted else 0.0,
    )
    clock.lap("certificate_s")
    occ = expected_loads(setup, prof, prob, phi)[2]
    _, pay, rec = user_costs(setup, trips, prof, dlmp, fee, phi, occ, None, day.rec_station)
    earned = (prob * _option_points(setup, trips, rec)).sum(axis=1)
    times = dict(clock.t, total_s=time.perf_counter() - t_start)
    return DayOutcome(
        dlmp_eur_per_mwh=dlmp,
        best_responses=tuple(brs),
        net_load_mw=x,
        users=_state(setup, trips, prob),
        discount=phi,
        points_earned=earned if setup.points_on else np.zeros(prob.shape[0]),
        recommended=(prob * rec).sum(axis=1),
        recommended_station=day.rec_station,
        dso=final,
        trajectory=traj,
        certificate=cert,
        user_cost_eur=(prob * pay).sum(axis=1),
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
    probability: FloatArray,
    recommended_station: IntArray | None = None,
    dlmp_slope: FloatArray | None = None,
    gap_tol: float = 1e-6,
    epsilon_eur: float = 0.0,
) -> tuple[Certificate, DSOSolution]:
    """Certify a day's point as an equilibrium; raise ``VerificationError`` if it is not.

    Checks (name, value, threshold):

    * ``opf_verified``: OPF at the final net loads with every :mod:`evagg.grid` check
      (relaxation gap, AC power flow on all slots) — raises inside the grid on failure;
    * ``dlmp_consistency``: max_{k,t} |λ(OPF at x) − λ the aggregators answered| −
      s_k,t δx [EUR/MWh] ≤ the game's price tolerance, s = ``dlmp_slope`` (K, T) a
      bound on the DLMPs' slope when all loads move, Σ_j |S_kj,t| (:func:`_load_slope`;
      default 0: the plain test) and δx =
      ``setup.consistency_load_tol_mw``;
    * ``net_load_consistency``: max |x − net load of the best responses| [MW] ≤ 1e-6;
    * ``best_response_gap``: per aggregator (π* − π(decision))/max(1, |π*|) ≤ 1e-6, π*
      re-solved from scratch at the final DLMPs, π(decision) evaluated by eq. (14) on the
      decision after checking its feasibility; with ``epsilon_eur`` > 0 (an accepted
      ε-equilibrium, :attr:`GameSetup.epsilon_eur`) the threshold is max(1e-6,
      ε/max(1, |π*|)) and a record ``epsilon_equilibrium_eur`` holds the largest
      π* − π(decision) [EUR] against ε;
    * ``user_logit_residual``: max over users of ‖P_n − L_n‖₁ ≤ ``setup.user_tol``, L
      the logit response to the final prices, fees and expected queues (the users'
      probabilities are their own best (logit) response: a stochastic user equilibrium).
    """
    recs: list[tuple[str, float, float, bool]] = []
    full = setup.dso.with_options(ac_slots="all")
    opts = full.model.options
    final = full.solve(net_load_mw, verify=True)
    recs.append(("opf_relaxation_gap_rel", final.opf.relaxation_gap_rel, opts.relaxation_tol, True))
    recs.append(("opf_ac_max_dv_pu", final.opf.ac_max_dv_pu, opts.ac_v_tol_pu, True))
    slope = np.zeros_like(dlmp) if dlmp_slope is None else np.asarray(dlmp_slope)
    dp = _dlmp_excess(setup, final.dlmp_eur_per_mwh, dlmp, slope)
    tol = setup.price_tol_eur_per_mwh
    recs.append(("dlmp_consistency_eur_per_mwh", dp, tol, dp <= tol))
    x_br = np.array([b.net_load_mw for b in brs])
    dx = float(np.abs(x_br - net_load_mw).max())
    recs.append(("net_load_consistency_mw", dx, 1e-6, dx <= 1e-6))
    d0, phibar, _ = expected_loads(setup, prof, probability, phi)
    gains_eur = [0.0]
    for j, (m, b) in enumerate(zip(setup.models, brs, strict=True)):
        fresh = BestResponseModel(m.spec, m.eps, m.c_ref, m.dt_h, m.solver, m.slots_per_block)
        fresh.set_data(
            dlmp[j], d0[j], phibar[j], setup.rt_buy_eur_per_mwh, setup.rt_sell_eur_per_mwh
        )
        opt_br = fresh.solve()
        feas = fresh.feasible(b)
        val = fresh.profit_of(b) if feas else -np.inf
        scale = max(1.0, abs(opt_br.profit_eur))
        gap = (opt_br.profit_eur - val) / scale
        most = max(gap_tol, epsilon_eur / scale)
        recs.append(
            (f"best_response_gap_{m.spec.bus}", float(gap), most, bool(feas and gap <= most))
        )
        gains_eur.append(float(gap * scale))
    if epsilon_eur > 0:
        worst = max(gains_eur)
        recs.append(("epsilon_equilibrium_eur", worst, epsilon_eur, worst <= epsilon_eur))
    fee = np.array([b.fee_coef_eur_per_mwh for b in brs])
    if recommended_station is None:
        occ = expected_loads(setup, prof, probability, phi)[2]
        recommended_station = recommend(setup, dlmp, occ)
    day = _DayUsers(trips, prof, phi, recommended_station)
    res, _ = _user_residual(setup, day, probability, dlmp, fee)
    recs.append(("user_logit_residual", res, setup.user_tol, res <= setup.user_tol))
    cert = Certificate(tuple(recs))
    if not cert.holds:
        bad = [r for r in cert.records if not r[3]]
        also = f"; also failed: {', '.join(r[0] for r in bad[1:])}" if len(bad) > 1 else ""
        raise VerificationError(
            bad[0][0], bad[0][1], bad[0][2], f"the day's point is not an equilibrium{also}"
        )
    return cert, final
