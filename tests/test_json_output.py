"""``--json`` prints only JSON on stdout; solver output never reaches stdout (issue 9 §4).

HiGHS prints a copyright banner from C++ straight to file descriptor 1 on every solve,
which ``CliRunner`` (it swaps ``sys.stdout`` only) cannot see; so these tests run the real
entry point in a subprocess and parse its stdout strictly (``NaN`` is not JSON).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from evagg.cli import app

HIGHS_LP = (
    "import cvxpy as cp\n"
    "x = cp.Variable(2, integer=True)\n"
    "prob = cp.Problem(cp.Maximize(x[0] + 2 * x[1]), [x >= 0, x[0] + x[1] <= 3.5])\n"
)


def strict_json(text: str) -> Any:
    """Parse ``text`` as JSON, rejecting the non-standard tokens NaN and Infinity."""

    def bad(token: str) -> Any:
        raise ValueError(f"non-finite number {token} in JSON output")

    return json.loads(text, parse_constant=bad)


def _python(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_library_solves_keep_stdout_clean() -> None:
    # evagg.optim.solve_cvxpy routes descriptor 1 to stderr while solving
    code = HIGHS_LP + (
        "from evagg.optim import solve_cvxpy\n"
        "info = solve_cvxpy(prob, name='t', kind='milp')\n"
        "print('{\"objective\": %g}' % info.objective)\n"
    )
    res = _python(code)
    assert res.returncode == 0, res.stderr
    assert strict_json(res.stdout) == {"objective": 6.0}  # x = (0, 3): hand calculation
    assert "HiGHS" in res.stderr  # the banner went somewhere: to stderr


def test_unrouted_highs_solve_pollutes_stdout() -> None:
    # the control: without evagg's routing the banner lands on stdout (so the test above
    # can fail)
    res = _python(HIGHS_LP + "prob.solve(solver='HIGHS')\nprint('{}')\n")
    assert res.returncode == 0, res.stderr
    assert "HiGHS" in res.stdout


def test_entry_point_routes_any_solver_output_to_stderr() -> None:
    # a command solving with HiGHS directly (not through solve_cvxpy): the entry point
    # itself keeps descriptor 1 away from stdout, Python's prints still reach it
    code = HIGHS_LP + (
        "import sys, typer\n"
        "from evagg.cli import main, app\n"
        "@app.command('lp')\n"
        "def lp() -> None:\n"
        "    prob.solve(solver='HIGHS')\n"
        "    typer.echo('{\"value\": %g}' % prob.value)\n"
        "sys.argv = ['evagg', 'lp']; main()\n"
    )
    res = _python(code)
    assert res.returncode == 0, res.stderr
    assert strict_json(res.stdout) == {"value": 6.0}
    assert "HiGHS" in res.stderr


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], bool]:
    if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
        out: dict[tuple[str, ...], bool] = {}
        for name, sub in cmd.commands.items():
            out.update(_commands(sub, (*path, name)))
        return out
    return {path: any("--json" in p.opts for p in cmd.params)}


# Small, fast options per command with --json (the full run is the slow test below).
JSON_CASES: dict[tuple[str, ...], list[str]] = {
    ("bidding",): [
        "--beta", "1", "--scenarios", "20", "--reduce-to", "3", "--rivals", "1",
        "--switching-cost", "0", "--oos-days", "0", "--unreduced-beta", "",
        "--no-rival-recourse",
    ],
    ("reliability",): [
        "--fleet-size", "10", "--days", "20", "--calibration-days", "2", "--bids", "10,20",
        "--allocation-slots", "",
    ],
    ("scenarios",): ["--date", "2024-06-12", "--n", "20", "--reduce-to", "3", "--train-days", "7"],
    ("grid", "opf"): ["--v-slack-min", "0.95", "--v-slack-max", "1.05"],
    ("grid", "ev-day"): ["--date", "2024-06-12"],
    ("run",): ["@scenario_day.toml"],
    ("backtest", "bidding"): [
        "--start", "2024-03-12", "--end", "2024-03-12", "--workers", "1",
        "--scenarios", "20", "--reduce-to", "3", "--draws", "2",
    ],
    ("game",): ["--days", "1", "--users", "30", "--slot-minutes", "60"],
    ("microgrid",): ["--method", "convex", "--reliability", "0.95", "--no-no-eva"],
    ("v2g-pricing",): ["--fleet-size", "20", "--classes", "1", "--forecast", "weekly_profile"],
    ("backtest", "v2g-pricing"): [
        "--start", "2024-03-12", "--end", "2024-03-12", "--workers", "1", "--fleet-size", "20",
        "--classes", "1", "--forecast", "weekly_profile",
    ],
}  # fmt: skip


def test_every_json_command_has_a_case() -> None:
    with_json = {p for p, has in _commands(typer.main.get_command(app)).items() if has}
    assert with_json == set(JSON_CASES), "add small options for the new --json command"


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(JSON_CASES), ids=" ".join)
def test_each_json_command_prints_only_json(command: tuple[str, ...], tmp_path: Path) -> None:
    args = list(JSON_CASES[command])
    if args and args[0].startswith("@"):
        toml = tmp_path / args[0][1:]
        toml.write_text('study = "scenario_day"\n[config]\nn = 20\nreduce_to = 3\n')
        args = [str(toml)]
    argv = [*command, *args, "--out", str(tmp_path / "out"), "--json"]
    res = _python("import sys; from evagg.cli import main; sys.argv[0] = 'evagg'; main()", *argv)
    assert res.returncode == 0, res.stderr[-2000:]
    payload = strict_json(res.stdout)
    assert payload, f"{command}: empty JSON"


def _readme_commands() -> list[list[str]]:
    """Every ``evagg ...`` line of the README's bash blocks (continuations joined)."""
    import re
    import shlex

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    cmds = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip()
            for part in line.split("&&"):
                words = shlex.split(part)
                if words and words[0].endswith("evagg"):
                    cmds.append(words[1:])
    return cmds


def test_readme_examples_parse_as_written() -> None:
    # every option of every README example exists and has a valid value (parsed by the
    # real command, not run); the examples' run times are stated in the README
    group = typer.main.get_command(app)
    cmds = _readme_commands()
    assert len(cmds) >= 6
    for words in cmds:
        cmd: Any = group
        rest = list(words)
        while rest and hasattr(cmd, "commands") and rest[0] in cmd.commands:
            cmd = cmd.commands[rest.pop(0)]
        if rest == ["--help"] or (not rest and hasattr(cmd, "commands")):
            continue
        assert not hasattr(cmd, "commands"), f"README: unknown command in {words}"
        # raises click's UsageError/BadParameter on an unknown option or a bad value
        cmd.make_context("evagg " + " ".join(words[: len(words) - len(rest)]), rest)


def test_tables_keep_units_and_long_paths() -> None:
    from rich.console import Console

    from evagg.cli._tables import kv_table

    long = "evagg-out/scenarios/a/very/long/path/that/does/not/fit/scenario_day_2024-06-12.png"
    con = Console(width=80, record=True, file=io.StringIO())
    con.print(kv_table("t [s]", [("time: fit [s]", "1.5"), ("fan chart [kWh]", long)]))
    text = con.export_text().replace("│", "").replace("\n", "").replace(" ", "")
    assert "[s]" in text and "[kWh]" in text
    assert long.replace(" ", "") in text  # folded over lines, not cut with an ellipsis
