"""The joint linearised response (potential game) of evagg.dso_game.joint."""

from __future__ import annotations

import numpy as np
import pytest

from evagg.dso_game.aggregator import AggregatorSpec, BestResponseModel, elasticity_matrix
from evagg.dso_game.joint import JointResponse, jacobian_factors

T, DT, C_REF = 6, 1.0, 300.0
DLMP = np.array([[40.0, 55.0, 120.0, 150.0, 90.0, 60.0], [45.0, 60.0, 130.0, 170.0, 95.0, 65.0]])
D0 = np.array([[0.10, 0.20, 0.30, 0.25, 0.15, 0.10], [0.20, 0.10, 0.20, 0.30, 0.20, 0.05]])


def _models() -> list[BestResponseModel]:
    eps = elasticity_matrix(T)
    return [
        BestResponseModel(AggregatorSpec(bus=b, storage_kwh=300.0), eps, C_REF, DT) for b in (1, 2)
    ]


def _set(models: list[BestResponseModel], dlmp: np.ndarray) -> None:
    for k, m in enumerate(models):
        m.set_data(dlmp[k], D0[k], np.ones(T), dlmp[k] + 30.0, dlmp[k] - 30.0)


def test_jacobian_factors_reproduce_the_psd_part() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3, 4))
    fac = jacobian_factors(a)
    for t in range(4):
        s = 0.5 * (a[:, :, t] + a[:, :, t].T)
        w, v = np.linalg.eigh(s)
        psd = (v * np.maximum(w, 0)) @ v.T
        assert fac[:, :, t] @ fac[:, :, t].T == pytest.approx(psd, abs=1e-12)


def test_without_coupling_the_joint_response_is_each_plain_best_response() -> None:
    models = _models()
    joint = JointResponse(models, DT)
    _set(models, DLMP)
    out = joint.solve(np.zeros((2, 2, T)), np.zeros((2, T)))
    assert out is not None
    for k, m in enumerate(models):
        m.set_data(DLMP[k], D0[k], np.ones(T), DLMP[k] + 30.0, DLMP[k] - 30.0)
        plain = m.solve()
        assert out[k].profit_eur == pytest.approx(plain.profit_eur, rel=1e-6)
        assert out[k].net_load_mw == pytest.approx(plain.net_load_mw, abs=1e-5)


def test_plain_best_responses_are_a_fixed_point_and_coupling_damps_the_move() -> None:
    """Anchored at the plain best responses the joint response returns them (the
    coupling and its gradient vanish there: the game's equilibria are fixed points);
    anchored elsewhere, a shared-voltage Jacobian S_t = σ 11ᵀ keeps the loads nearer
    the anchor than the uncoupled (plain) responses."""
    models = _models()
    joint = JointResponse(models, DT)
    sens = np.zeros((2, 2, T))
    sens[:, :, 2:4] = 400.0
    _set(models, DLMP)
    plain = joint.solve(np.zeros((2, 2, T)), np.zeros((2, T)))
    assert plain is not None
    x_plain = np.array([b.net_load_mw for b in plain])
    _set(models, DLMP)
    fixed = joint.solve(sens, x_plain)
    assert fixed is not None
    assert np.array([b.net_load_mw for b in fixed]) == pytest.approx(x_plain, abs=1e-5)
    anchor = D0.copy()
    _set(models, DLMP)
    damped = joint.solve(sens, anchor)
    assert damped is not None
    x = np.array([b.net_load_mw for b in damped])
    move, free = (x - anchor)[:, 2:4].sum(axis=0), (x_plain - anchor)[:, 2:4].sum(axis=0)
    assert np.all(np.abs(move) < np.abs(free))
