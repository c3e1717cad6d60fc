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
        "betas": [10.0],
        "n_scenarios": 12,
        "reduce_to": 4,
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
    "v2g_pricing": {"fleet_size": 40, "n_classes": 3, "train_days": 7},
    "microgrid": {
        "reliability": [0.95],
        "include_no_eva": False,
        "methods": ["convex"],
        "history_days": 10,
    },
    "dso_game": {"n_users": 30},
    "bidding_backtest": {
        "start": "2024-03-12",
        "end": "2024-03-12",
        "workers": 0,
        "strategies": ["seed_b1", "simple_rule", "perfect_foresight"],
        "n_scenarios": 12,
        "reduce_to": 3,
        "n_rivals": 2,
        "n_sim_evs": 50,
        "train_days": 7,
    },
    "v2g_pricing_backtest": {
        "start": "2024-03-11",
        "end": "2024-03-12",
        "workers": 0,
        "fleet_size": 20,
        "n_classes": 1,
        "forecast": "weekly_profile",
    },
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
    # every registered study has its headline experiment in examples/ (and FAST)
    assert set(studies()) <= with_example, set(studies()) - with_example


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_fast_variant(path: Path, tmp_path: Path, demo_dir: tuple[Path, list]) -> None:
    study, config, out = load_config(path)
    assert out is not None and str(out).startswith("evagg-out/")
    assert study.name in FAST, f"add a fast variant of {path.name} to FAST"
    fast = FAST[study.name]
    if fast is None:  # covered by the session's demo run
        assert config == study.config_model()
        folder = demo_dir[0]
    elif study.name == "scenario_day":  # through the command: TOML, --html, --json
        config = validate_config(study, {**config.model_dump(), **fast})
        folder = tmp_path / study.name
        toml = tmp_path / "fast.toml"
        toml.write_text(_toml(study.name, config.model_dump()))
        res = CliRunner().invoke(app, ["run", str(toml), "--out", str(folder), "--html", "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["n_reduced"] == fast["reduce_to"]
        assert (folder / "report.html").is_file()
    else:
        config = validate_config(study, {**config.model_dump(), **fast})
        folder = tmp_path / study.name
        _, files = execute(study, config, folder)
        assert len(files) == len(set(files)), "each output written once"
    # run.json re-runs: it gives back the same study and config
    again, again_config, _ = load_config(folder / RUN_FILE)
    assert again.name == study.name and again_config == config
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
    if load_config(path)[0].name == "demo":
        pytest.skip("examples/demo.toml is `evagg demo`'s default, run in the default suite")
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path), "--html", "--json"])
    assert res.exit_code == 0, res.output
    json.loads(res.stdout)
    checks = read_verifications(tmp_path)
    assert checks and all(c.passed for c in checks)
    assert (tmp_path / "report.html").is_file()


def _toml(study: str, config: dict[str, Any]) -> str:
    """A study TOML for simple configs (scalars and lists; ``None`` left to the default)."""
    lines = [f"study = {json.dumps(study)}", "[config]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in config.items() if v is not None]
    return "\n".join(lines) + "\n"


def test_studies_command_lists_studies() -> None:
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
