"""Scenario generation: day-ahead (SARIMAX), balancing premia, EV demand eq. (1), rivals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from evagg import EvaggError, InputError, MisalignedIndexError, SolverError
from evagg.data import load_nl_day_ahead_prices
from evagg.scenarios import (
    DA_PRICE,
    EV_DEMAND,
    NEG_BAL_PRICE,
    POS_BAL_PRICE,
    BalancingPremiumModel,
    PriceModel,
    ScenarioSet,
    balancing_price_scenarios,
    day_ahead_price_scenarios,
    ev_demand_scenarios,
    fit_price_model,
    market_scenarios,
    rival_level_probabilities,
    rival_price_scenarios,
)

TZ = "Europe/Amsterdam"
DAY = "2024-05-15"


@pytest.fixture(scope="module")
def prices() -> pd.Series:
    return load_nl_day_ahead_prices()


@pytest.fixture(scope="module")
def model(prices: pd.Series) -> PriceModel:
    return fit_price_model(prices, DAY)


def _next_midnight(day: str) -> pd.Timestamp:
    return (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(TZ)


def _day_index(day: str, hours: int = 24) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(day, tz=TZ), periods=hours, freq="1h", name="time")


def _da_set(values: np.ndarray, idx: pd.DatetimeIndex) -> ScenarioSet:
    cols = pd.RangeIndex(values.shape[0], name="scenario")
    return ScenarioSet.equiprobable({DA_PRICE: pd.DataFrame(values.T, index=idx, columns=cols)})


# --- day-ahead ------------------------------------------------------------------------
def test_day_ahead_shape_and_training_window(prices: pd.Series, model: PriceModel) -> None:
    ss = day_ahead_price_scenarios(prices, DAY, n=50, seed=1, model=model)
    assert ss.quantities == [DA_PRICE]
    assert ss.n_scenarios == 50
    assert ss.time_index.equals(_day_index(DAY))
    assert np.allclose(ss.p, 1 / 50)
    # fitted only on the 28 days strictly before the day
    assert model.train_index[-1] == pd.Timestamp(DAY, tz=TZ) - pd.Timedelta(hours=1)
    assert model.train_index[0] == pd.Timestamp("2024-04-17", tz=TZ)
    assert model.converged


def test_day_ahead_same_seed_identical(prices: pd.Series, model: PriceModel) -> None:
    a = day_ahead_price_scenarios(prices, DAY, n=30, seed=7, model=model)
    b = day_ahead_price_scenarios(prices, DAY, n=30, seed=7, model=model)
    c = day_ahead_price_scenarios(prices, DAY, n=30, seed=8, model=model)
    pd.testing.assert_frame_equal(a[DA_PRICE], b[DA_PRICE])
    assert not np.allclose(a.array(DA_PRICE), c.array(DA_PRICE))
    gen = np.random.default_rng(7)
    d = day_ahead_price_scenarios(prices, DAY, n=30, seed=gen, model=model)
    pd.testing.assert_frame_equal(a[DA_PRICE], d[DA_PRICE])


def test_day_ahead_never_sees_the_day(prices: pd.Series) -> None:
    """Changing the target day's and later prices changes nothing (no look-ahead)."""
    day = "2019-03-15"
    tampered = prices.copy()
    tampered.loc[tampered.index >= pd.Timestamp(day, tz=TZ)] = 1e4
    a = day_ahead_price_scenarios(prices, day, n=20, train_days=7, seed=3)
    b = day_ahead_price_scenarios(tampered, day, n=20, train_days=7, seed=3)
    pd.testing.assert_frame_equal(a[DA_PRICE], b[DA_PRICE])


@pytest.mark.parametrize(("day", "hours"), [("2023-03-26", 23), ("2023-10-29", 25)])
def test_day_ahead_dst_days(prices: pd.Series, day: str, hours: int) -> None:
    ss = day_ahead_price_scenarios(prices, day, n=10, train_days=7, seed=0)
    idx = ss.time_index
    assert len(idx) == hours
    assert idx[0] == pd.Timestamp(day, tz=TZ)
    assert idx[-1] + pd.Timedelta(hours=1) == _next_midnight(day)


HELD_OUT = ["2019-03-15", "2020-07-15", "2021-11-15", "2023-02-15"]


def _mae_vs_flat(prices: pd.Series, day: str) -> tuple[float, float]:
    """MAE [EUR/MWh] of the scenario mean and of the flat 28-day training mean."""
    ss = day_ahead_price_scenarios(prices, day, n=200, seed=0)
    start = pd.Timestamp(day, tz=TZ)
    y = prices.loc[(prices.index >= start) & (prices.index < _next_midnight(day))]
    assert y.index.equals(ss.time_index)
    train = prices.loc[(prices.index >= ss.meta["train_start"]) & (prices.index < start)]
    train_start = (pd.Timestamp(day) - pd.Timedelta(days=28)).tz_localize(TZ)
    assert train.index[0] == train_start  # 28 local days (671-673 hours across DST)
    mae = float(np.mean(np.abs(ss.expected(DA_PRICE).to_numpy() - y.to_numpy())))
    flat = float(np.mean(np.abs(float(train.mean()) - y.to_numpy())))
    return mae, flat


def test_scenario_mean_beats_flat_mean_on_held_out_days(prices: pd.Series) -> None:
    """Metric: mean absolute error of the hourly scenario mean against the realised
    price, versus the flat mean of the same 28-day training window, on four held-out
    days in four different years. The model must win on every day."""
    res = [_mae_vs_flat(prices, d) for d in HELD_OUT]
    for day, (mae, flat) in zip(HELD_OUT, res, strict=True):
        assert mae < flat, (day, mae, flat)


@pytest.mark.slow
def test_scenario_mean_beats_flat_mean_many_days(prices: pd.Series) -> None:
    """Same metric on 24 days (the 15th of every other month, 2019-2022): the average
    MAE must be at most 80 % of the flat baseline's, and the model win on >= 75 %."""
    days = [f"{y}-{m:02d}-15" for y in (2019, 2020, 2021, 2022) for m in range(1, 13, 2)]
    res = np.array([_mae_vs_flat(prices, d) for d in days])
    assert res[:, 0].mean() <= 0.8 * res[:, 1].mean()
    assert np.mean(res[:, 0] < res[:, 1]) >= 0.75


def test_day_ahead_bad_inputs(prices: pd.Series, model: PriceModel) -> None:
    with pytest.raises(InputError, match="n="):
        day_ahead_price_scenarios(prices, DAY, n=0, model=model)
    with pytest.raises(InputError, match="outside the price data"):
        fit_price_model(prices, "2030-01-01")
    with pytest.raises(InputError, match="too little history"):
        fit_price_model(prices, "2015-01-10")
    with pytest.raises(InputError, match="train_days"):
        fit_price_model(prices, DAY, train_days=3)
    with pytest.raises(InputError, match="date"):
        fit_price_model(prices, "not a date")
    with pytest.raises(InputError, match="tz-aware"):
        fit_price_model(prices.tz_localize(None), DAY)
    with pytest.raises(InputError, match="hourly"):
        fit_price_model(prices.resample("2h").mean(), DAY)
    gappy = prices.drop(pd.Timestamp("2024-05-10 12:00", tz=TZ))
    with pytest.raises(InputError, match="not regularly spaced"):
        fit_price_model(gappy, DAY)
    with pytest.raises(InputError, match="another day"):
        day_ahead_price_scenarios(prices, "2024-05-16", model=model)
    with pytest.raises(EvaggError, match="seed"):
        day_ahead_price_scenarios(prices, DAY, seed="abc", model=model)  # type: ignore[arg-type]


def test_gap_filling_is_explicit_and_linear(prices: pd.Series) -> None:
    """The bundled series lacks 2023-12-31 00:00; a window over it fails unless
    ``max_gap_hours`` allows interpolation, which fills the hour with the mean of its
    neighbours (linear in time) and reports it."""
    missing = pd.Timestamp("2023-12-31 00:00", tz=TZ)
    assert missing not in prices.index
    with pytest.raises(InputError, match="max_gap_hours"):
        fit_price_model(prices, "2024-01-03", train_days=7)
    m = fit_price_model(prices, "2024-01-03", train_days=7, max_gap_hours=1)
    assert m.filled_hours == 1
    k = m.train_index.get_loc(missing)
    y = np.asarray(m.results.model.endog).ravel()
    before = prices[missing - pd.Timedelta(hours=1)]
    after = prices[missing + pd.Timedelta(hours=1)]
    assert y[k] == pytest.approx((before + after) / 2)
    # the same hour at the window's first hour (2024-01-28, 28 days) is interpolated from
    # the hour before the window (was an error: the backtest failed that day)
    edge = fit_price_model(prices, "2024-01-28", train_days=28, max_gap_hours=1)
    assert edge.filled_hours == 1 and edge.train_index[0] == missing
    y = np.asarray(edge.results.model.endog).ravel()
    assert y[0] == pytest.approx((before + after) / 2)
    gappy = prices.drop(pd.date_range("2024-05-10 10:00", periods=3, freq="1h", tz=TZ))
    with pytest.raises(InputError, match="longest gap 3 h"):
        fit_price_model(gappy, DAY, max_gap_hours=2)
    with pytest.raises(InputError, match="max_gap_hours"):
        fit_price_model(prices, DAY, max_gap_hours=-1)


def test_fit_failure_retries_then_raises_solver_error(
    prices: pd.Series, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A LinAlgError inside statsmodels' Kalman filter (seen on real windows with extra
    regressors) triggers one retry with Powell's method; if that fails too, the user
    gets a SolverError naming the model and both failures, not a numpy traceback."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    orig = SARIMAX.fit
    calls: list[str] = []

    def flaky(self: SARIMAX, *args: object, **kw: object) -> object:
        calls.append(str(kw.get("method")))
        if kw.get("method") == "lbfgs":
            raise np.linalg.LinAlgError("LU decomposition error.")
        return orig(self, *args, **{**kw, "method": "lbfgs"})  # cheap stand-in for Powell

    monkeypatch.setattr(SARIMAX, "fit", flaky)
    m = fit_price_model(prices, "2019-03-15", train_days=7)
    assert calls == ["lbfgs", "powell"] and m.converged

    def broken(self: SARIMAX, *args: object, **kw: object) -> object:
        raise np.linalg.LinAlgError("LU decomposition error.")

    monkeypatch.setattr(SARIMAX, "fit", broken)
    with pytest.raises(SolverError, match=r"lbfgs: LinAlgError.*powell: LinAlgError"):
        fit_price_model(prices, "2019-03-15", train_days=7)


# --- balancing ------------------------------------------------------------------------
def test_balancing_ordering_and_heavier_negative_tail() -> None:
    idx = _day_index(DAY)
    rng = np.random.default_rng(0)
    da = _da_set(50 + 20 * rng.standard_normal((400, 24)), idx)
    ss = balancing_price_scenarios(da, seed=1)
    assert ss.quantities == [DA_PRICE, POS_BAL_PRICE, NEG_BAL_PRICE]
    lam, pos, neg = ss.array(DA_PRICE), ss.array(POS_BAL_PRICE), ss.array(NEG_BAL_PRICE)
    assert np.all(pos >= lam) and np.all(neg <= lam)
    up, down = (pos - lam).ravel(), (lam - neg).ravel()
    m = BalancingPremiumModel()
    # sample means vs the closed-form log-normal mean (1 − q)·exp(μ + σ²/2)
    assert up.mean() == pytest.approx(m.premium_mean("pos"), rel=0.1)
    assert down.mean() == pytest.approx(m.premium_mean("neg"), rel=0.15)
    # heavier tail on the negative side
    assert np.quantile(down, 0.99) > 1.3 * np.quantile(up, 0.99)
    # same seed, same premia; DA untouched
    again = balancing_price_scenarios(da, seed=1)
    np.testing.assert_array_equal(again.array(NEG_BAL_PRICE), neg)
    np.testing.assert_array_equal(lam, da.array(DA_PRICE))


def _synthetic_imbalance(model: BalancingPremiumModel, hours: int, seed: int) -> tuple:
    idx = pd.date_range("2023-01-01", periods=hours, freq="1h", tz=TZ)
    rng = np.random.default_rng(seed)
    da = pd.Series(60 + 25 * rng.standard_normal(hours), index=idx)
    pos, neg = model.sample_premia((1, hours), rng)
    imb = pd.DataFrame(
        {
            "pos_price_eur_per_mwh": da.to_numpy() + pos[0],
            "neg_price_eur_per_mwh": da.to_numpy() - neg[0],
        },
        index=idx,
    )
    return imb, da


def test_balancing_fit_recovers_parameters() -> None:
    """Fit on a long series simulated from known parameters recovers them."""
    true = BalancingPremiumModel(
        pos_log_mean=2.0, pos_log_sd=0.6, neg_log_mean=2.8, neg_log_sd=1.3,
        pos_zero_prob=0.2, neg_zero_prob=0.05, pos_rho=0.5, neg_rho=0.8,
    )  # fmt: skip
    imb, da = _synthetic_imbalance(true, 20_000, seed=3)
    fit = BalancingPremiumModel.fit(imb, da)
    for name, tol in [
        ("pos_log_mean", 0.03), ("pos_log_sd", 0.03), ("neg_log_mean", 0.06),
        ("neg_log_sd", 0.04), ("pos_zero_prob", 0.02), ("neg_zero_prob", 0.01),
        ("pos_rho", 0.12), ("neg_rho", 0.05),
    ]:  # fmt: skip
        assert getattr(fit, name) == pytest.approx(getattr(true, name), abs=tol), name


def test_balancing_fit_averages_quarter_hours() -> None:
    """15-min imbalance prices are averaged to the hourly day-ahead periods (hand case)."""
    idx15 = pd.date_range("2023-01-01", periods=4 * 60, freq="15min", tz=TZ)
    idx1 = pd.date_range("2023-01-01", periods=60, freq="1h", tz=TZ)
    da = pd.Series(50.0, index=idx1)
    # premia per hour: quarter-hours 10, 20, 30, 40 → mean 25 (positive); 5 each (negative)
    pos = 50.0 + np.tile([10.0, 20.0, 30.0, 40.0], 60)
    imb = pd.DataFrame({"pos_price_eur_per_mwh": pos, "neg_price_eur_per_mwh": 45.0}, index=idx15)
    fit = BalancingPremiumModel.fit(imb, da)
    assert fit.pos_log_mean == pytest.approx(np.log(25.0))
    assert fit.neg_log_mean == pytest.approx(np.log(5.0))
    assert fit.pos_log_sd == pytest.approx(0.0) and fit.pos_zero_prob == 0.0
    with pytest.raises(MisalignedIndexError):
        BalancingPremiumModel.fit(imb, da.iloc[:-1])
    with pytest.raises(InputError, match="incomplete"):
        BalancingPremiumModel.fit(imb.iloc[1:], da)
    with pytest.raises(InputError, match="missing"):
        BalancingPremiumModel.fit(imb[["pos_price_eur_per_mwh"]], da)
    bad = imb.copy()
    bad.iloc[5, 0] = np.nan
    with pytest.raises(InputError, match="pos_price"):
        BalancingPremiumModel.fit(bad, da)
    flat = imb.assign(neg_price_eur_per_mwh=60.0)  # negative price above DA everywhere
    with pytest.raises(InputError, match="neg premium"):
        BalancingPremiumModel.fit(flat, da)


@pytest.mark.parametrize(
    ("field", "value"),
    [("pos_log_sd", -0.1), ("neg_zero_prob", 1.0), ("pos_rho", 1.0), ("neg_log_mean", np.nan)],
)
def test_balancing_model_rejects_bad_parameters(field: str, value: float) -> None:
    with pytest.raises(InputError, match=field):
        BalancingPremiumModel(**{field: value})


# --- EV demand, eq. (1) -----------------------------------------------------------------
def test_ev_demand_eq1_hand_calculation() -> None:
    """Two equiprobable DA scenarios 60 and 100 EUR/MWh → λ̂ = 80; with Ê = 2 MWh and
    Δ = 0.2: E = 2·(1 + 0.2·(±20/80)) = 1.9 and 2.1 MWh."""
    idx = _day_index(DAY, 2)
    da = _da_set(np.array([[60.0, 60.0], [100.0, 100.0]]), idx)
    e = ev_demand_scenarios(pd.Series(2.0, index=idx), delta=0.2, da=da)
    assert e.quantities == [EV_DEMAND]
    np.testing.assert_allclose(e.array(EV_DEMAND), [[1.9, 1.9], [2.1, 2.1]])
    assert e.expected(EV_DEMAND).to_numpy() == pytest.approx([2.0, 2.0])
    pd.testing.assert_index_equal(e.scenarios, da.scenarios)


def test_ev_demand_floor_and_clip() -> None:
    """λ̂ = 0 uses the 10 EUR/MWh floor: (±50/10)·Δ = ±1 → E = 0 and 2·Ê; Δ = 0.5 with
    the same prices would go negative and is clipped at 0."""
    idx = _day_index(DAY, 1)
    da = _da_set(np.array([[-50.0], [50.0]]), idx)
    e = ev_demand_scenarios(pd.Series(1.0, index=idx), delta=0.2, da=da)
    np.testing.assert_allclose(e.array(EV_DEMAND).ravel(), [0.0, 2.0])
    e2 = ev_demand_scenarios(pd.Series(1.0, index=idx), delta=0.5, da=da)
    np.testing.assert_allclose(e2.array(EV_DEMAND).ravel(), [0.0, 3.5])
    assert e2.meta["clipped"] == 1


def test_ev_demand_standalone_seeded() -> None:
    idx = _day_index(DAY)
    exp = pd.Series(np.linspace(0.1, 1.0, 24), index=idx)
    a = ev_demand_scenarios(exp, 500, seed=4)
    b = ev_demand_scenarios(exp, 500, seed=4)
    pd.testing.assert_frame_equal(a[EV_DEMAND], b[EV_DEMAND])
    assert a.n_scenarios == 500
    # relative spread Δ·s = 0.2·0.25 = 0.05 around Ê (no clipping at this spread)
    rel = a.array(EV_DEMAND) / exp.to_numpy() - 1
    assert rel.std() == pytest.approx(0.05, rel=0.05)
    assert a.expected(EV_DEMAND).to_numpy() == pytest.approx(exp.to_numpy(), rel=0.01)


def test_ev_demand_bad_inputs() -> None:
    idx = _day_index(DAY, 3)
    exp = pd.Series([1.0, 2.0, 3.0], index=idx)
    with pytest.raises(InputError, match="delta"):
        ev_demand_scenarios(exp, 5, delta=-0.1)
    with pytest.raises(InputError, match="expected_mwh"):
        ev_demand_scenarios(pd.Series([1.0, -2.0, 3.0], index=idx), 5)
    with pytest.raises(InputError, match="n="):
        ev_demand_scenarios(exp, 0)
    with pytest.raises(InputError, match="n="):
        ev_demand_scenarios(exp)
    with pytest.raises(InputError, match="tz-aware"):
        ev_demand_scenarios(exp.tz_localize(None), 5)
    da = _da_set(np.ones((4, 3)) * 50, idx)
    with pytest.raises(InputError, match="n="):
        ev_demand_scenarios(exp, 5, da=da)
    other = pd.Series([1.0, 2.0, 3.0], index=_day_index("2024-05-16", 3))
    with pytest.raises(MisalignedIndexError):
        ev_demand_scenarios(other, da=da)


# --- rivals ---------------------------------------------------------------------------------
def test_rival_level_probabilities_hand_values() -> None:
    """Normal mass of [−1.5, −0.5]σ, [−0.5, 0.5]σ, [0.5, 1.5]σ, normalised."""
    raw = np.array(
        [norm.cdf(-0.5) - norm.cdf(-1.5), norm.cdf(0.5) - norm.cdf(-0.5),
         norm.cdf(1.5) - norm.cdf(0.5)]
    )  # fmt: skip
    assert raw == pytest.approx([0.2417, 0.3829, 0.2417], abs=1e-4)
    assert rival_level_probabilities() == pytest.approx([0.2790, 0.4420, 0.2790], abs=1e-4)


def test_rival_roulette_frequencies_and_values() -> None:
    idx = _day_index(DAY)
    fc = pd.DataFrame({"a": np.linspace(80, 120, 24), "b": 200.0, "c": 150.0}, index=idx)
    n = 20_000
    ss = rival_price_scenarios(fc, n, sigma_frac=0.15, seed=5)
    assert ss.quantities == [f"rival{k}_price_eur_per_mwh" for k in (1, 2, 3)]
    v = ss.array("rival2_price_eur_per_mwh")
    # whole-day draws: three distinct values 170, 200, 230
    assert np.all(v == v[:, :1])
    vals, counts = np.unique(v[:, 0], return_counts=True)
    np.testing.assert_allclose(vals, [170.0, 200.0, 230.0])
    p = rival_level_probabilities()
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(counts / n - p) < 4 * se)
    # rival 1 keeps its hourly shape: value = forecast · (1 + k·0.15)
    k = np.asarray(ss.meta["levels"])[:, 0]
    np.testing.assert_allclose(
        ss.array("rival1_price_eur_per_mwh"), fc["a"].to_numpy()[None, :] * (1 + 0.15 * k[:, None])
    )
    # rivals drawn independently: correlation of levels ≈ 0
    lv = np.asarray(ss.meta["levels"])
    assert abs(np.corrcoef(lv[:, 0], lv[:, 1])[0, 1]) < 0.03
    again = rival_price_scenarios(fc, n, sigma_frac=0.15, seed=5)
    np.testing.assert_array_equal(again.array("rival3_price_eur_per_mwh"), ss.array(
        "rival3_price_eur_per_mwh"))  # fmt: skip
    hourly = rival_price_scenarios(fc, 50, seed=1, per_hour=True)
    assert not np.all(hourly.array("rival2_price_eur_per_mwh") == 200.0)


def test_rival_bad_inputs() -> None:
    idx = _day_index(DAY, 2)
    fc = pd.DataFrame({"a": [1.0, 2.0]}, index=idx)
    with pytest.raises(InputError, match="n="):
        rival_price_scenarios(fc, 0)
    with pytest.raises(InputError, match="sigma_frac"):
        rival_price_scenarios(fc, 3, sigma_frac=-0.1)
    with pytest.raises(InputError, match="forecast"):
        rival_price_scenarios(fc.assign(a=[1.0, np.nan]), 3)
    with pytest.raises(InputError, match="forecast"):
        rival_price_scenarios(fc.iloc[:, :0], 3)


# --- joint market scenarios ------------------------------------------------------------
def test_market_scenarios_joint(prices: pd.Series, model: PriceModel) -> None:
    idx = _day_index(DAY)
    exp = pd.Series(np.full(24, 0.5), index=idx)
    ss = market_scenarios(prices, DAY, exp, n=40, seed=2, price_model=model)
    assert set(ss.quantities) == {DA_PRICE, POS_BAL_PRICE, NEG_BAL_PRICE, EV_DEMAND}
    assert ss.n_scenarios == 40
    # demand of scenario ω follows its own DA path by eq. (1)
    lam = ss.array(DA_PRICE)
    lam_hat = lam.mean(axis=0)
    expected = 0.5 * (1 + 0.2 * (lam - lam_hat) / np.maximum(np.abs(lam_hat), 10.0))
    np.testing.assert_allclose(ss.array(EV_DEMAND), np.maximum(expected, 0.0))
    again = market_scenarios(prices, DAY, exp, n=40, seed=2, price_model=model)
    for q in ss.quantities:
        pd.testing.assert_frame_equal(ss[q], again[q])
    with pytest.raises(MisalignedIndexError):
        market_scenarios(prices, DAY, exp.iloc[:-1], n=5, seed=0, price_model=model)


def test_rival_merge_duplicates_is_exact() -> None:
    """Merging identical level combinations keeps the distribution: same expected
    prices as the n equiprobable draws, probabilities = counts / n, ≤ 3² scenarios."""
    idx = _day_index(DAY, 3)
    fc = pd.DataFrame({"a": [100.0, 110.0, 120.0], "b": 80.0}, index=idx)
    full = rival_price_scenarios(fc, 500, seed=9)
    merged = rival_price_scenarios(fc, 500, seed=9, merge_duplicates=True)
    assert merged.n_scenarios <= 9
    assert abs(merged.p.sum() - 1.0) < 1e-12
    for q in full.quantities:
        np.testing.assert_allclose(merged.expected(q), full.expected(q))
    lv_full = np.asarray(full.meta["levels"])
    first = tuple(lv_full[0])
    share = np.mean([tuple(r) == first for r in lv_full])
    assert merged.p[0] == pytest.approx(share)  # label 0 = first drawn combination


def test_fast_simulate_same_bytes_as_statsmodels(model: PriceModel) -> None:
    """PriceModel.simulate skips statsmodels' per-path stationary initialisation (its
    result is unused when the initial state is passed); the paths must be the same bytes
    as statsmodels' own ``simulate`` with the same generator, and the model's
    initialisation must be restored."""
    from evagg.scenarios.prices import _rng_keyword

    before = model.results.model.ssm.initialization
    ours = model.simulate(5, np.random.default_rng(11))
    ref = model.results.simulate(
        nsimulations=len(model.day_index),
        repetitions=5,
        anchor="end",
        **{_rng_keyword(): np.random.default_rng(11)},
    )
    assert np.array_equal(ours, np.asarray(ref, dtype=float).reshape(ours.shape))
    assert model.results.model.ssm.initialization is before
