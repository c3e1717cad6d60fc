"""``ScenarioSet``: jointly sampled time series with probabilities (layer 3 domain object)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from evagg._checks import check_probabilities, check_same_index, check_time_index
from evagg.errors import InputError


@dataclass(frozen=True)
class ScenarioSet:
    """Scenarios of one or more quantities over one time index, with probabilities.

    Scenario ω is the joint draw of every quantity: ``data[q].loc[:, ω]`` for each ``q``.

    Parameters
    ----------
    data
        Mapping quantity name (with unit, e.g. ``"da_price_eur_per_mwh"``) → DataFrame
        indexed by a tz-aware regular time index (rows) with one column per scenario.
        All frames must share the same index and the same columns (never aligned).
    probabilities
        Series indexed by the scenario labels (the frames' columns), ≥ 0, summing to 1.

    Raises
    ------
    InputError
        On misaligned indices/columns, non-finite values or invalid probabilities.
    """

    data: Mapping[str, pd.DataFrame]
    probabilities: pd.Series
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.data:
            raise InputError("data", {}, "a ScenarioSet needs at least one quantity")
        names = list(self.data)
        frames = [self.data[n] for n in names]
        for n, f in zip(names, frames, strict=True):
            if not isinstance(f, pd.DataFrame):
                raise InputError(f"data[{n!r}]", type(f).__name__, "must be a DataFrame")
            check_time_index(f"data[{n!r}].index", f.index)
            vals = f.to_numpy(dtype=float)
            if not np.all(np.isfinite(vals)):
                r, c = np.argwhere(~np.isfinite(vals))[0]
                raise InputError(
                    f"data[{n!r}]",
                    vals[r, c],
                    f"non-finite at {f.index[r]}, scenario {f.columns[c]!r}",
                )
        check_same_index([f"data[{n!r}].index" for n in names], [f.index for f in frames])
        check_same_index(
            ["probabilities.index", *[f"data[{n!r}].columns" for n in names]],
            [self.probabilities.index, *[f.columns for f in frames]],
        )
        check_probabilities("probabilities", self.probabilities.to_numpy())

    # --- views -----------------------------------------------------------------
    @property
    def quantities(self) -> list[str]:
        """Names of the quantities held."""
        return list(self.data)

    @property
    def time_index(self) -> pd.DatetimeIndex:
        """Shared tz-aware time index."""
        return pd.DatetimeIndex(next(iter(self.data.values())).index)

    @property
    def scenarios(self) -> pd.Index:
        """Scenario labels."""
        return self.probabilities.index

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios S."""
        return len(self.probabilities)

    @property
    def p(self) -> npt.NDArray[np.float64]:
        """Probabilities as an array (S,)."""
        return self.probabilities.to_numpy(dtype=float)

    def __getitem__(self, quantity: str) -> pd.DataFrame:
        try:
            return self.data[quantity]
        except KeyError:
            raise InputError(
                "quantity", quantity, f"not in scenario set {self.quantities}"
            ) from None

    def array(self, quantity: str) -> npt.NDArray[np.float64]:
        """Values of ``quantity`` as an array of shape (S, T)."""
        return self[quantity].to_numpy(dtype=float).T

    def expected(self, quantity: str) -> pd.Series:
        """Probability-weighted mean over scenarios, per time step."""
        return pd.Series(self.array(quantity).T @ self.p, index=self.time_index, name=quantity)

    def features(self, quantities: Sequence[str] | None = None) -> npt.NDArray[np.float64]:
        """Stacked matrix (S, Q·T) of the chosen quantities, used by scenario reduction."""
        qs = list(quantities) if quantities is not None else self.quantities
        return np.hstack([self.array(q) for q in qs])

    # --- constructors ------------------------------------------------------------
    def subset(
        self, labels: Sequence[Any], probabilities: npt.ArrayLike | None = None
    ) -> ScenarioSet:
        """Keep the scenarios ``labels``; new ``probabilities`` or the old renormalised."""
        missing = [lab for lab in labels if lab not in self.probabilities.index]
        if missing:
            raise InputError("labels", missing[:5], "not scenario labels of this set")
        if probabilities is None:
            p = self.probabilities.loc[list(labels)].to_numpy(dtype=float)
            p = p / p.sum()
        else:
            p = np.asarray(probabilities, dtype=float)
        probs = pd.Series(p, index=pd.Index(list(labels), name="scenario"), name="probability")
        return ScenarioSet(
            {q: f.loc[:, list(labels)] for q, f in self.data.items()}, probs, dict(self.meta)
        )

    def merge(self, other: ScenarioSet) -> ScenarioSet:
        """Join the quantities of two sets with the same scenarios and probabilities."""
        check_same_index(["self.scenarios", "other.scenarios"], [self.scenarios, other.scenarios])
        if not np.allclose(self.p, other.p):
            raise InputError("other.probabilities", other.p[:3], "differ from this set's")
        clash = set(self.data) & set(other.data)
        if clash:
            raise InputError("other.quantities", sorted(clash), "already in this set")
        return ScenarioSet(
            {**self.data, **other.data}, self.probabilities, {**self.meta, **other.meta}
        )

    @classmethod
    def equiprobable(
        cls, data: Mapping[str, pd.DataFrame], meta: Mapping[str, Any] | None = None
    ) -> ScenarioSet:
        """Build a set whose S scenarios (the frames' columns) each have probability 1/S."""
        first = next(iter(data.values()))
        s = first.shape[1]
        if s == 0:
            raise InputError("data", "0 columns", "need at least one scenario")
        probs = pd.Series(np.full(s, 1.0 / s), index=first.columns, name="probability")
        return cls(dict(data), probs, dict(meta or {}))

    def to_long(self) -> pd.DataFrame:
        """Tidy frame: one row per (time, scenario) with a column per quantity + probability."""
        parts = {q: f.stack() for q, f in self.data.items()}
        out = pd.DataFrame(parts)
        out.index = out.index.set_names(["time", "scenario"])
        out["probability"] = self.probabilities.reindex(
            out.index.get_level_values("scenario")
        ).to_numpy()
        return out
