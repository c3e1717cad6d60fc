"""Property-based tests (hypothesis): bad input raises an EvaggError, results are finite.

Over the readers (generated malformed CSVs), the study configs and CLI option parsers,
and the public numerical functions: whatever the input, either a result without NaN or
inf comes back, or an :class:`evagg.EvaggError` naming the field is raised — never a
bare ``ValueError``, ``KeyError``, ``IndexError`` or a NaN. Derandomised (same examples on
every run) and sized to run in well under a minute on two cores.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from evagg.errors import EvaggError

FAST = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _no_nan(obj: Any) -> None:
    """Assert that no float inside ``obj`` (arrays, frames, dicts, lists) is NaN or inf."""
    if isinstance(obj, pd.DataFrame | pd.Series):
        num = obj.select_dtypes("number") if isinstance(obj, pd.DataFrame) else obj
        if isinstance(num, pd.Series) and not pd.api.types.is_numeric_dtype(num):
            return
        assert np.all(np.isfinite(num.to_numpy(dtype=float))), "NaN/inf in result"
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            assert np.all(np.isfinite(obj)), "NaN/inf in result"
    elif isinstance(obj, float | np.floating):
        assert np.isfinite(obj), "NaN/inf in result"
    elif isinstance(obj, dict):
        for v in obj.values():
            _no_nan(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _no_nan(v)


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn``; an EvaggError is an accepted outcome, any other exception fails."""
    try:
        out = fn(*args, **kwargs)
    except EvaggError as exc:
        assert str(exc), "EvaggError without a message"
        return None
    _no_nan(out)
    return out


# ------------------------------------------------------------------------- readers
DATES = [
    "2024-03-04 08:00", "2024-03-04T17:30:00+01:00", "2024-03-05 07:00", "03/04/2024 08:00",
    "2024-13-01 00:00", "2024-02-30 10:00", "2035-03-04 17:00", "1970-01-01 00:00",
    "2024-03-31 02:30", "2024-10-27 02:30", "yesterday", "", " ", "nan", "2024-03-04",
    "Wed, 25 Apr 2018 11:08:04 GMT", "2024-03-04 08:00Z", "0", "-1",
]  # fmt: skip
NUMBERS = ["12.5", "0", "-1", "1e300", "nan", "inf", "-inf", "", "abc", "1,5", "3", "250.1"]
IDS = ["ev1", "ev2", "", " ", "ev1 ", "é", "0"]
HEADERS = [
    "vehicle_id,arrival,departure,energy_kwh",
    "userID,connectionTime,disconnectTime,kWhDelivered",
    "vehicle_id,arrival,energy_kwh",
    "vehicle_id,arrival,departure,energy_kwh,location",
    "a,b,c,d",
    "",
]


@st.composite
def session_csv(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(HEADERS))
    n_cols = max(1, header.count(",") + 1)
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(IDS),
                st.sampled_from(DATES),
                st.sampled_from(DATES),
                st.sampled_from(NUMBERS),
                st.sampled_from(["home", "", "work"]),
            ),
            max_size=5,
        )
    )
    buf = io.StringIO()
    buf.write(header + "\n")
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(r[:n_cols])
    if draw(st.booleans()):
        buf.write(draw(st.sampled_from(['"unterminated,\n', ",,,,,,,\n", "\x00\n"])))
    return buf.getvalue()


@FAST
@given(text=session_csv(), tz=st.sampled_from(["Europe/Amsterdam", "UTC", "Mars/Olympus"]))
def test_read_sessions_never_crashes(tmp_path: Path, text: str, tz: str) -> None:
    from evagg.fleet import Fleet
    from evagg.io import read_sessions

    path = tmp_path / "s.csv"
    path.write_text(text, encoding="utf-8")
    df = _call(read_sessions, path, tz=tz)
    if df is not None:
        assert (df["duration_h"] > 0).all() and (df["energy_kwh"] >= 0).all()
        assert (df["duration_h"] <= 336).all() and (df["energy_kwh"] <= 250).all()
        _call(Fleet.from_sessions, df.drop(columns="duration_h"))


MTU = [
    "01.01.2025 00:00 - 01.01.2025 01:00", "01.01.2025 01:00 - 01.01.2025 02:00",
    "01/01/2025 02:00:00 - 01/01/2025 03:00:00", "31.03.2024 02:00 - 31.03.2024 03:00",
    "27.10.2024 02:00 - 27.10.2024 03:00 (CET)", "2025-01-01 00:00", "", "n/e",
    "01.01.2025 00:00 - 01.01.2025 01:00",
]  # fmt: skip


@FAST
@given(
    rows=st.lists(st.tuples(st.sampled_from(MTU), st.sampled_from(NUMBERS)), max_size=4),
    header=st.sampled_from(
        [
            '"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]"',
            '"MTU (CET/CEST)","Area","Day-ahead Price (EUR/MWh)"',
            '"Time","Price"',
        ]
    ),
)
def test_read_entsoe_never_crashes(tmp_path: Path, rows: list, header: str) -> None:
    from evagg.io import read_entsoe_day_ahead_prices

    buf = io.StringIO()
    buf.write(header + "\n")
    w = csv.writer(buf, lineterminator="\n")
    for mtu, price in rows:
        w.writerow([mtu, "BZN|NL", price] if "Area" in header else [mtu, price])
    path = tmp_path / "da.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    s = _call(read_entsoe_day_ahead_prices, path)
    if s is not None:
        assert s.between(-500, 4000).all()


@FAST
@given(
    times=st.lists(
        st.sampled_from(["0", "1", "2", "2024-06-01T00:00:00+02:00", "2024-06-01T01:00:00+02:00",
                         "2024-06-01 00:00", "-1", "x", ""]),
        min_size=1, max_size=4,
    ),
    col=st.sampled_from(["load_scale", "p_mw_17", "p_mw_0", "p_mw_99", "p_mw_x",
                         "price_eur_per_mwh"]),
    vals=st.lists(st.sampled_from(NUMBERS), min_size=4, max_size=4),
)  # fmt: skip
def test_read_load_profile_never_crashes(tmp_path: Path, times: list, col: str, vals: list) -> None:
    from evagg.io import read_load_profile

    lines = [f"time,{col}"] + [f"{t},{v}" for t, v in zip(times, vals, strict=False)]
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _call(read_load_profile, path, pd.Index(range(33)))


# ------------------------------------------------------------------ configs and options
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "2024-06-12", "12/06/2024", "Mars/Olympus", "10:30", "abc", "kkt"]),
    st.lists(st.floats(-10, 1e4), max_size=3),
    st.lists(st.sampled_from(["10:30", "25:00", "10:07", "x"]), max_size=3),
)


def _config_models() -> list[type]:
    from evagg.studies import registry

    return [st_.config_model for _, st_ in sorted(registry.studies().items())]


@FAST
@given(model_i=st.integers(0, 50), data=st.data())
def test_study_configs_raise_only_config_errors(model_i: int, data: st.DataObject) -> None:
    models = _config_models()
    model = models[model_i % len(models)]
    keys = [*model.model_fields, "unknown_key"]
    cfg = data.draw(st.dictionaries(st.sampled_from(keys), VALUES, max_size=3))
    out = _call(model, **cfg)
    if out is not None:
        _no_nan(out.model_dump())


@FAST
@given(text=st.text(alphabet="0123456789.,-eE +naifINF", max_size=12))
def test_cli_number_lists_parse_or_name_the_option(text: str) -> None:
    from evagg.cli.bidding import _floats
    from evagg.cli.reliability import _parse_bids

    _call(_floats, "--beta", text)
    _call(_parse_bids, text)


# ------------------------------------------------------------------ public functions
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)


@FAST
@given(
    values=arrays(np.float64, st.integers(1, 5), elements=FLOATS),
    probs=arrays(np.float64, st.integers(1, 5), elements=FLOATS),
    alpha=FLOATS,
)
def test_cvar_of_samples(values: np.ndarray, probs: np.ndarray, alpha: float) -> None:
    from evagg.optim import cvar_of_samples

    out = _call(cvar_of_samples, values, probs, alpha)
    if out is not None:
        assert out <= values.max() + 1e-9 * max(1.0, abs(values.max()))


@FAST
@given(
    x=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=FLOATS),
    p=arrays(np.float64, st.integers(1, 4), elements=st.floats(-1, 3)),
    y=arrays(np.float64, st.integers(1, 4), elements=FLOATS),
)
def test_crps_and_quantiles(x: np.ndarray, p: np.ndarray, y: np.ndarray) -> None:
    from evagg.scenarios.scores import crps, weighted_quantiles

    out = _call(crps, x, p, y)
    if out is not None:
        assert np.all(out >= 0)
    _call(weighted_quantiles, x, p, (0.05, 0.95))


@FAST
@given(
    lam=FLOATS,
    pmf=arrays(np.float64, st.integers(0, 4), elements=st.floats(-0.5, 2)),
    h=st.one_of(st.floats(-1, 10), st.just(float("nan"))),
)
def test_compound_distributions(lam: float, pmf: np.ndarray, h: float) -> None:
    from evagg.reliability import (
        compound_poisson_fft,
        compound_poisson_panjer,
        discretize,
        poisson_binomial_sum,
    )

    lam = float(np.clip(lam, -1, 200)) if np.isfinite(lam) else lam
    for fn in (compound_poisson_fft, compound_poisson_panjer):
        d = _call(fn, lam, pmf, h)
        if d is not None:
            _no_nan(d.pmf)
            assert abs(d.pmf.sum() - 1) < 1e-6
    _call(discretize, pmf, None, h)
    _call(poisson_binomial_sum, np.clip(pmf, -0.1, 1.1), pmf * 10, h)


@FAST
@given(
    values=arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 5)), elements=FLOATS),
    probs=arrays(np.float64, st.integers(1, 5), elements=st.floats(-0.5, 1.5)),
)
def test_scenario_set_construction(values: np.ndarray, probs: np.ndarray) -> None:
    from evagg.scenarios import ScenarioSet, fast_forward_reduction

    idx = pd.date_range("2024-06-12", periods=values.shape[0], freq="1h", tz="Europe/Amsterdam")
    frame = pd.DataFrame(values, index=idx)
    p = pd.Series(probs, index=pd.RangeIndex(len(probs), name="scenario"))
    ss = _call(ScenarioSet, {"price_eur_per_mwh": frame}, p)
    if ss is not None:
        assert abs(ss.p.sum() - 1) < 1e-9
        _call(fast_forward_reduction, ss, 1)


@FAST
@given(
    date=st.one_of(st.text(max_size=12), st.sampled_from(["2024-06-12", "12/06/2024"])),
    tz=st.one_of(st.text(max_size=10), st.sampled_from(["UTC", "Europe/Amsterdam"])),
)
def test_dates_and_zones(date: str, tz: str) -> None:
    from evagg._checks import check_tz, parse_timestamp
    from evagg.data import load_nl_day_ahead_prices

    _call(parse_timestamp, "date", date, tz)
    _call(check_tz, "tz", tz)
    _call(load_nl_day_ahead_prices, date)


@pytest.mark.parametrize("price", [np.nan, np.inf, 1e300, -501.0, [50.0, np.nan]])
def test_opf_price_inputs(price: Any) -> None:
    from evagg.grid import DistFlowModel, Feeder

    model = DistFlowModel(Feeder.from_pandapower(), 1, 1.0)
    with pytest.raises(EvaggError):
        model.set_price(price)
