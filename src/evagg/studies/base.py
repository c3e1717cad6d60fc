"""What every study shares: verification records and the files every output folder has.

The one study shape (TEAM.md, DESIGN.md §6): a module ``evagg.studies.<name>`` with a
pydantic ``Config`` (``extra="forbid"``, frozen), ``run(config) -> Result`` (no file I/O,
no plotting) and ``write_outputs(result, out_dir) -> list[Path]``. A result exposes
``summary() -> dict`` (JSON-able key numbers) and ``verifications`` (a sequence of
:class:`Verification`); :mod:`evagg.studies.registry` finds such modules, runs them from
a TOML file and records ``run.json``; :mod:`evagg.report.html` turns the folder into
``report.html``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from evagg.errors import InputError

SEED_MAX = 2**32 - 1
"""Largest study seed (numpy's ``SeedSequence`` entropy takes 32-bit words)."""

__all__ = [
    "ConfigError",
    "StudyConfig",
    "Verification",
    "check_at_most",
    "config_error",
    "mc_verification",
    "read_verifications",
    "verification_frame",
    "write_json",
    "write_verifications",
]

VERIFICATIONS_FILE = "verifications.json"
"""Name of the verification record in an output folder."""


@dataclass(frozen=True)
class Verification:
    """One verification of a result: ``passed`` when ``value`` is within ``threshold``.

    Attributes
    ----------
    name
        What is checked, e.g. ``"SOCP relaxation gap (rel), base OPF"``.
    value
        Measured value (gap, error, distance) in the unit of ``threshold``.
    threshold
        Tolerance (``value <= threshold`` passes unless ``detail`` says otherwise).
    passed
        Verdict. A study raises :class:`evagg.VerificationError` on a failed check it
        cannot accept; a record with ``passed=False`` documents a diagnostic.
    detail
        How it is measured (reference, peer tool, sample size).
    """

    name: str
    value: float
    threshold: float
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict (``nan``/``inf`` become ``None``/strings)."""
        d = asdict(self)
        for k in ("value", "threshold"):
            v = float(d[k])
            d[k] = v if math.isfinite(v) else (None if math.isnan(v) else str(v))
        d["passed"] = bool(d["passed"])
        return d


def check_at_most(name: str, value: float, threshold: float, detail: str = "") -> Verification:
    """:class:`Verification` that passes when ``value <= threshold``."""
    return Verification(name, float(value), float(threshold), bool(value <= threshold), detail)


def mc_verification(check: Any) -> Verification:
    """:class:`Verification` of a :class:`evagg.reliability.MonteCarloCheck`."""
    return Verification(
        f"V2G reliability at {check.slot}: |exact − Monte Carlo|",
        check.error,
        check.tolerance,
        check.passed,
        f"exact Poisson-binomial {check.exact:.4f} vs {check.n_samples} simulated fleets "
        f"{check.monte_carlo:.4f} at bid {check.bid_kwh:.0f} kWh (4 binomial standard errors)",
    )


def verification_frame(checks: Iterable[Verification]) -> pd.DataFrame:
    """Table of verification records (one row each)."""
    rows = [c.as_dict() for c in checks]
    return pd.DataFrame(rows, columns=["name", "value", "threshold", "passed", "detail"])


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON (non-JSON values via ``str``); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def write_verifications(checks: Sequence[Verification], out_dir: Path) -> Path:
    """Write ``verifications.json`` (list of records) to ``out_dir``."""
    return write_json(Path(out_dir) / VERIFICATIONS_FILE, [c.as_dict() for c in checks])


def read_verifications(out_dir: Path) -> list[Verification]:
    """Read ``verifications.json`` of an output folder (empty list if absent)."""
    path = Path(out_dir) / VERIFICATIONS_FILE
    if not path.exists():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        Verification(
            r["name"],
            float("nan") if r["value"] is None else float(r["value"]),
            float("nan") if r["threshold"] is None else float(r["threshold"]),
            bool(r["passed"]),
            r.get("detail", ""),
        )
        for r in rows
    ]


class ConfigError(InputError):
    """A study configuration is invalid: names the key path (``config.n``) and the value."""


def _loc(prefix: str, loc: Sequence[int | str]) -> str:
    parts = [prefix] if prefix else []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"
        else:
            parts.append(str(p))
    return ".".join(parts)


def config_error(exc: ValidationError, model: type[BaseModel], where: str = "") -> ConfigError:
    """The :class:`ConfigError` of pydantic's first problem: key path, value, reason."""
    errs = exc.errors()
    first = errs[0]
    more = f" (and {len(errs) - 1} more problems)" if len(errs) > 1 else ""
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, InputError):  # a validator of the study raised an evagg error
        return ConfigError(_loc(where, [cause.field]), cause.value, cause.reason + more)
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = f"unknown key; known keys: {', '.join(model.model_fields)}"
    return ConfigError(_loc(where, tuple(first["loc"])), first.get("input"), msg + more)


class StudyConfig(BaseModel):
    """Base of study configs: unknown keys rejected, frozen, and invalid values raise
    :class:`ConfigError` (an :class:`evagg.EvaggError`) naming the key and the value."""

    # allow_inf_nan=False: a float option of nan or inf is rejected like a wrong type
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise config_error(exc, type(self)) from None

    @model_validator(mode="after")
    def _seed_in_numpy_range(self) -> Any:
        # every study seeds numpy's Generator, which takes 0 <= seed < 2**32 per entry
        seed = getattr(self, "seed", None)
        if isinstance(seed, int) and not 0 <= seed <= SEED_MAX:
            raise InputError("seed", seed, f"must be an integer in [0, {SEED_MAX}]")
        return self
