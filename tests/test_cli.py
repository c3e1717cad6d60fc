"""The ``evagg`` command: help, data listing, and errors as one-line messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from evagg.cli import app

runner = CliRunner()


def test_help_lists_command_groups() -> None:
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    assert "data" in res.output


def test_data_list_names_every_dataset() -> None:
    res = runner.invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for name in ("nl_day_ahead_prices", "elaad_charging_statistics", "seed003_microgrid_day"):
        assert name in res.output


def test_entry_point_turns_evagg_errors_into_exit_code_2(tmp_path: Path) -> None:
    # A command that fails on bad input must print one line naming the problem, not a
    # traceback; the console script calls the same `main`.
    code = (
        "import sys; from evagg.cli import main, app\n"
        "from evagg.errors import InputError\n"
        "@app.command('boom')\n"
        "def boom() -> None:\n"
        "    raise InputError('n', -1, 'must be >= 1')\n"
        "sys.argv = ['evagg', 'boom']; main()\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 2
    assert "InputError" in res.stderr and "n=-1" in res.stderr
    assert "Traceback" not in res.stderr


def test_demo_runs_every_step_and_writes_its_files(demo_dir: tuple[Path, list]) -> None:
    tmp_path = demo_dir[0]  # conftest: `evagg demo --html` once per session
    for rel in (
        "scenarios/scenario_day_2024-06-12.png",
        "bidding/bidding_decision.png",
        "reliability/v2g_bid_curve.png",
        "grid/ev_impact.png",
        "grid/ev/dlmp_heatmap.png",
    ):
        assert (tmp_path / rel).stat().st_size > 10_000, rel
    reduced = pd.read_csv(tmp_path / "scenarios" / "scenarios_reduced_2024-06-12.csv")
    # 10 kept scenarios x 24 hours, probabilities of the kept scenarios sum to 1.
    assert reduced["scenario"].nunique() == 10
    assert abs(reduced.groupby("scenario")["probability"].first().sum() - 1.0) < 1e-9
    summary = json.loads((tmp_path / "summary.json").read_text())
    bids = summary["bidding"]
    # Risk aversion (beta 0 -> 10) trades expected profit for CVaR (seed 002 Fig. 8).
    assert bids[1]["expected_profit_eur"] <= bids[0]["expected_profit_eur"] + 1e-6
    assert bids[1]["cvar95_eur"] >= bids[0]["cvar95_eur"] - 1e-6
    assert max(b["max_certificate_gap"] for b in bids) <= 1e-6
    rel = summary["reliability"]
    # The exact model's 0.95-bid never exceeds the expected offer.
    assert 0 < rel["bid_exact_kwh_1030"] <= rel["expected_kwh_1030"]
    assert summary["grid"]["hosting_vehicles"] > 0
    v2g = summary["v2g_pricing"]  # step 5 (seed 001): certified, perfect foresight best
    assert v2g["certificate_gap"] <= 1e-6 and v2g["loss_eur_hold"] >= -1e-6
    assert (tmp_path / "v2g_pricing" / "v2g_dispatch.png").stat().st_size > 10_000
    mg = summary["microgrid"]  # step 6 (seed 003 §6): one scenario, convex, AC-verified
    assert list(mg["cases"]) == ["R=0.95/convex"] and all(v["passed"] for v in mg["verifications"])
    case = mg["cases"]["R=0.95/convex"]
    assert case["v_violation_pu"] == 0.0
    assert 0.95 - 1e-6 <= case["v_min_pu"] <= case["v_max_pu"] <= 1.02 + 1e-6
    assert (tmp_path / "microgrid" / "voltage_profile.png").stat().st_size > 10_000
