"""Run a per-day study over a date range on dask.distributed: resumable, seeded per day.

A *day function* ``day_fn(day, seed) -> DataFrame`` computes the tidy rows of one day
(e.g. one row of revenues, or 24 hourly rows). :func:`run_backtest` runs it for every day
of ``[start, end]`` as one dask task per day, on a ``LocalCluster`` of ``workers``
single-threaded processes (or on a running scheduler given by its address), and writes
each day's rows as soon as they arrive:

``out_dir/days/YYYY-MM-DD.parquet``
    the day's rows with a leading ``date`` column, written atomically (a temporary file
    in the same folder, then :func:`os.replace`), so a file either is complete or is
    absent — a run killed at any instant (``kill -9``) leaves no half-written day;
``out_dir/failures/YYYY-MM-DD.json``
    ``{"date", "error_type", "message", "traceback"}`` of a day whose function raised
    (the run goes on; the result lists every failure);
``out_dir/backtest.json``
    what the folder holds (day function, seed, range): a resumed run must use the same
    day function and seed.

No pickled state is written: a resumed run (``resume=True``) lists the day files that
exist, recomputes none of them and computes the rest (failed days are retried). Each
day's seed is :func:`day_seed` ``(seed, day)`` — a function of the run's seed and the
date only — so the numbers do not depend on the worker count, the order in which tasks
finish, or on an interruption.

Results are written by the client process (tasks return their frame), so workers on a
remote cluster need no shared file system; they need evagg importable (the day function
is sent by reference: a top-level function or a :func:`functools.partial` of one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import pickle
import tempfile
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evagg.errors import InputError

__all__ = [
    "DAYS_DIR",
    "FAILURES_DIR",
    "META_FILE",
    "BacktestResult",
    "DayFn",
    "day_seed",
    "parse_day",
    "run_backtest",
]

DayFn = Callable[[dt.date, int], pd.DataFrame]
"""``(day, seed) -> tidy rows of that day``; must be picklable."""

DAYS_DIR = "days"
FAILURES_DIR = "failures"
META_FILE = "backtest.json"
_FAILURE_COLUMNS = ["date", "error_type", "message"]


@dataclass(frozen=True)
class BacktestResult:
    """Outcome of :func:`run_backtest`.

    Attributes
    ----------
    daily
        Every successful day's rows (read back from the Parquet files, so a resumed and an
        uninterrupted run give equal frames), sorted by ``date`` (``datetime64``, local
        calendar day at midnight, first column).
    failures
        One row per failed day: ``date``, ``error_type``, ``message``.
    out_dir
        Output folder.
    n_computed
        Days computed in this call (successes and failures).
    n_resumed
        Days whose result file already existed and were not recomputed.
    """

    daily: pd.DataFrame
    failures: pd.DataFrame
    out_dir: Path
    n_computed: int
    n_resumed: int

    @property
    def n_days(self) -> int:
        """Days in the range."""
        return self.n_computed + self.n_resumed

    def summary(self) -> dict[str, Any]:
        """JSON-able counts and the failed days with their error type."""
        return {
            "out_dir": str(self.out_dir),
            "n_days": self.n_days,
            "n_computed": self.n_computed,
            "n_resumed": self.n_resumed,
            "n_failed": len(self.failures),
            "failures": [
                {"date": f"{d:%Y-%m-%d}", "error_type": e, "message": m}
                for d, e, m in zip(
                    self.failures["date"],
                    self.failures["error_type"],
                    self.failures["message"],
                    strict=True,
                )
            ],
        }


def parse_day(field: str, value: str | dt.date | pd.Timestamp) -> dt.date:
    """A calendar day from ``YYYY-MM-DD`` (or a date); else :class:`InputError` naming
    ``field`` and the value."""
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(field, value, "not a date YYYY-MM-DD") from None


MAX_LOCAL_WORKERS = 256
"""Most worker processes of a local cluster (one machine); beyond, use ``scheduler``."""


def day_seed(seed: int, day: dt.date) -> int:
    """Deterministic seed of one day: ``SeedSequence([seed, yyyymmdd])`` → 63-bit int.

    Depends only on the run's ``seed`` and the date, so any worker count, task order or
    interruption gives each day the same random numbers.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError("seed", seed, "must be an integer >= 0")
    key = day.year * 10_000 + day.month * 100 + day.day
    state = np.random.SeedSequence([int(seed), key]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def _days(
    start: str | dt.date, end: str | dt.date, data_range: tuple[dt.date, dt.date] | None
) -> list[dt.date]:
    d0, d1 = parse_day("start", start), parse_day("end", end)
    if d1 < d0:
        raise InputError("end", str(d1), f"is before start {d0}")
    if data_range is not None:
        lo, hi = data_range
        for name, d in (("start", d0), ("end", d1)):
            if not lo <= d <= hi:
                raise InputError(
                    name, str(d), f"outside the days the bundled data support ({lo} .. {hi})"
                )
    n = (d1 - d0).days + 1
    return [d0 + dt.timedelta(days=i) for i in range(n)]


def _fn_name(day_fn: Any) -> str:
    base = getattr(day_fn, "func", day_fn)
    return f"{getattr(base, '__module__', '?')}.{getattr(base, '__qualname__', repr(base))}"


def _fn_args(day_fn: Any) -> str:
    """Fingerprint of a ``functools.partial``'s bound arguments (the day's settings), so a
    resume with other settings is refused instead of mixing two studies in one folder."""
    args = getattr(day_fn, "args", ())
    keywords = sorted(getattr(day_fn, "keywords", {}).items())
    return hashlib.sha256(repr((args, keywords)).encode()).hexdigest()[:16]


def _check_picklable(day_fn: Any) -> None:
    try:
        pickle.dumps(day_fn)
    except Exception as exc:  # pickle raises many types (PicklingError, AttributeError, ...)
        raise InputError(
            "day_fn",
            _fn_name(day_fn),
            f"is not picklable ({type(exc).__name__}: {exc}); use a top-level function "
            "or a functools.partial of one with picklable arguments",
        ) from None


def _prepare(
    out: Path, day_fn: Any, seed: int, days: Sequence[dt.date], resume: bool
) -> set[dt.date]:
    """Create the folder, check it against ``resume``, return the days already done."""
    (out / DAYS_DIR).mkdir(parents=True, exist_ok=True)
    (out / FAILURES_DIR).mkdir(parents=True, exist_ok=True)
    for stale in (out / DAYS_DIR).glob(".*.tmp"):  # left by a killed run
        stale.unlink(missing_ok=True)
    meta_path = out / META_FILE
    meta = {"day_fn": _fn_name(day_fn), "day_args": _fn_args(day_fn), "seed": int(seed)}
    existing = {parse_day("day file", p.stem) for p in (out / DAYS_DIR).glob("*.parquet")}
    if existing and not resume:
        raise InputError(
            "resume",
            False,
            f"{out} already holds {len(existing)} day results; pass resume=True (--resume) "
            "to continue that run, or choose an empty folder",
        )
    if meta_path.exists():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        for key in ("day_fn", "day_args", "seed"):
            if key not in old:  # written by an earlier evagg version
                continue
            if resume and existing and old.get(key) != meta[key]:
                raise InputError(
                    key,
                    meta[key],
                    f"differs from the run being resumed in {out} ({old.get(key)!r})",
                )
    _atomic_write(meta_path, (json.dumps(meta, indent=1) + "\n").encode())
    wanted = set(days)
    for p in (out / FAILURES_DIR).glob("*.json"):  # failed days are retried
        if parse_day("failure file", p.stem) in wanted:
            p.unlink()
    return existing & wanted


def _atomic_write(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _with_date(day: dt.date, frame: Any) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError("day_fn", type(frame).__name__, f"returned no DataFrame for {day}")
    stamp = pd.Timestamp(day)
    out = frame.reset_index(drop=True)
    if "date" in out.columns:
        if not (pd.to_datetime(out["date"]) == stamp).all():
            raise InputError("day_fn", str(day), "returned rows whose 'date' is another day")
        out = out.drop(columns="date")
    out.insert(0, "date", pd.Series(stamp, index=out.index, dtype="datetime64[ns]"))
    return out


def _write_day(out: Path, day: dt.date, frame: pd.DataFrame) -> None:
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, engine="pyarrow", compression="zstd")
    _atomic_write(out / DAYS_DIR / f"{day.isoformat()}.parquet", buf.getvalue())


def _write_failure(out: Path, day: dt.date, error_type: str, message: str, tb: str) -> None:
    payload = {"date": day.isoformat(), "error_type": error_type, "message": message}
    payload["traceback"] = tb
    _atomic_write(
        out / FAILURES_DIR / f"{day.isoformat()}.json",
        (json.dumps(payload, indent=1) + "\n").encode(),
    )


def _run_day(day_fn: DayFn, day: dt.date, seed: int) -> tuple[str, Any]:
    """Task body: ``("ok", frame)`` or ``("error", (type, message, traceback))``."""
    try:
        return "ok", _with_date(day, day_fn(day, day_seed(seed, day)))
    except Exception as exc:  # a failed day is recorded, the run goes on
        return "error", (type(exc).__name__, str(exc), traceback.format_exc(limit=8))


@contextmanager
def _client(workers: int, scheduler: str | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("scheduler", scheduler, f"cannot connect: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never collides with another run
        silence_logs=logging.ERROR,
        # one task per core: BLAS/OpenMP pools inside a worker would oversubscribe them
        env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@contextmanager
def _progress(enabled: bool, total: int, done: int, label: str) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda: bar.advance(task)


def _collect(out: Path, days: Sequence[dt.date]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    failures = []
    for d in days:
        p = out / DAYS_DIR / f"{d.isoformat()}.parquet"
        if p.exists():
            frames.append(pd.read_parquet(p, engine="pyarrow"))
        f = out / FAILURES_DIR / f"{d.isoformat()}.json"
        if f.exists():
            rec = json.loads(f.read_text(encoding="utf-8"))
            failures.append({k: rec[k] for k in _FAILURE_COLUMNS})
    daily = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"date": []})
    fail = pd.DataFrame(failures, columns=_FAILURE_COLUMNS)
    if len(fail):
        fail["date"] = pd.to_datetime(fail["date"])
    return daily, fail


def run_backtest(
    day_fn: DayFn,
    start: str | dt.date,
    end: str | dt.date,
    out_dir: str | Path,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    resume: bool = False,
    seed: int = 0,
    progress: bool = True,
    data_range: tuple[dt.date, dt.date] | None = None,
    every: int = 1,
    order: str = "date",
) -> BacktestResult:
    """Run ``day_fn`` for every day of ``[start, end]`` (inclusive), one dask task per day.

    Parameters
    ----------
    day_fn
        ``(day, seed) -> DataFrame`` of that day's rows (a ``date`` column is added);
        picklable: a top-level function or a ``functools.partial`` of one.
    start, end
        First and last day (``YYYY-MM-DD`` or dates), local calendar days.
    out_dir
        Output folder (``days/``, ``failures/``, ``backtest.json``).
    workers
        Worker processes of the local cluster (1 thread each); ignored with ``scheduler``.
    scheduler
        Address of a running dask scheduler (``tcp://host:8786``) instead of a local
        cluster; ``"synchronous"`` runs the days one by one in this process (debugging,
        profiling).
    resume
        Continue a run in ``out_dir``: days with a result file are not recomputed (failed
        days are). Without it, a folder holding day results is an error.
    seed
        Run seed; day ``d`` gets ``day_seed(seed, d)``.
    progress
        Show a rich progress bar on stderr.
    data_range
        Optional ``(first, last)`` day the day function supports (e.g. the bundled price
        data with its history window); a range reaching outside is an error.
    every
        Run every ``every``-th day of the range only, starting at ``start`` (a stated
        subsample, e.g. 2 for every other day).
    order
        ``"date"`` (default): days are computed in date order. ``"spread"``: in
        bit-reversed order of their position (the first 2^k computed days are evenly
        spread over the range), so a long run stopped early has a sample of the whole
        range, not its first months. The results do not depend on the order.

    Returns
    -------
    BacktestResult

    Raises
    ------
    InputError
        End before start, unparsable dates, dates outside ``data_range``, ``workers < 1``,
        a non-picklable ``day_fn``, a folder with results but ``resume=False``, or a
        resume with another day function or seed.
    """
    days = _days(start, end, data_range)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise InputError("every", every, "must be an integer >= 1")
    days = days[::every]
    if order not in ("date", "spread"):
        raise InputError("order", order, "must be 'date' or 'spread'")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("workers", workers, "must be an integer >= 1")
    if scheduler is None and workers > MAX_LOCAL_WORKERS:
        raise InputError(
            "workers",
            workers,
            f"more than {MAX_LOCAL_WORKERS} local worker processes; for a larger cluster "
            "pass its scheduler address",
        )
    day_seed(seed, days[0])  # validates the seed
    _check_picklable(day_fn)
    out = Path(out_dir)
    done = _prepare(out, day_fn, seed, days, resume)
    todo = [d for d in days if d not in done]
    if order == "spread":
        todo = [todo[i] for i in spread_order(len(todo))]
    label = f"{_fn_name(day_fn).rsplit('.', 1)[-1]} {days[0]}..{days[-1]}"
    with _progress(progress, len(days), len(done), label) as advance:
        if todo and scheduler == "synchronous":
            for d in todo:
                _store(out, d, _run_day(day_fn, d, seed))
                advance()
        elif todo:
            _run_distributed(day_fn, todo, seed, out, workers, scheduler, advance)
    daily, failures = _collect(out, days)
    return BacktestResult(
        daily=daily, failures=failures, out_dir=out, n_computed=len(todo), n_resumed=len(done)
    )


def spread_order(n: int) -> list[int]:
    """Positions 0..n-1 sorted by their bit-reversed binary index (van der Corput order):
    every prefix of length 2^k is spread evenly over the range (0, n/2, n/4, 3n/4, ...)."""
    bits = max(1, (n - 1).bit_length())
    return sorted(range(n), key=lambda i: int(format(i, f"0{bits}b")[::-1], 2))


def _store(out: Path, day: dt.date, outcome: tuple[str, Any]) -> None:
    status, payload = outcome
    if status == "ok":
        _write_day(out, day, payload)
    else:
        _write_failure(out, day, *payload)


def _run_distributed(
    day_fn: DayFn,
    todo: Sequence[dt.date],
    seed: int,
    out: Path,
    workers: int,
    scheduler: str | None,
    advance: Callable[[], None],
) -> None:
    from distributed import as_completed

    token = uuid.uuid4().hex[:12]  # unique keys: a shared scheduler never reuses old results
    with _client(workers, scheduler) as client:
        futures = [
            client.submit(_run_day, day_fn, d, seed, key=f"backtest-day-{d.isoformat()}-{token}")
            for d in todo
        ]
        day_of = {f.key: d for f, d in zip(futures, todo, strict=True)}
        for fut in as_completed(futures):
            d = day_of[fut.key]
            try:
                outcome = fut.result()
            except Exception as exc:  # worker died (KilledWorker), unpicklable result, ...
                outcome = ("error", (type(exc).__name__, str(exc), ""))
            _store(out, d, outcome)
            fut.release()
            advance()
