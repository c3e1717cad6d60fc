"""``evagg reliability``: how much V2G energy can the fleet promise per slot (seed 003)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from evagg.cli._tables import OUT_ROOT
from evagg.errors import InputError


def _parse_bids(text: str) -> list[float]:
    try:
        bids = [float(b) for b in text.split(",") if b.strip()]
    except ValueError:
        raise InputError("--bids", text, "comma-separated numbers, e.g. 950,1000,1100") from None
    if not bids or any(not np.isfinite(b) or b < 0 for b in bids):
        raise InputError("--bids", text, "need at least one finite bid >= 0")
    return bids


def reliability_command(
    fleet_size: int = typer.Option(74, help="Synthetic fleet size (seed 003: 74 users)."),
    days: int = typer.Option(120, help="Days of synthetic history."),
    slot: str = typer.Option("10:30", help="Slot(s) of the reliability table, e.g. 10:30,13:30"),
    bids: str = typer.Option("950,1000,1100", help="Bids in kWh, comma-separated."),
    out: Annotated[Path, typer.Option(help="Output folder.")] = OUT_ROOT / "reliability",
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
    from evagg.studies.reliability_day import METHODS, Config, run, write_outputs

    bid_list = _parse_bids(bids)
    slots = [s.strip() for s in slot.split(",") if s.strip()]
    alloc_slots = [a.strip() for a in allocation_slots.split(",") if a.strip()]
    cfg = Config(
        sessions=None if sessions is None else str(sessions),
        fleet_size=fleet_size,
        days=days,
        start=start,
        tz=tz,
        slots=tuple(slots),
        bids_kwh=tuple(bid_list),
        basis=basis,
        target=target,
        calibration_days=calibration_days,
        allocation_slots=tuple(alloc_slots),
        seed=seed,
    )
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("fleet", total=None)
        res = run(
            cfg,
            progress=lambda stage, i, n: bar.update(task, description=stage, completed=i, total=n),
        )
    write_outputs(res, out)
    if as_json:
        print(json.dumps(res.as_json(out), indent=2))
        return
    con = Console()
    model, table, real, alloc = res.model, res.table, res.realised_kwh, res.allocation
    for s in slots:
        t = model.slot(s)
        tab = Table(title=f"Reliability {res.day.date()} slot {s} (λ = {model.lam.loc[t]:.1f})")
        tab.add_column(escape("bid [kWh]"), justify="right")
        for m in METHODS:
            tab.add_column(m, justify="right")
        sub = table[table["slot"] == t]
        for b in bid_list:
            rel_b = sub[sub["bid_kwh"] == b].set_index("method")["reliability"].to_dict()
            tab.add_row(f"{b:g}", *[f"{rel_b[m]:.4f}" for m in METHODS])
        con.print(tab)
        bt = sub.groupby("method")["bid_at_target_kwh"].first()
        con.print(
            f"bid at R ≥ {target:g}: "
            + ", ".join(f"{m} {bt[m]:.1f} kWh" for m in METHODS)
            + f"; realised offer {real.loc[t]:.1f} kWh"
        )
    if alloc is not None:
        at = Table(title="Allocation of bids over the day: reliability (seed Table 7)")
        for col in ("slot", "bid [kWh]", "priority", "equal"):
            at.add_column(escape(col), justify="right")
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
    con.print(res.calibration.summary)
    con.print(f"files written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``reliability`` command."""
    app.command("reliability")(reliability_command)
