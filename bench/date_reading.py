"""Reading a date column: `core.dates.parse` against the reading it replaced, side by side, at growing sizes.

    .venv/bin/python bench/date_reading.py [--quick] [--sizes 20000,200000,1000000] [--repeats 3]

For each size N and each way a spreadsheet writes dates — ISO (`2024-03-01`), day-first slashes (`01/03/2024`),
Excel's `01-Mar-2024`, the US long date (`March 1, 2024`), day-first timestamps with seconds (every value distinct)
and German month names (`1. März 2024`) — N values over 2,000 days, in a random order. Timed alternately, best of
the repeats: `dates.parse` (what training, Validate and `…/predict` use) and the reading before 2026-12-05 (pandas'
ISO8601 pass, then `format="mixed"` on every other value: one dateutil call per value), with how many values each
left unread. Results: bench/results/date_reading.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.common import base_args, show, write_result  # noqa: E402
from core import dates  # noqa: E402

GERMAN = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November"]
GERMAN += ["Dezember"]
FORMATS = {
    "iso": "%Y-%m-%d",
    "day_first": "%d/%m/%Y",
    "d_mmm_yyyy": "%d-%b-%Y",
    "us_long": "%B %d, %Y",
    "timestamps": "%d/%m/%Y %H:%M:%S",
    "german_names": None,
}


def written(name: str, n: int) -> pd.Series:
    """N dates as format NAME writes them."""
    rng = np.random.default_rng(0)
    days = pd.Series(pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), unit="D"))
    if name == "timestamps":
        days = days + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    if name == "german_names":
        return pd.Series([f"{d.day}. {GERMAN[d.month - 1]} {d.year}" for d in days])
    return days.dt.strftime(FORMATS[name])


def before(series: pd.Series, dayfirst: bool) -> pd.Series:
    """The reading before (core/dates.parse until 2026-12-05): ISO8601, then pandas' mixed formats on the rest."""
    text = dates.as_text(series)  # the same reading of the values as text as before
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        rest = out.isna() & text.notna()
        if rest.any():
            out[rest] = pd.to_datetime(text[rest], errors="coerce", format="mixed", dayfirst=dayfirst, utc=True)
    return out.dt.tz_convert(None)


def timed(read: Any, series: pd.Series, dayfirst: bool, repeats: int) -> tuple[float, int]:
    """Best seconds of REPEATS readings of SERIES, and the values left unread."""
    best, unread = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        out = read(series, dayfirst)
        best = min(best, time.perf_counter() - start)
        unread = int(out.isna().sum())
    return best, unread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    base_args(parser)
    parser.add_argument("--sizes", default="20000,200000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [2_000, 20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    load_before = list(os.getloadavg())
    figures: dict[str, Any] = {"sizes": sizes, "repeats": args.repeats}
    dates.parse(pd.Series(["1. März 2024"]), True)  # Babel's names load once per process, not per reading
    for n in sizes:
        for name in FORMATS:
            series, dayfirst = written(name, n), name != "us_long"
            old_s, old_unread = timed(before, series, dayfirst, args.repeats)
            new_s, new_unread = timed(dates.parse, series, dayfirst, args.repeats)
            figures[f"{name}/{n}"] = row = {
                "before_s": round(old_s, 4),
                "now_s": round(new_s, 4),
                "before_over_now": round(old_s / new_s, 2),
                "unread_before": old_unread,
                "unread_now": new_unread,
            }
            print(
                f"{name:>13} {n:>9,}: {old_s:7.3f} s before, {new_s:7.3f} s now ({row['before_over_now']}×)", flush=True
            )
    show("date reading", [(k, v) for k, v in figures.items() if "/" in k])
    write_result("date_reading", args.quick, figures, load_before)


if __name__ == "__main__":
    main()
