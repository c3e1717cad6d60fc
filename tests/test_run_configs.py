"""Study registry, ``evagg run STUDY.toml`` and the example configs in ``examples/``.

Every example is run: a fast variant (same study, smaller sizes) in the default suite,
the file as written under ``-m slow``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evagg.cli import app
from evagg.studies.base import ConfigError, read_verifications
from evagg.studies.registry import (
    RUN_FILE,
    execute,
    get_study,
    load_config,
    studies,
    validate_config,
)

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))

FAST: dict[str, dict[str, Any] | None] = {
    "scenario_day": {"n": 30, "reduce_to": 5, "train_days": 7},
    "bidding_day": {
        "betas": [0.1, 10.0],
        "n_scenarios": 20,
        "reduce_to": 5,
        "n_rivals": 2,
        "switching_costs_eur_per_mwh": [0.0],
        "oos_days": 0,
        "unreduced_betas": [],
        "rival_recourse_sweep": False,
    },
    "reliability_day": {
        "fleet_size": 20,
        "days": 30,
        "bids_kwh": [100.0, 200.0],
        "calibration_days": 2,
        "allocation_slots": [],
        "user_mix": False,
    },
    "ev_grid_day": {},
    # The demo's config is the `evagg demo` default, which conftest's `demo_dir` runs once
    # per session through the same registry (run.json, verifications.json, report.html).
    "demo": None,
}
"""Overrides that make each example fast; a new example needs an entry here."""


def test_every_shaped_study_is_registered() -> None:
    names = set(studies())
    assert {"scenario_day", "bidding_day", "reliability_day", "ev_grid_day", "demo"} <= names
    for st in studies().values():
        cfg = st.config_model
        assert cfg.model_config.get("extra") == "forbid", st.name
        assert cfg.model_config.get("frozen") is True, st.name
        cfg()  # every option has a default


def test_every_study_has_an_example() -> None:
    with_example = {load_config(p)[0].name for p in EXAMPLES}
    # the seed studies of issue 9 §1; new studies add theirs to examples/ and FAST
    assert {"scenario_day", "bidding_day", "reliability_day", "ev_grid_day", "demo"} <= (
        with_example
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_fast_variant(path: Path, tmp_path: Path, demo_dir: tuple[Path, list]) -> None:
    study, config, out = load_config(path)
    assert out is not None and str(out).startswith("evagg-out/")
    assert study.name in FAST, f"add a fast variant of {path.name} to FAST"
    fast = FAST[study.name]
    if fast is None:  # covered by the session's demo run
        assert config == study.config_model()
        folder = demo_dir[0]
    else:
        config = validate_config(study, {**config.model_dump(), **fast})
        folder = tmp_path / study.name
        execute(study, config, folder)
    record = json.loads((folder / RUN_FILE).read_text())
    assert record["study"] == study.name and record["config"] == config.model_dump(mode="json")
    assert record["seed"] == config.seed  # type: ignore[attr-defined]
    assert record["evagg_version"]
    assert all(len(d["sha256"]) == 64 for d in record["data_files"])
    assert record["data_files"], "a study on bundled data records the files it read"
    checks = read_verifications(folder)
    assert checks and all(c.passed for c in checks), [c for c in checks if not c.passed]
    assert (folder / "summary.json").is_file() or (folder / "result.json").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_as_written(path: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path), "--html", "--json"])
    assert res.exit_code == 0, res.output
    json.loads(res.stdout)
    checks = read_verifications(tmp_path)
    assert checks and all(c.passed for c in checks)
    assert (tmp_path / "report.html").is_file()


def test_run_command_html_json_and_rerun(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(
        'study = "scenario_day"\n[config]\ndate = "2023-10-29"\nn = 12\nreduce_to = 3\n'
        "train_days = 7\nseed = 5\n"
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(toml), "--out", str(out), "--json", "--html"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["n_hours"] == 25  # DST day
    assert (out / "report.html").is_file() and (out / "run.json").is_file()
    # re-run from run.json: same config, same numbers
    again = CliRunner().invoke(
        app, ["run", str(out / "run.json"), "--out", str(tmp_path / "again"), "--json"]
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["mae_eur_per_mwh"] == summary["mae_eur_per_mwh"]
    listing = CliRunner().invoke(app, ["studies"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and "scenario_day" in listing.output


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ('study = "scenario_day"\n[config]\nn_scenarios = 5\n', "config.n_scenarios", "5"),
        ('study = "scenario_day"\n[config]\nn = "many"\n', "config.n", "'many'"),
        ('study = "scenario_day"\n[config]\nn = 5\nreduce_to = 9\n', "config.reduce_to", "9"),
        ('study = "bidding_day"\n[config]\nbetas = [1, "x"]\n', "config.betas[1]", "'x'"),
        ('study = "ev_grid_day"\n[config]\nv_min_pu = -1\n', "config.v_min_pu", "-1"),
        ('study = "no_such"\n', "study", "'no_such'"),
        ('study = "demo"\nconfg = {}\n', "confg", "{}"),
        ("study = [1]\n", "study", "[1]"),
        ('study = "demo"\n[config\n', "config file", ""),
    ],
)
def test_bad_configs_name_key_and_value(tmp_path: Path, text: str, field: str, value: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}={value}")
    res = CliRunner().invoke(app, ["run", str(path)])
    assert res.exit_code != 0 and isinstance(res.exception, ConfigError)


def test_python_configs_raise_evagg_errors() -> None:
    from evagg.studies import bidding_day, scenario_day

    with pytest.raises(ConfigError, match="unknown key"):
        scenario_day.Config(nn=3)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="n_rivals=5"):
        bidding_day.Config(n_rivals=5)
    with pytest.raises(ConfigError, match="study='x'"):
        get_study("x")
    with pytest.raises(ConfigError, match="no such file"):
        load_config("/nonexistent/study.toml")
