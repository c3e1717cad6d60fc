"""Microgrid voltage coordination with PV and a reliability-limited EVA (seed 003 §6).

``run(Config(...))``: the 74-vehicle fleet's bids per reliability level (exact model,
power basis) → one microgrid day per scenario (reliability 0.95 / 0.84 / 0.55 and
"none" = no EVA, disturbance at the 0.95 bid) → convex SOCP and/or GA per scenario →
every dispatch scored by the same AC evaluation of eq. (13) → losses in T1/T2, voltage
range, economics (eqs. 21–24). ``write_outputs`` writes tables, figures, summary.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import field_validator

from evagg.errors import VerificationError
from evagg.studies.base import (
    SEED_MAX_32,
    StudyConfig,
    Verification,
    write_json,
    write_tables,
    write_verifications,
)

__all__ = ["Config", "MicrogridResult", "demo_step", "run", "write_outputs"]

PERIODS = {"T1": ("10:30", "14:30"), "T2": ("19:00", "22:00")}
"""Seed 003 §6.2 peak periods of the loss comparison."""


class Config(StudyConfig):
    """Options of the microgrid study (seed 003 §6)."""

    seed_max: ClassVar[int] = SEED_MAX_32  # seeds pymoo's GA (np.random.seed)

    eva_node: int = 30
    disturbance: str = "pv"
    reliability: tuple[float, ...] = (0.95, 0.84, 0.55)
    include_no_eva: bool = True
    methods: tuple[str, ...] = ("convex", "ga")
    fleet_size: int = 74
    history_days: int = 60
    ga_generations: int = 30
    ga_stop: str = "generations"
    ga_population: int = 40
    seed: int = 0
    window_start: str | None = None
    window_end: str | None = None

    @field_validator("eva_node")
    @classmethod
    def _node(cls, v: int) -> int:
        from evagg.microgrid import seed_node_to_bus

        seed_node_to_bus(v, "eva_node")
        if v == 1:
            raise ValueError("eva_node=1 is the substation")
        return v  # any feeder node other than the substation; the seed studied 14, 16, 23, 30

    @field_validator("disturbance")
    @classmethod
    def _dist(cls, v: str) -> str:
        if v not in ("pv", "load"):
            raise ValueError(f"disturbance={v!r}: must be 'pv' or 'load'")
        return v

    @field_validator("reliability")
    @classmethod
    def _rel(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        from evagg.microgrid.eva import check_levels

        return check_levels(v)

    @field_validator("ga_stop")
    @classmethod
    def _ga_stop(cls, v: str) -> str:
        if v not in ("generations", "stall"):
            raise ValueError(
                f"ga_stop={v!r}: 'generations' (ga_generations) or 'stall' (the seed's "
                "MATLAB rule: 50 generations improving <= 1e-6)"
            )
        return v

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in v if m not in ("convex", "ga")]
        if bad or not v:
            raise ValueError(f"methods={v!r}: choose from 'convex', 'ga'")
        return v

    @field_validator("fleet_size", "history_days", "ga_generations", "ga_population")
    @classmethod
    def _positive(cls, v: int) -> int:
        if not 2 <= v <= 1_000_000:
            raise ValueError(f"{v}: must be in [2, 1000000]")
        return v


@dataclass(frozen=True)
class MicrogridResult:
    """Tables and figure data of the microgrid study.

    Attributes
    ----------
    config
        The configuration.
    bids_kw
        Bid per slot and reliability level [kW] (the 0.95 column is the reliable power).
    cases
        One row per (scenario, method): AC-evaluated objective, terms, time, voltage
        range, losses T1/T2, tie-line fluctuation, relaxation gap.
    economics
        One row per (scenario, method): eqs. (21)–(24) day totals [$].
    voltages
        ``(scenario, method) → V (N, T)`` [pu] from the AC evaluation.
    series
        Per-slot losses [kW] and tie-line power [kW] per (scenario, method) (long).
    ga_curves
        ``scenario → best penalised fitness per generation``.
    feeder
        The feeder (for profile figures).
    verifications
        Relaxation gaps, AC agreement, convex ≤ GA.
    """

    config: Config
    bids_kw: pd.DataFrame
    cases: pd.DataFrame
    economics: pd.DataFrame
    voltages: dict[tuple[str, str], np.ndarray]
    series: pd.DataFrame
    ga_curves: dict[str, np.ndarray]
    feeder: Any
    verifications: list[Verification] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """JSON-able key numbers per case."""
        rows: dict[str, object] = {}
        econ = {f"{e['scenario']}/{e['method']}": e for e in self.economics.to_dict("records")}
        for r in self.cases.to_dict("records"):
            key = f"{r['scenario']}/{r['method']}"
            rows[key] = {
                **{
                    k: round(float(r[k]), 6)
                    for k in (
                        "objective_ac",
                        "time_s",
                        "v_min_pu",
                        "v_max_pu",
                        "loss_T1_kwh",
                        "loss_T2_kwh",
                        "tie_kw",
                        "v_violation_pu",
                    )
                },
                "economics_usd": {
                    k: round(float(v), 2)
                    for k, v in econ[key].items()
                    if k not in ("scenario", "method")
                },
            }
        return {
            "eva_node": self.config.eva_node,
            "disturbance": self.config.disturbance,
            "cases": rows,
            "verifications": [v.__dict__ for v in self.verifications],
        }


def _period_mask(time: pd.DatetimeIndex, period: tuple[str, str]) -> np.ndarray:
    tod = time - time.normalize()
    lo, hi = (pd.Timedelta(f"{p}:00") for p in period)
    return np.asarray((tod >= lo) & (tod < hi))


def _scenarios(cfg: Config, bids: pd.DataFrame) -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = [(f"R={r:g}", r) for r in cfg.reliability]
    if cfg.include_no_eva:
        out.append(("no EVA", None))
    return out


def _fleet_bids(cfg: Config) -> tuple[pd.DataFrame, float, float]:
    from evagg.fleet import synthesize_fleet
    from evagg.microgrid.eva import eva_bids, fleet_limits
    from evagg.reliability import build_slot_model

    fleet = synthesize_fleet(cfg.fleet_size, cfg.history_days + 1, seed=cfg.seed)
    model = build_slot_model(fleet, fleet.end - pd.Timedelta(days=1), basis="power")
    levels = tuple(sorted(set(cfg.reliability) | {0.95}, reverse=True))
    bids = eva_bids(model, levels)
    if len(bids) != 96:
        raise VerificationError("fleet day slots", float(len(bids)), 96.0, "need a 96-slot day")
    e_max, s_kva = fleet_limits(fleet)
    return bids, e_max, s_kva


def _ga_progress(
    progress: Callable[[str, int, int], None] | None, name: str, step: int, total: int
) -> Callable[[int, int], None] | None:
    """The GA's per-generation callback, shown in the study's progress description."""
    if progress is None:
        return None
    report = progress

    def update(gen: int, n_gen: int) -> None:
        report(f"{name} GA generation {gen}/{n_gen}", step, total)

    return update


def run(config: Config, progress: Callable[[str, int, int], None] | None = None) -> MicrogridResult:
    """Run every scenario and method; no files, no figures."""
    from evagg.data import load_microgrid_day
    from evagg.grid import Feeder
    from evagg.microgrid import ACEvaluator, Dispatch, build_system
    from evagg.microgrid.convex import solve_convex
    from evagg.microgrid.economics import economics
    from evagg.microgrid.ga import solve_ga

    cfg = config
    day = load_microgrid_day()
    feeder = Feeder.from_pandapower()
    bids_df, e_max, s_kva = _fleet_bids(cfg)
    bids_df.index = day.index  # the fleet's day mapped slot by slot onto Table A1's day
    reliable = bids_df[0.95].to_numpy()
    window = (cfg.window_start, cfg.window_end) if cfg.window_start and cfg.window_end else None
    base = build_system(day, feeder, eva_node=None, disturbance="none")
    ref = ACEvaluator(base).evaluate(Dispatch.zeros(base)).reference()
    rows, econ_rows, series = [], [], []
    volts: dict[tuple[str, str], np.ndarray] = {}
    curves: dict[str, np.ndarray] = {}
    checks: list[Verification] = []
    scen = _scenarios(cfg, bids_df)
    total = len(scen) * len(cfg.methods)
    for i, (name, r) in enumerate(scen):
        bid = bids_df[r].to_numpy() if r is not None else reliable
        sysm = build_system(
            day,
            feeder,
            eva_node=cfg.eva_node if r is not None else None,
            bid_kw=bid,
            reliable_kw=reliable,
            disturbance=cfg.disturbance,
            eva_e_max_kwh=e_max,
            eva_s_kva=max(s_kva, 1.1 * float(bids_df.to_numpy().max())),
            window=window,
            label=name,
        )
        ev = ACEvaluator(sysm)
        results = {}
        for j, method in enumerate(cfg.methods):
            step = i * len(cfg.methods) + j
            if progress is not None:
                progress(f"{name} {method}", step, total)
            if method == "convex":
                c = solve_convex(sysm, ref, ev)
                d, t_s, gap, ac = c.dispatch, c.time_s, c.gap_rel, c.ac
                checks.append(
                    Verification(f"SOCP relaxation gap (rel), {name}", gap, 1e-4, gap <= 1e-4)
                )
                checks.append(
                    Verification(
                        f"SOCP vs AC max |dV| [pu], {name}",
                        c.ac_max_dv_pu,
                        1e-3,
                        c.ac_max_dv_pu <= 1e-3,
                        f"loss weight boost {c.loss_boost:g} for exactness",
                    )
                )
            else:
                g = solve_ga(
                    sysm,
                    ref,
                    ev,
                    n_gen=cfg.ga_generations if cfg.ga_stop == "generations" else None,
                    stall=cfg.ga_stop == "stall",
                    pop_size=cfg.ga_population,
                    seed=cfg.seed,
                    progress=_ga_progress(progress, name, step, total),
                )
                d, t_s, gap, ac = g.dispatch, g.time_s, float("nan"), None
                curves[name] = g.curve
            a = ac if ac is not None else ev.evaluate(d)
            obj = float(a.objective(ref, sysm.weights)[0])
            results[method] = obj
            v = a.v_pu[0]
            volts[(name, method)] = v
            loss = a.loss_kw[0]
            row = {
                "scenario": name,
                "method": method,
                "objective_ac": obj,
                "dev_pu": float(a.dev_pu[0]),
                "loss_kwh": float(a.loss_kwh[0]),
                "tie_kw": float(a.tie_kw[0]),
                "v_violation_pu": float(a.v_violation_pu[0]),
                "soc_violation": float(a.soc_violation[0]),
                "v_min_pu": float(v[1:].min()),
                "v_max_pu": float(v[1:].max()),
                "time_s": t_s,
                "gap_rel": gap,
                "v2g_kwh": float(d.p_ev_kw.sum() * sysm.dt_h),
            }
            for p_name, per in PERIODS.items():
                mask = _period_mask(sysm.time, per)
                row[f"loss_{p_name}_kwh"] = float(loss[mask].sum() * sysm.dt_h)
            rows.append(row)
            econ = economics(
                sysm.time,
                sysm.dt_h,
                load_kw=sysm.load_p_kw.sum(axis=0),
                loss_kw=loss,
                grid_kw=a.p0_kw[0],
                pv_kw=sysm.pv_p_kw.sum(axis=0),
                pv_error_kw=sysm.shortage_kw if cfg.disturbance == "pv" else np.zeros(96),
                bid_kw=sysm.bid_kw,
                reliable_kw=sysm.reliable_kw,
                ev_kw=d.p_ev_kw[0],
            )
            econ_rows.append({"scenario": name, "method": method, **econ})
            series.append(
                pd.DataFrame(
                    {
                        "time": sysm.time,
                        "scenario": name,
                        "method": method,
                        "loss_kw": loss,
                        "tie_kw": a.p0_kw[0],
                        "p_ev_kw": d.p_ev_kw[0],
                        "shortage_kw": sysm.shortage_kw,
                    }
                )
            )
        if "convex" in results and "ga" in results:
            ok = results["convex"] <= results["ga"] + 1e-9
            checks.append(
                Verification(
                    f"convex <= GA (AC objective), {name}",
                    results["convex"] - results["ga"],
                    0.0,
                    ok,
                )
            )
    cases = pd.DataFrame(rows)
    return MicrogridResult(
        config=cfg,
        bids_kw=bids_df,
        cases=cases,
        economics=pd.DataFrame(econ_rows),
        voltages=volts,
        series=pd.concat(series, ignore_index=True),
        ga_curves=curves,
        feeder=feeder,
        verifications=checks,
    )


def write_outputs(result: MicrogridResult, out_dir: str | Path) -> list[Path]:
    """Write ``cases.csv``, ``economics.csv``, ``bids.csv``, ``series.csv``, figures, summary."""
    from evagg.report.microgrid import write_figures

    out = Path(out_dir)
    bids = result.bids_kw.rename(columns=lambda c: f"bid_R{c:g}_kw")
    paths = write_tables(
        out,
        [
            ("cases.csv", result.cases, False),
            ("economics.csv", result.economics, False),
            ("bids.csv", bids, True),
            ("series.csv", result.series, False),
        ],
    )
    paths += write_figures(result, out)
    paths.append(write_json(out / "summary.json", result.summary()))
    paths.append(write_verifications(result.verifications, out))
    return paths


def demo_step(eva_node: int = 30, disturbance: str = "pv", seed: int = 0) -> MicrogridResult:
    """The demo's microgrid step: one scenario (reliability 0.95), convex only."""
    cfg = Config(
        eva_node=eva_node,
        disturbance=disturbance,
        seed=seed,
        reliability=(0.95,),
        include_no_eva=False,
        methods=("convex",),
        history_days=30,
    )
    return run(cfg)
