"""The DSO game: adapter inputs, a certified day, the certificate raising, the CLI."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from evagg.dso_game import DSOAdapter, certify
from evagg.errors import EvaggError, VerificationError
from evagg.grid import Feeder
from evagg.points import charging_profiles_kwh, discount_factor
from evagg.studies import dso_game as study


def test_aggregator_on_missing_bus_is_rejected() -> None:
    fd = Feeder.from_pandapower()
    z = np.zeros((fd.n_bus, 2))
    with pytest.raises(EvaggError, match="aggregators=99"):
        DSOAdapter(fd, [14, 99], z, z, np.zeros(2), 1.0, None)  # type: ignore[arg-type]
    with pytest.raises(EvaggError, match="aggregators"):
        study.Config(aggregators=(14, 14))
    with pytest.raises(EvaggError, match="slot_minutes"):
        study.Config(slot_minutes=7)


@pytest.mark.slow
def test_day_is_certified_and_certificate_rejects_a_non_equilibrium() -> None:
    cfg = study.Config(days=1, n_users=40, slot_minutes=60, compare=False)
    feeder = study._feeder(cfg.network)
    users = study.synthesize_users(cfg.n_users, feeder.bus_index[1:], seed=0)
    day = study.pd.Timestamp(cfg.date)
    setup = study._day_setup(cfg, feeder, users, day, True)
    trips = study.draw_trips(users, setup.n_slots, np.random.default_rng([0, 0]))
    out = study.play_day(setup, trips, np.zeros(users.n))
    assert out.certificate.holds
    gaps = out.certificate.frame().set_index("check")["value"]
    assert gaps.filter(like="best_response_gap").max() <= 1e-6
    prof = charging_profiles_kwh(trips, users.p_max_kw, setup.n_slots, setup.dt_h, setup.shifts)
    phi = discount_factor(np.zeros(users.n))
    brs = list(out.best_responses)
    # an aggregator that does not best-respond: fee +10 % in every hour
    b0 = brs[0]
    worse = replace(
        b0,
        fee_coef_eur_per_mwh=b0.fee_coef_eur_per_mwh * 0.9,
        price_eur_per_mwh=out.dlmp_eur_per_mwh[0]
        + (b0.price_eur_per_mwh - out.dlmp_eur_per_mwh[0]) * 0.9,
    )
    with pytest.raises(VerificationError, match=r"best_response_gap|net_load"):
        certify(
            setup,
            trips,
            prof,
            phi,
            out.dlmp_eur_per_mwh,
            [worse, *brs[1:]],
            out.net_load_mw,
            out.users.option,
        )
    # users not at their best option
    bad = (out.users.option + 1) % (setup.k * setup.shifts.size)
    with pytest.raises(VerificationError):
        certify(setup, trips, prof, phi, out.dlmp_eur_per_mwh, brs, out.net_load_mw, bad)
