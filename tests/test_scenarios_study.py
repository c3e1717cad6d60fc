"""Scenario-day study, ``evagg scenarios`` command and fan chart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from evagg import InputError, MisalignedIndexError
from evagg.cli import app
from evagg.data import load_nl_day_ahead_prices
from evagg.report.scenarios import plot_fan_chart
from evagg.scenarios import (
    DA_PRICE,
    ScenarioSet,
    crps,
    score_scenarios,
    weighted_quantiles,
)
from evagg.studies.scenario_day import (
    Config,
    expected_fleet_demand_mwh,
    output_names,
    write_outputs,
)
from evagg.studies.scenario_day import run as run_study


class _Written:
    """The study's summary plus the paths ``write_outputs`` wrote (the old return)."""

    def __init__(self, result, out: Path) -> None:  # type: ignore[no-untyped-def]
        self.result = result
        self.stats = result.stats
        names = output_names(result.stats.date)
        self.png = str(out / names["png"])
        self.csv_scenarios = str(out / names["csv_scenarios"])
        self.csv_reduced = str(out / names["csv_reduced"])

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.stats, name)


def run(date: str, out_dir: Path, expected_demand_mwh=None, **kw) -> _Written:  # type: ignore[no-untyped-def]
    kw.pop("progress", None)
    result = run_study(Config(date=date, **kw), expected_demand_mwh=expected_demand_mwh)
    write_outputs(result, out_dir)
    return _Written(result, Path(out_dir))


TZ = "Europe/Amsterdam"
DAY = "2022-03-15"


@pytest.fixture(scope="module")
def summary_and_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    out = tmp_path_factory.mktemp("scen")
    s = run(DAY, n=40, reduce_to=5, out_dir=out, seed=3, progress=False, train_days=7)
    return s, out


def test_study_writes_files_and_scores(summary_and_dir: tuple) -> None:
    s, _out = summary_and_dir
    assert Path(s.png).is_file() and Path(s.png).stat().st_size > 10_000
    full = pd.read_csv(s.csv_scenarios)
    red = pd.read_csv(s.csv_reduced)
    assert {"time", "scenario", "probability", DA_PRICE, "ev_demand_mwh"} <= set(full.columns)
    assert len(full) == 40 * 24 and len(red) == 5 * 24
    # probabilities per hour sum to one in the reduced long table
    assert red.groupby("time")["probability"].sum().to_numpy() == pytest.approx(1.0)
    # the summary's MAE is the hand-computed MAE of the CSV's scenario mean
    prices = load_nl_day_ahead_prices(DAY, "2022-03-16")
    mean = full.groupby("time", sort=False)[DA_PRICE].mean().to_numpy()
    assert s.mae_eur_per_mwh == pytest.approx(np.mean(np.abs(mean - prices.to_numpy())))
    assert s.n_hours == 24 and s.n_reduced == 5
    assert 0.0 <= s.coverage_5_95 <= 1.0
    assert s.kantorovich_distance > 0
    assert s.baseline_mae_eur_per_mwh > 0
    assert s.expected_demand_mwh > 0 and "synthetic fleet" in s.demand_source
    assert s.timings_s["total_s"] >= s.timings_s["fit_s"]
    # CRPS = E|X − y| − ½E|X − X'| ≤ E|X − y| (hand bound from the CSV)
    dev = (full[DA_PRICE].to_numpy().reshape(24, 40) - prices.to_numpy()[:, None]).__abs__()
    assert 0 < s.crps_eur_per_mwh <= dev.mean() + 1e-9


def test_study_same_seed_same_output(summary_and_dir: tuple, tmp_path: Path) -> None:
    s, _ = summary_and_dir
    again = run(DAY, n=40, reduce_to=5, out_dir=tmp_path, seed=3, progress=False, train_days=7)
    a = pd.read_csv(s.csv_reduced)
    b = pd.read_csv(again.csv_reduced)
    pd.testing.assert_frame_equal(a, b)


def test_study_given_demand_and_day_without_realised(tmp_path: Path) -> None:
    """The day after the data end: no realised prices, so no scores (None, not NaN)."""
    idx = pd.date_range("2025-01-08", periods=24, freq="1h", tz=TZ)
    s = run(
        "2025-01-08", n=10, reduce_to=3, out_dir=tmp_path, seed=0, progress=False,
        train_days=7, expected_demand_mwh=pd.Series(1.0, index=idx),
    )  # fmt: skip
    assert s.mae_eur_per_mwh is None and s.coverage_5_95 is None
    assert s.demand_source == "given" and s.expected_demand_mwh == pytest.approx(24.0)
    assert Path(s.png).is_file()


def test_study_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="reduce_to"):
        run(DAY, n=5, reduce_to=6, out_dir=tmp_path, progress=False)
    with pytest.raises(InputError, match="n=0"):
        run(DAY, n=0, out_dir=tmp_path, progress=False)
    with pytest.raises(InputError, match="outside the price data"):
        run("2031-01-01", n=5, reduce_to=2, out_dir=tmp_path, progress=False)


def test_expected_fleet_demand_dst_day() -> None:
    e = expected_fleet_demand_mwh("2023-10-29", n_vehicles=50, replicas=2, seed=1)
    assert len(e) == 25 and (e >= 0).all() and e.sum() > 0


def test_cli_scenarios(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["scenarios", "--date", DAY, "--n", "12", "--reduce-to", "3", "--out", str(tmp_path),
         "--train-days", "7", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "MAE scenario mean" in res.output
    assert (tmp_path / f"scenario_day_{DAY}.png").is_file()
    assert (tmp_path / f"scenarios_reduced_{DAY}.csv").is_file()
    bad = CliRunner().invoke(app, ["scenarios", "--date", "2015-01-02", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and isinstance(bad.exception, InputError)


def _toy_set() -> ScenarioSet:
    idx = pd.date_range("2024-01-01", periods=3, freq="1h", tz=TZ)
    vals = np.array([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [10.0, 10.0, 10.0]])
    cols = pd.RangeIndex(3, name="scenario")
    p = pd.Series([0.5, 0.3, 0.2], index=cols)
    return ScenarioSet({"x": pd.DataFrame(vals.T, index=idx, columns=cols)}, p)


def test_weighted_quantiles_hand_values() -> None:
    """Values (1, 2, 10) with p = (0.5, 0.3, 0.2) at t0: CDF 0.5, 0.8, 1.0, so the 5 %
    and 50 % quantiles are 1, the 75 % is 2 and the 95 % is 10."""
    ss = _toy_set()
    q = weighted_quantiles(ss.array("x"), ss.p, (0.05, 0.5, 0.75, 0.95))
    assert q[:, 0] == pytest.approx([1.0, 1.0, 2.0, 10.0])


def test_fan_chart() -> None:
    ss = _toy_set()
    realised = pd.Series([1.5, 2.5, 3.5], index=ss.time_index)
    fig = plot_fan_chart(ss, "x", realised=realised, reduced=ss.subset([0, 2]))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"5–95 %", "25–75 %", "median", "realised", "reduced (2)"} <= labels
    fig2 = Figure()
    ax2 = fig2.add_subplot()
    assert plot_fan_chart(ss, "x", ax=ax2) is fig2
    with pytest.raises(MisalignedIndexError):
        plot_fan_chart(ss, "x", realised=realised.iloc[:2])
    with pytest.raises(InputError, match="quantity"):
        plot_fan_chart(ss, "y")


def test_crps_hand_values() -> None:
    """{0, 2} equiprobable, y = 1: E|X − y| = 1, ½E|X − X'| = ½·(2·¼·2) = 0.5 → 0.5.
    One scenario: CRPS = |x − y|. Random weighted case: the O(S²) definition."""
    assert crps(np.array([[0.0], [2.0]]), np.array([0.5, 0.5]), np.array([1.0])) == (
        pytest.approx([0.5])
    )
    assert crps(np.array([[3.0, -1.0]]), np.array([1.0]), np.array([1.0, 1.0])) == (
        pytest.approx([2.0, 2.0])
    )
    rng = np.random.default_rng(0)
    x, p, y = rng.normal(size=(9, 4)), rng.dirichlet(np.ones(9)), rng.normal(size=4)
    pair = np.abs(x[:, None, :] - x[None, :, :])
    ref = p @ np.abs(x - y) - 0.5 * np.einsum("i,j,ijt->t", p, p, pair)
    assert crps(x, p, y) == pytest.approx(ref)


def test_score_scenarios() -> None:
    """Toy set: mean at t0 = 0.5·1 + 0.3·2 + 0.2·10 = 3.1; realised 1.5 → |err| 1.6."""
    ss = _toy_set()
    realised = pd.Series([1.5, 2.5, 20.0], index=ss.time_index)
    sc = score_scenarios(ss, "x", realised)
    means = np.array([3.1, 3.9, 4.7])
    assert sc.mae == pytest.approx(np.mean(np.abs(means - realised.to_numpy())))
    # 5-95 % band: t0 [1, 10] holds 1.5, t1 [2, 10] holds 2.5, t2 [3, 10] misses 20
    assert sc.coverage == pytest.approx(2 / 3)
    with pytest.raises(MisalignedIndexError):
        score_scenarios(ss, "x", realised.iloc[1:])
    with pytest.raises(InputError, match="band"):
        score_scenarios(ss, "x", realised, band=(0.9, 0.1))


def test_long_round_trip(tmp_path: Path) -> None:
    """to_long → CSV → scenario_set_from_long gives back the same set (a 25-hour day)."""
    from evagg.scenarios import scenario_set_from_long

    idx = pd.date_range(pd.Timestamp("2023-10-29", tz=TZ), periods=25, freq="1h", name="time")
    rng = np.random.default_rng(0)
    cols = pd.Index([3, 7, 11], name="scenario")
    ss = ScenarioSet(
        {
            "a_eur_per_mwh": pd.DataFrame(rng.normal(size=(25, 3)), index=idx, columns=cols),
            "b_mwh": pd.DataFrame(rng.random((25, 3)), index=idx, columns=cols),
        },
        pd.Series([0.2, 0.5, 0.3], index=cols, name="probability"),
    )
    back = scenario_set_from_long(ss.to_long())
    for q in ss.quantities:
        pd.testing.assert_frame_equal(back[q], ss[q], check_freq=False)
    pd.testing.assert_series_equal(back.probabilities, ss.probabilities)
    ss.to_long().to_csv(tmp_path / "s.csv")
    disk = scenario_set_from_long(pd.read_csv(tmp_path / "s.csv"), tz=TZ)
    assert disk.time_index.equals(idx)
    # CSV text keeps about 15 significant digits
    np.testing.assert_allclose(disk.array("b_mwh"), ss.array("b_mwh"), rtol=1e-12)
    long = ss.to_long().reset_index()
    bad = long.copy()
    bad.loc[0, "probability"] = 0.9
    with pytest.raises(InputError, match="probability"):
        scenario_set_from_long(bad)
    with pytest.raises(InputError, match="missing"):
        scenario_set_from_long(long.drop(index=4))
    with pytest.raises(InputError, match="missing"):
        scenario_set_from_long(long.drop(columns="probability"))


def test_scenario_day_figure_follows_the_style(summary_and_dir: tuple, captured_figures) -> None:  # type: ignore[no-untyped-def]
    from conftest import assert_readable

    s, out = summary_and_dir
    write_outputs(s.result, out / "again")
    ((name, fig),) = captured_figures
    assert_readable(name, fig)
    assert DAY in fig.get_suptitle() and "NL day-ahead market" in fig.get_suptitle()
    assert all(ax.get_legend() is None or ax.get_legend().get_bbox_to_anchor() for ax in fig.axes)
