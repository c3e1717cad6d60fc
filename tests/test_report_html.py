"""report.html: built from an output folder, checked in headless Chromium (Playwright).

The browser test needs Debian's ``chromium`` (``.ci/run`` installs it). Without it the
test is skipped with the reason, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from conftest import assert_readable
from evagg.cli import app
from evagg.report.html import build_report, write_report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_or_skip() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} missing under CI=true: .ci/run must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); runs in CI")


def open_in_chromium(html: Path, screenshot: Path | None = None) -> dict:
    """Load ``html`` in headless Chromium: console errors, image sizes, section ids."""
    from playwright.sync_api import sync_playwright

    exe = _chromium_or_skip()
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(html.resolve().as_uri(), wait_until="load")
            info = page.evaluate(
                """() => ({
                  images: Array.from(document.images).map(i => ({
                      alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight})),
                  tables: document.querySelectorAll('table').length,
                  verification_rows: document.querySelectorAll('#verification-table tr').length,
                  sections: Array.from(document.querySelectorAll('section')).map(s => s.id),
                  status: document.querySelector('#verification-status')?.textContent.trim(),
                  external: Array.from(document.querySelectorAll('[src],[href]'))
                      .map(e => e.getAttribute('src') || e.getAttribute('href'))
                      .filter(u => /^https?:/.test(u)),
                })"""
            )
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    info["errors"] = errors
    return info


def test_demo_report_renders_in_chromium(demo_dir: tuple[Path, list]) -> None:
    out, _ = demo_dir
    html = out / "report.html"
    assert html.is_file()
    shot = out / "report.png"
    info = open_in_chromium(html, shot)
    assert info["errors"] == []
    assert info["external"] == []  # self-contained
    # every PNG the demo wrote is embedded and decodes to a real image
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png") if p != shot)
    assert sorted(i["alt"] for i in info["images"]) == pngs
    assert all(i["complete"] and i["w"] > 0 and i["h"] > 0 for i in info["images"])
    assert {"computed", "verification", "figures", "tables", "provenance"} <= set(info["sections"])
    checks = json.loads((out / "verifications.json").read_text())
    # bilevel certificates, relaxation gaps, AC checks, Monte Carlo agreement
    names = " ".join(c["name"] for c in checks)
    for kind in ("certificate", "relaxation gap", "AC power flow", "Monte Carlo"):
        assert kind in names
    assert info["verification_rows"] == len(checks) + 1  # + header row
    assert info["status"] == f"{len(checks)} of {len(checks)} passed"
    assert info["tables"] >= 5
    assert shot.stat().st_size > 20_000


def test_demo_figures_follow_the_style(demo_dir: tuple[Path, list[tuple[str, Figure]]]) -> None:
    _, figures = demo_dir
    names = {n for n, _ in figures}
    assert {"bidding_decision.png", "v2g_bid_curve.png", "ev_impact.png", "voltage.png"} <= names
    assert "dlmp_heatmap.png" in names and "scenario_day_2024-06-12.png" in names
    for name, fig in figures:
        assert_readable(name, fig)


def test_report_shows_a_failed_verification(tmp_path: Path) -> None:
    (tmp_path / "verifications.json").write_text(
        json.dumps(
            [
                {"name": "gap", "value": 1e-9, "threshold": 1e-6, "passed": True, "detail": ""},
                {"name": "AC check", "value": 0.2, "threshold": 1e-4, "passed": False},
            ]
        )
    )
    (tmp_path / "table.csv").write_text("a_kw,b\n1,2\n")
    text = build_report(tmp_path)
    assert "1 of 2 passed" in text and ">FAIL<" in text
    assert "a_kw" in text and "no run.json" in text


def test_report_command(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"x_kwh": 1.5, "nested": {"y": 2}}))
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "report.html").read_text()
    assert "x_kwh" in text and ">nested<" in text and '<td class="text">y</td>' in text
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert bad.exit_code != 0 and "not a folder" in str(bad.exception)
    assert write_report(tmp_path) == tmp_path / "report.html"


def test_an_empty_csv_is_listed_not_fatal(tmp_path: Path) -> None:
    """A study folder may hold an empty CSV (a user's or an old run's): the report names it."""
    from evagg.report.html import _tables

    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "one.csv").write_text("a,b\n1,2\n")
    tables = {t["name"]: t for t in _tables(tmp_path)}
    assert tables["empty.csv"]["note"] == "empty file"
    assert "<table" in tables["one.csv"]["html"]
