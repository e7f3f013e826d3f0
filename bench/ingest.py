"""Benchmark 4: a CSV upload (1 M rows × 20 columns) to stored + profiled, vs. pyarrow alone; API memory.

    .venv/bin/python bench/ingest.py [--quick] [--rows 1000000]

A real `fitstudio api` (uvicorn) on a fresh FITSTUDIO_HOME; the file is streamed from disk by httpx over loopback
to POST /projects/{key}/datasets; the time is until the 201 (the dataset is stored as Parquet and its schema
inferred). The reference, in a fresh interpreter on the same file in the same run: `pyarrow.csv.read_csv` +
`pyarrow.parquet.write_table` (default options), and for the breakdown the server's own streamed parse and write
(`table_store.store_csv`), its schema inference and a plain file copy. The API's memory is sampled every 100 ms:
the anonymous memory of the API process and its descendants, each page counted once (the sum of their
`Pss_Anon`): an upload is parsed in a process forked from the API's fork server (server/services/parse_process.py),
which shares the server's pages until it writes them, so the sum of their RSS would count those pages twice. A
second, 4× smaller file shows whether the peak grows with the file (not streamed) or stays put (streamed). The
ratio's uploads are timed apart from the sampled ones, with nothing reading the processes meanwhile.
A third file is the big one with a late type change: on its last row six columns change type (four integer
columns get a decimal, two number columns get text), so the types of the first parse block do not hold. It is
uploaded the same way, and the server's steps are run on it in a fresh interpreter, whose peak RSS
(`ru_maxrss`) is reported beside the plain file's: memory on the type-change path, without the API around it.
Then, side by side in the same run, the big and the late file are uploaded to a fresh API per
FITSTUDIO_UPLOAD_MEMORY_MB setting (`--memory-settings`, `default` for the setting unset), after a warm-up upload
of the small file: time and memory growth (the sampled peak, as above, less the memory before).
Peak RSS of a fresh interpreter is its VmHWM (Linux carries `ru_maxrss` over from the parent across exec).
Target: upload <= 2× the reference, memory bounded (also with a late type change).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, base_args, median, show, stop, write_result  # noqa: E402
from bench.stack import Stack  # noqa: E402

REFERENCE = r"""
import json, shutil, sys, time
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
status = {l.split(":")[0]: l.split()[1] for l in open("/proc/self/status") if l.startswith("Vm")}
res["max_rss_mib"] = int(status["VmHWM"]) / 1024  # ru_maxrss would include the parent's peak (kept across exec)
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


LATE_COLUMNS = {"i0": "2.5", "i1": "2.5", "i2": "2.5", "i3": "2.5", "f0": "late", "f1": "late"}


def late_csv(src: Path, dest: Path) -> Path:
    """SRC (wide_csv) with LATE_COLUMNS' values on its last row: six columns change type at the very end."""
    import shutil

    shutil.copyfile(src, dest)
    with open(dest, "rb+") as fh:
        header = [name.strip('"') for name in fh.readline().decode().rstrip("\n").split(",")]
        fh.seek(max(0, dest.stat().st_size - 4096))
        tail = fh.read()
        start = dest.stat().st_size - len(tail) + tail.rstrip(b"\n").rfind(b"\n") + 1
        fh.seek(start)
        values = fh.read().decode().rstrip("\n").split(",")
        values = [LATE_COLUMNS.get(name, value) for name, value in zip(header, values, strict=True)]
        fh.seek(start)
        fh.truncate()
        fh.write((",".join(values) + "\n").encode())
    return dest


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


class Writes:
    """Small writes (`POST /projects`) every 0.1 s on a client of their own while the block runs: their latencies.

    With SQLite a write waits for any write transaction open elsewhere; an upload must not hold one while it parses.
    """

    def __init__(self, stack: Stack, prefix: str):
        import httpx

        self.client = httpx.Client(
            base_url=stack.base_url + "/api/v1", timeout=600, headers={"Authorization": f"Bearer {stack.token}"}
        )
        self.prefix = prefix
        self.latencies: list[float] = []
        self.failed: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            t = time.perf_counter()
            r = self.client.post("/projects", json={"key": f"{self.prefix}{len(self.latencies)}"})
            self.latencies.append(time.perf_counter() - t)
            if r.status_code != 201:  # e.g. a 500 after SQLite's 30 s busy timeout: counted, and the writes go on
                self.failed.append(f"{r.status_code} {r.text[:200]}")
            self.stop.wait(0.1)

    def __enter__(self) -> Writes:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.client.close()

    def figures(self) -> dict[str, Any]:
        """How many writes ran, their median and longest latency (s), and the answers of those that failed."""
        return {
            "writes": len(self.latencies),
            "median_s": median(self.latencies),
            "max_s": max(self.latencies),
            "failed": self.failed,
        }


def idle_writes(stack: Stack, seconds: float = 3.0) -> dict[str, Any]:
    """Writes' latencies with nothing else going on: the baseline."""
    with Writes(stack, "IDLE") as writes:
        time.sleep(seconds)
    return writes.figures()


def upload(stack: Stack, path: Path, name: str, writes: str = "", sample: bool = True) -> dict[str, Any]:
    """Upload PATH while sampling the API's memory (unless not SAMPLE) and timing writes (keys starting WRITES, when
    given); the time, the peak and the response."""
    assert stack.api_proc is not None
    pid = stack.api_proc.pid
    base = owned_bytes(pid)
    peak = [base]
    stop = threading.Event()

    def sampling() -> None:
        while sample and not stop.is_set():
            peak[0] = max(peak[0], owned_bytes(pid))
            stop.wait(0.1)  # reading smaps takes the processes' memory locks: sampled less often than RSS was

    sampler = threading.Thread(target=sampling, daemon=True)
    sampler.start()
    writer = Writes(stack, writes) if writes else None
    t = time.perf_counter()
    try:
        with writer or contextlib.nullcontext():
            body = stack.upload(path, name)
            elapsed = time.perf_counter() - t
    finally:
        stop.set()
        sampler.join()
    return {
        "writes_meanwhile": writer.figures() if writer else None,
        "upload_s": elapsed,
        "rss_before_mib": base / 2**20,
        "rss_peak_mib": peak[0] / 2**20,
        "rss_growth_mib": (peak[0] - base) / 2**20,
        "rss_after_mib": owned_bytes(pid) / 2**20,
        "n_rows": body["n_rows"],
        "n_columns": len(body["columns"]),
        "file_mib": path.stat().st_size / 2**20,
    }


def owned_bytes(pid: int) -> int:
    """The anonymous memory of process PID and its descendants (the upload parse processes), each page once: the
    sum of their Pss_Anon (a page two processes share counts half in each)."""
    import psutil

    total = 0
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in procs:
        try:
            with open(f"/proc/{proc.pid}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) * 1024 for line in fh if line.startswith("Pss_Anon:"))
        except (OSError, StopIteration):
            continue  # ended meanwhile
    return total


def memory_settings(stack: Stack, files: dict[str, Path], settings: list[str]) -> dict[str, Any]:
    """The 'big' and 'late' of FILES each uploaded to a fresh API per FITSTUDIO_UPLOAD_MEMORY_MB of SETTINGS
    (interleaved), after the 'warm' one (imports, thread pools, and what the allocators keep from a first upload):
    each upload's time and memory growth."""
    out: dict[str, Any] = {setting: {} for setting in settings}
    for kind in ("big", "late"):
        for setting in settings:
            os.environ.pop("FITSTUDIO_UPLOAD_MEMORY_MB", None)
            if setting != "default":
                os.environ["FITSTUDIO_UPLOAD_MEMORY_MB"] = setting
            stack.start_api()
            stack.client.close()
            stack._client = None  # the next call opens a client on the new API's port
            assert stack.api_proc is not None
            upload(stack, files["warm"], f"warm_{kind}_{setting}")
            run = upload(stack, files[kind], f"{kind}_{setting}")
            run["hwm_growth_mib"] = run["rss_growth_mib"]  # the sampled owned peak (the parse ends in its own process)
            out[setting][kind] = run
            print(
                f"FITSTUDIO_UPLOAD_MEMORY_MB={setting}, {kind}: {run['upload_s']:.2f}s, "
                f"API growth +{run['hwm_growth_mib']:.0f} MiB (owned, sampled)",
                flush=True,
            )
            stop(stack.api_proc)
    os.environ.pop("FITSTUDIO_UPLOAD_MEMORY_MB", None)
    return out


def _memory_pair(run: dict[str, Any]) -> str:
    return f"{run['upload_s']:.2f}, +{run['hwm_growth_mib']:.0f}"


def _pair(writes: dict[str, Any]) -> str:
    failed = f", {len(writes['failed'])} failed" if writes["failed"] else ""
    return f"{writes['median_s']:.3f}, {writes['max_s']:.3f} ({writes['writes']} writes{failed})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=0, help="uploads of the big file (default 2; 1 with --quick)")
    parser.add_argument(
        "--memory-settings",
        default=None,
        help="comma list of FITSTUDIO_UPLOAD_MEMORY_MB values (MiB, or 'default') to upload at, each to a fresh API "
        "(default: 112,160,default; none with --quick)",
    )
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
        late = late_csv(big, stack.folder / "late.csv")
        small_up = upload(stack, small, "small")
        idle = idle_writes(stack)
        timed = []  # the ratio's uploads: nothing else reads the processes meanwhile
        for i in range(repeats):
            refs.append(reference(big, stack.folder, "plain"))
            timed.append(upload(stack, big, f"timed{i}", sample=False))
            uploads.append(upload(stack, big, f"big{i}", writes=f"BIG{i}X"))
            print(
                f"upload {i + 1}: {timed[-1]['upload_s']:.2f}s, sampled {uploads[-1]['upload_s']:.2f}s "
                f"(reference {refs[-1]['total_s']:.2f}s), API owned peak +{uploads[-1]['rss_growth_mib']:.0f} MiB",
                flush=True,
            )
        refs.append(reference(big, stack.folder, "plain"))
        server_ref = reference(big, stack.folder, "server")
        late_ref = reference(late, stack.folder, "plain")
        late_up = upload(stack, late, "late", writes="LATE")
        late_server = reference(late, stack.folder, "server")
        chosen = args.memory_settings if args.memory_settings is not None else "" if args.quick else "112,160,default"
        files = {"warm": small, "big": big, "late": late}
        by_setting = memory_settings(stack, files, [s.strip() for s in chosen.split(",") if s.strip()])
    up_s, ref_s = median(u["upload_s"] for u in timed), median(r["total_s"] for r in refs)
    growth_big = uploads[0]["rss_growth_mib"]  # the first big upload: later ones may reuse freed memory
    figures = {
        "rows": rows,
        "columns": 20,
        "file_mib": uploads[0]["file_mib"],
        "upload_s": up_s,
        "reference_s": ref_s,
        "ratio": up_s / ref_s,
        "timed_uploads": timed,
        "uploads": uploads,
        "references": refs,
        "server_steps_reference": server_ref,
        "small_file": small_up,
        "rss_growth_big_mib": growth_big,
        "rss_peak_max_mib": max(u["rss_peak_mib"] for u in uploads),
        "rss_growth_per_file_mib": growth_big / uploads[0]["file_mib"],
        "rss_growth_small_vs_big": small_up["rss_growth_mib"] / max(growth_big, 1e-9),
        "writes_idle": idle,
        "writes_during_big_upload": uploads[0]["writes_meanwhile"],
        "late_type_change": {
            "columns": LATE_COLUMNS,
            "upload": late_up,
            "reference": late_ref,
            "ratio": late_up["upload_s"] / late_ref["total_s"],
            "server_steps_reference": late_server,
            "peak_rss_vs_plain_file": late_server["max_rss_mib"] / server_ref["max_rss_mib"],
        },
        "upload_memory_settings": by_setting,
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
            ("API owned memory before (MiB)", uploads[0]["rss_before_mib"]),
            ("API owned peak growth, big file (MiB)", growth_big),
            (f"API owned peak growth, {rows // 4}-row file (MiB)", small_up["rss_growth_mib"]),
            ("growth per MiB of CSV (big file)", figures["rss_growth_per_file_mib"]),
            ("a write (POST /projects) with nothing else going on: median, max (s)", _pair(idle)),
            ("  the same during the big upload: median, max (s)", _pair(uploads[0]["writes_meanwhile"])),
            ("  the same during the late-type-change upload", _pair(late_up["writes_meanwhile"])),
            ("late type change (6 columns on the last row): upload (s)", late_up["upload_s"]),
            ("  pyarrow read_csv + write_table on it (s)", late_ref["total_s"]),
            ("  ratio", late_up["upload_s"] / late_ref["total_s"]),
            ("  API owned peak growth (MiB)", late_up["rss_growth_mib"]),
            ("  the server's steps in process (s)", late_server["read_write_s"]),
            ("  that process's peak RSS (MiB)", late_server["max_rss_mib"]),
            ("  the same, plain big file (MiB)", server_ref["max_rss_mib"]),
            ("  reference process peak RSS (MiB)", late_ref["max_rss_mib"]),
            *[
                (f"FITSTUDIO_UPLOAD_MEMORY_MB={setting}: {kind} upload (s), owned growth (MiB)", _memory_pair(run))
                for setting, runs in by_setting.items()
                for kind, run in runs.items()
            ],
        ],
    )
    write_result("ingest", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
