r"""Stage 1 of seed 001: the aggregator (leader) sets hourly charging prices, users follow.

Leader (aggregator), day of ``T`` hours, prices :math:`\lambda_t` [EUR/kWh] to users,
day-ahead price forecast :math:`\pi_t` [EUR/MWh]:

.. math::

    \max_{\lambda}\; \sum_k n_k \sum_t \left(\lambda_t - \pi_t/1000\right) x_{kt}
    \quad\text{s.t.}\quad \underline\lambda \le \lambda_t \le \overline\lambda,\quad
    \tfrac{1}{T}\textstyle\sum_t \lambda_t \le \lambda^{cap}

(seed 001 §"master-slave game": price bounds and an average-price cap protecting users;
``cap_mode="energy"`` instead caps each class's average paid price,
:math:`\sum_t \lambda_t x_{kt} \le \lambda^{cap} E_k`, so no class pays more than the
flat tariff :math:`\lambda^{cap}`). Follower class ``k`` (``n_k`` identical users,
plug-in hours :math:`W_k`, need :math:`E_k` [kWh], charger :math:`P_k` [kW]):

.. math::

    \min_{x_k \ge 0}\; \sum_{t\in W_k} \lambda_t x_{kt}
    \quad\text{s.t.}\quad \textstyle\sum_{t\in W_k} x_{kt} = E_k\;(\nu_k),\quad
    -x_{kt} \ge -P_k\;(\mu_{kt} \ge 0).

Single level by :mod:`evagg.optim.bilevel` (one :class:`LowerLevelLP` per class, over its
own window, so no out-of-window row makes a dual unbounded): KKT with big-M derived from
the data (:math:`\overline Y = P_k`, a vertex bound since :math:`x \le P_k` is a
constraint), and the bilinear revenue :math:`\lambda^\top x_k` replaced by strong duality,
:math:`\lambda^\top x_k = E_k\nu_k - P_k \sum_t \mu_{kt}`. A class with no choice
(:math:`E_k = P_k |W_k|` or :math:`E_k = 0`) is a fixed load (its dual set is unbounded:
the bound derivation would refuse it). Ties are broken in the leader's favour (optimistic
bilevel), as every KKT reformulation does; :func:`follower_response` reproduces that
tie-break exactly. Every solve is certified (each class re-solved by scipy's HiGHS with
the prices fixed) and the big-M constraints active at the solution are reported.

evagg changes: hourly, a real NL day-ahead forecast as purchase price, users from ElaadNL
statistics grouped by k-means (grouping error reported), derived big-M (the seed's
KKT linearisation does not say how M is chosen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg._checks import as_finite_array
from evagg.errors import InputError
from evagg.optim.bilevel import KKTReformulation, LowerLevelLP, kkt_reformulate
from evagg.optim.core import SolveInfo, solve_cvxpy

__all__ = [
    "PricingModel",
    "PricingResult",
    "Tariff",
    "build_pricing",
    "follower_response",
    "leader_profit_eur",
    "solve_pricing",
]

FArray = npt.NDArray[np.float64]
CapMode = Literal["time", "energy"]
_TIE_DECIMALS = 7  # prices within 1e-7 EUR/kWh are a tie (MILP round-off)


TARIFF_MAX_EUR_PER_KWH = 10.0
"""Plausibility bound on every tariff term [EUR/kWh] (prices, cap, compensation, wear)."""


@dataclass(frozen=True)
class Tariff:
    """Contract terms of the day [EUR/kWh].

    Attributes
    ----------
    price_min_eur_per_kwh, price_max_eur_per_kwh
        Bounds of the hourly charging price offered to users.
    price_cap_eur_per_kwh
        Average-price cap (also the flat tariff users are compared with).
    compensation_eur_per_kwh
        Paid to a V2G-contract user per kWh discharged from its battery (grid side).
    degradation_eur_per_kwh
        Battery wear per kWh discharged, borne by the user (reported in the user's net
        V2G benefit).
    cap_mode
        ``"time"``: mean of the hourly prices ≤ cap (seed); ``"energy"``: each class's
        average paid price ≤ cap.
    """

    price_min_eur_per_kwh: float = 0.10
    price_max_eur_per_kwh: float = 0.60
    price_cap_eur_per_kwh: float = 0.30
    compensation_eur_per_kwh: float = 0.05
    degradation_eur_per_kwh: float = 0.02
    cap_mode: CapMode = "time"

    def __post_init__(self) -> None:
        lo, hi = self.price_min_eur_per_kwh, self.price_max_eur_per_kwh
        cap = self.price_cap_eur_per_kwh
        for name in (
            "price_min_eur_per_kwh",
            "price_max_eur_per_kwh",
            "price_cap_eur_per_kwh",
            "compensation_eur_per_kwh",
            "degradation_eur_per_kwh",
        ):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                raise InputError(name, v, "must be finite and >= 0")
            if v > TARIFF_MAX_EUR_PER_KWH:
                raise InputError(
                    name,
                    v,
                    f"above {TARIFF_MAX_EUR_PER_KWH:g} EUR/kWh, beyond any retail tariff (the EU "
                    "day-ahead ceiling is 4 EUR/kWh): EUR/MWh given as EUR/kWh?",
                )
        if hi < lo:
            raise InputError("price_max_eur_per_kwh", hi, f"is below price_min_eur_per_kwh {lo}")
        if not lo <= cap <= hi:
            raise InputError(
                "price_cap_eur_per_kwh", cap, f"must lie within the price bounds [{lo}, {hi}]"
            )
        if self.cap_mode not in ("time", "energy"):
            raise InputError("cap_mode", self.cap_mode, "must be 'time' or 'energy'")


@dataclass(frozen=True)
class PricingModel:
    """The single-level MILP of the pricing game (see the module docstring)."""

    problem: cp.Problem
    price: cp.Variable
    kkts: dict[str, KKTReformulation]
    fixed_x: dict[str, FArray]
    classes: pd.DataFrame
    forecast_eur_per_mwh: FArray
    tariff: Tariff


@dataclass(frozen=True)
class PricingResult:
    """Solution of the pricing game.

    Attributes
    ----------
    price_eur_per_kwh
        Hourly price to users (T,).
    class_kwh
        Energy bought per representative user of each class, class × hour [kWh].
    profit_eur
        Leader's objective at the forecast prices [EUR].
    certificate_gap, duality_gap
        Largest relative follower optimality gap and strong-duality residual over classes.
    binding_bigm
        Big-M constraints active at the solution (family, class, index, value, bound).
    info
        Solver status and times.
    """

    price_eur_per_kwh: FArray
    class_kwh: pd.DataFrame
    profit_eur: float
    certificate_gap: float
    duality_gap: float
    binding_bigm: pd.DataFrame
    info: SolveInfo


def _class_lower(name: str, a: int, b: int, e: float, p: float, price: cp.Variable, t: Tariff):
    n = b - a
    return LowerLevelLP(
        name=name,
        cost=cp.reshape(price[a:b], (1, n), order="C"),
        cost_lo=np.full((1, n), t.price_min_eur_per_kwh),
        cost_hi=np.full((1, n), t.price_max_eur_per_kwh),
        y_upper=np.full((1, n), p),
        A=-np.eye(n),
        b=np.full((1, n), -p),
        G=np.ones((1, n)),
        h=np.array([[e]]),
    )


def _inflexible(e: float, p: float, n: int) -> bool:
    return e <= 1e-9 or e >= p * n * (1 - 1e-9)


def build_pricing(classes: pd.DataFrame, forecast_eur_per_mwh: npt.ArrayLike, tariff: Tariff):
    """Build the pricing MILP for follower ``classes`` (rows as in
    :class:`evagg.v2g_pricing.users.Grouping`) and a price forecast [EUR/MWh] (T,)."""
    pi = as_finite_array("forecast_eur_per_mwh", forecast_eur_per_mwh, ndim=1)
    n_t = pi.size
    price = cp.Variable(n_t, name="price_eur_per_kwh")
    cons: list[cp.Constraint] = [
        price >= tariff.price_min_eur_per_kwh,
        price <= tariff.price_max_eur_per_kwh,
    ]
    if tariff.cap_mode == "time":
        cons.append(cp.sum(price) <= tariff.price_cap_eur_per_kwh * n_t)
    profit: cp.Expression = cp.Constant(0.0)
    kkts: dict[str, KKTReformulation] = {}
    fixed: dict[str, FArray] = {}
    for cid, r in classes.iterrows():
        a, b, e, p, n = (
            int(r.start_h),
            int(r.end_h),
            float(r.energy_kwh),
            float(r.p_max_kw),
            float(r.n_users),
        )
        if not 0 <= a < b <= n_t:
            raise InputError(f"classes.end_h[{cid}]", (a, b), f"window outside 0..{n_t}")
        if _inflexible(e, p, b - a):
            x = np.zeros(n_t)
            x[a:b] = e / (b - a)
            fixed[str(cid)] = x
            revenue = price @ x
            purchase = float(pi @ x) / 1000.0
        else:
            kkt = kkt_reformulate(_class_lower(f"class {cid}", a, b, e, p, price, tariff))
            kkts[str(cid)] = kkt
            cons += kkt.constraints
            revenue = cp.sum(kkt.dual_objective)
            purchase = (pi[a:b] / 1000.0) @ kkt.y[0]
        if tariff.cap_mode == "energy":
            cons.append(revenue <= tariff.price_cap_eur_per_kwh * e)
        profit = profit + n * (revenue - purchase)
    problem = cp.Problem(cp.Maximize(profit), cons)
    return PricingModel(problem, price, kkts, fixed, classes, pi, tariff)


def solve_pricing(
    model: PricingModel,
    *,
    solver: str | None = None,
    mip_rel_gap: float = 1e-6,
    tolerance: float = 1e-6,
) -> PricingResult:
    """Solve the pricing MILP (HiGHS by default) and certify every follower class.

    Raises
    ------
    InfeasibleError, SolverError
        The MILP is not solved to optimality.
    VerificationError
        A class's equilibrium certificate or strong-duality check fails.
    """
    opts = {"mip_rel_gap": mip_rel_gap} if (solver or "HIGHS").upper() == "HIGHS" else {}
    info = solve_cvxpy(model.problem, name="V2G pricing game", kind="milp", solver=solver, **opts)
    n_t = model.forecast_eur_per_mwh.size
    rows: dict[str, FArray] = {}
    gaps, dgaps, binding = [0.0], [0.0], []
    starts = dict(
        zip(model.classes.index.astype(str), model.classes["start_h"].to_numpy(int), strict=True)
    )
    for cid, kkt in model.kkts.items():
        cert = kkt.certificate(tolerance)
        gaps.append(cert.max_gap)
        dgaps.append(cert.max_duality_gap)
        a = starts[cid]
        x = np.zeros(n_t)
        x[a : a + kkt.lower.n_vars] = np.asarray(kkt.y.value, dtype=float)[0]
        rows[cid] = x
        bb = kkt.binding_bigm()
        if len(bb):
            binding.append(bb.assign(follower=cid))
    rows.update(model.fixed_x)
    class_kwh = pd.DataFrame(rows).T.reindex(model.classes.index.astype(str))
    bind = (
        pd.concat(binding, ignore_index=True)
        if binding
        else pd.DataFrame(columns=["family", "follower", "index", "value", "bound"])
    )
    return PricingResult(
        price_eur_per_kwh=np.asarray(model.price.value, dtype=float),
        class_kwh=class_kwh,
        profit_eur=info.objective,
        certificate_gap=max(gaps),
        duality_gap=max(dgaps),
        binding_bigm=bind,
        info=info,
    )


def follower_response(
    price_eur_per_kwh: npt.ArrayLike,
    start_h: npt.ArrayLike,
    end_h: npt.ArrayLike,
    energy_kwh: npt.ArrayLike,
    p_max_kw: npt.ArrayLike,
    tie_price_eur_per_mwh: npt.ArrayLike,
) -> FArray:
    """Exact optimal purchase of each user (row) for fixed prices, optimistic ties [kWh].

    The follower LP ``min λᵀx, Σ_W x = E, 0 ≤ x ≤ P`` is a fractional knapsack: fill the
    window's hours in increasing ``λ`` at full power until ``E`` is reached. Among hours
    of equal price (within 1e-7 EUR/kWh) the one with the lowest ``tie_price`` (the
    aggregator's purchase price) comes first — the leader-optimal response, as in the
    MILP. Vectorised over users; returns users × hours.
    """
    lam = np.round(as_finite_array("price_eur_per_kwh", price_eur_per_kwh, ndim=1), _TIE_DECIMALS)
    tie = as_finite_array("tie_price_eur_per_mwh", tie_price_eur_per_mwh, ndim=1)
    a = np.asarray(start_h, dtype=int)[:, None]
    b = np.asarray(end_h, dtype=int)[:, None]
    e = np.asarray(energy_kwh, dtype=float)[:, None]
    p = np.asarray(p_max_kw, dtype=float)[:, None]
    t = np.arange(lam.size)[None, :]
    inside = (t >= a) & (t < b)
    # lexicographic order (price, tie price) inside the window; outside hours last
    rank_key = np.where(inside, 0, 1)
    order = np.lexsort(
        (np.broadcast_to(tie, inside.shape), np.broadcast_to(lam, inside.shape), rank_key), axis=1
    )
    pos = np.arange(lam.size)[None, :]
    filled = np.clip(e - p * pos, 0.0, p)  # energy in the k-th cheapest hour
    x = np.zeros(inside.shape)
    np.put_along_axis(x, order, filled, axis=1)
    return np.where(inside, x, 0.0)


def leader_profit_eur(
    price_eur_per_kwh: npt.ArrayLike,
    x_kwh: npt.ArrayLike,
    weights: npt.ArrayLike,
    purchase_eur_per_mwh: npt.ArrayLike,
) -> float:
    """``Σ_k w_k Σ_t (λ_t − π_t/1000)·x_kt`` [EUR]: users' payments minus purchase."""
    lam = np.asarray(price_eur_per_kwh, dtype=float)
    pi = np.asarray(purchase_eur_per_mwh, dtype=float) / 1000.0
    x = np.asarray(x_kwh, dtype=float)
    return float(np.asarray(weights, dtype=float) @ (x @ (lam - pi)))
