"""The reliability-day study (seed 003): reproducible summary and the files it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evagg.errors import InputError
from evagg.fleet import synthesize_fleet
from evagg.studies.reliability_day import load_fleet, write_outputs
from evagg.studies.reliability_day import run_fleet as run


def test_same_seed_same_summary_and_files(tmp_path: Path, captured_figures: list) -> None:
    a, b = (
        run(
            load_fleet(None, fleet_size=20, days=30, seed=4),
            ("10:30",),
            (100.0, 200.0),
            calibration_days=2,
            allocation_slots=("10:00", "18:30"),
            user_mix=True,
            seed=7,
        )
        for _ in range(2)
    )
    assert json.dumps(a.summary()) == json.dumps(b.summary())
    # the summary repeats the long table's numbers for the slot
    rel = a.summary()["slots"]["10:30"]["reliability"]  # type: ignore[index]
    t = a.model.slot("10:30")
    for _, r in a.table[a.table["slot"] == t].iterrows():
        assert rel[r["method"]][f"{r['bid_kwh']:g}"] == r["reliability"]
    files = write_outputs(a, tmp_path)
    names = {p.name for p in files}
    assert names == {
        "reliability_table.csv", "bid_curve.csv", "calibration.csv", "calibration_summary.csv",
        "allocation.csv", "user_mix.csv", "user_mix_curves.csv", "user_mix.png",
        "gaussian_mixture_fit.csv", "classification_comparison.csv", "reliability_curves.png",
        "bid_curve.png", "calibration.png", "result.json",
    }  # fmt: skip
    assert all(p.stat().st_size > 0 for p in files)
    written = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(a.as_json(tmp_path)))
    assert written["out"] == str(tmp_path) and written["n_vehicles"] == 20
    from conftest import assert_readable

    assert len(captured_figures) == 4  # user mix, reliability curves, bid curve, calibration
    for name, fig in captured_figures:
        assert_readable(name, fig)
    # the exact reliability agrees with a simulation of the same fleet
    assert a.verifications and all(c.passed for c in a.verifications)


def test_sessions_fleet_without_user_mix_or_allocation(tmp_path: Path) -> None:
    synthesize_fleet(12, 21, seed=2).sessions.to_csv(tmp_path / "s.csv", index=False)
    fleet = load_fleet(tmp_path / "s.csv")
    assert set(fleet.vehicles["user_type"]) <= {"short_commute", "long_commute", "residential"}
    res = run(fleet, ("20:00",), (50.0,), calibration_days=2, allocation_slots=(), seed=0)
    assert res.allocation is None and res.user_mix_curves is None
    assert res.summary()["allocation"] == []
    names = {p.name for p in write_outputs(res, tmp_path / "o")}
    assert not {"allocation.csv", "user_mix.csv", "user_mix.png"} & names


def test_slot_outside_the_day_is_an_input_error() -> None:
    fleet = load_fleet(None, fleet_size=10, days=20, seed=1)
    with pytest.raises(InputError):
        run(fleet, ("25:00",), (10.0,), calibration_days=1, allocation_slots=())
