"""Every study by name: discovery, configs from TOML, runs that record how to re-run them.

A study is a module ``evagg.studies.<name>`` with ``Config`` (a pydantic model with
``extra="forbid"``), ``run(config) -> Result`` and ``write_outputs(result, out_dir)``;
this module finds every such module (new studies need no edit here), validates a TOML
file against the study's ``Config`` and runs it:

.. code-block:: toml

    study = "scenario_day"        # module name in evagg.studies
    out = "evagg-out/run/scenario_day"   # optional output folder

    [config]                      # fields of evagg.studies.scenario_day.Config
    date = "2024-06-12"
    n = 200

Every output folder gets ``run.json``: the study, the validated config (every field,
defaults included), evagg's version, the bundled data files read and user files named in
the config (with SHA-256 hashes), the seed, and the Python and key package versions; and
``verifications.json`` (the result's verification records), so a result can be re-run
and checked.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import pkgutil
import platform
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError

import evagg
from evagg.data import data_file_path, reset_used_data_files, used_data_files
from evagg.errors import InputError
from evagg.studies.base import (
    VERIFICATIONS_FILE,
    ConfigError,
    Verification,
    config_error,
    write_json,
    write_verifications,
)

__all__ = [
    "RUN_FILE",
    "ConfigError",
    "Study",
    "execute",
    "get_study",
    "load_config",
    "studies",
    "validate_config",
]

RUN_FILE = "run.json"
"""Name of the provenance record in an output folder."""

_SKIP = {"base", "registry"}
_PACKAGES = ("numpy", "pandas", "scipy", "cvxpy", "highspy", "clarabel", "pandapower")


@dataclass(frozen=True)
class Study:
    """One registered study (a module of :mod:`evagg.studies` with the study shape)."""

    name: str
    module: ModuleType

    @property
    def config_model(self) -> type[BaseModel]:
        """The study's pydantic ``Config``."""
        model: type[BaseModel] = self.module.Config
        return model

    @property
    def run(self) -> Callable[[Any], Any]:
        """``run(config) -> Result``."""
        fn: Callable[[Any], Any] = self.module.run
        return fn

    @property
    def write_outputs(self) -> Callable[[Any, Path], list[Path]]:
        """``write_outputs(result, out_dir) -> list[Path]``."""
        fn: Callable[[Any, Path], list[Path]] = self.module.write_outputs
        return fn

    @property
    def description(self) -> str:
        """First line of the module docstring."""
        return (self.module.__doc__ or "").strip().splitlines()[0] if self.module.__doc__ else ""


def _has_shape(module: ModuleType) -> bool:
    cfg = getattr(module, "Config", None)
    return (
        isinstance(cfg, type)
        and issubclass(cfg, BaseModel)
        and callable(getattr(module, "run", None))
        and callable(getattr(module, "write_outputs", None))
    )


def studies() -> dict[str, Study]:
    """Every study module of :mod:`evagg.studies` with the study shape, by name."""
    import evagg.studies as pkg

    found: dict[str, Study] = {}
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("_") or mod.name in _SKIP:
            continue
        module = importlib.import_module(f"{pkg.__name__}.{mod.name}")
        if _has_shape(module):
            found[mod.name] = Study(mod.name, module)
    return found


def get_study(name: str) -> Study:
    """The study called ``name`` (else :class:`ConfigError` listing the known ones)."""
    known = studies()
    if name not in known:
        raise ConfigError("study", name, f"unknown study; known: {', '.join(known)}")
    return known[name]


def validate_config(study: Study, data: Mapping[str, Any], where: str = "config") -> BaseModel:
    """``study.Config`` validated from ``data``; unknown keys and wrong types raise
    :class:`ConfigError` naming the key path (``where.key``) and the value."""
    try:
        return study.config_model.model_validate(dict(data))
    except ValidationError as exc:
        raise config_error(exc, study.config_model, where) from None
    except InputError as exc:  # a validator raising an evagg error outside pydantic
        raise ConfigError(f"{where}.{exc.field}", exc.value, exc.reason) from None


def load_config(path: str | Path) -> tuple[Study, BaseModel, Path | None]:
    """Read a study TOML file (or an earlier run's ``run.json``): ``(study, validated
    config, output folder or None)``."""
    p = Path(path)
    if p.suffix == ".json" and p.is_file():  # a run.json of an earlier run: re-run it
        record = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or "study" not in record or "config" not in record:
            raise ConfigError("config file", str(p), "not a run.json (needs 'study' and 'config')")
        study = get_study(str(record["study"]))
        return study, validate_config(study, record["config"]), None
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config file", str(p), "no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("config file", str(p), f"not valid TOML: {exc}") from None
    extra = set(raw) - {"study", "out", "config"}
    if extra:
        key = sorted(extra)[0]
        raise ConfigError(
            key, raw[key], "unknown top-level key; a study file has 'study', 'out' and [config]"
        )
    name = raw.get("study")
    if not isinstance(name, str):
        raise ConfigError("study", name, "missing or not a string: name of the study to run")
    study = get_study(name)
    out = raw.get("out")
    if out is not None and not isinstance(out, str):
        raise ConfigError("out", out, "must be a string (output folder)")
    section = raw.get("config", {})
    if not isinstance(section, dict):
        raise ConfigError("config", section, "must be a table [config]")
    return study, validate_config(study, section), (Path(out) if out is not None else None)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _user_files(config: BaseModel) -> list[dict[str, Any]]:
    rows = []
    for key, value in config:
        if isinstance(value, Path) or (
            isinstance(value, str) and key.endswith(("_file", "_csv", "_path", "sessions"))
        ):
            p = Path(value)
            if p.is_file():
                rows.append({"field": key, "path": str(p), "sha256": _sha256(p)})
    return rows


def run_record(study: Study, config: BaseModel, data_files: list[str]) -> dict[str, Any]:
    """The ``run.json`` content of a run of ``study`` with ``config``."""
    versions: dict[str, str | None] = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "study": study.name,
        "evagg_version": evagg.__version__,
        "config": config.model_dump(mode="json"),
        "seed": getattr(config, "seed", None),
        "data_files": [
            {"name": n, "sha256": _sha256(data_file_path(n))} for n in sorted(data_files)
        ],
        "input_files": _user_files(config),
        "python": platform.python_version(),
        "packages": versions,
        "rerun": f"evagg run {RUN_FILE}",
    }


def result_verifications(result: Any) -> list[Verification]:
    """The result's verification records (``result.verifications``; empty if none)."""
    checks = getattr(result, "verifications", ())
    return list(checks() if callable(checks) else checks)


def execute(
    study: Study,
    config: BaseModel,
    out_dir: str | Path,
    progress: Callable[[str], None] | None = None,
) -> tuple[Any, list[Path]]:
    """Run ``study`` with ``config``, write its outputs, ``run.json`` and
    ``verifications.json`` to ``out_dir``; returns ``(result, files written)``.

    ``progress`` (called with a stage name) is passed to ``run`` when the study's ``run``
    takes it."""
    import inspect

    out = Path(out_dir)
    reset_used_data_files()
    takes_progress = "progress" in inspect.signature(study.run).parameters
    run: Callable[..., Any] = study.run
    result = run(config, progress=progress) if takes_progress and progress else run(config)
    used = used_data_files()
    files = list(study.write_outputs(result, out))
    if out / VERIFICATIONS_FILE not in files:  # most studies write it themselves
        files.append(write_verifications(result_verifications(result), out))
    files.append(write_json(out / RUN_FILE, run_record(study, config, used)))
    return result, files
