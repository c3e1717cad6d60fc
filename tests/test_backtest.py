"""evagg.backtest: per-day seeds, failures, resume after kill -9, worker-count invariance."""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from _backtest_toy import toy_day
from evagg.backtest import day_seed, run_backtest
from evagg.backtest.engine import DAYS_DIR
from evagg.errors import EvaggError, InputError

TESTS = Path(__file__).parent
START, END = "2024-02-25", "2024-03-10"  # 15 days, across a month end and a leap day


def _bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / DAYS_DIR).glob("*.parquet"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run on a one-worker local cluster."""
    out = tmp_path_factory.mktemp("ref")
    res = run_backtest(toy_day, START, END, out, workers=1, seed=7, progress=False)
    assert res.n_computed == 15 and res.failures.empty
    return out


def test_day_seed_depends_on_seed_and_date_only() -> None:
    d = dt.date(2024, 5, 12)
    assert day_seed(3, d) == day_seed(3, d)
    assert day_seed(3, d) != day_seed(4, d)
    assert day_seed(3, d) != day_seed(3, d + dt.timedelta(days=1))
    assert 0 <= day_seed(3, d) < 2**63
    with pytest.raises(InputError, match="seed=-1"):
        day_seed(-1, d)


@pytest.mark.parametrize(
    ("kwargs", "field", "value"),
    [
        ({"start": "2024-03-02", "end": "2024-03-01"}, "end", "2024-03-01"),
        ({"start": "2024-13-01"}, "start", "2024-13-01"),
        ({"workers": 0}, "workers", "0"),
        ({"workers": 99999999999}, "workers", "99999999999"),  # tried to spawn them all
        ({"seed": -3}, "seed", "-3"),
        ({"data_range": (dt.date(2024, 1, 1), dt.date(2024, 2, 29))}, "end", "2024-03-01"),
        ({"data_range": (dt.date(2024, 3, 1), dt.date(2024, 3, 31))}, "start", "2024-02-28"),
    ],
)
def test_bad_inputs_name_field_and_value(
    tmp_path: Path, kwargs: dict[str, object], field: str, value: str
) -> None:
    args: dict[str, object] = {"start": "2024-02-28", "end": "2024-03-01"}
    args.update(kwargs)
    with pytest.raises(EvaggError) as err:
        run_backtest(toy_day, out_dir=tmp_path, progress=False, **args)  # type: ignore[arg-type]
    assert isinstance(err.value, InputError)
    assert err.value.field == field and value in str(err.value)


def test_unpicklable_day_function_and_occupied_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"day_fn=.*not picklable"):
        run_backtest(lambda d, s: pd.DataFrame(), "2024-01-01", "2024-01-01", tmp_path)
    run_backtest(toy_day, "2024-01-01", "2024-01-02", tmp_path, scheduler="synchronous")
    with pytest.raises(InputError, match=r"resume=False: .* already holds 2 day results"):
        run_backtest(toy_day, "2024-01-01", "2024-01-02", tmp_path, scheduler="synchronous")
    with pytest.raises(InputError, match="seed=1: differs from the run being resumed"):
        run_backtest(
            toy_day,
            "2024-01-01",
            "2024-01-03",
            tmp_path,
            scheduler="synchronous",
            resume=True,
            seed=1,
        )
    # other settings bound to the same day function: refused, not mixed into the folder
    with pytest.raises(InputError, match=r"day_args=.*differs from the run being resumed"):
        run_backtest(
            functools.partial(toy_day, sleep_s=0.001),
            "2024-01-01",
            "2024-01-03",
            tmp_path,
            scheduler="synchronous",
            resume=True,
        )


def test_failed_day_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    fn = functools.partial(toy_day, fail_on="2024-01-02")
    res = run_backtest(
        fn, "2024-01-01", "2024-01-03", tmp_path, scheduler="synchronous", progress=False
    )
    assert res.failures["date"].tolist() == [pd.Timestamp("2024-01-02")]
    assert res.failures["error_type"].tolist() == ["InputError"]
    assert "toy failure" in res.failures["message"].iloc[0]
    assert sorted(res.daily["date"].dt.day.unique()) == [1, 3]
    assert (tmp_path / "failures" / "2024-01-02.json").exists()
    # a resume retries the failed day only (here it fails again, deterministically)
    again = run_backtest(
        fn,
        "2024-01-01",
        "2024-01-03",
        tmp_path,
        scheduler="synchronous",
        resume=True,
        progress=False,
    )
    assert (again.n_resumed, again.n_computed, len(again.failures)) == (2, 1, 1)


def test_two_workers_give_the_same_bytes_as_one(reference: Path, tmp_path: Path) -> None:
    res = run_backtest(toy_day, START, END, tmp_path, workers=2, seed=7, progress=False)
    assert res.n_computed == 15
    assert _bytes(tmp_path) == _bytes(reference)
    ref = pd.concat(pd.read_parquet(p) for p in sorted((reference / DAYS_DIR).glob("*")))
    pd.testing.assert_frame_equal(res.daily, ref.reset_index(drop=True))
    assert res.daily["date"].is_monotonic_increasing


_KILLED_RUN = """
import functools, sys
sys.path.insert(0, {tests!r})
from _backtest_toy import toy_day
from evagg.backtest import run_backtest
run_backtest(functools.partial(toy_day, sleep_s=0.4), {start!r}, {end!r}, {out!r},
             workers=2, seed=7, progress=False)
"""


def test_kill_9_then_resume_equals_an_uninterrupted_run(reference: Path, tmp_path: Path) -> None:
    code = _KILLED_RUN.format(tests=str(TESTS), start=START, end=END, out=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    days = tmp_path / DAYS_DIR
    deadline = time.monotonic() + 180
    try:
        while len(list(days.glob("*.parquet"))) < 3:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no day finished within 180 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its dask workers, mid-way
        proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in days.glob("*.parquet")}
    assert 3 <= len(finished) < 15
    # the resumed part is the same day function with the same settings (a resume with
    # other bound settings is refused: test_unpicklable_day_function_and_occupied_folder)
    res = run_backtest(
        functools.partial(toy_day, sleep_s=0.4),
        START,
        END,
        tmp_path,
        workers=2,
        seed=7,
        resume=True,
        progress=False,
    )
    assert res.n_resumed == len(finished) and res.n_computed == 15 - len(finished)
    assert {n: (days / n).stat().st_mtime_ns for n in finished} == finished  # not recomputed
    assert _bytes(tmp_path) == _bytes(reference)
    assert not list(days.glob(".*"))  # no temporary file left


def test_scheduler_address_runs_on_an_existing_cluster(tmp_path: Path) -> None:
    """`scheduler="tcp://..."` uses a running cluster (here an in-process one) and gives
    the same bytes as the days computed in this process."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as cluster:
        res = run_backtest(
            toy_day,
            "2024-01-01",
            "2024-01-03",
            tmp_path / "a",
            scheduler=cluster.scheduler_address,
            seed=5,
            progress=False,
        )
    assert res.n_computed == 3 and res.failures.empty
    run_backtest(
        toy_day,
        "2024-01-01",
        "2024-01-03",
        tmp_path / "b",
        scheduler="synchronous",
        seed=5,
        progress=False,
    )
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")


_SEEN: list[str] = []


def _recording_day(day: dt.date, seed: int) -> pd.DataFrame:
    """toy_day that records the order of the days it is called for (in-process runs)."""
    _SEEN.append(day.isoformat())
    return toy_day(day, seed)


def test_spread_order_same_bytes_and_spread_prefix(reference: Path, tmp_path: Path) -> None:
    from evagg.backtest.engine import spread_order

    # bit-reversed positions: a permutation whose first 2^k entries are evenly spaced
    assert spread_order(8) == [0, 4, 2, 6, 1, 5, 3, 7]
    assert sorted(spread_order(15)) == list(range(15))
    assert spread_order(15)[:4] == [0, 8, 4, 12]
    _SEEN.clear()
    res = run_backtest(
        _recording_day, START, END, tmp_path, scheduler="synchronous", seed=7, progress=False,
        order="spread",
    )  # fmt: skip
    assert _SEEN[:3] == ["2024-02-25", "2024-03-04", "2024-02-29"]  # positions 0, 8, 4
    assert _bytes(tmp_path) == _bytes(reference)  # the order changes nothing else
    assert res.daily["date"].is_monotonic_increasing
    with pytest.raises(InputError, match="order='random'"):
        run_backtest(toy_day, START, END, tmp_path / "new", scheduler="synchronous", order="random")
