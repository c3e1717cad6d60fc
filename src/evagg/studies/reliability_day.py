"""How much V2G energy an EV fleet can promise per slot of one day, and how reliably (seed 003).

Case: a fleet (synthetic, 74 users of the seed's three types by default, or read from a
user's charging-session CSV); the target day is the fleet's last day and the days
before it are the history. The study computes, with :mod:`evagg.reliability`:

1. the reliability of given bids at chosen slots by compound Poisson (seed eq. 8), the
   exact Poisson-binomial sum and a Gaussian mixture (seed Table 5);
2. the day's bid curve at a reliability target, against the energy really offered;
3. an out-of-sample calibration on held-out days;
4. the reliability of priority vs equal allocation of bids over two slots (seed Table 7);
5. for a synthetic fleet, the effect of the user-type mix (seed Table 8 / Fig. 7);
6. Gaussian-mixture fits of the Monte Carlo offer per slot and the comparison of user
   classifications (rule vs k-means vs synthetic labels).

:func:`run` computes everything and writes nothing; :func:`write_outputs` writes the
tables, figures and ``result.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from evagg._checks import IsoDate, TimeZoneName
from evagg.errors import InputError
from evagg.fleet import Fleet, synthesize_fleet
from evagg.io import read_sessions
from evagg.reliability import (
    CalibrationResult,
    MonteCarloCheck,
    SlotModel,
    allocation_reliability,
    bid_curve,
    build_slot_model,
    calibrate,
    classify_users,
    compare_classifications,
    delivered_kwh,
    fit_gaussian_mixture,
    monte_carlo_agreement,
    monte_carlo_fleet,
    reliability_curves,
    reliability_table,
    user_mix_curves,
)
from evagg.studies.base import SEED_MAX_32, StudyConfig, Verification, mc_verification

__all__ = [
    "METHODS",
    "Config",
    "ReliabilityDayResult",
    "load_fleet",
    "run",
    "run_fleet",
    "write_outputs",
]

METHODS = ("poisson", "exact", "gmm")
"""Reliability methods of the slot table: compound Poisson, exact sum, Gaussian mixture."""

ALLOCATION_SHARES = (0.4, 0.5, 0.6, 0.7, 0.8)
"""Scenarios of the allocation table, as shares of each slot's single-slot exact bid."""


@dataclass(frozen=True)
class ReliabilityDayResult:
    """Everything the reliability day computes (tables and the data behind each figure).

    Attributes
    ----------
    fleet
        The fleet studied (``user_type`` per vehicle).
    model
        Slot model of the target day (presence, V2G energy per vehicle and slot).
    slots, bids_kwh, target
        Slots (``"HH:MM"``) of the table, bids [kWh] and reliability target.
    table
        Long reliability table: slot, bid_kwh, method, reliability, bid_at_target_kwh.
    curve
        Bid curve of the day per slot [kWh].
    realised_kwh
        Energy the fleet really offered per slot on the target day [kWh].
    calibration
        Out-of-sample calibration on held-out days.
    allocation
        Priority vs equal allocation table, or ``None`` without allocation slots.
    user_mix_lambda, user_mix_curves
        λ per user mix and reliability curves per mix (synthetic fleets only, else
        ``None``).
    gaussian_mixture
        Gaussian-mixture fit of the Monte Carlo offer per slot.
    classification
        Rule vs k-means vs synthetic user classes.
    reliability_curves
        Reliability vs bid per ``"<slot> <method>"`` (the reliability-curves figure).
    summary_data
        JSON-ready summary (``result.json`` without its ``out`` key; :meth:`summary`).
    monte_carlo
        Exact vs Monte Carlo reliability of the exact bid at the target, per table slot.
    """

    fleet: Fleet
    model: SlotModel
    slots: tuple[str, ...]
    bids_kwh: tuple[float, ...]
    target: float
    table: pd.DataFrame
    curve: pd.DataFrame
    realised_kwh: pd.Series
    calibration: CalibrationResult
    allocation: pd.DataFrame | None
    user_mix_lambda: pd.DataFrame | None
    user_mix_curves: pd.DataFrame | None
    gaussian_mixture: pd.DataFrame
    classification: pd.DataFrame
    reliability_curves: dict[str, pd.Series]
    summary_data: dict[str, object]
    monte_carlo: tuple[MonteCarloCheck, ...] = ()

    @property
    def day(self) -> pd.Timestamp:
        """Target day (local midnight)."""
        return self.model.day

    def as_json(self, out_dir: str | Path) -> dict[str, object]:
        """``result.json``'s content: :attr:`summary` plus the output folder."""
        return {**self.summary_data, "out": str(out_dir)}

    def summary(self) -> dict[str, object]:
        """JSON-able key numbers (reliability per slot and bid, calibration, allocation)."""
        return self.summary_data

    @property
    def verifications(self) -> list[Verification]:
        """Monte Carlo agreement of the exact reliability at each table slot."""
        return [mc_verification(c) for c in self.monte_carlo]


def load_fleet(
    sessions: str | Path | None,
    fleet_size: int = 74,
    days: int = 120,
    seed: int = 0,
    tz: str = "Europe/Amsterdam",
    start: str = "2024-03-04",
) -> Fleet:
    """The study's fleet: synthetic, or read from a session CSV and classified by rule.

    With ``sessions`` the file is read by :func:`evagg.io.read_sessions` and each vehicle's
    ``user_type`` is its rule class (:func:`evagg.reliability.classify_users`); otherwise
    ``fleet_size`` vehicles over ``days`` days from ``start`` are synthesised with ``seed``.
    """
    if sessions is None:
        return synthesize_fleet(fleet_size, days, start=start, seed=seed, tz=tz)
    fleet = Fleet.from_sessions(read_sessions(sessions, tz=tz))
    return Fleet(
        vehicles=fleet.vehicles.assign(user_type=classify_users(fleet)["user_type"]),
        sessions=fleet.sessions,
        start=fleet.start,
        end=fleet.end,
        step=fleet.step,
    )


def _gaussian_mixture_table(
    model: SlotModel, slots: Sequence[str], n_samples: int, seed: int
) -> pd.DataFrame:
    """Two-component (at most) Gaussian-mixture fit of the Monte Carlo offer per slot."""
    rows = []
    for s in slots:
        k = model.pos(s)
        sample = monte_carlo_fleet(
            model.p.to_numpy()[k], model.v_kwh.to_numpy()[k], n_samples, seed=seed
        )
        gm = fit_gaussian_mixture(sample, seed=seed)
        row: dict[str, float | str] = {"slot": s, "k": gm.k}
        for j in range(2):
            row[f"mu_{j + 1}_kwh"] = float(gm.means[j]) if j < gm.k else float("nan")
            row[f"sigma_{j + 1}_kwh"] = float(gm.sds[j]) if j < gm.k else float("nan")
            row[f"beta_{j + 1}"] = float(gm.weights[j]) if j < gm.k else 0.0
        row.update(sse=gm.sse, sst=gm.sst, r2=gm.r2)
        rows.append(row)
    return pd.DataFrame(rows)


def _summary(
    fleet: Fleet,
    model: SlotModel,
    slots: Sequence[str],
    table: pd.DataFrame,
    real: pd.Series,
    cal: CalibrationResult,
    alloc: pd.DataFrame | None,
    target: float,
) -> dict[str, object]:
    slot_out: dict[str, object] = {}
    for s in slots:
        t = model.slot(s)
        sub = table[table["slot"] == t]
        slot_out[s] = {
            "lambda": float(model.lam.loc[t]),
            "realised_kwh": float(real.loc[t]),
            "reliability": {
                m: {f"{b:g}": float(r) for b, r in zip(g["bid_kwh"], g["reliability"], strict=True)}
                for m, g in sub.groupby("method")
            },
            "bid_at_target_kwh": {
                m: float(g["bid_at_target_kwh"].iloc[0]) for m, g in sub.groupby("method")
            },
        }
    return {
        "day": str(model.day.date()),
        "basis": model.basis,
        "unit": "kWh of V2G energy" + (" per slot" if model.basis == "power" else " (stock)"),
        "n_vehicles": fleet.n_vehicles,
        "target": target,
        "slots": slot_out,
        "calibration": cal.summary.reset_index().to_dict(orient="records"),
        "allocation": []
        if alloc is None
        else alloc.assign(slot=alloc["slot"].astype(str)).to_dict(orient="records"),
    }


class Config(StudyConfig):
    """Reliability day: how much V2G energy a fleet can promise per slot (seed 003)."""

    seed_max: ClassVar[int] = SEED_MAX_32  # seeds scikit-learn (k-means, mixtures)

    sessions: str | None = Field(
        default=None, description="Session CSV (real data) instead of a synthetic fleet."
    )
    fleet_size: int = Field(
        default=74, ge=1, le=1_000_000, description="Synthetic fleet size (seed: 74)."
    )
    days: int = Field(default=120, ge=2, le=3660, description="Days of synthetic history.")
    start: IsoDate = Field(default="2024-03-04", description="First day of the synthetic fleet.")
    tz: TimeZoneName = Field(default="Europe/Amsterdam", description="Time zone.")
    slots: tuple[str, ...] = Field(default=("10:30",), description="Slots of the table.")
    bids_kwh: tuple[float, ...] = Field(
        default=(950.0, 1000.0, 1100.0), description="Bids of the table [kWh]."
    )
    basis: str = Field(default="energy", description="'energy' (seed 003) or 'power'.")
    target: float = Field(default=0.95, gt=0, lt=1, description="Reliability target.")
    calibration_days: int = Field(default=30, ge=1, description="Held-out days.")
    allocation_slots: tuple[str, ...] = Field(
        default=("10:00", "18:30"), description="Slots of the allocation table."
    )
    user_mix: bool | None = Field(
        default=None, description="Study the user-type mix (default: synthetic fleets only)."
    )
    seed: int = Field(default=0, description="Seed of the fleet and every Monte Carlo step.")

    @model_validator(mode="after")
    def _check(self) -> Config:
        for field in ("slots", "allocation_slots"):
            for s in getattr(self, field):
                if not _HHMM.match(s):
                    raise InputError(field, s, "a slot is a local time of day HH:MM, e.g. 10:30")
        if not self.slots:
            raise InputError("slots", self.slots, "need at least one slot")
        if not self.bids_kwh or min(self.bids_kwh) < 0:
            raise InputError("bids_kwh", self.bids_kwh, "need at least one bid, all >= 0 kWh")
        if self.basis not in ("energy", "power"):
            raise InputError("basis", self.basis, "must be 'energy' or 'power'")
        if self.sessions is None:
            check_calibration_days(self.calibration_days, self.days)
        return self


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

HISTORY_DAYS_MIN = 15
"""Days of history the calibration keeps before its first held-out day."""


def check_calibration_days(calibration_days: int, days: int) -> int:
    """Held-out days of the calibration: 1 .. ``days`` − :data:`HISTORY_DAYS_MIN` (raised,
    never clamped silently)."""
    hi = days - HISTORY_DAYS_MIN
    if hi < 1:
        raise InputError(
            "days", days, f"the calibration needs more than {HISTORY_DAYS_MIN} days of history"
        )
    if not 1 <= calibration_days <= hi:
        raise InputError(
            "calibration_days",
            calibration_days,
            f"must be in [1, {hi}] = days ({days}) − {HISTORY_DAYS_MIN} history days",
        )
    return int(calibration_days)


def run(
    config: Config, progress: Callable[[str, int, int], None] | None = None
) -> ReliabilityDayResult:
    """Run the reliability day from a :class:`Config` (fleet loaded or synthesised)."""
    fleet = load_fleet(
        config.sessions, config.fleet_size, config.days, config.seed, config.tz, config.start
    )
    return run_fleet(
        fleet,
        config.slots,
        config.bids_kwh,
        basis=config.basis,
        target=config.target,
        calibration_days=config.calibration_days,
        allocation_slots=config.allocation_slots,
        user_mix=config.sessions is None if config.user_mix is None else config.user_mix,
        seed=config.seed,
        progress=progress,
    )


def run_fleet(
    fleet: Fleet,
    slots: Sequence[str] = ("10:30",),
    bids_kwh: Sequence[float] = (950.0, 1000.0, 1100.0),
    *,
    basis: str = "energy",
    target: float = 0.95,
    calibration_days: int = 30,
    allocation_slots: Sequence[str] = ("10:00", "18:30"),
    user_mix: bool = False,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> ReliabilityDayResult:
    """Run the reliability day on a given ``fleet``; nothing is written (see
    :func:`write_outputs`).

    Parameters
    ----------
    fleet
        Fleet with history; its last day is the target day (see :func:`load_fleet`).
    slots
        Slots ``"HH:MM"`` of the reliability table; the first one is the user-mix slot.
    bids_kwh
        Bids [kWh] of the reliability table.
    basis
        ``"energy"`` (seed 003: V2G energy stock of the plugged-in vehicles) or
        ``"power"`` (energy deliverable within the slot).
    target
        Reliability target of the bid curve and the calibration.
    calibration_days
        Held-out days of the calibration (at most the fleet's days − 15, at least 1),
        each with a 56-day window.
    allocation_slots
        Slots of the priority-vs-equal allocation table (empty: skip). Both slots draw
        on the same energy (eq. 8), so the scenarios are :data:`ALLOCATION_SHARES` of the
        single-slot exact bids, rounded to kWh; 20 000 Monte Carlo samples.
    user_mix
        Study the user-type mix (seed Table 8 / Fig. 7): fleets of ``fleet.n_vehicles``
        drawn per seed mix from a synthetic pool 8 times larger over the same days
        (seed ``seed + 1``), at the first slot. Meant for synthetic fleets.
    seed
        Seed of every Monte Carlo step, mixture fit and k-means.
    progress
        Called with ``(stage, done, total)`` as the study advances (the CLI drives a
        progress bar); the calibration reports each held-out day.
    """
    tick = progress or (lambda _stage, _done, _total: None)
    slots = tuple(slots)
    bids = tuple(float(b) for b in bids_kwh)
    tick("slot model and reliability table", 0, 1)
    day = fleet.end - pd.Timedelta(days=1)
    model = build_slot_model(fleet, day, basis=basis)
    table = reliability_table(model, list(slots), list(bids), methods=METHODS, target=target)
    curve = bid_curve(model, target=target)
    real = delivered_kwh(fleet, model)
    n_test = check_calibration_days(calibration_days, fleet.days)
    tick("calibration (held-out days)", 0, n_test)
    cal = calibrate(
        fleet,
        first_day=fleet.end - pd.Timedelta(days=n_test),
        window_days=56,
        basis=basis,
        target=target,
        slot_stride=2,
        progress=lambda i, n: tick("calibration (held-out days)", i, n),
    )
    alloc = None
    if allocation_slots:
        tick("allocation", 0, 1)
        base = np.array([curve["bid_exact_kwh"].iloc[model.pos(a)] for a in allocation_slots])
        rows = np.outer(ALLOCATION_SHARES, base).round(0)
        alloc = allocation_reliability(
            fleet, day, list(allocation_slots), rows, n_samples=20_000, seed=seed
        )
    lam_mix = mix_curves = None
    if user_mix:
        tick("user mix", 0, 1)
        pool = synthesize_fleet(
            8 * fleet.n_vehicles,
            fleet.days,
            start=fleet.start,
            seed=seed + 1,
            tz=str(fleet.start.tz),
        )
        mix_grid = np.linspace(0.0, 1.5 * float(curve["expected_kwh"].max()), 60)
        lam_mix, mix_curves = user_mix_curves(
            pool, day, slots[0], mix_grid, n_vehicles=fleet.n_vehicles, seed=seed
        )
    tick("Gaussian mixtures", 0, 1)
    gm = _gaussian_mixture_table(model, slots, 20_000, seed)
    tick("classification", 0, 1)
    comp = compare_classifications(fleet, seed=seed)
    tick("reliability curves", 0, 1)
    grid = np.linspace(0.0, max(max(bids), float(curve["expected_kwh"].max())) * 1.3, 80)
    figs: dict[str, pd.Series] = {}
    for m in ("poisson", "exact"):
        rel, _ = reliability_curves(model, grid, m, target)
        for s in slots:
            figs[f"{s} {m}"] = pd.Series(rel.to_numpy()[model.pos(s)], index=grid)
    return ReliabilityDayResult(
        fleet=fleet,
        model=model,
        slots=slots,
        bids_kwh=bids,
        target=target,
        table=table,
        curve=curve,
        realised_kwh=real,
        calibration=cal,
        allocation=alloc,
        user_mix_lambda=lam_mix,
        user_mix_curves=mix_curves,
        gaussian_mixture=gm,
        classification=comp,
        reliability_curves=figs,
        summary_data=_summary(fleet, model, slots, table, real, cal, alloc, target),
        monte_carlo=tuple(
            monte_carlo_agreement(
                model, s, float(curve["bid_exact_kwh"].iloc[model.pos(s)]), seed=seed
            )
            for s in slots
        ),
    )


def write_outputs(result: ReliabilityDayResult, out_dir: str | Path) -> list[Path]:
    """Write the study's tables (CSV), figures (PNG) and ``result.json`` to ``out_dir``.

    Returns the paths written.
    """
    from evagg.report.reliability import (
        bid_curve_figure,
        calibration_figure,
        reliability_figure,
        user_mix_figure,
    )

    case = f"fleet of {result.fleet.n_vehicles} EVs"
    date = str(result.day.date())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def path(name: str) -> Path:
        written.append(out / name)
        return out / name

    wide = result.table.pivot_table(
        index="bid_kwh", columns=["slot", "method"], values="reliability"
    ).sort_index()
    wide.to_csv(path("reliability_table.csv"))
    result.curve.assign(realised_kwh=result.realised_kwh).to_csv(path("bid_curve.csv"))
    result.calibration.table.to_csv(path("calibration.csv"), index=False)
    result.calibration.summary.to_csv(path("calibration_summary.csv"))
    if result.allocation is not None:
        result.allocation.to_csv(path("allocation.csv"), index=False)
    if result.user_mix_lambda is not None and result.user_mix_curves is not None:
        result.user_mix_lambda.to_csv(path("user_mix.csv"))
        result.user_mix_curves.to_csv(path("user_mix_curves.csv"))
        user_mix_figure(result.user_mix_curves, result.target, case, date).savefig(
            path("user_mix.png"), dpi=120
        )
    result.gaussian_mixture.to_csv(path("gaussian_mixture_fit.csv"), index=False)
    result.classification.to_csv(path("classification_comparison.csv"))
    reliability_figure(result.reliability_curves, result.target, case, date).savefig(
        path("reliability_curves.png"), dpi=120
    )
    bid_curve_figure(result.curve, result.realised_kwh, result.target, case).savefig(
        path("bid_curve.png"), dpi=120
    )
    first = result.calibration.table
    cal_date = date
    if "day" in first:
        cal_date = f"{first['day'].min()} .. {first['day'].max()}"
    calibration_figure(result.calibration, case, cal_date).savefig(path("calibration.png"), dpi=120)
    with open(path("result.json"), "w", encoding="utf-8") as fh:
        json.dump(result.as_json(out), fh, indent=2)
    return written
