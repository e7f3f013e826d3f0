"""The reconciler's temporary-file cleanup against the size of the data tree: the previous pass vs the new one.

    .venv/bin/python bench/reconciler.py [--quick] [--sizes 1000,10000,100000] [--repeats 5] [--keep]

For each size, the script fills a data tree laid out as the worker's (an image dataset's files in folders of 500,
a few tabular datasets, trained models in the artifact store, a handful of crash-left temporary files), then
times, interleaved in one run, REPEATS times each:

- `old pass`: what every reconciler pass (every 15 s, in every worker) did before: four `Path.glob("**/…")` over
  the artifact store and the data tree (copied below from the previous worker/reconciler.py);
- `new pass`: what a pass does now while the sweep is not due (worker/temp_sweep.sweep_due: a stamp stat per tree);
- `new sweep`: the sweep itself, once every orphan_max_age_s (one os.scandir walk of both trees, no links followed).

Each timing runs on a warm page cache (one untimed walk first). "per hour" is the cost at the default settings
(a pass every 15 s, a sweep every 3600 s) for one worker; before, every worker paid it, now one worker per hour.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import median, show, write_result  # noqa: E402
from server.settings import Settings  # noqa: E402
from worker import temp_sweep  # noqa: E402

PASSES_PER_HOUR = 3600 / 15


def old_temp_files(base: Path) -> list[Path]:
    """The previous reconciler's scan (worker/reconciler.py before issue 23), unchanged."""
    if not base.is_dir():
        return []
    patterns = ("**/.*.tmp", "**/*.tmp.keras", "**/.upload-*", "**/.data.parquet.tmp")
    found: list[Path] = []
    for pattern in patterns:
        found.extend(p for p in base.glob(pattern) if p.is_file())
    return found


def old_pass(settings: Settings) -> int:
    """The previous pass's temporary-file part: scan both trees, stat what it found (nothing is old enough)."""
    now, n = time.time(), 0
    for base in (settings.artifacts, settings.data_root):
        for tmp in old_temp_files(base):
            n += now - tmp.stat().st_mtime > settings.orphan_max_age_s
    return n


def fill(home: Path, n: int) -> None:
    """N image files in one dataset, 20 tabular datasets, 50 trained models and 6 fresh temporary files."""
    data = home / "data" / "projects" / "B" / "datasets"
    files = data / "1" / "files"
    for i in range(n):
        if i % 500 == 0:
            folder = files / f"class{i // 500:04d}"
            folder.mkdir(parents=True)
        (folder / f"img{i:07d}.png").write_bytes(b"")
    for d in range(2, 22):
        (data / str(d)).mkdir(parents=True)
        (data / str(d) / "data.parquet").write_bytes(b"")
    trained = home / "artifacts" / "projects" / "B" / "trained"
    for m in range(50):
        (trained / f"m{m}").mkdir(parents=True)
        (trained / f"m{m}" / "model.keras").write_bytes(b"")
    for path in (
        data / "1" / ".data.parquet.tmp",
        data / "5" / f".data.parquet.{'a' * 32}.tmp",
        trained / "m3" / f".model.keras.{'b' * 32}.tmp",
        trained / "m4" / "model.tmp.keras",
        home / "data" / "uploads" / ".upload-0123",
        files / "class0000" / ".img0000000.png.part",
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def new_sweep(settings: Settings) -> int:
    """The sweep's walk of both trees (nothing is old enough to remove)."""
    return sum(len(temp_sweep.sweep(root, settings.orphan_max_age_s)) for root in temp_sweep.roots(settings))


def measure(n: int, repeats: int, keep: bool) -> dict[str, Any]:
    """Fill a tree of N files and time the three interleaved, REPEATS times."""
    home = Path(tempfile.mkdtemp(prefix="fitstudio-bench-reconciler-"))
    try:
        fill(home, n)
        settings = Settings(home=home)
        temp_sweep.claim_due(settings)  # stamps fresh: a pass finds the sweep not due
        new_sweep(settings)  # warm the page cache and the dentries
        times: dict[str, list[float]] = {"old pass": [], "new pass": [], "new sweep": []}
        for _ in range(repeats):
            times["old pass"].append(timed(old_pass, settings))
            times["new pass"].append(timed(temp_sweep.sweep_due, settings))
            times["new sweep"].append(timed(new_sweep, settings))
        out: dict[str, Any] = {k: median(v) for k, v in times.items()}
        out["spread"] = {k: [min(v), max(v)] for k, v in times.items()}
        out["sweep_vs_old_pass"] = out["new sweep"] / out["old pass"]
        out["old_per_hour_s"] = out["old pass"] * PASSES_PER_HOUR
        out["new_per_hour_s"] = out["new pass"] * PASSES_PER_HOUR + out["new sweep"]
        return out
    finally:
        if keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1k and 10k files, 3 repeats")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary trees")
    args = parser.parse_args()
    sizes = [1000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 3 if args.quick else args.repeats
    load = list(os.getloadavg())
    figures: dict[str, Any] = {"repeats": repeats}
    for n in sizes:
        got = measure(n, repeats, args.keep)
        figures[str(n)] = got
        show(
            f"{n} files in the data tree (median of {repeats}, ms)",
            [
                ("old pass (4 globs, every 15 s)", got["old pass"] * 1000),
                ("new pass (sweep not due)", got["new pass"] * 1000),
                ("new sweep (one walk, hourly)", got["new sweep"] * 1000),
                ("new sweep / old pass", got["sweep_vs_old_pass"]),
                ("old, s per hour per worker", got["old_per_hour_s"]),
                ("new, s per hour (one worker)", got["new_per_hour_s"]),
            ],
        )
    write_result("reconciler", args.quick, figures, load)


if __name__ == "__main__":
    main()
