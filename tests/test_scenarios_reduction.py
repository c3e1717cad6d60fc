"""Fast forward scenario reduction (Heitsch & Römisch 2003)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from evagg import EvaggError, InputError
from evagg.scenarios import (
    ScenarioSet,
    fast_forward_reduction,
    pairwise_distances,
    reduction_features,
)

IDX = pd.date_range("2024-03-04", periods=4, freq="1h", tz="Europe/Amsterdam", name="time")


def _set(values: np.ndarray, p: np.ndarray | None = None, name: str = "x") -> ScenarioSet:
    """ScenarioSet of one quantity from an (S, T) array."""
    s, t = values.shape
    idx = pd.date_range("2024-03-04", periods=t, freq="15min", tz="UTC", name="time")
    frame = pd.DataFrame(values.T, index=idx, columns=pd.RangeIndex(s, name="scenario"))
    if p is None:
        return ScenarioSet.equiprobable({name: frame})
    return ScenarioSet({name: frame}, pd.Series(p, index=frame.columns, name="probability"))


def _brute_force(c: np.ndarray, p: np.ndarray, n_keep: int) -> tuple[float, tuple[int, ...]]:
    """Optimal reduction by enumeration: min over subsets J of Σ_{k∉J} p_k min_{j∈J} c_kj."""
    best = (np.inf, ())
    for keep in itertools.combinations(range(len(p)), n_keep):
        d = float(p @ c[:, list(keep)].min(axis=1))
        best = min(best, (d, keep))
    return best


def _loop_forward(c: np.ndarray, p: np.ndarray, n_keep: int) -> list[int]:
    """Heitsch & Römisch Algorithm 2.4 written literally with loops (reference)."""
    s = len(p)
    cc = c.copy()
    unselected = list(range(s))
    chosen: list[int] = []
    for _ in range(n_keep):
        best_u, best_z = -1, np.inf
        for u in unselected:
            z = sum(p[k] * cc[k, u] for k in unselected if k != u)
            if z < best_z:
                best_u, best_z = u, z
        chosen.append(best_u)
        unselected.remove(best_u)
        for k in unselected:
            for u in unselected:
                cc[k, u] = min(cc[k, u], cc[k, best_u])
    return chosen


def test_probabilities_sum_to_one_and_subset() -> None:
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(60))
    ss = _set(rng.normal(size=(60, 24)), p)
    res = fast_forward_reduction(ss, 7)
    red = res.scenarios
    assert red.n_scenarios == 7
    assert abs(red.p.sum() - 1.0) < 1e-12
    assert set(red.scenarios) <= set(ss.scenarios)
    assert list(red.scenarios) == res.kept
    # kept values are the input's values, not new points
    for lab in res.kept:
        np.testing.assert_array_equal(red["x"][lab].to_numpy(), ss["x"][lab].to_numpy())


def test_redistribution_goes_to_nearest_kept() -> None:
    """Each deleted scenario's probability goes to its nearest kept one (hand check)."""
    rng = np.random.default_rng(2)
    ss = _set(rng.normal(size=(30, 5)))
    res = fast_forward_reduction(ss, 4, standardize=False)
    x = ss.array("x")
    kept = np.array(res.kept)
    c = pairwise_distances(x)
    nearest = kept[np.argmin(c[:, kept], axis=1)]
    expected = {int(k): float(np.sum(ss.p[nearest == k])) for k in kept}
    got = res.scenarios.probabilities.to_dict()
    assert got == pytest.approx(expected, rel=1e-12)
    # and the reported distance is the transport cost of that redistribution
    assert res.kantorovich_distance == pytest.approx(float(ss.p @ c[:, kept].min(axis=1)))


def test_distance_non_increasing_in_n_keep() -> None:
    rng = np.random.default_rng(3)
    ss = _set(rng.normal(size=(80, 12)), rng.dirichlet(np.ones(80)))
    res = fast_forward_reduction(ss, 80)
    d = res.distance_by_n_kept.to_numpy()
    assert np.all(np.diff(d) <= 1e-12)
    assert d[-1] == pytest.approx(0.0, abs=1e-9)  # keeping all: no transport
    # separate runs agree with the recorded path (forward selection is nested)
    for k in (1, 5, 20):
        assert fast_forward_reduction(ss, k).kantorovich_distance == pytest.approx(d[k - 1])


def test_vectorised_matches_literal_algorithm() -> None:
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(25))
    x = rng.normal(size=(25, 6))
    res = fast_forward_reduction(_set(x, p), 6, standardize=False)
    assert res.kept == _loop_forward(pairwise_distances(x), p, 6)


def test_single_kept_scenario_is_optimal() -> None:
    """Step 1 of forward selection is exhaustive, so n_keep=1 equals brute force."""
    rng = np.random.default_rng(5)
    for _ in range(5):
        p = rng.dirichlet(np.ones(9))
        x = rng.normal(size=(9, 3))
        d_opt, keep = _brute_force(pairwise_distances(x), p, 1)
        res = fast_forward_reduction(_set(x, p), 1, standardize=False)
        assert res.kantorovich_distance == pytest.approx(d_opt)
        assert res.kept == [keep[0]]


def test_constructed_case_equals_brute_force() -> None:
    """Two clusters of three points, 10 apart, each spread perpendicular to the line
    joining them: the optimum keeps both cluster centres (hand calculation: the four
    other points are 0.1 away, D = 4 · 0.1 / 6), and forward selection finds it.

    (On clusters spread *along* that line forward selection is not optimal: its first
    pick is pulled towards the other cluster. That is the heuristic, not a bug.)"""
    x = np.array([[0, 0], [0, 0.1], [0, -0.1], [10, 0], [10, 0.1], [10, -0.1]], dtype=float)
    p = np.full(6, 1 / 6)
    d_opt, keep = _brute_force(pairwise_distances(x), p, 2)
    assert keep == (0, 3)
    assert d_opt == pytest.approx(4 * 0.1 / 6)
    res = fast_forward_reduction(_set(x, p), 2, standardize=False)
    assert sorted(res.kept) == [0, 3]
    assert res.kantorovich_distance == pytest.approx(d_opt)
    assert res.scenarios.p == pytest.approx([0.5, 0.5])


def test_forward_selection_is_a_heuristic() -> None:
    """Clusters spread along the line joining them: greedy keeps a sub-optimal pair
    (D = 0.5/6 against the optimum 0.4/6, by hand), still within the stated factor."""
    x = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    p = np.full(6, 1 / 6)
    d_opt, _ = _brute_force(pairwise_distances(x), p, 2)
    d = fast_forward_reduction(_set(x, p), 2, standardize=False).kantorovich_distance
    assert d_opt == pytest.approx(0.4 / 6)
    assert d == pytest.approx(0.5 / 6)
    assert d <= 1.5 * d_opt


def test_random_tiny_cases_within_factor_of_optimum() -> None:
    """6 → 2 on random data: the heuristic is never better than the exhaustive optimum
    (a check of both codes) and, on these 30 seeded cases, within a factor 1.5 of it
    (an empirical bound for this distribution, not a theorem)."""
    rng = np.random.default_rng(6)
    ratios = []
    for _ in range(30):
        p = rng.dirichlet(np.ones(6))
        x = rng.normal(size=(6, 4))
        d_opt, _ = _brute_force(pairwise_distances(x), p, 2)
        d = fast_forward_reduction(_set(x, p), 2, standardize=False).kantorovich_distance
        assert d >= d_opt - 1e-12
        ratios.append(d / d_opt)
    assert max(ratios) <= 1.5
    assert np.mean(np.isclose(ratios, 1.0)) >= 0.5  # mostly exactly optimal


def test_standardize_makes_units_irrelevant() -> None:
    """Rescaling one quantity (MWh → kWh) changes nothing when standardised."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(40, 6)), rng.normal(size=(40, 6))
    idx = pd.date_range("2024-01-01", periods=6, freq="1h", tz="UTC")
    cols = pd.RangeIndex(40, name="scenario")

    def make(scale: float) -> ScenarioSet:
        return ScenarioSet.equiprobable(
            {
                "a": pd.DataFrame(a.T, index=idx, columns=cols),
                "b": pd.DataFrame(scale * b.T, index=idx, columns=cols),
            }
        )

    assert fast_forward_reduction(make(1.0), 5).kept == fast_forward_reduction(make(1e3), 5).kept
    f = reduction_features(make(1e3))
    assert f.shape == (40, 12)
    # each block has unit pooled standard deviation
    assert np.sqrt(np.mean(f[:, 6:] ** 2)) == pytest.approx(1.0)


def test_quantities_selects_features() -> None:
    rng = np.random.default_rng(8)
    idx = pd.date_range("2024-01-01", periods=3, freq="1h", tz="UTC")
    cols = pd.RangeIndex(20, name="scenario")
    ss = ScenarioSet.equiprobable(
        {
            "a": pd.DataFrame(rng.normal(size=(3, 20)), index=idx, columns=cols),
            "b": pd.DataFrame(rng.normal(size=(3, 20)), index=idx, columns=cols),
        }
    )
    only_a = fast_forward_reduction(ss, 4, quantities=["a"])
    ref = fast_forward_reduction(ScenarioSet.equiprobable({"a": ss["a"]}), 4)
    assert only_a.kept == ref.kept
    assert only_a.scenarios.quantities == ["a", "b"]  # all quantities are kept


@pytest.mark.parametrize("n_keep", [0, -1, 11, 2.5, True])
def test_bad_n_keep_raises(n_keep: object) -> None:
    ss = _set(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(InputError, match="n_keep"):
        fast_forward_reduction(ss, n_keep)  # type: ignore[arg-type]


def test_bad_inputs_raise() -> None:
    ss = _set(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(InputError, match="quantity"):
        fast_forward_reduction(ss, 2, quantities=["nope"])
    with pytest.raises(InputError, match="ss"):
        fast_forward_reduction(ss["x"], 2)  # type: ignore[arg-type]
    with pytest.raises(EvaggError, match="sum to"):
        _set(np.zeros((3, 2)), np.array([0.5, 0.3, 0.1]))


def test_memory_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Too many scenarios for the S × S matrices: a clear error, not a MemoryError."""
    import evagg.scenarios.reduction as red

    monkeypatch.setattr(red, "MAX_MATRIX_GB", 1e-6)  # 2·8·S² bytes > 1 kB for S = 10
    ss = _set(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(InputError, match="GB"):
        fast_forward_reduction(ss, 2)
