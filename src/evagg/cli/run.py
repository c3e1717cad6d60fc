"""``evagg run STUDY.toml``: any study from a config file; ``evagg report DIR``: its HTML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evagg.cli._tables import kv_table


def _rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    from evagg.report.html import flatten_summary

    rows: list[tuple[str, str]] = []
    flatten_summary("", summary, rows)
    return rows


def run_command(
    config_file: Annotated[
        Path, typer.Argument(help="Study TOML file (study = ..., [config]) or a run.json.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output folder (default: the file's 'out', else evagg-out/run/<study>)."
        ),
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="Also write report.html.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the summary as JSON.")
    ] = False,
) -> None:
    """Run any study from a TOML config (validated: unknown keys and wrong types are errors).

    The file names the study (`study = "scenario_day"`) and its options under `[config]`;
    `evagg studies` lists the studies. The output folder gets the study's files,
    `run.json` (config, evagg version, data files with hashes, seed) and
    `verifications.json`; `evagg run OUT/run.json` re-runs it.
    """
    from evagg.studies.registry import execute, load_config

    study, config, out_file = load_config(config_file)
    folder = out or out_file or Path("evagg-out") / "run" / study.name
    with Console(stderr=True).status(f"running {study.name} ({config_file})"):
        result, files = execute(study, config, folder)
        if html:
            from evagg.report.html import write_report

            files.append(write_report(folder))
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=1, default=str))
        return
    con = Console()
    con.print(kv_table(f"evagg run {study.name}", _rows(summary)))
    con.print(f"{len(files)} files in {folder}/" + (" (report.html)" if html else ""))


def list_command() -> None:
    """List the studies `evagg run` knows, with their config keys."""
    from evagg.studies.registry import studies

    tab = Table(title="studies (evagg run)")
    tab.add_column("study")
    tab.add_column("what")
    tab.add_column("config keys")
    for name, st in studies().items():
        tab.add_row(name, escape(st.description), ", ".join(st.config_model.model_fields))
    Console().print(tab)


def report_command(
    folder: Annotated[Path, typer.Argument(help="Output folder of a study, run or demo.")],
) -> None:
    """Write one self-contained report.html for an output folder.

    What was computed, the figures (embedded), key tables, every verification with
    pass/fail, the config and the data provenance (from run.json).
    """
    from evagg.report.html import write_report

    path = write_report(folder)
    Console().print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``run``, ``studies`` and ``report``."""
    app.command("run")(run_command)
    app.command("studies")(list_command)
    app.command("report")(report_command)
