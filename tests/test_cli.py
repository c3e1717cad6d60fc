"""The ``evagg`` command: help, data listing, and errors as one-line messages."""

from __future__ import annotations

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


def test_demo_writes_fan_chart_and_csv(tmp_path: Path) -> None:
    res = runner.invoke(app, ["demo", "--out", str(tmp_path), "--no-progress"])
    assert res.exit_code == 0, res.output
    pngs = list(tmp_path.glob("*.png"))
    csvs = list(tmp_path.glob("*.csv"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 10_000
    assert len(csvs) == 2
    reduced = pd.read_csv(next(p for p in csvs if "reduced" in p.name))
    # 10 kept scenarios x 24 hours, probabilities of the kept scenarios sum to 1.
    assert reduced["scenario"].nunique() == 10
    per_scenario = reduced.groupby("scenario")["probability"].first()
    assert abs(per_scenario.sum() - 1.0) < 1e-9
