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
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evagg._checks import IsoDate
from evagg.errors import InputError

SEED_MAX = 2**63 - 1
"""Largest study seed: numpy's ``default_rng`` takes any non-negative integer, and a
backtest gives each day a seed below 2**63 (:func:`evagg.backtest.day_seed`)."""

SEED_MAX_32 = 2**32 - 1
"""Largest seed of a study that seeds scikit-learn or pymoo (``random_state`` and
``np.random.seed`` take 32-bit seeds)."""

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


def write_tables(
    out_dir: Path, tables: Iterable[tuple[str, pd.DataFrame, bool]], *, skip_empty: bool = False
) -> list[Path]:
    """Write ``(file name, frame, keep index)`` tables as CSV into ``out_dir`` (created);
    with ``skip_empty`` a frame without columns writes no file. Returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame, index in tables:
        if skip_empty and frame.columns.empty:
            continue
        frame.to_csv(out_dir / name, index=index)
        paths.append(out_dir / name)
    return paths


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

    seed_max: ClassVar[int] = SEED_MAX
    """Largest ``seed`` the study accepts (:data:`SEED_MAX_32` where scikit-learn or
    pymoo is seeded)."""

    @model_validator(mode="after")
    def _seed_in_range(self) -> Any:
        seed = getattr(self, "seed", None)
        if isinstance(seed, int) and not 0 <= seed <= self.seed_max:
            raise InputError("seed", seed, f"must be an integer in [0, {self.seed_max}]")
        return self


class BacktestRangeConfig(StudyConfig):
    """Base of backtest study configs: the date range and how it runs.

    None of these options changes a day's numbers (each day gets a seed derived from
    ``seed`` and its date only); the study's own fields are the day's settings.
    """

    start: IsoDate = Field(default="2024-01-01", description="First market day.")
    end: IsoDate = Field(default="2024-12-31", description="Last market day (inclusive).")
    every_days: int = Field(default=1, ge=1, description="Every k-th day from start.")
    workers: int = Field(
        default=2, ge=0, description="dask worker processes; 0 = days one by one in-process"
    )
    seed: int = Field(default=0, ge=0, description="Run seed (one seed per day from it).")
    days_dir: str | None = Field(
        default=None,
        description="Folder of the per-day results (resumable); default a temporary one",
    )
    resume: bool = Field(default=False, description="Keep the days already in days_dir.")
    order: Literal["date", "spread"] = Field(
        default="date",
        description="'spread': days in bit-reversed order (a run stopped early is a "
        "sample of the whole range)",
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> Any:
        if self.end < self.start:  # ISO dates compare as text
            raise InputError("end", self.end, f"is before start {self.start}")
        return self

    def run_days(
        self,
        day_fn: Any,
        data_range: tuple[Any, Any] | None = None,
        *,
        scheduler: str | None = None,
        show_progress: bool = False,
    ) -> Any:
        """:func:`evagg.backtest.run_backtest` of ``day_fn`` over this range.

        Per-day files go to ``days_dir`` (resumable with ``resume``) or to a temporary
        folder removed afterwards. ``workers = 0`` (or ``scheduler="synchronous"``) runs
        the days in this process; a ``scheduler`` address uses a running dask cluster.
        Returns the engine's ``BacktestResult``.
        """
        import tempfile

        from evagg.backtest import run_backtest

        if scheduler is None and self.workers == 0:
            scheduler = "synchronous"
        with tempfile.TemporaryDirectory(prefix="evagg-days-") as tmp:
            return run_backtest(
                day_fn,
                self.start,
                self.end,
                Path(self.days_dir) if self.days_dir else Path(tmp),
                workers=max(self.workers, 1),
                scheduler=scheduler,
                resume=self.resume,
                seed=self.seed,
                progress=show_progress,
                data_range=data_range,
                every=self.every_days,
                order=self.order,
            )
