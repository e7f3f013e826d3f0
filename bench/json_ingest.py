"""JSON uploads: fitstudio's reader (server/services/json_tables.py) against pandas and pyarrow on the same files.

    .venv/bin/python bench/json_ingest.py [--quick] [--sizes 250000,1000000] [--repeats 3]

For each size N, two files of N orders (an id, a customer object two levels deep, a total, a list of items, a
timestamp, a flag): JSON Lines (`.jsonl`) and one array of objects (`.json`). Each reader runs in a fresh
interpreter, the readers taking turns for `--repeats` rounds; each run reports its wall seconds and its peak RSS
(VmHWM) less the interpreter's after its imports. The readers, each ending with the Parquet file written:
- `fitstudio`: `json_tables.store_json` (DuckDB's `read_json`, streamed, types over the whole file);
- `pandas`: `pandas.read_json` (`lines=True` for JSON Lines) and `json_normalize`, then `to_parquet`, the way a
  notebook does it, holding the whole table;
- `pyarrow`: `pyarrow.json.read_json` and `Table.flatten`, then `write_table` (JSON Lines only: it reads no
  array).
Targets: memory flat in N for fitstudio (bounded by FITSTUDIO_UPLOAD_MEMORY_MB, at least json_tables.MIN_MEMORY_MB
for DuckDB); time reported beside the others. Results: bench/results/json_ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, base_args, median, show, write_result  # noqa: E402

CHILD = r"""
import json, sys, time
def hwm():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) * 1024
reader, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
if reader == "fitstudio":
    from pathlib import Path
    from server.services import json_tables
elif reader == "pandas":
    import pandas as pd
else:
    import pyarrow.json as pj, pyarrow.parquet as pq
base = hwm()
t = time.perf_counter()
if reader == "fitstudio":
    rows = json_tables.store_json(Path(src), Path(out)).n_rows
elif reader == "pandas":
    frame = pd.json_normalize(pd.read_json(src, lines=src.endswith(".jsonl")).to_dict("records"))
    frame.to_parquet(out)
    rows = len(frame)
else:
    table = pj.read_json(src).flatten()
    pq.write_table(table, out)
    rows = table.num_rows
print(json.dumps({"wall_s": time.perf_counter() - t, "peak_mb": (hwm() - base) / 2**20, "rows": rows}))
"""


def orders(path: Path, rows: int, lines: bool) -> Path:
    """ROWS orders as JSON Lines (LINES) or one array."""
    rng = random.Random(0)
    cities = ["Köln", "Bonn", "Berlin", "München", "Zürich"]
    with open(path, "w", encoding="utf-8") as out:
        out.write("" if lines else "[\n")
        for i in range(rows):
            order = {
                "id": i,
                "customer": {"name": f"customer {i % 5000}", "address": {"city": rng.choice(cities), "zip": "50667"}},
                "total": round(rng.random() * 100, 2),
                "items": ["pen"] * (i % 3),
                "placed": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T10:30:00Z",
                "paid": i % 2 == 0,
            }
            out.write(("" if lines or not i else ",") + json.dumps(order) + "\n")
        out.write("" if lines else "]\n")
    return path


def run(reader: str, src: Path, out: Path) -> dict[str, Any]:
    """READER on SRC in a fresh interpreter."""
    proc = subprocess.run([PY, "-c", CHILD, reader, str(src), str(out)], cwd=ROOT, capture_output=True, text=True)
    out.unlink(missing_ok=True)
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1][:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--sizes", default="250000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 1 if args.quick else args.repeats
    load_before = list(os.getloadavg())
    figures: dict[str, Any] = {"sizes": sizes, "repeats": repeats}
    rows: list[tuple[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="json-ingest-") as tmp:
        work = Path(tmp)
        for size in sizes:
            for kind, lines in (("jsonl", True), ("json", False)):
                src = orders(work / f"orders{size}.{kind}", size, lines)
                readers = ["fitstudio", "pandas"] + (["pyarrow"] if lines else [])
                runs: dict[str, list[dict[str, Any]]] = {r: [] for r in readers}
                for _ in range(repeats):
                    for reader in readers:
                        runs[reader].append(run(reader, src, work / "out.parquet"))
                got = {"file_mb": src.stat().st_size / 2**20}
                for reader, done in runs.items():
                    ok = [r for r in done if "error" not in r]
                    got[reader] = {
                        "wall_s": median(r["wall_s"] for r in ok) if ok else None,
                        "wall_range_s": [min(r["wall_s"] for r in ok), max(r["wall_s"] for r in ok)] if ok else None,
                        "peak_mb": median(r["peak_mb"] for r in ok) if ok else None,
                        "rows": sorted({r["rows"] for r in ok}),
                        "errors": [r["error"] for r in done if "error" in r],
                    }
                    rows.append(
                        (
                            f"{size} {kind} {reader}: wall s / peak MB",
                            f"{got[reader]['wall_s']} / {got[reader]['peak_mb']}",
                        )
                    )
                figures[f"{kind}/{size}"] = got
                src.unlink()
    show("JSON uploads", rows)
    write_result("json_ingest", args.quick, figures, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
