"""An upload's statistics pass on the kinds of column real tables hold, for one or more code trees side by side.

    .venv/bin/python bench/column_stats.py [--quick] [--sizes 250000,1000000] [--repeats 3] [--trees DIR,DIR]

For each size N, one Parquet file of N rows holds a column of each kind: `numbers` (distinct floats), `text_numbers`
(numbers written as text with one word in the last row, as a CSV column with a late text value is stored),
`orders` (distinct order numbers), `emails` (N / 2.5 distinct addresses), `region` (50 values) and `comment` (a few
words). `server.services.column_stats.compute` runs on each column alone and on all of them together, in a fresh
interpreter per tree (`--trees`: this checkout by default; another worktree gives the "before" side), the trees
taking turns for `--repeats` rounds. Each run reports wall and CPU seconds and the distinct counts it found.
Results: bench/results/column_stats.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, base_args, median, show, write_result  # noqa: E402

KINDS = {
    "numbers": "numeric",
    "text_numbers": "numeric",
    "orders": "categorical",
    "emails": "categorical",
    "region": "categorical",
    "comment": "text",
}
CHILD = r"""
import json, resource, sys, time
from server.services import column_stats
path, kinds = sys.argv[1], json.loads(sys.argv[2])
out = {}
for name in list(kinds) + ["all"]:
    columns = [{"name": n, "type": t} for n, t in kinds.items() if name in (n, "all")]
    wall, cpu = time.perf_counter(), time.process_time()
    stats = column_stats.compute(path, columns)
    out[name] = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    if name != "all":
        out[name]["distinct"] = stats[0]["stats"]["distinct"]
print(json.dumps(out))
"""


def table_file(path: Path, rows: int) -> Path:
    """ROWS rows with a column of each of KINDS."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    numbers = rng.normal(size=rows).round(6)
    texts = [f"{v:.6f}" for v in numbers]
    texts[-1] = "unknown"
    words = np.array(["good", "late", "box", "damaged", "fine", "thanks", "again", "never"])
    comment = [" ".join(words[rng.integers(0, 8, 4)]) for _ in range(rows)]
    table = pa.table(
        {
            "numbers": numbers,
            "text_numbers": texts,
            "orders": [f"ORD-{i:09d}" for i in rng.permutation(rows)],
            "emails": [f"customer{i}@example.com" for i in rng.integers(0, max(1, int(rows / 2.5)), rows)],
            "region": np.array([f"region {k}" for k in range(50)])[rng.integers(0, 50, rows)],
            "comment": comment,
        }
    )
    pq.write_table(table, path, row_group_size=110_000)  # about an upload's parse block
    return path


def run_tree(tree: Path, path: Path) -> dict[str, Any]:
    """The statistics pass of TREE's code on PATH, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [PY, "-c", CHILD, str(path), json.dumps(KINDS)], cwd=tree, env=env, capture_output=True, text=True
    )
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--sizes", default="250000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trees", default=str(ROOT), help="comma list of checkouts to measure, in turns")
    args = parser.parse_args(argv)
    sizes = [20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 1 if args.quick else args.repeats
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    load_before = list(os.getloadavg())
    figures: dict[str, Any] = {"sizes": sizes, "trees": [str(t) for t in trees], "repeats": repeats}
    work = Path(tempfile.mkdtemp(prefix="column-stats-"))
    rows: list[tuple[str, Any]] = []
    for size in sizes:
        path = table_file(work / f"t{size}.parquet", size)
        runs: dict[str, list[dict[str, Any]]] = {str(t): [] for t in trees}
        started = time.perf_counter()
        for _ in range(repeats):
            for tree in trees:
                runs[str(tree)].append(run_tree(tree, path))
        per_tree: dict[str, Any] = {}
        for tree, done in runs.items():
            per_tree[tree] = {
                name: {
                    "wall_s": median(r[name]["wall_s"] for r in done),
                    "wall_range_s": [min(r[name]["wall_s"] for r in done), max(r[name]["wall_s"] for r in done)],
                    "cpu_s": median(r[name]["cpu_s"] for r in done),
                    "distinct": sorted({r[name].get("distinct") for r in done}, key=str),
                }
                for name in [*KINDS, "all"]
            }
            for name, got in per_tree[tree].items():
                rows.append((f"{size} rows, {Path(tree).name}, {name}: wall (s)", got["wall_s"]))
        figures[str(size)] = {"trees": per_tree, "seconds": time.perf_counter() - started}
        path.unlink()
    work.rmdir()
    show("column statistics", rows)
    write_result("column_stats", args.quick, figures, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
