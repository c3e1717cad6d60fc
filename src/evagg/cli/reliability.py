"""``evagg reliability``: how much V2G energy can the fleet promise per slot (seed 003)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from evagg.errors import InputError
from evagg.fleet import Fleet, synthesize_fleet
from evagg.reliability import (
    allocation_reliability,
    bid_curve,
    bid_curve_figure,
    build_slot_model,
    calibrate,
    calibration_figure,
    classify_users,
    compare_classifications,
    delivered_kwh,
    fit_gaussian_mixture,
    monte_carlo_fleet,
    reliability_figure,
    reliability_table,
    user_mix_curves,
    user_mix_figure,
)


def _parse_bids(text: str) -> list[float]:
    try:
        bids = [float(b) for b in text.split(",") if b.strip()]
    except ValueError:
        raise InputError("--bids", text, "comma-separated numbers, e.g. 950,1000,1100") from None
    if not bids or any(not np.isfinite(b) or b < 0 for b in bids):
        raise InputError("--bids", text, "need at least one finite bid >= 0")
    return bids


def _load_fleet(
    sessions: Path | None, fleet_size: int, days: int, seed: int, tz: str, start: str
) -> Fleet:
    if sessions is None:
        return synthesize_fleet(fleet_size, days, start=start, seed=seed, tz=tz)
    from evagg.io import read_sessions

    df = read_sessions(sessions, tz=tz)
    fleet = Fleet.from_sessions(df)
    return Fleet(
        vehicles=fleet.vehicles.assign(user_type=classify_users(fleet)["user_type"]),
        sessions=fleet.sessions,
        start=fleet.start,
        end=fleet.end,
        step=fleet.step,
    )


def reliability_command(
    fleet_size: int = typer.Option(74, help="Synthetic fleet size (seed 003: 74 users)."),
    days: int = typer.Option(120, help="Days of synthetic history."),
    slot: str = typer.Option("10:30", help="Slot(s) of the reliability table, e.g. 10:30,13:30"),
    bids: str = typer.Option("950,1000,1100", help="Bids in kWh, comma-separated."),
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("reliability_out"),
    sessions: Annotated[
        Path | None, typer.Option(help="Session CSV (real data) instead of a synthetic fleet.")
    ] = None,
    basis: str = typer.Option("energy", help="'energy' (seed: V2G energy stock) or 'power'."),
    target: float = typer.Option(0.95, help="Reliability target of the bid curve."),
    calibration_days: int = typer.Option(30, help="Held-out days of the calibration."),
    seed: int = typer.Option(0, help="Random seed of the synthetic fleet."),
    tz: str = typer.Option("Europe/Amsterdam", help="Time zone."),
    start: str = typer.Option("2024-03-04", help="First day of the synthetic fleet."),
    allocation_slots: str = typer.Option(
        "10:00,18:30", help="Slots of the priority-vs-equal allocation table (seed Table 7)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
) -> None:
    """Reliability of V2G bids: Table 5-style table, day bid curve, calibration plot.

    The target day is the fleet's last day, the days before it are the history. Bids are
    kWh of V2G energy: with basis 'energy' (seed 003) the energy the plugged-in vehicles
    hold for the slot; with basis 'power' the energy they can deliver within the slot.
    """
    bid_list = _parse_bids(bids)
    slots = [s.strip() for s in slot.split(",") if s.strip()]
    console = Console(stderr=True)
    fleet = _load_fleet(sessions, fleet_size, days, seed, tz, start)
    day = fleet.end - pd.Timedelta(days=1)
    model = build_slot_model(fleet, day, basis=basis)
    methods = ("poisson", "exact", "gmm")
    table = reliability_table(model, slots, bid_list, methods=methods, target=target)
    curve = bid_curve(model, target=target)
    real = delivered_kwh(fleet, model)
    n_test = max(1, min(calibration_days, fleet.days - 15))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("calibration (held-out days)", total=n_test)
        cal = calibrate(
            fleet,
            first_day=fleet.end - pd.Timedelta(days=n_test),
            window_days=56,
            basis=basis,
            target=target,
            slot_stride=2,
            progress=lambda i, n: bar.update(task, completed=i),
        )
    out.mkdir(parents=True, exist_ok=True)
    wide = table.pivot_table(
        index="bid_kwh", columns=["slot", "method"], values="reliability"
    ).sort_index()
    wide.to_csv(out / "reliability_table.csv")
    curve.assign(realised_kwh=real).to_csv(out / "bid_curve.csv")
    cal.table.to_csv(out / "calibration.csv", index=False)
    cal.summary.to_csv(out / "calibration_summary.csv")
    alloc_slots = [a.strip() for a in allocation_slots.split(",") if a.strip()]
    alloc = None
    if alloc_slots:
        base = np.array([curve["bid_exact_kwh"].iloc[model.pos(a)] for a in alloc_slots])
        # both slots draw on the same energy (eq. 8): scenarios well below single-slot bids
        rows = np.outer([0.4, 0.5, 0.6, 0.7, 0.8], base).round(0)
        alloc = allocation_reliability(fleet, day, alloc_slots, rows, n_samples=20_000, seed=seed)
        alloc.to_csv(out / "allocation.csv", index=False)
    if sessions is None:
        # seed Table 8 / Fig. 7: 74-vehicle mixes drawn by type from a larger fleet
        pool = synthesize_fleet(8 * fleet_size, days, start=start, seed=seed + 1, tz=tz)
        mix_grid = np.linspace(0.0, 1.5 * float(curve["expected_kwh"].max()), 60)
        lam_mix, mix_curves = user_mix_curves(
            pool, day, slots[0], mix_grid, n_vehicles=fleet_size, seed=seed
        )
        lam_mix.to_csv(out / "user_mix.csv")
        mix_curves.to_csv(out / "user_mix_curves.csv")
        user_mix_figure(mix_curves, target).savefig(out / "user_mix.png", dpi=120)
    gm_rows = []
    for s in slots:
        k = model.pos(s)
        sample = monte_carlo_fleet(
            model.p.to_numpy()[k], model.v_kwh.to_numpy()[k], 20_000, seed=seed
        )
        gm = fit_gaussian_mixture(sample, seed=seed)
        row: dict[str, float | str] = {"slot": s, "k": gm.k}
        for j in range(2):
            row[f"mu_{j + 1}_kwh"] = float(gm.means[j]) if j < gm.k else float("nan")
            row[f"sigma_{j + 1}_kwh"] = float(gm.sds[j]) if j < gm.k else float("nan")
            row[f"beta_{j + 1}"] = float(gm.weights[j]) if j < gm.k else 0.0
        row.update(sse=gm.sse, sst=gm.sst, r2=gm.r2)
        gm_rows.append(row)
    pd.DataFrame(gm_rows).to_csv(out / "gaussian_mixture_fit.csv", index=False)
    comp = compare_classifications(fleet, seed=seed)
    comp.to_csv(out / "classification_comparison.csv")
    grid = np.linspace(0.0, max(max(bid_list), float(curve["expected_kwh"].max())) * 1.3, 80)
    from evagg.reliability import reliability_curves

    figs: dict[str, pd.Series] = {}
    for m in ("poisson", "exact"):
        rel, _ = reliability_curves(model, grid, m, target)
        for s in slots:
            figs[f"{s} {m}"] = pd.Series(rel.to_numpy()[model.pos(s)], index=grid)
    reliability_figure(figs, target).savefig(out / "reliability_curves.png", dpi=120)
    bid_curve_figure(curve, real, target).savefig(out / "bid_curve.png", dpi=120)
    calibration_figure(cal).savefig(out / "calibration.png", dpi=120)

    slot_out: dict[str, object] = {}
    result: dict[str, object] = {
        "day": str(day.date()),
        "basis": basis,
        "unit": "kWh of V2G energy" + (" per slot" if basis == "power" else " (stock)"),
        "n_vehicles": fleet.n_vehicles,
        "target": target,
        "slots": slot_out,
        "calibration": cal.summary.reset_index().to_dict(orient="records"),
        "allocation": []
        if alloc is None
        else alloc.assign(slot=alloc["slot"].astype(str)).to_dict(orient="records"),
        "out": str(out),
    }
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
    with open(out / "result.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    con = Console()
    for s in slots:
        t = model.slot(s)
        tab = Table(title=f"Reliability {day.date()} slot {s} (λ = {model.lam.loc[t]:.1f})")
        tab.add_column("bid [kWh]", justify="right")
        for m in methods:
            tab.add_column(m, justify="right")
        sub = table[table["slot"] == t]
        for b in bid_list:
            rel_b = sub[sub["bid_kwh"] == b].set_index("method")["reliability"].to_dict()
            tab.add_row(f"{b:g}", *[f"{rel_b[m]:.4f}" for m in methods])
        con.print(tab)
        bt = sub.groupby("method")["bid_at_target_kwh"].first()
        con.print(
            f"bid at R ≥ {target:g}: "
            + ", ".join(f"{m} {bt[m]:.1f} kWh" for m in methods)
            + f"; realised offer {real.loc[t]:.1f} kWh"
        )
    if alloc is not None:
        at = Table(title="Allocation of bids over the day: reliability (seed Table 7)")
        for col in ("slot", "bid [kWh]", "priority", "equal"):
            at.add_column(col, justify="right")
        wide = alloc.pivot_table(index=["row", "slot"], columns="rule", values="reliability")
        bid_of = alloc.groupby(["row", "slot"])["bid_kwh"].first().to_dict()
        for key, r in wide.iterrows():
            at.add_row(
                str(pd.Timestamp(key[1]).strftime("%H:%M")),  # type: ignore[index]
                f"{bid_of[key]:g}",
                f"{r['priority']:.4f}",
                f"{r['equal']:.4f}",
            )
        con.print(at)
    con.print(cal.summary)
    con.print(f"files written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``reliability`` command."""
    app.command("reliability")(reliability_command)
