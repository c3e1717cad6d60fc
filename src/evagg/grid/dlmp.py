"""DLMP decomposition from the KKT conditions of the SOCP branch-flow OPF.

See ``docs/grid.md`` for the derivation. With CVXPY's sign conventions the Lagrangian of
the model built by :class:`evagg.grid.distflow.DistFlowModel` is (per slot, pu)

.. math::

    \\mathcal L = f + λ^\\top(\\text{out} - \\text{in} + g_{sh} v - \\text{gen} + p^{load})
      + μ^\\top(\\dots) + β^\\top(v_{to} - v_{from} + 2(rP + xQ) - |z|^2 \\ell)
      + ν_{hi}^\\top(v - \\bar v) + ν_{lo}^\\top(\\underline v - v)
      - \\sum_l u_l^\\top (v_{from}+\\ell,\\, 2P,\\, 2Q,\\, v_{from}-\\ell)
      - \\sum_l w_l^\\top(\\bar S, P, Q) - \\sum_l w'^\\top_l(\\bar S, P - r\\ell, Q - x\\ell)

Stationarity in ``P_l`` (branch ``l``: ``i → j``) and in ``v_j`` gives, exactly,

.. math::

    λ_j = λ_i + 2 r_l β_l - 2u_{1,l} - w_{1,l} - w'_{1,l},\\qquad
    β = Π^\\top s,\\quad s_j = ν_{lo,j} - ν_{hi,j}
       + \\sum_{k: from(k)=j} (u_{0,k} + u_{3,k}) - g_{sh,j} λ_j + b_{sh,j} μ_j

with Π the bus × branch path matrix, hence
``λ = λ_root + Π(2 r ∘ Πᵀ s − 2u₁ − w₁ − w'₁)``, split by the source of each term into
energy (λ_root), loss (cone and shunt terms), voltage (ν) and congestion (w, w').
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from evagg.grid.feeder import Feeder

__all__ = ["COMPONENTS", "decompose_prices"]

FloatArray = npt.NDArray[np.float64]

COMPONENTS = ("energy", "loss", "voltage", "congestion")
"""Names of the DLMP components, in the order they are reported."""


def decompose_prices(
    feeder: Feeder,
    *,
    lam: FloatArray,
    mu: FloatArray,
    u_cone: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    nu_lo: FloatArray,
    nu_hi: FloatArray,
    lim_from: tuple[FloatArray, FloatArray, FloatArray],
    lim_to: tuple[FloatArray, FloatArray, FloatArray],
    tangent: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Split active and reactive nodal prices into energy, loss, voltage and congestion.

    Parameters
    ----------
    feeder
        The feeder (supplies r, x, τ, shunts and the tree).
    lam, mu
        Duals of the active/reactive balances, shape (N, T), +∂cost/∂load [EUR/pu].
    u_cone
        Duals ``(u0, u1, u2, u3)`` of the relaxed cones
        ``‖(2P, 2Q, w − ℓ)‖ ≤ w + ℓ`` (w = v_from/τ²), each (L, T).
    nu_lo, nu_hi
        Duals (≥ 0) of the lower/upper squared-voltage limits, (N, T), zero at the root.
    lim_from, lim_to
        ``(a_P, a_Q, a_v)`` of the branch ratings at the sending and receiving end
        (:func:`evagg.grid.formulation.constraint_branch_limits`), each (L, T), zero
        where none binds: the rating's Lagrangian term is −a_P P_e − a_Q Q_e − a_v v_e
        in the end flows (P_e, Q_e) and the end voltage v_e.
    tangent
        ``(κ, a_p, a_q, a_v)`` of the convex–concave procedure's tangent cut
        ``ℓ − a_p P − a_q Q − a_v w ≤ s`` (dual κ ≥ 0), each (L, T), or ``None``.
        It adds ``−a_p κ`` (``−a_q κ``) to the stationarity in P (Q) and ``−a_v κ/τ²``
        to that in v_from: both are loss terms.

    Returns
    -------
    (active, reactive)
        Dicts keyed by :data:`COMPONENTS` plus ``"other"`` (solver KKT residual, or
        extension terms on voltages or flows), each (N, T) in the units of ``lam``;
        the five sum to ``lam`` (resp. ``mu``) by construction of ``"other"``.
    """
    fd = feeder
    pi = fd.path_matrix()
    a_from, a_to = fd.incidence()
    inv_t2 = (1.0 / fd.tap_ratio**2)[:, None]
    u0, u1, u2, u3 = u_cone
    kap, a_p, a_q, a_v = tangent if tangent is not None else (np.zeros_like(u0),) * 4
    f_p, f_q, f_v = lim_from
    t_p, t_q, t_v = lim_to

    def col(a: FloatArray) -> FloatArray:
        return a[:, None]

    s_loss = (
        a_from @ ((u0 + u3 + a_v * kap) * inv_t2) - col(fd.g_sh_pu) * lam + col(fd.b_sh_pu) * mu
    )
    s_cong = a_from @ (f_p * col(fd.g_from_pu) - f_q * col(fd.b_from_pu) + f_v) + a_to @ (
        -t_p * col(fd.g_to_pu) + t_q * col(fd.b_to_pu) + t_v
    )
    beta = {
        "loss": fd.subtree_sum(s_loss),
        "voltage": fd.subtree_sum(nu_lo - nu_hi),
        "congestion": fd.subtree_sum(s_cong),
    }
    n = lam.shape[0]
    out: list[dict[str, FloatArray]] = []
    for price, z, uk, w in (
        (lam, col(fd.r_pu), 2 * u1 + a_p * kap, f_p + t_p),
        (mu, col(fd.x_pu), 2 * u2 + a_q * kap, f_q + t_q),
    ):
        comp: dict[str, FloatArray] = {
            "energy": np.repeat(price[:1, :], n, axis=0),
            "loss": np.asarray(pi @ (2 * z * beta["loss"] - uk)),
            "voltage": np.asarray(pi @ (2 * z * beta["voltage"])),
            "congestion": np.asarray(pi @ (2 * z * beta["congestion"] - w)),
        }
        comp["other"] = price - sum(comp[c] for c in COMPONENTS)
        out.append(comp)
    return out[0], out[1]
