"""Points system of seed 000 §5.2–5.3 on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from evagg.errors import EvaggError
from evagg.points import (
    PointsRules,
    Trips,
    UserPopulation,
    charging_profiles_kwh,
    discount_factor,
    draw_trips,
    event_points,
    logit_choice,
    recorded_offset_min,
    reservation_band,
    service_fee,
    synthesize_users,
)

RULES = PointsRules(phi_per_min=0.05, g_per_point=0.02, mu=0.5, discount_floor=0.5)


def test_reservation_bands_and_recorded_offsets() -> None:
    # seed §5.1 (2): 0–5 min, 5–20 min, ≥ 20 min cancelled and recorded as 30 min
    off = [0.0, 3.0, -4.9, 5.0, 19.9, 20.0, 45.0]
    assert list(reservation_band(off, RULES)) == [
        "punctual",
        "punctual",
        "punctual",
        "late",
        "late",
        "cancelled",
        "cancelled",
    ]
    np.testing.assert_allclose(recorded_offset_min(off, RULES), [0, 3, 4.9, 5, 19.9, 30, 30])


def test_event_points_hand_computed() -> None:
    pts = event_points([0.0, 10.0, 25.0], [True, False, True], [True, False, False], RULES)
    # exp(-0.05*0) + 1 + 0.5 = 2.5
    # exp(-0.05*10) - 1 - 0.5 = 0.6065307 - 1.5
    # cancelled: exp(-0.05*30) + 1 - 0.5 = 0.2231302 + 0.5
    np.testing.assert_allclose(pts, [2.5, np.exp(-0.5) - 1.5, np.exp(-1.5) + 0.5], rtol=1e-12)


def test_fee_falls_with_points_within_bounds() -> None:
    # exp(-0.02*10) = 0.8187308; exp(-0.02*50) = 0.3679 < floor 0.5; negative points: capped at 1
    np.testing.assert_allclose(
        discount_factor([0.0, 10.0, 50.0, -10.0], RULES), [1.0, np.exp(-0.2), 0.5, 1.0]
    )
    assert service_fee(200.0, 10.0, RULES) == pytest.approx(200.0 * np.exp(-0.2))


def test_bad_rules_raise_naming_field() -> None:
    with pytest.raises(EvaggError, match="discount_floor"):
        PointsRules(discount_floor=0.0)
    with pytest.raises(EvaggError, match="phi_per_min"):
        PointsRules(phi_per_min=-1.0)


def test_logit_choice_hand_computed_and_limits() -> None:
    cost = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 30.0]])
    p = logit_choice(cost, 0.5)
    # exp(-1/0.5) / (1 + exp(-2)) = 0.1192029; equal costs split evenly
    np.testing.assert_allclose(p[0], [np.exp(-2) / (1 + np.exp(-2)), 1 / (1 + np.exp(-2))])
    np.testing.assert_allclose(p[1], [0.5, 0.5])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[2, 0] == pytest.approx(1.0)  # no overflow for a large cost spread
    assert logit_choice(cost, 1e-3)[0, 1] == pytest.approx(1.0)  # τ → 0: least cost
    with pytest.raises(EvaggError, match="temperature_eur"):
        logit_choice(cost, 0.0)


def test_profiles_conserve_energy_and_wrap() -> None:
    trips = Trips(np.array([94]), np.array([12.0]), np.array([0.0]))
    prof = charging_profiles_kwh(trips, np.array([11.0]), 96, 0.25, np.array([0, 4]))
    # 11 kW * 0.25 h = 2.75 kWh per slot: 4 full slots + 1 kWh
    np.testing.assert_allclose(prof.sum(axis=2), [[12.0, 12.0]])
    assert prof[0, 0, 94] == pytest.approx(2.75) and prof[0, 0, 2] == pytest.approx(1.0)
    assert prof[0, 1, 2] == pytest.approx(2.75)


def test_synthetic_users_and_trips_are_seeded() -> None:
    u1 = synthesize_users(50, [1, 2, 3], seed=3)
    u2 = synthesize_users(50, [1, 2, 3], seed=3)
    assert isinstance(u1, UserPopulation)
    np.testing.assert_array_equal(u1.home_bus, u2.home_bus)
    t1, t2 = draw_trips(u1, 96, seed=4), draw_trips(u1, 96, seed=4)
    np.testing.assert_array_equal(t1.arrival_slot, t2.arrival_slot)
    np.testing.assert_array_equal(t1.energy_kwh, t2.energy_kwh)
    assert t1.energy_kwh.min() >= 1.0 and t1.energy_kwh.max() <= 60.0
    with pytest.raises(EvaggError, match="n_users"):
        synthesize_users(0, [1], seed=0)
