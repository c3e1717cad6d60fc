"""Extract the compact data files bundled in ``evagg/data/files`` from the ev2gym wheel.

Run once by a maintainer (not at install or run time)::

    pip download ev2gym==2.0.0 --no-deps -d /tmp/ev2gym
    cd /tmp/ev2gym && unzip -q ev2gym-2.0.0-py3-none-any.whl
    python scripts/extract_ev2gym_data.py /tmp/ev2gym/ev2gym/data

ev2gym is MIT-licensed (Copyright (c) 2024 Stavros Orfanoudakis); the underlying data are
ENTSO-E Transparency (day-ahead prices) and ElaadNL open data (charging statistics).
Processing is documented in ``src/evagg/data/DATA.md``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "src" / "evagg" / "data" / "files"


def _parse_mixed(col: pd.Series) -> pd.Series:
    """The price file switches from ISO to dd/mm/YYYY at 2022-12-31 23:00 UTC."""
    iso = pd.to_datetime(col, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    dmy = pd.to_datetime(col, format="%d/%m/%Y %H:%M", errors="coerce")
    out = iso.fillna(dmy)
    if out.isna().any():
        raise SystemExit(f"unparseable timestamps: {col[out.isna()].head().tolist()}")
    return out


def prices(src: Path) -> None:
    df = pd.read_csv(src / "Netherlands_day-ahead-2015-2024.csv")
    df = df.dropna(subset=["Datetime (UTC)"])
    t = _parse_mixed(df["Datetime (UTC)"]).dt.tz_localize("UTC")
    out = pd.DataFrame({"time_utc": t, "price_eur_per_mwh": df["Price (EUR/MWhe)"].astype(float)})
    # ev2gym appended a 2023-2025 block in dd/mm/YYYY that repeats 2023-01..2023-09;
    # keep one copy of each hour, but only if the repeated prices agree exactly.
    dup = out[out["time_utc"].duplicated(keep=False)]
    disagree = dup.groupby("time_utc")["price_eur_per_mwh"].nunique().gt(1).sum()
    if disagree:
        raise SystemExit(f"{disagree} duplicated hours with different prices")
    print(f"prices: dropping {int(out['time_utc'].duplicated().sum())} repeated hours")
    out = out.drop_duplicates("time_utc")
    out = out.sort_values("time_utc")
    gaps = out["time_utc"].diff().dropna()
    print(
        f"prices: {len(out)} rows {out.time_utc.min()} .. {out.time_utc.max()}, "
        f"{int((gaps != pd.Timedelta('1h')).sum())} irregular steps"
    )
    out["time_utc"] = out["time_utc"].dt.strftime("%Y-%m-%dT%H:%MZ")
    out.to_csv(
        OUT / "nl_day_ahead_prices_2015_2025.csv.gz",
        index=False,
        compression={"method": "gzip", "mtime": 0},
    )


def pv(src: Path) -> None:
    df = pd.read_csv(src / "pv_netherlands.csv")
    out = pd.DataFrame({"time_utc": df["time"], "pv_pu": df["electricity"].astype(float)})
    out.to_csv(OUT / "nl_pv_2019.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})


def elaad(src: Path) -> None:
    names = [
        "distribution-of-arrival.csv",
        "distribution-of-arrival-weekend.csv",
        "distribution-of-connection-time.csv",
        "distribution-of-energy-demand.csv",
        "mean-demand-per-arrival.csv",
        "mean-session-length-per.csv",
        "ev_specs.json",
        "ev_specs_v2g_enabled2024.json",
    ]
    for name in names:
        text = (src / name).read_text(encoding="utf-8-sig")
        (OUT / f"elaad_{name}").write_text(text, encoding="utf-8")


def main() -> None:
    src = Path(sys.argv[1])
    OUT.mkdir(parents=True, exist_ok=True)
    prices(src)
    pv(src)
    elaad(src)
    shutil.copy(
        src.parents[1] / "ev2gym-2.0.0.dist-info" / "licenses" / "LICENSE",
        OUT / "LICENSE-ev2gym.txt",
    )


if __name__ == "__main__":
    main()
