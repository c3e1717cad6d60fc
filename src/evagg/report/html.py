"""One self-contained ``report.html`` per output folder (jinja2 template in package data).

The report is built from the files a study run leaves in its folder, so ``evagg report
DIR`` works on any folder written by ``evagg run``, ``evagg demo`` or a study's
``write_outputs``:

* ``run.json`` — study, config, evagg version, data files with hashes, seed;
* ``summary.json`` — key numbers (flattened into a table);
* ``verifications.json`` — every verification with value, threshold and pass/fail;
* every ``*.png`` below the folder — embedded as base64 (no external files);
* every ``*.csv`` below the folder — small tables in full, large ones as their first rows.

What was computed is the study module's docstring. The page has no scripts and loads
nothing from outside, so it opens offline and in any browser.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import math
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from evagg.errors import InputError

__all__ = ["REPORT_FILE", "build_report", "flatten_summary", "write_report"]

REPORT_FILE = "report.html"
"""Name of the report in its folder."""

MAX_TABLE_ROWS = 30
"""Tables with more rows are shown by their first rows (the CSV has them all)."""

_SKIP_CSV = {"opf_buses.csv"}  # long duplicates of other tables


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        a = abs(value)
        if a != 0 and (a < 1e-3 or a >= 1e6):
            return f"{value:.3e}"
        return f"{value:.4g}" if a < 1 else f"{value:,.2f}"
    if value is None:
        return "–"
    return str(value)


def flatten_summary(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    """Append ``(dotted key, formatted value)`` rows of a nested summary to ``rows``."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten_summary(f"{prefix}.{k}" if prefix else str(k), v, rows)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            flatten_summary(f"{prefix}[{i}]", v, rows)
    else:
        rows.append((prefix, _fmt(value)))


def _description(study: str | None) -> str:
    """The study module's docstring as HTML (docstrings are evagg's own markdown-ish text)."""
    from markdown_it import MarkdownIt

    if not study:
        text = "An evagg output folder (no run.json: study unknown)."
    else:
        try:
            module = importlib.import_module(f"evagg.studies.{study}")
            text = inspect.cleandoc(module.__doc__ or "")
        except ImportError:
            text = f"Study {study!r} (module not found in this evagg)."
    return str(MarkdownIt("commonmark", {"html": False}).render(text))


def _headline_groups(summary: Any) -> list[dict[str, Any]]:
    """Key numbers grouped by the summary's top-level sections (timings left out)."""
    if not isinstance(summary, dict):
        return []
    loose: list[tuple[str, str]] = []
    groups: list[dict[str, Any]] = []
    for key, value in summary.items():
        if "timings" in key:
            continue
        rows: list[tuple[str, str]] = []
        if isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            flatten_summary("", value, rows)
            rows = [(k, v) for k, v in rows if "timings" not in k]
            groups.append({"name": key, "rows": rows})
        else:
            loose.append((key, _fmt(value)))
    if loose:
        groups.insert(0, {"name": "run", "rows": loose})
    return groups


def _figures(folder: Path) -> list[dict[str, str]]:
    figs = []
    for p in sorted(folder.rglob("*.png")):
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        figs.append({"name": str(p.relative_to(folder)), "data": data})
    return figs


def _tables(folder: Path) -> list[dict[str, str]]:
    tables = []
    for p in sorted(folder.rglob("*.csv")):
        if p.name in _SKIP_CSV:
            continue
        try:
            df = pd.read_csv(p)
        except pd.errors.EmptyDataError:
            tables.append({"name": str(p.relative_to(folder)), "html": "", "note": "empty file"})
            continue
        note = ""
        if len(df) > MAX_TABLE_ROWS:
            note = f"first {MAX_TABLE_ROWS} of {len(df)} rows (all in {p.name})"
            df = df.head(MAX_TABLE_ROWS)
        html = df.to_html(
            index=False,
            border=0,
            classes="data",
            float_format=lambda x: _fmt(float(x)),
            na_rep="–",
        )
        tables.append({"name": str(p.relative_to(folder)), "html": html, "note": note})
    return tables


def _data_files(record: dict[str, Any]) -> list[dict[str, str]]:
    from evagg.data import datasets

    info = datasets()
    rows = []
    for d in record.get("data_files", []):
        name = d["name"]
        match = [n for n in info.index if name.startswith(n) or name.startswith(n.split("_")[0])]
        src = info.loc[match[0]] if match else None
        rows.append(
            {
                "name": name,
                "sha256": d.get("sha256", ""),
                "source": "" if src is None else str(src["source"]),
                "licence": "" if src is None else str(src["licence"]),
            }
        )
    for d in record.get("input_files", []):
        rows.append(
            {
                "name": f"{d['path']} (config {d['field']})",
                "sha256": d.get("sha256", ""),
                "source": "user file",
                "licence": "",
            }
        )
    return rows


def build_report(folder: str | Path) -> str:
    """The HTML text of the report of the output folder ``folder``."""
    from evagg.studies.base import read_verifications

    root = Path(folder)
    if not root.is_dir():
        raise InputError("folder", str(folder), "not a folder (expected an evagg output folder)")
    record = _read_json(root / "run.json") or {}
    summary = _read_json(root / "summary.json")
    checks = read_verifications(root)
    study = record.get("study")
    config = record.get("config")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evagg.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    date = (config or {}).get("date") or (summary or {}).get("date")
    title = f"evagg {study or 'results'}" + (f" — {date}" if date else "")
    checks_view = [
        {
            "name": c.name,
            "value": _fmt(c.value),
            "threshold": _fmt(c.threshold),
            "passed": c.passed,
            "detail": c.detail,
        }
        for c in checks
    ]
    return env.get_template("report.html.j2").render(
        title=title,
        study=study or "unknown",
        folder=str(root),
        evagg_version=record.get("evagg_version", "unknown"),
        seed=record.get("seed"),
        description=_description(study),
        headline=_headline_groups(summary),
        checks=checks_view,
        n_passed=sum(c.passed for c in checks),
        all_passed=all(c.passed for c in checks),
        figures=_figures(root),
        tables=_tables(root),
        config_text=json.dumps(config, indent=2) if config is not None else "(no run.json)",
        data_files=_data_files(record),
        packages=sorted((record.get("packages") or {}).items()),
        python=record.get("python", ""),
        rerun=f"evagg run {root / 'run.json'}" if record else "",
    )


def write_report(folder: str | Path) -> Path:
    """Write ``report.html`` into ``folder`` (see :func:`build_report`); returns its path."""
    path = Path(folder) / REPORT_FILE
    path.write_text(build_report(folder), encoding="utf-8")
    return path
