"""Benchmark 4: a CSV upload (1 M rows × 20 columns) to stored + profiled, vs. pyarrow alone; API memory.

    .venv/bin/python bench/ingest.py [--quick] [--rows 1000000]

A real `fitstudio api` (uvicorn) on a fresh FITSTUDIO_HOME; the file is streamed from disk by httpx over loopback
to POST /projects/{key}/datasets; the time is until the 201 (the dataset is stored as Parquet and its schema
inferred). The reference, in a fresh interpreter on the same file in the same run: `pyarrow.csv.read_csv` +
`pyarrow.parquet.write_table` (default options), and for the breakdown the server's own streamed parse and write
(`table_store.store_csv`), its schema inference and a plain file copy. The API process's resident memory is
sampled every 20 ms with psutil; a second, 4× smaller file shows whether the peak grows with the file (not
streamed) or stays put (streamed).
Target: upload <= 2× the reference, memory bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, Stack, base_args, median, rss_bytes, show, write_result  # noqa: E402

REFERENCE = r"""
import json, resource, shutil, sys, time
import pyarrow.csv as pacsv, pyarrow.parquet as pq
src, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
res = {}
t = time.perf_counter()
if mode == "plain":
    table = pacsv.read_csv(src)
    res["read_s"] = time.perf_counter() - t
    t = time.perf_counter(); pq.write_table(table, out); res["write_s"] = time.perf_counter() - t
else:
    from server.services import datasets, table_store
    from pathlib import Path
    t = time.perf_counter(); shutil.copyfile(src, out + ".copy"); res["copy_s"] = time.perf_counter() - t
    t = time.perf_counter(); stored = table_store.store_csv(Path(src), Path(out))
    res["read_write_s"] = time.perf_counter() - t
    t = time.perf_counter(); datasets.schema_of(stored.sample, set()); res["schema_s"] = time.perf_counter() - t
res["total_s"] = sum(res.values())
res["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
"""


def wide_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """ROWS × 20 columns (12 float, 4 int, 3 categorical strings, 1 binary label) written as CSV by Arrow."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {f"f{i}": rng.normal(size=rows).round(5) for i in range(12)}
    cols.update({f"i{i}": rng.integers(0, 10_000, size=rows) for i in range(4)})
    for i in range(3):
        cols[f"c{i}"] = pa.array(np.array([f"cat_{k}" for k in range(50)])[rng.integers(0, 50, size=rows)])
    cols["label"] = pa.array(np.where(rng.random(rows) > 0.5, "yes", "no"))
    with pacsv.CSVWriter(path, pa.table({k: cols[k] for k in cols}).schema) as writer:
        for start in range(0, rows, 200_000):
            chunk = {k: (v[start : start + 200_000]) for k, v in cols.items()}
            writer.write_table(pa.table(chunk))
    return path


def reference(src: Path, work: Path, mode: str) -> dict[str, float]:
    """One reference run in a fresh interpreter (MODE 'plain' or 'server')."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [PY, "-c", REFERENCE, str(src), str(work / f"ref-{mode}.parquet"), mode],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    for f in work.glob("ref-*"):
        f.unlink()
    return json.loads(proc.stdout.strip().splitlines()[-1])


def upload(stack: Stack, path: Path, name: str) -> dict[str, Any]:
    """Upload PATH while sampling the API's RSS; the time, the peak and the response."""
    assert stack.api_proc is not None
    pid = stack.api_proc.pid
    base = rss_bytes(pid)
    peak = [base]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_bytes(pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.perf_counter()
    try:
        body = stack.upload(path, name)
    finally:
        elapsed = time.perf_counter() - t
        stop.set()
        sampler.join()
    return {
        "upload_s": elapsed,
        "rss_before_mib": base / 2**20,
        "rss_peak_mib": peak[0] / 2**20,
        "rss_growth_mib": (peak[0] - base) / 2**20,
        "rss_after_mib": rss_bytes(pid) / 2**20,
        "n_rows": body["n_rows"],
        "n_columns": len(body["columns"]),
        "file_mib": path.stat().st_size / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=0, help="uploads of the big file (default 2; 1 with --quick)")
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    rows = 40_000 if args.quick else args.rows
    repeats = args.repeats or (1 if args.quick else 2)
    with Stack("ingest", keep=args.keep) as stack:
        big = wide_csv(stack.folder / "big.csv", rows)
        small = wide_csv(stack.folder / "small.csv", rows // 4, seed=1)
        stack.start_api()
        stack.project()
        uploads, refs = [], []
        small_up = upload(stack, small, "small")
        for i in range(repeats):
            refs.append(reference(big, stack.folder, "plain"))
            uploads.append(upload(stack, big, f"big{i}"))
            print(
                f"upload {i + 1}: {uploads[-1]['upload_s']:.2f}s (reference {refs[-1]['total_s']:.2f}s), "
                f"API RSS peak +{uploads[-1]['rss_growth_mib']:.0f} MiB",
                flush=True,
            )
        refs.append(reference(big, stack.folder, "plain"))
        server_ref = reference(big, stack.folder, "server")
    up_s, ref_s = median(u["upload_s"] for u in uploads), median(r["total_s"] for r in refs)
    growth_big = uploads[0]["rss_growth_mib"]  # the first big upload: later ones may reuse freed memory
    figures = {
        "rows": rows,
        "columns": 20,
        "file_mib": uploads[0]["file_mib"],
        "upload_s": up_s,
        "reference_s": ref_s,
        "ratio": up_s / ref_s,
        "uploads": uploads,
        "references": refs,
        "server_steps_reference": server_ref,
        "small_file": small_up,
        "rss_growth_big_mib": growth_big,
        "rss_peak_max_mib": max(u["rss_peak_mib"] for u in uploads),
        "rss_growth_per_file_mib": growth_big / uploads[0]["file_mib"],
        "rss_growth_small_vs_big": small_up["rss_growth_mib"] / max(growth_big, 1e-9),
    }
    show(
        "ingest",
        [
            ("file", f"{rows} rows x 20 columns, {uploads[0]['file_mib']:.0f} MiB"),
            ("upload to stored + profiled (s)", up_s),
            ("pyarrow read_csv + write_table (s)", ref_s),
            ("ratio (target <= 2)", up_s / ref_s),
            ("  the server's streamed parse + Parquet write, in process (s)", server_ref["read_write_s"]),
            ("  schema inference on its 50k-row sample (s)", server_ref["schema_s"]),
            ("  copying the file once (s)", server_ref["copy_s"]),
            ("  that process's peak RSS (MiB)", server_ref["max_rss_mib"]),
            ("  reference process peak RSS (MiB)", median(r["max_rss_mib"] for r in refs)),
            ("API RSS before (MiB)", uploads[0]["rss_before_mib"]),
            ("API RSS peak growth, big file (MiB)", growth_big),
            (f"API RSS peak growth, {rows // 4}-row file (MiB)", small_up["rss_growth_mib"]),
            ("growth per MiB of CSV (big file)", figures["rss_growth_per_file_mib"]),
        ],
    )
    write_result("ingest", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
